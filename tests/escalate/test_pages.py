"""The Escalations panel's list a page at a time (console.escalate.pages), on a cache file and on
a team database: open escalations by their SLA clock then closed ones newest first, read after
or before a neighbouring row, from the far end given the total, or by row number; the counts
(open, breached, closed, the trend) over every escalation, whatever the page."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from console.clock import iso, now, parse
from console.db import Cache
from console.desk import Desk
from console.escalate import pages, panel
from console.escalate.engine import OPEN_STATES
from console.storage import Row
from tests.escalate.conftest import post, store, thread
from tests.plans import query_plan

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

THREADS = 130  # more than one page of 50 either side of the closed ones


def _raise_many(cache: Cache, desk: Desk) -> None:
    """THREADS legal threats raised over the last days (each its own SLA clock); some
    acknowledged (their clock is then the time to resolve), some resolved or dismissed."""
    start = parse("2026-11-14T00:00:00Z")
    threads, posts = [], []
    for n in range(THREADS):
        # a few share a minute, so equal clocks are ordered by id
        created = iso(start + timedelta(minutes=53 * (n // 2) + (n % 7)))
        threads.append(thread(str(n), f"Threat {n}", "u1", created))
        posts.append(post(f"p{n}", str(n), "u1", 0, f"ombudsman {n}", created))
    store(cache, threads, posts)
    ids = [int(r[0]) for r in cache.query("SELECT id FROM escalations ORDER BY id")]
    assert len(ids) == THREADS
    esc = desk.escalations
    for escalation_id in ids[::9]:
        esc.acknowledge(escalation_id)
    for escalation_id in ids[4::11]:
        esc.resolve(escalation_id)
    for escalation_id in ids[6::13]:
        if esc.one(escalation_id).state in OPEN_STATES:
            esc.dismiss(escalation_id, "not a threat")


def _open_at_end_of(rows: list[Row], at: datetime) -> int:
    """Escalations raised by the end of `at`'s UTC day and not closed by then, one by one."""
    day = at.date().isoformat()
    return sum(1 for r in rows if r[0][:10] <= day and (r[1] is None or r[1][:10] > day))


def _expected(cache: Cache, include_closed: bool) -> list[int]:
    """The list's order, worked out in Python from every escalation."""
    every = [panel.one(cache, int(r[0])) for r in cache.query("SELECT id FROM escalations")]
    opened = sorted(
        (e for e in every if e.state in OPEN_STATES), key=lambda e: (e.due_at, e.escalation_id)
    )
    order = [e.escalation_id for e in opened]
    if include_closed:
        closed = [e.escalation_id for e in every if e.state not in OPEN_STATES]
        order += sorted(closed, reverse=True)
    return order


@pytest.mark.parametrize("include_closed", [False, True])
def test_pages_by_keyset_from_either_end_and_by_row_number(
    cache: Cache, desk: Desk, include_closed: bool
) -> None:
    _raise_many(cache, desk)
    expected = _expected(cache, include_closed)
    total = len(expected)
    assert total > 100 if include_closed else total > 50

    def ids(rows: list[panel.EscalationRow]) -> list[int]:
        return [r.escalation_id for r in rows]

    size = 50
    # forward, each page from the last row of the one before
    walked = ids(pages.page(cache, include_closed=include_closed, limit=size))
    while len(walked) < total:
        more = ids(
            pages.page(
                cache,
                include_closed=include_closed,
                offset=len(walked),
                limit=size,
                after=walked[-1],
            )
        )
        assert more, "a page after the last row read came back empty"
        walked += more
    assert walked == expected
    # backward, each page from the first row of the one after
    last = (total - 1) // size * size
    back = ids(
        pages.page(cache, include_closed=include_closed, offset=last, limit=size, total=total)
    )
    assert back == expected[last:]  # the last page, from the far end
    offset = last
    while offset:
        offset -= size
        earlier = ids(
            pages.page(
                cache, include_closed=include_closed, offset=offset, limit=size, before=back[0]
            )
        )
        assert earlier == expected[offset : offset + size]
        back = earlier + back
    assert back == expected
    # by row number only (no neighbour loaded): OFFSET from the start or the end
    for offset in range(0, total, 30):
        for known in (None, total):
            got = pages.page(
                cache, include_closed=include_closed, offset=offset, limit=30, total=known
            )
            assert ids(got) == expected[offset : offset + 30], (offset, known)


def test_a_page_after_a_row_that_left_the_list_is_read_by_row_number(
    cache: Cache, desk: Desk
) -> None:
    _raise_many(cache, desk)
    expected = _expected(cache, include_closed=False)
    gone = expected[9]
    desk.escalations.resolve(gone)
    now_expected = _expected(cache, include_closed=False)
    got = pages.page(cache, offset=10, limit=20, after=gone)
    assert [r.escalation_id for r in got] == now_expected[10:30]


def test_the_tally_counts_every_escalation(cache: Cache, desk: Desk) -> None:
    _raise_many(cache, desk)
    every = [panel.one(cache, int(r[0])) for r in cache.query("SELECT id FROM escalations")]
    tally = pages.tally(cache)
    opened = [e for e in every if e.state in OPEN_STATES]
    assert tally.open == len(opened)
    assert tally.breached == sum(1 for e in opened if e.breached) > 0
    assert tally.closed == len(every) - len(opened) > 0
    assert tally.rates["legal-threat"].raised == THREADS
    # later, the clocks run on: within pages.AHEAD of the count, the breached count worked out
    # from the tally is a new count's; after it, only a new count says (None)
    counted_at = parse(tally.known_until) - pages.AHEAD
    for minutes in (0, 1, 20, 119, 120, 121, 5 * 60, 30 * 60, 24 * 40 * 60):
        later = counted_at + timedelta(minutes=minutes)
        again = pages.tally(cache, at=later)
        assert again.breached == sum(
            1 for e in opened if panel.one(cache, e.escalation_id, later).breached
        )
        known = tally.breached_at(later)
        assert known == (again.breached if minutes <= 120 else None), minutes
    assert pages.tally(cache, at=now() + timedelta(days=40)).breached == tally.open
    # the trend: open at the end of each UTC day (today's: now), as counted one by one
    at = now()
    trend = pages.trend(cache)
    rows = cache.query("SELECT raised_at, closed_at FROM escalations")
    for back, count in enumerate(reversed(trend)):
        assert count == _open_at_end_of(rows, at - timedelta(days=back))
    assert trend[-1] == tally.open
    assert list(tally.trend) == trend  # the tally brings the trend along (one frame for both)


def test_the_trend_counts_escalations_closed_on_any_day_as_one_by_one(
    cache: Cache, desk: Desk
) -> None:
    """Closed ones across the window (some the day they were raised, some days later, one
    "closed" before it was raised): each day counts those raised by its end and not closed by
    then, as the rows read one by one say."""
    _raise_many(cache, desk)
    at = now()
    ids = [int(r[0]) for r in cache.query("SELECT id FROM escalations ORDER BY id")]
    for n, escalation_id in enumerate(ids[::3]):
        raised = parse(str(cache.one("SELECT raised_at FROM escalations WHERE id = ?",
                                     (escalation_id,))[0]))  # fmt: skip
        closed = raised + timedelta(hours=7 * n - 5)  # n = 0: before it was raised
        with cache.transaction():
            cache.conn.execute(
                "UPDATE escalations SET closed_at = ? WHERE id = ?", (iso(closed), escalation_id)
            )
    rows = cache.query("SELECT raised_at, closed_at FROM escalations")
    assert sum(1 for r in rows if r[1] is not None and r[0] <= r[1] <= iso(at)) > 10
    trend = panel.open_counts(cache, 30, at)
    for back, count in enumerate(reversed(trend)):
        assert count == _open_at_end_of(rows, at - timedelta(days=back))
    assert len(set(trend)) > 3  # the days differ


def test_the_trend_and_the_rates_read_the_kept_counts_by_their_keys(cache: Cache) -> None:
    if not cache.dialect.is_sqlite:
        pytest.skip("SQLite's query plan; the team database plans its own")
    plan = query_plan(
        cache.conn,
        "SELECT day, raised - closed FROM escalation_days WHERE day >= ? AND day <= ?",
        ("2026-10-22", "2026-11-20"),
    )
    assert plan == "SEARCH escalation_days USING PRIMARY KEY (day>? AND day<?)"
    plan = query_plan(
        cache.conn,
        "SELECT k.rule_id, (SELECT e.rule_name FROM escalations e WHERE e.rule_id = k.rule_id "
        "LIMIT 1) FROM escalation_rule_states k",
    )
    assert "SEARCH e USING INDEX escalations_rule_state (rule_id=?)" in plan
