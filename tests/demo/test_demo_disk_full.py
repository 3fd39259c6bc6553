"""`peerdesk demo` on a full disk: never "Built" with exit 0, never a stray WAL or half a demo.

Before, the build's last step (closing the connection, which checkpoints the WAL into the file)
failed silently on a full disk: the file was renamed into place without the data still in the
WAL, "Built" was printed and the exit code was 0. The disks here are real tmpfs mounts (root only;
see `small_disk` in tests/conftest.py); with --threads 300 the log fits but the checkpoint does not.
"""

from __future__ import annotations

# SQLite only: the demo's cache file on a full disk (a team database's disk is the server's).
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from console.db import open_cache
from console.demo_file import DemoFailed, settle_into_file


def demo(db: Path, threads: int) -> subprocess.CompletedProcess[str]:
    size = ["--threads", str(threads), "--candidates", "0"]
    return subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db), "demo", *size],
        capture_output=True,
        text=True,
        timeout=300,
    )


def threads_in(db: Path) -> int:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        return int(conn.execute("SELECT count(*) FROM threads").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize("kib", [2500, 4500])  # full while building; full at the checkpoint
def test_a_full_disk_fails_in_one_line_with_exit_1_and_leaves_nothing(
    small_disk: Callable[[int], Path], kib: int
) -> None:
    disk = small_disk(kib)
    run = demo(disk / "demo.sqlite3", 300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Built" not in run.stdout
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "is full" in lines[0] and "Traceback" not in run.stderr
    assert sorted(p.name for p in disk.iterdir()) == []  # no half demo, no -wal, no -shm


def test_a_failed_rebuild_leaves_the_old_demo_as_it_was(
    small_disk: Callable[[int], Path],
) -> None:
    disk = small_disk(4500)
    db = disk / "demo.sqlite3"
    assert demo(db, 5).returncode == 0
    assert threads_in(db) == 5
    run = demo(db, 300)
    assert run.returncode == 1 and "Built" not in run.stdout
    assert sorted(p.name for p in disk.iterdir()) == ["demo.sqlite3"]
    assert threads_in(db) == 5  # still the old, whole demo


@pytest.mark.slow
def test_with_room_the_build_is_one_file_that_checks_out(
    small_disk: Callable[[int], Path],
) -> None:
    disk = small_disk(16_000)
    run = demo(disk / "demo.sqlite3", 300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Built the demo community")
    assert sorted(p.name for p in disk.iterdir()) == ["demo.sqlite3"]
    assert threads_in(disk / "demo.sqlite3") == 300


def test_a_checkpoint_that_cannot_complete_is_an_error_not_silence(tmp_path: Path) -> None:
    """A reader holding an old snapshot stops the checkpoint short (as a full disk does)."""
    path = tmp_path / "building.sqlite3"
    cache = open_cache(path, create=True)
    reader = sqlite3.connect(path)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM meta").fetchone()  # holds its snapshot
        with cache.transaction():
            cache.set_meta("demo", "1")
        cache.conn.execute("PRAGMA busy_timeout = 0")
        with pytest.raises(DemoFailed, match="checkpoint"):
            settle_into_file(cache.conn, path)
        reader.close()
        settle_into_file(cache.conn, path)  # nothing in the way now: the file is whole
        assert cache.conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        reader.close()
        cache.close()
    assert not (tmp_path / "building.sqlite3-wal").exists()
