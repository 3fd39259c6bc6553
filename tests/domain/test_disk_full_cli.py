"""Decisions on a full disk: one line, exit 1, nothing half-written (a real tmpfs; root only)."""

from __future__ import annotations

# SQLite only: the cache file on a full disk (a team database's disk is the server's).
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from console import cli
from console.db import open_cache
from tests.conftest import resize_disk


def peerdesk(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_batch_on_a_full_disk_is_one_line_and_writes_nothing(
    small_disk: Callable[[int], Path],
) -> None:
    disk = small_disk(8 * 1024)
    db = disk / "demo.sqlite3"
    assert peerdesk(db, "demo", "--threads", "60", "--candidates", "0").returncode == 0
    cache = open_cache(db)
    closed_before = cache.one("SELECT count(*) FROM threads WHERE status = 'closed'")[0]
    # the demo holds past decisions of its own (verify, rewards): count what is added
    audit_before = cache.one("SELECT count(*) FROM audit")[0]
    batches_before = cache.one("SELECT count(*) FROM batches")[0]
    cache.close()
    # unbuffered: a buffered file would fail again in close(), flushing the part that did not fit
    with (disk / "filler").open("wb", buffering=0) as filler:  # fill what is left of the disk
        try:
            while True:
                filler.write(b"\0" * 65536)
        except OSError:
            pass
    run = peerdesk(db, "close", *[str(i) for i in range(2, 40)])
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "is full" in lines[0] and "Traceback" not in run.stderr
    resize_disk(disk, 64 * 1024)
    cache = open_cache(db)
    try:
        assert cache.one("SELECT count(*) FROM audit")[0] == audit_before
        closed = cache.one("SELECT count(*) FROM threads WHERE status = 'closed'")[0]
        assert closed == closed_before
        assert cache.one("SELECT count(*) FROM batches")[0] == batches_before
    finally:
        cache.close()
    again = peerdesk(db, "note", "2", "works again once there is room")
    assert again.returncode == 0, again.stderr


def test_an_sqlite_failure_escaping_a_command_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(args: object) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr("console.cli.core.cmd_whoami", failing)
    assert cli.main(["whoami"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("peerdesk: the disk holding the cache is full") and err.count("\n") == 1


def test_an_import_over_the_file_size_limit_says_so_and_resumes(
    tmp_path: Path, grant_roles: Callable[[dict[str, list[str]]], Path]
) -> None:
    """`ulimit -f`: SQLite reports the refused write as a plain I/O error on a disk with room;
    the import says the limit stopped it (exit 1, one line), and resumes without it."""
    import json
    import resource

    grant_roles({"alice": ["admin"]})
    db = tmp_path / "c.sqlite3"
    head = {"type": "header", "format": "peerdesk-jsonl", "version": 1, "source": {"name": "f"}}
    at = "2026-10-01T08:00:00Z"
    lines = [json.dumps(head)]
    for i in range(400):
        lines.append(json.dumps({"type": "thread", "remote_id": f"t{i}", "title": f"T {i}",
                                 "created_at": at}))  # fmt: skip
        lines.append(json.dumps({"type": "post", "remote_id": f"p{i}", "thread": f"t{i}",
                                 "position": 0, "body_text": f"post {i} " * 400,
                                 "created_at": at}))  # fmt: skip
    source = tmp_path / "big.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert peerdesk(db, "import", str(tmp_path / "none.jsonl")).returncode != 0  # makes the cache
    limit = db.stat().st_size + 300_000

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db), "import", "--dupes", "later",
         str(source)],
        capture_output=True, text=True, timeout=120, preexec_fn=limited,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    said = run.stderr.strip().splitlines()
    assert len(said) == 1 and "Traceback" not in run.stderr
    assert "file size limit" in said[0] and "ulimit -f" in said[0], said
    again = peerdesk(db, "import", "--dupes", "later", str(source))
    assert again.returncode == 0, again.stdout + again.stderr
    cache = open_cache(db)
    try:
        assert cache.one("SELECT count(*) FROM posts")[0] == 400
    finally:
        cache.close()
