"""An accrual is priced when it is written, on both engines: the cache file's Appender refuses
what its schedule version does not pay now (points within the caps' room, the point value, the
currency, a version not loaded), as the team database's server does, and as `ledger verify`
re-prices it afterwards (console.rewards.pricing, one definition)."""

from __future__ import annotations

import pytest

from console.db import Cache
from console.errors import PeerdeskError
from console.rewards import ledger
from console.rewards.schedule import parse_schedule
from console.rewards.schedule_store import install_schedule

from .conftest import SCHEDULE

pytestmark = pytest.mark.backends

TIGHT = SCHEDULE.replace('version = "t1"', 'version = "t2"').replace(
    "per_thread = 40", "per_thread = 12"
)
"""t1's prices with room for 12 points a thread: an accepted answer (10) and two votes (1 each)."""


def _events(cache: Cache, thread: int) -> list[ledger.Entry]:
    """h1's events in `thread` as `accrue` would pay them under t2 with no cap (in the order
    accrue meets them: the accepted answer, then the votes)."""
    rows = cache.query(
        "SELECT rule, event_key, member_id, thread_id, occurred_at FROM reward_events "
        "WHERE thread_id = ? AND rule IN ('accepted_answer', 'helpful_vote') "
        "ORDER BY rule, occurred_at, event_key",
        (thread,),
    )
    return [
        ledger.Entry(
            member_id=int(r[2]),
            kind="accrual",
            rule=str(r[0]),
            event_key=str(r[1]),
            points=10 if r[0] == "accepted_answer" else 1,
            amount_minor=50 if r[0] == "accepted_answer" else 5,
            currency="GBP",
            schedule_version="t2",
            occurred_at=str(r[4]),
            thread_id=int(r[3]),
        )
        for r in rows
    ]


def _with(entry: ledger.Entry, **change: object) -> ledger.Entry:
    fields = dict(entry.__dict__)
    fields.update(change)
    return ledger.Entry(**fields)  # type: ignore[arg-type]


def _refused(cache: Cache, entries: list[ledger.Entry], match: str, *, new: bool = False) -> None:
    before = cache.query("SELECT id FROM ledger")
    with pytest.raises(PeerdeskError, match=match) as refused:
        with cache.transaction() as conn:
            appender = ledger.Appender(conn)
            if new:
                appender.append_new(entries)
            else:
                for entry in entries:
                    appender.append(entry)
    assert "\n" not in str(refused.value)
    assert cache.query("SELECT id FROM ledger") == before


def test_an_accrual_is_priced_when_it_is_written(cache: Cache, ids: dict[str, int]) -> None:
    with cache.transaction() as conn:
        install_schedule(conn, parse_schedule(TIGHT), loaded_by="root")
    answer, *votes = _events(cache, ids["t4"])
    assert answer.rule == "accepted_answer" and len(votes) == 4
    for wrong, match in (
        ({"points": 1000, "amount_minor": 5000}, "pays 1000 points|not 1000"),
        ({"points": 9, "amount_minor": 45}, "pays 9 points|not 9"),
        ({"amount_minor": 60}, "60 GBP minor units|not 10 \\(60"),
        ({"currency": "USD"}, "USD|not 10 \\(50 USD"),
        ({"schedule_version": "t9"}, "t9"),
        ({"rule": "helpful_vote"}, "no helpful_vote event|there is no helpful_vote"),
    ):
        _refused(cache, [_with(answer, **wrong)], match)
    with cache.transaction() as conn:
        appender = ledger.Appender(conn)
        for entry in (answer, votes[0], votes[1]):
            assert appender.append(entry) is not None
    # the thread's cap of 12 is reached: the third vote is paid 0 points, not 1
    _refused(cache, [votes[2]], "pays 1 points for helpful_vote; schedule t2 pays 0|pays 0 points")
    with cache.transaction() as conn:
        assert ledger.Appender(conn).append(_with(votes[2], points=0, amount_minor=0))
    report = ledger.verify(cache)
    assert report.ok, report.problems


def test_accruals_written_together_count_each_other_against_the_caps(
    cache: Cache, ids: dict[str, int]
) -> None:
    """append_new checks every entry before writing any: each is priced with the ones before
    it in the list counted (on the server each is appended, and priced, in turn)."""
    with cache.transaction() as conn:
        install_schedule(conn, parse_schedule(TIGHT), loaded_by="root")
    answer, *votes = _events(cache, ids["t4"])
    uncapped = [answer, *votes[:3]]
    _refused(cache, uncapped, "pays 1 points for helpful_vote; schedule t2 pays 0|pays 0", new=True)
    with cache.transaction() as conn:
        capped = [answer, votes[0], votes[1], _with(votes[2], points=0, amount_minor=0)]
        assert len(ledger.Appender(conn).append_new(capped)) == 4
    assert [int(r[0]) for r in cache.query("SELECT points FROM ledger ORDER BY id")] == [
        10,
        1,
        1,
        0,
    ]
    assert ledger.verify(cache).ok


def test_one_appender_counts_what_it_wrote_one_by_one(cache: Cache, ids: dict[str, int]) -> None:
    """The Appender reads a member's day and thread from the ledger once and counts what it
    writes after (no two queries per accrual): the fourth entry of one run, over the thread's
    cap, is still refused, and an entry already in the ledger is not counted twice."""
    with cache.transaction() as conn:
        install_schedule(conn, parse_schedule(TIGHT), loaded_by="root")
    answer, *votes = _events(cache, ids["t4"])
    _refused(cache, [answer, votes[0], answer, votes[1], votes[2]], "pays 0 points|pays 0")
    with cache.transaction() as conn:
        appender = ledger.Appender(conn)
        assert appender.append(answer) is not None
        assert appender.append(votes[0]) is not None
    with cache.transaction() as conn:
        appender = ledger.Appender(conn)
        assert appender.append(answer) is None  # there already: written once, counted once
        assert appender.append(votes[1]) is not None
        assert appender.append(_with(votes[2], points=0, amount_minor=0)) is not None
    assert ledger.verify(cache).ok
