"""The Duplicates panel's list a page at a time (console.dupes.panel.pending_pairs), on a cache
file and on a team database: a page read after the row above it, before the row below it, or
from the far end given the total is the page OFFSET reads, ties of score included (ordered by
thread), and every page together is the whole list in order."""

from __future__ import annotations

import pytest

from console.clock import now_iso
from console.db import Cache
from console.dupes import panel
from tests.backends import pytest_generate_tests
from tests.dupes.conftest import seed

__all__ = ["pytest_generate_tests"]
pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

# the best pair's score of each thread, in thread order: ties across pages of 3
SCORES = [0.9, 0.9, 0.9, 0.9, 0.8, 0.75, 0.75, 0.7, 0.7, 0.7, 0.65, 0.6, 0.6]
PAGE = 3


def _plant(cache: Cache) -> list[int]:
    """Every pending pair replaced: open thread i (after the first two) proposed as a duplicate
    of the first with SCORES[i] and of the second with less (its best pair is the first)."""
    ids = seed(cache, kind="discourse", name="discourse")
    opened = sorted(int(r[0]) for r in cache.query("SELECT id FROM threads WHERE status = 'open'"))
    first, second, threads = opened[0], opened[1], opened[2 : 2 + len(SCORES)]
    assert len(threads) == len(SCORES), "the seed has fewer open threads than the test needs"
    stamp = now_iso()
    with cache.transaction() as conn:
        conn.execute("DELETE FROM duplicate_links WHERE decision = 'pending'")
        for thread_id, score in zip(threads, SCORES, strict=True):
            for original_id, value in ((first, score), (second, score - 0.1)):
                conn.execute(
                    "INSERT INTO duplicate_links (thread_id, original_id, score, method, "
                    "explanation, decision, created_at) VALUES (?, ?, ?, 'test', '', "
                    "'pending', ?)",
                    (thread_id, original_id, value, stamp),
                )
    assert ids
    return threads


def test_every_way_of_reading_a_page_reads_the_same_rows(cache: Cache) -> None:
    threads = _plant(cache)
    every = panel.pending_pairs(cache, offset=0, limit=100)
    expected = sorted(zip(SCORES, threads, strict=True), key=lambda p: (-p[0], p[1]))
    assert [(r.score, r.thread_id) for r in every] == [(pytest.approx(s), t) for s, t in expected]
    total = panel.pending_count(cache)
    assert total == len(every) == len(SCORES)
    pages = []
    for offset in range(0, total, PAGE):
        by_offset = panel.pending_pairs(cache, offset=offset, limit=PAGE)
        assert by_offset == every[offset : offset + PAGE]
        if offset:
            above = every[offset - 1].link_id
            assert panel.pending_pairs(cache, offset=offset, limit=PAGE, after=above) == by_offset
        if offset + PAGE < total:
            below = every[offset + PAGE].link_id
            found = panel.pending_pairs(cache, offset=offset, limit=PAGE, before=below)
            assert found == by_offset
        from_end = panel.pending_pairs(cache, offset=offset, limit=PAGE, total=total)
        assert from_end == by_offset
        pages += by_offset
    assert pages == every


def test_a_decided_row_still_marks_its_place(cache: Cache) -> None:
    """The row above the page was decided meanwhile: the page after it is still the rows that
    follow it in the list (not the list from the top)."""
    _plant(cache)
    every = panel.pending_pairs(cache, offset=0, limit=100)
    anchor = every[PAGE - 1]
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE duplicate_links SET decision = 'rejected' WHERE thread_id = ?",
            (anchor.thread_id,),
        )
    after = panel.pending_pairs(cache, offset=PAGE, limit=PAGE, after=anchor.link_id)
    assert after == every[PAGE : 2 * PAGE]
    gone = panel.pending_pairs(cache, offset=PAGE, limit=PAGE, after=10**9)  # no such link
    assert gone == [r for r in every if r.thread_id != anchor.thread_id][PAGE : 2 * PAGE]


def test_a_threads_position_is_its_row_in_the_list(cache: Cache) -> None:
    """Where the panel puts its cursor for a thread (D from its Thread screen): its row number,
    ties of score included; None for a thread with no pair to decide (an original, a thread
    whose pairs were decided)."""
    threads = _plant(cache)
    every = panel.pending_pairs(cache, offset=0, limit=100)
    assert [panel.position(cache, r.thread_id) for r in every] == list(range(len(every)))
    first = every[0]
    assert panel.position(cache, first.original_id) is None  # an original, never a new thread
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE duplicate_links SET decision = 'rejected' WHERE thread_id = ?",
            (first.thread_id,),
        )
    assert panel.position(cache, first.thread_id) is None
    assert panel.position(cache, every[1].thread_id) == 0
    assert panel.position(cache, threads[-1]) == len(every) - 2
