"""A moderator's decision on a full disk: the decision, its audit entry and its outbox item are
one transaction, rolled back whole; the moderator is told in words (a DiskFull, which the
console shows as it is), and reading goes on. Once there is room, the same decision is saved.

Two ways the disk fills: at the COMMIT (a small decision: its pages reach the write-ahead log
only then; a real tmpfs, root only) and in the middle of the transaction (a decision big enough
to spill, emulated with `PRAGMA max_page_count` on the real cache file).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from console.desk import Desk
from console.errors import DiskFull
from tests.conftest import resize_disk

# SQLite only: the cache file on a full disk (a team database's disk is the server's)

COUNTED = ("audit", "outbox", "batches", "notes")


def counts(cache: Cache) -> dict[str, int]:
    return {table: cache.one(f"SELECT count(*) FROM {table}")[0] for table in COUNTED}


def _reads_go_on(desk: Desk, thread_id: int) -> None:
    assert desk.queue()  # the Queue's rows
    assert desk.thread(thread_id).thread_id == thread_id


def test_a_note_too_big_for_the_room_left_is_refused_whole_mid_transaction(
    desk: Desk, ids: dict[str, int]
) -> None:
    cache = desk.cache
    tid = ids["t1"]
    before = counts(cache)
    pages = cache.one("PRAGMA page_count")[0]
    cache.conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(DiskFull, match="is full.*nothing of the failed step was saved"):
        desk.add_note(tid, "a long note " * 50_000)  # ~600 kB: far more than two pages
    assert not cache.conn.in_transaction
    assert counts(cache) == before
    _reads_go_on(desk, tid)
    cache.conn.execute(f"PRAGMA max_page_count = {pages + 10_000}")  # room again
    desk.add_note(tid, "a long note " * 50_000)
    assert counts(cache)["notes"] == before["notes"] + 1
    assert counts(cache)["audit"] == before["audit"] + 1


def test_a_close_on_a_full_disk_is_refused_whole_at_the_commit(
    small_disk: Callable[[int], Path], cache: Cache, ids: dict[str, int]
) -> None:
    disk = small_disk(4 * 1024)
    db = disk / "cache.sqlite3"
    cache.conn.execute(f"VACUUM INTO '{db}'")
    full = open_cache(db)
    try:
        desk = Desk.for_cache(full, actor="alice")
        tid = ids["t1"]
        _reads_go_on(desk, tid)  # the reads' own pages are in place before the disk fills
        before = counts(full)
        with (disk / "filler").open("wb", buffering=0) as filler:  # what is left of the disk
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError:
                pass
        with pytest.raises(DiskFull, match="is full"):
            desk.close([tid], "duplicate of the pinned thread")
        assert not full.conn.in_transaction
        assert counts(full) == before
        assert full.one("SELECT status FROM threads WHERE id = ?", (tid,))[0] != "closed"
        _reads_go_on(desk, tid)
        resize_disk(disk, 64 * 1024)
        desk.close([tid], "duplicate of the pinned thread")
        assert full.one("SELECT status FROM threads WHERE id = ?", (tid,))[0] == "closed"
        after = counts(full)
        assert after["audit"] == before["audit"] + 1 and after["outbox"] == before["outbox"] + 1
    finally:
        full.close()
        shutil.rmtree(disk, ignore_errors=True)
