"""`console.rewards.ledger.member_lines`: one member's balance and ledger lines (the member view)."""

from __future__ import annotations

import pytest

from console.db import Cache
from console.desk import Desk
from console.errors import NotFound
from console.rewards import ledger
from console.rewards.accrue import accrue
from console.rewards.schedule_store import active_schedule

pytestmark = pytest.mark.backends


def test_a_members_lines_and_balance_agree_with_the_ledger(
    cache: Cache, ids: dict[str, int], staff: dict[str, Desk]
) -> None:
    accrue(cache, active_schedule(cache))
    h1 = ids["member:h1"]
    statement = ledger.member_lines(cache, h1)
    rows = cache.query(
        "SELECT id, points, amount_minor FROM ledger WHERE member_id = ? ORDER BY id", (h1,)
    )
    assert statement.username == "h1"
    assert statement.entries == len(rows) > 3
    assert (statement.points, statement.amount_minor) == (
        sum(r[1] for r in rows),
        sum(r[2] for r in rows),
    )
    assert sorted(line.entry_id for line in statement.lines) == [r[0] for r in rows]
    assert [line.occurred_at for line in statement.lines] == sorted(
        (line.occurred_at for line in statement.lines), reverse=True
    )
    assert {line.rule for line in statement.lines} >= {"accepted_answer", "helpful_vote"}
    # a payout shows as a negative line and the balance follows it
    staff["priya"].rewards.prepare("2026-10")
    after = ledger.member_lines(cache, h1, limit=2)
    assert after.lines[0].kind == "payout" and after.lines[0].amount_minor < 0
    assert after.lines[0].line_id is not None
    assert after.amount_minor == statement.amount_minor + after.lines[0].amount_minor
    assert after.truncated and len(after.lines) == 2 and after.entries == len(rows) + 1
    assert staff["alice"].rewards.member_lines(h1, limit=2) == after  # the Desk's read


def test_a_member_without_entries_and_an_unknown_member(cache: Cache, ids: dict[str, int]) -> None:
    empty = ledger.member_lines(cache, ids["member:a1"])
    assert (empty.points, empty.amount_minor, empty.entries, empty.lines) == (0, 0, 0, [])
    with pytest.raises(NotFound, match="no member 999999"):
        ledger.member_lines(cache, 999_999)
