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
