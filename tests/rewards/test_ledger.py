"""Accruals, reversals and the ledger's hash chain, on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

import pytest

from console.db import Cache
from console.desk import Desk
from console.errors import CacheError, PermissionRefused
from console.rewards import ledger
from console.rewards.accrue import accrue
from console.rewards.service import active_schedule
from tests.rewards.conftest import superuser_sql

pytestmark = pytest.mark.backends


def _sum(cache: Cache, member: int) -> tuple[int, int]:
    row = cache.one(
        "SELECT coalesce(sum(points),0), coalesce(sum(amount_minor),0) FROM ledger "
        "WHERE member_id = ?",
        (member,),
    )
    return int(row[0]), int(row[1])


def test_accrual_pays_each_event_once(cache: Cache, ids: dict[str, int]) -> None:
    schedule = active_schedule(cache)
    first = accrue(cache, schedule)
    assert first.accrued > 0
    h1 = ids["member:h1"]
    # h1 answered threads 0, 4, 8 (accepted) with 0, 4, 3 votes
    assert _sum(cache, h1) == (3 * 10 + 7, (3 * 10 + 7) * 5)
    again = accrue(cache, schedule)
    assert (again.accrued, again.reversed) == (0, 0)
    count = cache.one("SELECT count(*) FROM ledger")[0]
    assert count == first.accrued
    assert ledger.verify(cache).ok


def test_undone_events_are_reversed_with_the_reason(cache: Cache, ids: dict[str, int]) -> None:
    schedule = active_schedule(cache)
    accrue(cache, schedule)
    h1 = ids["member:h1"]
    before = _sum(cache, h1)
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE posts SET hidden = 1, hidden_reason = 'spam' WHERE id = ?", (ids["post:p4.1"],)
        )
        conn.execute("UPDATE threads SET accepted_post_id = NULL WHERE id = ?", (ids["t8"],))
    report = accrue(cache, schedule)
    # p4.1: its acceptance and 4 votes; t8's acceptance (its 3 votes stand)
    assert report.reversed == 6
    assert _sum(cache, h1) == (before[0] - 24, before[1] - 24 * 5)
    whys = {
        json.loads(r[0])["why"]
        for r in cache.query("SELECT detail FROM ledger WHERE kind = 'reversal'")
    }
    assert whys == {"post removed as spam", "answer no longer accepted"}
    # accepting again never pays twice
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE threads SET accepted_post_id = ? WHERE id = ?", (ids["post:p8.1"], ids["t8"])
        )
    assert accrue(cache, schedule).accrued == 0
    assert ledger.verify(cache).ok


def test_caps_per_thread_and_day_are_recorded(cache: Cache, ids: dict[str, int]) -> None:
    text = cache.one("SELECT body FROM reward_schedules")[0]
    from console.rewards.schedule import parse_schedule
    from console.rewards.schedule_store import install_schedule

    capped = parse_schedule(
        text.replace('version = "t1"', 'version = "t2"').replace(
            "per_thread = 40", "per_thread = 12"
        )
    )
    with cache.transaction() as conn:  # root: an admin, on the team database too
        install_schedule(conn, capped, loaded_by="root")
    accrue(cache, active_schedule(cache))
    per_thread = cache.query(
        "SELECT member_id, thread_id, sum(points) FROM ledger GROUP BY 1, 2 HAVING sum(points) > 12"
    )
    assert per_thread == []
    capped_rows = cache.query("SELECT detail FROM ledger WHERE detail LIKE '%capped_from%'")
    assert capped_rows, "a capped event is still recorded, with what it would have had"
    assert {r[0] for r in cache.query("SELECT DISTINCT schedule_version FROM ledger")} == {"t2"}


def test_the_ledger_refuses_update_and_delete(cache: Cache, ids: dict[str, int]) -> None:
    """Even an admin's connection: the cache's triggers; on the team database its grants."""
    accrue(cache, active_schedule(cache))
    refused = "append-only" if cache.dialect.is_sqlite else "permission denied"
    with pytest.raises((sqlite3.IntegrityError, CacheError), match=refused):
        cache.conn.execute("UPDATE ledger SET amount_minor = 9999 WHERE id = 1")
    with pytest.raises((sqlite3.IntegrityError, CacheError), match=refused):
        cache.conn.execute("DELETE FROM ledger WHERE id = 1")


@pytest.fixture
def tamper(cache: Cache, request: pytest.FixtureRequest) -> Callable[[str], None]:
    """What someone with the file and sqlite3 could do (drop the guards, change rows); on the
    team database only its superuser can, past the grants and the triggers."""

    def run(sql: str) -> None:
        if cache.dialect.is_sqlite:
            superuser_sql(
                cache,
                request,
                "DROP TRIGGER ledger_no_update",
                "DROP TRIGGER ledger_no_delete",
                sql,
            )
        else:
            superuser_sql(cache, request, "ALTER TABLE ledger DISABLE TRIGGER USER", sql)

    return run


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("UPDATE ledger SET amount_minor = amount_minor + 100 WHERE id = 3", "entry edited"),
        ("DELETE FROM ledger WHERE id = 2", "entry 2 deleted"),
        ("DELETE FROM ledger WHERE id = (SELECT max(id) FROM ledger)", "deleted from the end"),
        ("UPDATE ledger SET member_id = member_id + 1 WHERE id = 1", "entry edited"),
    ],
)
def test_tampering_with_the_ledger_is_found(
    cache: Cache, ids: dict[str, int], tamper: Callable[[str], None], sql: str, words: str
) -> None:
    accrue(cache, active_schedule(cache))
    assert ledger.verify(cache).ok
    tamper(sql)
    report = ledger.verify(cache)
    assert not report.ok
    assert any(words in p.problem for p in report.problems), report.problems


def test_a_rehashed_forgery_is_found_by_the_head(
    cache: Cache, ids: dict[str, int], tamper: Callable[[str], None]
) -> None:
    """Rewriting the last entry and its hash still breaks the head kept in meta."""
    accrue(cache, active_schedule(cache))
    last = cache.one("SELECT * FROM ledger ORDER BY id DESC LIMIT 1")
    row = dict(last)
    row["amount_minor"] += 500
    forged = ledger.digest(row["prev_hash"], row)
    tamper(
        f"UPDATE ledger SET amount_minor = {row['amount_minor']}, hash = '{forged}' "
        f"WHERE id = {row['id']}",
    )
    problems = ledger.verify(cache).problems
    assert any("newest hash changed" in p.problem for p in problems)


def test_ledger_roles_are_checked_in_the_domain(staff: dict[str, Desk]) -> None:
    with pytest.raises(PermissionRefused):
        staff["alice"].rewards.accrue()
    assert staff["priya"].rewards.accrue().accrued > 0


def _escalate(cache: Cache, thread: int, raised: str, due: str, state: str = "new") -> int:
    cursor = cache.conn.execute(
        "INSERT INTO escalations (rule_id, rule_name, rule_kind, severity, thread_id, subject, "
        "version, matched, state, raised_at, detected_at, acknowledge_due, resolve_due, "
        "updated_at) VALUES ('r1', 'legal', 'keyword', 'high', ?, ?, '1', 'solicitor', ?, ?, ?, "
        "?, ?, ?) RETURNING id",
        (thread, f"thread:{thread}", state, raised, raised, due, due, raised),
    )
    return int(cursor.fetchone()[0])


def test_first_responses_within_an_escalation_sla_earn(cache: Cache, ids: dict[str, int]) -> None:
    from tests.rewards.conftest import day

    # thread t2's answer by h3 comes an hour after its question (conftest.build)
    in_time = _escalate(cache, ids["t2"], day(5, 11), day(5, 14))
    _escalate(
        cache,
        ids["t6"],
        day(13, 11),
        day(
            13,
            12,
        ),
        state="new",
    )  # answered 13:00: late
    schedule = active_schedule(cache)
    accrue(cache, schedule)
    rows = cache.query(
        "SELECT member_id, event_key, points FROM ledger WHERE rule = 'escalation_first_response'"
    )
    assert [tuple(r) for r in rows] == [(ids["member:h3"], f"escalation:{in_time}", 5)]
    cache.conn.execute("UPDATE escalations SET state = 'dismissed' WHERE id = ?", (in_time,))
    accrue(cache, schedule)
    why = cache.one(
        "SELECT detail FROM ledger WHERE kind = 'reversal' AND rule = 'escalation_first_response'"
    )
    assert json.loads(why[0])["why"] == "escalation dismissed"


def test_a_vanished_table_does_not_reverse_everything(cache: Cache, ids: dict[str, int]) -> None:
    """An emptied votes table looks like every vote retracted: refused unless asked for."""
    from console.errors import InvalidDecision
    from console.rewards import accrue as accrue_module

    schedule = active_schedule(cache)
    accrue(cache, schedule)
    entries = cache.one("SELECT count(*) FROM ledger")[0]
    votes = cache.one("SELECT count(*) FROM votes")[0]
    cache.conn.execute("DELETE FROM votes")
    old = accrue_module.MASS_REVERSAL_MIN
    accrue_module.MASS_REVERSAL_MIN = 5
    try:
        with pytest.raises(InvalidDecision, match="looks incomplete"):
            accrue(cache, schedule)
        assert cache.one("SELECT count(*) FROM ledger")[0] == entries
        report = accrue(cache, schedule, allow_mass_reversal=True)
        assert report.reversed == votes
    finally:
        accrue_module.MASS_REVERSAL_MIN = old


def test_a_ban_reverses_the_whole_balance_in_one_entry(
    cache: Cache, ids: dict[str, int], staff: dict[str, Desk]
) -> None:
    """On the team database the server checks the entry is exactly the banned member's
    balance; the ban, its entry and its audit entry are one transaction."""
    h1 = ids["member:h1"]
    assert staff["priya"].rewards.accrue().accrued > 0
    before = _sum(cache, h1)
    assert before[1] > 0
    with pytest.raises(PermissionRefused):
        staff["priya"].rewards.ban(h1, "sock puppets")  # a preparer does not ban
    entry = staff["tom"].rewards.ban(h1, "sock puppets")
    assert entry is not None
    row = cache.one("SELECT kind, rule, points, amount_minor FROM ledger WHERE id = ?", (entry,))
    assert tuple(row) == ("reversal", "member_banned", -before[0], -before[1])
    assert _sum(cache, h1) == (0, 0)
    from console.errors import InvalidDecision

    with pytest.raises(InvalidDecision, match="already banned"):
        staff["una"].rewards.ban(h1, "again")
    audit = cache.query("SELECT actor, action FROM audit WHERE action = 'reward_ban'")
    assert [tuple(r) for r in audit] == [("tom", "reward_ban")]
    assert ledger.verify(cache).ok


def test_verify_reads_the_ledger_a_page_at_a_time(
    cache: Cache,
    ids: dict[str, int],
    tamper: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pages of 3 entries: every entry is still checked, a gap across pages still found."""
    monkeypatch.setattr(ledger, "PAGE", 3)
    accrue(cache, active_schedule(cache))
    count = int(cache.one("SELECT count(*) FROM ledger")[0])
    assert count > 7
    report = ledger.verify(cache)
    assert report.ok and report.entries == count
    tamper("DELETE FROM ledger WHERE id IN (3, 4)")
    problems = [p.problem for p in ledger.verify(cache).problems]
    assert "entries 3-4 deleted" in problems, problems
