"""A big file is read and checked in a second process while the store is written
(sync/jsonl_pipe.py): the import stores exactly what reading it in-process stores, problems and
mended lines included, and a failure of the reading process stops the import with its error
(on a cache file and on a team database: nothing of it is kept)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from sync import jsonl, jsonl_pipe
from tests.backends import pytest_generate_tests

__all__ = ["pytest_generate_tests"]


def _file(path: Path) -> Path:
    head = {"type": "header", "format": "peerdesk-jsonl", "version": 1, "source": {"name": "s"}}
    lines = [json.dumps(head)]
    lines.append(json.dumps({"type": "member", "remote_id": "m1", "username": "ann"}))
    for t in range(30):
        thread = {
            "type": "thread",
            "remote_id": f"t{t}",
            "title": f"question {t}",
            "created_at": "2026-01-01T00:00:00Z",
            "tags": ["a", "b"],
            "accepted_post": f"p{t * 4 + 1}",
        }
        lines.append(json.dumps(thread))
        for i in range(4):
            n = t * 4 + i
            post = {
                "type": "post",
                "remote_id": f"p{n}",
                "thread": f"t{t}",
                "position": i,
                "author": "m1" if n % 3 == 0 else None,
                "body_text": f"body {n} café",
                "created_at": "2026-01-01T00:00:00Z",
            }
            lines.append(json.dumps(post))
    lines.insert(7, "{not json")
    lines.insert(9, b"\xff\xfe".decode("latin-1"))  # written as UTF-8 of other characters
    lines.insert(
        11,
        '{"type": "post", "remote_id": "p0", "thread": "t0", "position": 0, '
        '"body_text": "other content", "created_at": "2026-01-01T00:00:00Z"}',
    )
    lines.insert(
        13,
        '{"type": "post", "remote_id": "lone", "thread": "t1", "position": 9, '
        '"body_text": "half \\ud800 pair", "created_at": "2026-01-01T00:00:00Z"}',
    )
    lines.append(
        '{"type": "post", "remote_id": "orphan", "thread": "nowhere", "position": 0, '
        '"body_text": "x", "created_at": "2026-01-01T00:00:00Z"}'
    )
    lines.append('{"type": "thread", "remote_id": "late", "title": 5}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with path.open("ab") as out:
        out.write(b'{"type": "post", "remote_id": "bad-utf8", "body_text": "\xff"}\n')
    return path


def _rows(cache: Cache) -> dict[str, list[tuple[object, ...]]]:
    tables = {
        "members": "SELECT remote_id, username FROM members ORDER BY id",
        "threads": "SELECT id, remote_id, title, tags, accepted_post_id FROM threads ORDER BY id",
        "posts": "SELECT id, thread_id, remote_id, author_id, position, body_text, body_raw "
        "FROM posts ORDER BY id",
        "errors": "SELECT endpoint, message, field FROM sync_errors ORDER BY id",
    }
    return {name: [tuple(r) for r in cache.query(sql)] for name, sql in tables.items()}


def _imported(
    path: Path, source: Path
) -> tuple[jsonl.ImportReport, dict[str, list[tuple[object, ...]]]]:
    cache = open_cache(path, create=True)
    try:
        report = jsonl.import_file(cache, source, chunk_posts=7)
        return report, _rows(cache)
    finally:
        cache.close()


# SQLite only: which process reads the file; what is written is the same ingest on either engine
def test_a_file_read_in_a_second_process_is_stored_as_one_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _file(tmp_path / "s.jsonl")
    forks: list[int] = []
    real = jsonl_pipe.from_a_child
    monkeypatch.setattr(jsonl_pipe, "PROCESS_MIN_BYTES", 10**12)
    here_report, here = _imported(tmp_path / "here.sqlite3", source)
    monkeypatch.setattr(jsonl_pipe, "PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(
        jsonl_pipe,
        "from_a_child",
        lambda *a: forks.append(1) or real(*a),  # type: ignore[func-returns-value]
    )
    piped_report, piped = _imported(tmp_path / "piped.sqlite3", source)
    assert forks == [1]
    assert piped == here
    assert len(here["posts"]) == 121 and len(here["threads"]) == 30  # p0's rival and the rest
    assert len(here["errors"]) == 6
    for name in ("lines", "members", "threads", "posts", "skipped", "mended"):
        assert getattr(piped_report, name) == getattr(here_report, name), name
    assert piped_report.problems == here_report.problems
    assert piped_report.notes == here_report.notes and here_report.mended == 1


@pytest.mark.backends
def test_a_reading_process_that_fails_stops_the_import_with_its_error(
    cache: Cache,
    admin_of: Callable[[Cache], Cache],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = _file(tmp_path / "s.jsonl")
    monkeypatch.setattr(jsonl_pipe, "PROCESS_MIN_BYTES", 0)

    def dies(*_args: object) -> None:
        raise MemoryError("no memory left to read the file")

    monkeypatch.setattr(jsonl, "_parse", dies)
    with pytest.raises(MemoryError, match="no memory left"):
        jsonl.import_file(admin_of(cache), source)
    assert cache.one("SELECT count(*) FROM posts")[0] == 0


CHILD_SCRIPT = """
import os, sys
from sync import jsonl_pipe

def endless():
    while True:
        yield b"x" * 1_000_000  # far more than a pipe holds: the child waits on the parent

items = jsonl_pipe.from_a_child(endless, bytes, bytes)
next(items)
children = [int(p) for p in os.popen(f"ps -o pid= --ppid {os.getpid()}").read().split()]
print(" ".join(map(str, children)), flush=True)
os._exit(0)  # as a SIGKILL would: no clean-up of any kind
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_reading_process_ends_when_the_importing_one_is_killed() -> None:
    import subprocess
    import sys
    import time

    run = subprocess.run(
        [sys.executable, "-c", CHILD_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    children = [int(p) for p in run.stdout.split()]
    assert children, run.stderr
    waited = time.monotonic() + 30
    while any(_running(pid) for pid in children) and time.monotonic() < waited:
        time.sleep(0.1)
    left = [pid for pid in children if _running(pid)]
    for pid in left:  # (not left behind when the test fails)
        os.kill(pid, signal.SIGKILL)
    assert not left
