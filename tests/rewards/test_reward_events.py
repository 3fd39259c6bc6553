"""The events the rewards rules pay for are defined once, in the view reward_events (migration
29): both engines list the same events from the same data, the accrual step reads exactly them,
the ledger's writers on both engines refuse an accrual whose event is not there, and `accrue`
pays every kind of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from console.desk import Desk
from console.errors import PeerdeskError
from console.rewards import accrue as accrue_module
from console.rewards import ledger
from console.rewards.accrue import accrue
from console.rewards.events import SOURCES, new_events
from console.rewards.schedule_store import active_schedule, install_schedule

from .conftest import build, superuser_sql

pytestmark = pytest.mark.backends


def _every_kind(cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest) -> None:
    """Beside the community's accepted answers and votes: h3's answer in t2 verified; an
    escalation of t4 whose first reply (h1's, 13:00) came within its SLA; t5 a confirmed
    duplicate of t1, flagged first by v1."""
    t2, t4, t5, t1 = ids["t2"], ids["t4"], ids["t5"], ids["t1"]
    superuser_sql(
        cache,
        request,
        "INSERT INTO verifications (post_id, thread_id, state, decided_by, decided_at, "
        f"created_at, updated_at) VALUES ({ids['post:p2.1']}, {t2}, 'verified', 'alice', "
        "'2026-10-20T00:00:00Z', '2026-10-20T00:00:00Z', '2026-10-20T00:00:00Z')",
        "INSERT INTO escalations (rule_id, rule_name, rule_kind, severity, thread_id, subject, "
        "version, matched, raised_at, detected_at, acknowledge_due, resolve_due, updated_at) "
        f"VALUES ('r', 'Unanswered', 'unanswered', 'high', {t4}, 's', '1', 'm', "
        "'2026-10-09T12:00:00Z', '2026-10-09T12:00:00Z', '2026-10-09T18:00:00Z', "
        "'2026-10-10T12:00:00Z', '2026-10-09T12:00:00Z')",
        "INSERT INTO duplicate_links (thread_id, original_id, score, method, decision, "
        f"created_at) VALUES ({t5}, {t1}, 0.9, 'words', 'confirmed', '2026-10-12T00:00:00Z')",
        "INSERT INTO member_duplicate_flags (thread_id, original_id, member_id, flagged_at) "
        f"VALUES ({t5}, {t1}, {ids['member:v1']}, '2026-10-11T00:00:00Z')",
    )


VIEW_ROWS = (
    "SELECT rule, event_id, event_key, member_id, thread_id, occurred_at, detail "
    "FROM reward_events ORDER BY rule, event_id"
)


def _events(cache: Cache) -> list[tuple[str, ...]]:
    return [tuple(str(v) for v in row) for row in cache.query(VIEW_ROWS)]


def test_both_engines_list_the_same_events_from_the_one_view(
    cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The same community in a cache file built here and in the test's store (on PostgreSQL a
    team database migrate-to made from such a file): the one view, rendered for each engine,
    lists the same events, row for row; and the accrual step's sources read exactly it."""
    _every_kind(cache, ids, request)
    reference = open_cache(tmp_path / "reference.sqlite3", create=True)
    try:
        _every_kind(reference, build(reference), request)
        expected = _events(reference)
    finally:
        reference.close()
    found = _events(cache)
    assert found == expected
    assert {row[0] for row in found} == set(SOURCES)  # every rule has events here
    # a few of them by hand: h3's verified answer, h1's first response to t4's escalation
    # (its reply named in the detail), v1's confirmed duplicate flag, a vote and its voter
    by_key = {(row[0], row[2]): row for row in found}
    verified = by_key["verified_answer", f"post:{ids['post:p2.1']}"]
    assert verified[3:6] == (str(ids["member:h3"]), str(ids["t2"]), "2026-10-20T00:00:00Z")
    first = [row for row in found if row[0] == "escalation_first_response"]
    assert [(r[3], r[4], r[5]) for r in first] == [
        (str(ids["member:h1"]), str(ids["t4"]), "2026-10-09T13:00:00Z")
    ]
    assert json.loads(first[0][6]) == {"post_id": ids["post:p4.1"]}
    flagged = by_key["duplicate_flagged", f"thread:{ids['t5']}"]
    assert flagged[3:6] == (str(ids["member:v1"]), str(ids["t5"]), "2026-10-11T00:00:00Z")
    vote = cache.one("SELECT id, voter_id FROM votes ORDER BY id LIMIT 1")
    assert vote is not None
    assert json.loads(by_key["helpful_vote", f"vote:{vote[0]}"][6]) == {"voter_id": vote[1]}
    for rule, source in SOURCES.items():
        listed = sorted(
            (e.event_key, str(e.member_id), str(e.thread_id), e.occurred_at, dict(e.detail))
            for e in source.events(cache.conn)
        )
        viewed = sorted(
            (row[2], row[3], row[4], row[5], json.loads(row[6])) for row in found if row[0] == rule
        )
        assert listed == viewed, rule
        unpaid = sorted(  # what an accrual run reads: all of them, the ledger being empty
            (e.event_key, str(e.member_id), str(e.thread_id), e.occurred_at, dict(e.detail))
            for e in new_events(cache.conn, rule)
        )
        assert unpaid == viewed, rule


def _accrual(
    ids: dict[str, int],
    member: str = "h1",
    rule: str = "accepted_answer",
    key: str | None = None,
    *,
    thread: int | str | None = "t0",
    at: str = "2026-10-01T13:00:00Z",
    points: int = 10,
) -> ledger.Entry:
    """An accrual as `accrue` would write h1's accepted answer in t0 (10 points at 5p a point,
    schedule t1), or that with one thing changed."""
    return ledger.Entry(
        member_id=ids[f"member:{member}"],
        kind="accrual",
        rule=rule,
        event_key=key or f"post:{ids['post:p0.1']}",
        points=points,
        amount_minor=points * 5,
        currency="GBP",
        schedule_version="t1",
        occurred_at=at,
        thread_id=ids[thread] if isinstance(thread, str) else thread,
    )


def test_the_ledger_refuses_an_accrual_whose_event_is_not_true_and_writes_nothing(
    cache: Cache, ids: dict[str, int]
) -> None:
    """The cache's Appender checks an accrual's event in reward_events as the team database's
    peerdesk_ledger_append does: a made-up, re-spelt, moved or someone else's event is refused
    with one line, and nothing is written (not the entry, not the head)."""
    vote = cache.one("SELECT id FROM votes ORDER BY id LIMIT 1")
    assert vote is not None
    answer = ids["post:p0.1"]
    made_up = {
        "an answer that does not exist": _accrual(ids, key="post:999999"),
        "an answer nobody accepted": _accrual(
            ids, "h3", key=f"post:{ids['post:p2.1']}", thread="t2"
        ),
        "a vote paid as an accepted answer": _accrual(ids, key=f"vote:{vote[0]}"),
        "someone else's accepted answer": _accrual(ids, "h2"),
        "a paid answer spelt again (post:0N)": _accrual(ids, key=f"post:0{answer}"),
        "a paid answer spelt again (trailing space)": _accrual(ids, key=f"post:{answer} "),
        "in another thread (dodging its cap)": _accrual(ids, thread="t1"),
        "in no thread": _accrual(ids, thread=None),
        "on another day (dodging the day's cap)": _accrual(ids, at="2026-10-02T13:00:00Z"),
        "an accrual that takes money away": _accrual(ids, points=-10),
    }
    for what, entry in made_up.items():
        with pytest.raises(PeerdeskError, match="(?i)(there is no|adds points)") as refused:
            with cache.transaction() as conn:
                ledger.Appender(conn).append(entry)
        assert "\n" not in str(refused.value), what
        if cache.dialect.is_sqlite:
            assert str(refused.value).endswith("Nothing was written"), what
        assert cache.query("SELECT id FROM ledger") == [], what
        assert cache.meta(ledger.HEAD_KEY) is None, what
        with pytest.raises(PeerdeskError, match="(?i)(there is no|adds points)"):
            with cache.transaction() as conn:  # an accrual run's batch: checked entry by entry
                ledger.Appender(conn).append_accruals([entry, _accrual(ids)])
        assert cache.query("SELECT id FROM ledger") == [], what
    if cache.dialect.is_sqlite:  # (on the server append_new appends one by one, as above)
        with pytest.raises(PeerdeskError, match="There is no accepted_answer event post:999999"):
            with cache.transaction() as conn:
                ledger.Appender(conn).append_new([_accrual(ids, key="post:999999")])
        assert cache.query("SELECT id FROM ledger") == []
    # the real event, as it is, is paid; offered again, nothing is written
    with cache.transaction() as conn:
        assert ledger.Appender(conn).append(_accrual(ids)) == 1
    with cache.transaction() as conn:
        assert ledger.Appender(conn).append(_accrual(ids)) is None
    assert [tuple(r) for r in cache.query("SELECT id, event_key FROM ledger")] == [
        (1, f"post:{answer}")
    ]
    assert ledger.verify(cache).ok


def test_accrue_pays_every_kind_of_event_the_ledger_checks(
    cache: Cache,
    ids: dict[str, int],
    request: pytest.FixtureRequest,
    staff: dict[str, Desk],
) -> None:
    _every_kind(cache, ids, request)
    staff["priya"].rewards.accrue()
    paid = {str(r[0]) for r in cache.query("SELECT DISTINCT rule FROM ledger")}
    assert paid == set(SOURCES)
    assert ledger.verify(cache).ok


def test_the_ledger_refuses_a_reversal_or_payout_that_does_not_fit_and_writes_nothing(
    cache: Cache, ids: dict[str, int], staff: dict[str, Desk]
) -> None:
    """What the team database's server refuses, the cache's Appender refuses too: a reversal
    that does not negate exactly the accrual it names, a "ban" of a member not banned, a
    payout or payout_return for no payout line, a kind the ledger has not."""
    staff["priya"].rewards.accrue()
    first = cache.one(
        "SELECT id, member_id, rule, event_key, thread_id, points, amount_minor FROM ledger "
        "WHERE kind = 'accrual' ORDER BY id LIMIT 1"
    )
    assert first is not None
    entry_id, member, rule, key, thread, points, amount = (first[i] for i in range(7))

    def entry(kind: str, **change: object) -> ledger.Entry:
        fields: dict[str, object] = {
            "member_id": member,
            "kind": kind,
            "rule": rule,
            "event_key": key,
            "points": -points,
            "amount_minor": -amount,
            "currency": "GBP",
            "schedule_version": "t1",
            "occurred_at": "2026-11-20T12:00:00Z",
            "thread_id": thread,
            "reverses": entry_id,
        }
        fields.update(change)
        return ledger.Entry(**fields)  # type: ignore[arg-type]

    unfit = {
        "a reversal taking back more": entry("reversal", amount_minor=-amount - 1),
        "a reversal for another member": entry("reversal", member_id=ids["member:a1"]),
        "a reversal of an entry that is not there": entry("reversal", reverses=99_999),
        "a ban of a member not banned": entry(
            "reversal", rule="member_banned", event_key=f"member:{member}", reverses=None
        ),
        "a payout for no payout line": entry(
            "payout", rule="payout", event_key="line:77", line_id=77, reverses=None
        ),
        "a payout_return for no payout line": entry(
            "payout_return", rule="payout", event_key="line:77", line_id=77
        ),
        "a kind the ledger has not": entry("bonus", reverses=None),
    }
    before = [tuple(r) for r in cache.query("SELECT id, hash FROM ledger ORDER BY id")]
    head = cache.meta(ledger.HEAD_KEY)
    for what, bad in unfit.items():
        with pytest.raises(PeerdeskError) as refused:
            with cache.transaction() as conn:
                ledger.Appender(conn).append(bad)
        assert "\n" not in str(refused.value), what
        if cache.dialect.is_sqlite:
            assert str(refused.value).endswith("Nothing was written"), what
        assert [tuple(r) for r in cache.query("SELECT id, hash FROM ledger ORDER BY id")] == (
            before
        ), what
        assert cache.meta(ledger.HEAD_KEY) == head, what
    with cache.transaction() as conn:  # the exact reversal is written, once
        assert ledger.Appender(conn).append(entry("reversal")) is not None
        assert ledger.Appender(conn).append(entry("reversal")) is None
    assert ledger.verify(cache).ok


def _paid(cache: Cache) -> list[tuple[str, ...]]:
    return [
        tuple(str(v) for v in row)
        for row in cache.query(
            "SELECT member_id, rule, event_key, thread_id, points, amount_minor, occurred_at, "
            "detail FROM ledger ORDER BY id"
        )
    ]


def test_an_accrual_run_written_in_small_batches_writes_the_same_ledger(
    cache: Cache,
    ids: dict[str, int],
    request: pytest.FixtureRequest,
    staff: dict[str, Desk],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run writes its accruals a batch at a time (their events read together): batches of
    two give, entry for entry and in the same order, the ledger one batch gives (caps counted
    across batches), on both engines, and the chain holds."""
    _every_kind(cache, ids, request)
    reference = open_cache(tmp_path / "reference.sqlite3", create=True)
    try:
        _every_kind(reference, build(reference), request)
        schedule = active_schedule(cache)
        with reference.transaction() as conn:  # the same schedule
            install_schedule(conn, schedule, loaded_by="test")
        accrue(reference, schedule)
        expected = _paid(reference)
    finally:
        reference.close()
    monkeypatch.setattr(accrue_module, "_WRITE_EVERY", 2)
    staff["priya"].rewards.accrue()
    assert len(expected) > 4  # several batches
    assert _paid(cache) == expected
    assert ledger.verify(cache).ok


def test_an_event_the_view_lists_twice_is_paid_once_to_the_first(
    cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest, staff: dict[str, Desk]
) -> None:
    """Two members flag t5 as a duplicate of t1 at the same moment: the view lists the event
    twice (one key, two members). The run pays it once, to the member it lists first (lowest
    id), and a second run pays nothing more."""
    _every_kind(cache, ids, request)
    superuser_sql(
        cache,
        request,
        "INSERT INTO member_duplicate_flags (thread_id, original_id, member_id, flagged_at) "
        f"VALUES ({ids['t5']}, {ids['t1']}, {ids['member:v2']}, '2026-10-11T00:00:00Z')",
    )
    key = f"thread:{ids['t5']}"
    listed = cache.query(
        "SELECT member_id FROM reward_events WHERE rule = 'duplicate_flagged' AND event_key = ?",
        (key,),
    )
    assert sorted(int(r[0]) for r in listed) == sorted([ids["member:v1"], ids["member:v2"]])
    staff["priya"].rewards.accrue()
    paid = cache.query(
        "SELECT member_id FROM ledger WHERE rule = 'duplicate_flagged' AND event_key = ?", (key,)
    )
    assert [int(r[0]) for r in paid] == [min(ids["member:v1"], ids["member:v2"])]
    before = _paid(cache)
    staff["priya"].rewards.accrue()
    assert _paid(cache) == before
    assert ledger.verify(cache).ok
