"""E's clock scan on every visit reads only what changed since the visit before
(console.escalate.clock_watch): a thread whose time runs out between two scans is raised by the
second, and so is an old unanswered thread a sync brings in; a thread changed in place is found
by the next full scan (the first, then one every FULL_EVERY). On a cache file and a team
database (the reads are new SQL on both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.db import Cache
from console.escalate import engine
from console.escalate.clock_watch import FULL_EVERY, ClockWatch
from tests.escalate.conftest import post, store, thread

pytestmark = pytest.mark.backends

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _subjects(cache: Cache, rule: str) -> set[str]:
    rows = cache.query("SELECT subject FROM escalations WHERE rule_id = ?", (rule,))
    return {str(r[0]) for r in rows}


def test_a_thread_breached_between_two_scans_is_raised_by_the_second(cache: Cache) -> None:
    ids = store(
        cache,
        [
            thread("1", "Asked yesterday", "u1", "2026-11-19T09:00:00Z"),
            thread("2", "Asked long ago", "u1", "2026-11-12T09:00:00Z"),
            thread("3", "Answered", "u1", "2026-11-12T09:00:00Z", status="answered", replies=1),
        ],
        [post(f"{n}1", str(n), "u1", 0, "hello", "2026-11-12T09:00:00Z") for n in (1, 2, 3)],
    )
    watch = ClockWatch()
    # thread 1's 48 hours run out at 09:00 on the 21st
    start = datetime(2026, 11, 21, 8, 57, tzinfo=UTC)
    assert watch.scan(cache, start) == 1  # the first scan reads everything: thread 2 is due
    assert watch.full_scans == 1
    assert _subjects(cache, "unanswered") == {f"thread:{ids['2']}"}

    assert watch.scan(cache, start + timedelta(minutes=2)) == 0
    assert watch.scan(cache, start + timedelta(minutes=4)) == 1  # 09:01
    assert watch.full_scans == 1  # both read only what changed
    assert _subjects(cache, "unanswered") == {f"thread:{ids['2']}", f"thread:{ids['1']}"}

    # a sync brings an old thread nobody answered: a new row, raised at the next scan
    later = store(cache, [thread("4", "Synced late", "u1", "2026-11-15T09:00:00Z")], [])
    assert watch.scan(cache, start + timedelta(minutes=5)) == 1
    assert f"thread:{later['4']}" in _subjects(cache, "unanswered")
    assert watch.full_scans == 1

    # nothing new: nothing raised, and a full scan finds nothing the watch missed
    assert watch.scan(cache, start + timedelta(minutes=6)) == 0
    assert watch.full_scans == 1
    assert engine.scan_clock(cache, start + timedelta(minutes=6)) == 0


def test_a_thread_changed_in_place_waits_for_the_next_full_scan(cache: Cache) -> None:
    ids = store(
        cache,
        [thread("3", "Answered", "u1", "2026-11-12T09:00:00Z", status="answered", replies=1)],
        [post("31", "3", "u1", 0, "hello", "2026-11-12T09:00:00Z")],
    )
    watch = ClockWatch()
    assert watch.scan(cache, START) == 0
    with cache.transaction() as conn:  # its only reply gone, open again (in place)
        conn.execute(
            "UPDATE threads SET status = 'open', reply_count = 0 WHERE id = ?", (ids["3"],)
        )
    assert watch.scan(cache, START + timedelta(minutes=1)) == 0
    assert watch.full_scans == 1
    assert watch.scan(cache, START + FULL_EVERY) == 1  # the full scan finds it
    assert watch.full_scans == 2
    assert _subjects(cache, "unanswered") == {f"thread:{ids['3']}"}


def test_scan_changes_scans_only_when_no_full_scan_is_due(cache: Cache) -> None:
    """The panel's list read scans first only what changed (`scan_changes`); when a full scan is
    due it scans nothing and says so (None), and the panel makes the full one after its list."""
    ids = store(
        cache,
        [thread("1", "Asked yesterday", "u1", "2026-11-19T09:00:00Z")],
        [post("11", "1", "u1", 0, "hello", "2026-11-12T09:00:00Z")],
    )
    watch = ClockWatch()
    start = datetime(2026, 11, 21, 8, 57, tzinfo=UTC)
    assert watch.due_full(start)
    assert watch.scan_changes(cache, start) is None  # the first scan is a full one: not here
    assert watch.full_scans == 0 and _subjects(cache, "unanswered") == set()
    assert watch.scan(cache, start) == 0
    assert not watch.due_full(start + timedelta(minutes=4))
    assert watch.scan_changes(cache, start + timedelta(minutes=4)) == 1  # 09:01: thread 1 due
    assert _subjects(cache, "unanswered") == {f"thread:{ids['1']}"}
    assert watch.full_scans == 1
    assert watch.due_full(start + FULL_EVERY)
    assert watch.scan_changes(cache, start + FULL_EVERY) is None
    assert watch.full_scans == 1
