"""Every entry of a ledger checked as its writer checked it on arrival (console.rewards.replay,
what migrate-to runs before it copies a cache's ledger): a real ledger with accruals, reversals,
a ban, a payout batch and a held line given back fits, on both engines; each entry rewritten by
whoever can write the store (every hash after it recomputed, so the chain alone agrees) is
named as the first that does not fit."""

from __future__ import annotations

import re
from typing import Any

import pytest

from console.db import Cache
from console.desk import Desk
from console.rewards import ledger, replay

from .conftest import superuser_sql

pytestmark = pytest.mark.backends


def _a_real_ledger(cache: Cache, staff: dict[str, Desk], ids: dict[str, int], request: Any) -> None:
    """Accruals; h1's accepted answer in t4 removed as spam (its accruals reversed); h3 banned
    (their balance taken back); October's batch prepared, one line held, approved (the held
    line given back)."""
    rewards = staff["priya"].rewards
    rewards.accrue()
    superuser_sql(cache, request, f"UPDATE posts SET hidden = 1 WHERE id = {ids['post:p4.1']}")
    assert rewards.accrue().reversed > 0
    assert staff["tom"].rewards.ban(ids["member:h3"], "sock puppets") is not None
    batch = rewards.prepare("2026-10").batch_id
    lines = rewards.lines(batch)
    rewards.hold(min(lines, key=lambda line: line.amount_minor).line_id, "checking")
    for approver in ("tom", "una"):
        if staff[approver].rewards.batch(batch).state == "prepared":
            staff[approver].rewards.approve(batch)
    assert rewards.batch(batch).state == "approved"


def _rewrite(cache: Cache, request: Any, entry_id: int, change: dict[str, int]) -> None:
    """Change entry `entry_id` and recompute every hash from it on, and the head record (on the
    team database as its superuser, its triggers off)."""
    rows = [
        dict(r) for r in cache.query("SELECT * FROM ledger WHERE id >= ? ORDER BY id", (entry_id,))
    ]
    rows[0].update(change)
    prev = rows[0]["prev_hash"]
    statements = (
        ["DROP TRIGGER IF EXISTS ledger_no_update"]
        if cache.dialect.is_sqlite
        else ["ALTER TABLE ledger DISABLE TRIGGER USER"]
    )
    for row in rows:
        row["hash"] = ledger.digest(prev, row)
        statements.append(
            f"UPDATE ledger SET member_id = {row['member_id']}, points = {row['points']}, "
            f"amount_minor = {row['amount_minor']}, prev_hash = '{prev}', "
            f"hash = '{row['hash']}' WHERE id = {row['id']}"
        )
        row["prev_hash"], prev = prev, row["hash"]
    statements.append(
        f"UPDATE meta SET value = '{rows[-1]['id']}:{prev}' WHERE key = 'ledger_head'"
    )
    superuser_sql(cache, request, *statements)


def test_each_entry_is_checked_as_its_writer_checked_it(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int], request: pytest.FixtureRequest
) -> None:
    _a_real_ledger(cache, staff, ids, request)
    kinds = {str(r[0]) for r in cache.query("SELECT DISTINCT kind FROM ledger")}
    assert kinds == {"accrual", "reversal", "payout", "payout_return"}
    assert replay.first_unfit(cache) is None

    def first(where: str) -> dict[str, Any]:
        row = cache.one(f"SELECT * FROM ledger WHERE {where} ORDER BY id LIMIT 1")
        assert row is not None, where
        return dict(row)

    accrual = first("kind = 'accrual' AND points > 0")
    reversal = first("kind = 'reversal' AND reverses IS NOT NULL")
    ban = first("kind = 'reversal' AND rule = 'member_banned'")
    payout = first("kind = 'payout'")
    given_back = first("kind = 'payout_return'")
    h4 = ids["member:h4"]
    attacks = {
        "an accrual moved to another member": (accrual, {"member_id": h4}, "There is no"),
        "an accrual paid twice its price": (
            accrual,
            {"points": accrual["points"] * 2, "amount_minor": accrual["amount_minor"] * 2},
            "The accrual for .* pays",
        ),
        "a reversal that takes back less": (
            reversal,
            {"points": reversal["points"] + 1, "amount_minor": reversal["amount_minor"] + 5},
            "A reversal negates exactly",
        ),
        "a ban that takes back less": (
            ban,
            {"points": ban["points"] + 1, "amount_minor": ban["amount_minor"] + 5},
            "A ban reverses exactly",
        ),
        "a payout entry that is not its line": (
            payout,
            {"amount_minor": payout["amount_minor"] - 100},
            "A payout entry is exactly its payout line",
        ),
        "a held line given back twice over": (
            given_back,
            {"points": given_back["points"] * 2, "amount_minor": given_back["amount_minor"] * 2},
            "A payout_return gives back exactly",
        ),
    }
    for what, (entry, change, problem) in attacks.items():
        _rewrite(cache, request, int(entry["id"]), change)
        if cache.dialect.is_sqlite:
            assert ledger.verify(cache).entries  # (the chain was recomputed)
        unfit = replay.first_unfit(cache)
        assert unfit is not None, what
        assert unfit.entry_id == entry["id"], (what, unfit)
        assert re.match(problem, unfit.problem), (what, unfit.problem)
        assert "\n" not in unfit.problem
        _rewrite(cache, request, int(entry["id"]), {k: entry[k] for k in change})
        assert replay.first_unfit(cache) is None, what
    assert ledger.verify(cache).ok
