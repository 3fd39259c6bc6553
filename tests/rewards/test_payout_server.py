"""The team database's own guards on payouts, against a client that does not check (an older
peerdesk, or one modified by whoever runs it): the server refuses what the domain refuses.
"""

# PostgreSQL only: the server's triggers; a SQLite cache has no server (test_payout_attacks.py)

from __future__ import annotations

import pytest

from console.db import Cache
from console.desk import Desk
from console.rewards import payouts
from console.storage.postgres import TeamStoreFailed

from .conftest import as_person, superuser_sql

POSTGRESQL = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def _state(cache: Cache, batch: int) -> tuple[str, list[str]]:
    row = cache.one("SELECT state FROM payout_batches WHERE id = ?", (batch,))
    approvers = cache.query(
        "SELECT approver FROM payout_approvals WHERE batch_id = ? ORDER BY approver", (batch,)
    )
    return str(row[0]) if row else "", [str(r[0]) for r in approvers]


@POSTGRESQL
def test_the_server_refuses_an_approval_of_ones_own_payout_from_a_client_that_does_not_check(
    cache: Cache,
    staff: dict[str, Desk],
    ids: dict[str, int],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """h1's account is called TOM (another case); the voter v1 is called Una; a moderator
    linked v1 and h2 as one person, and h3 shares v1's Stack Exchange account. With the
    domain's own-account check gone (an older or modified client), tom still cannot approve
    October's batch (it pays TOM), nor una (it pays h2 and h3, hers by link and by signal), nor
    by a raw INSERT; the refusals wrote nothing. Once a moderator says v1 is neither h2 nor h3,
    una can, with the server's agreement."""
    h1, h2, h3, v1 = (ids[f"member:{n}"] for n in ("h1", "h2", "h3", "v1"))
    low, high = sorted((v1, h2))
    superuser_sql(
        cache,
        request,
        f"UPDATE members SET username = 'TOM' WHERE id = {h1}",
        f"UPDATE members SET username = 'Una' WHERE id = {v1}",
        "INSERT INTO member_links (member_id, other_id, linked, decided_by, decided_at) "
        f"VALUES ({low}, {high}, 1, 'alice', '2026-11-01T00:00:00Z')",
        "INSERT INTO member_signals (member_id, kind, value) "
        f"VALUES ({v1}, 'se_account_id', '77'), ({h3}, 'se_account_id', '77')",
    )
    batch = staff["priya"].rewards.prepare("2026-10").batch_id
    audit = cache.query("SELECT count(*) FROM audit")
    monkeypatch.setattr(payouts, "_accounts_of", lambda conn, who: set())  # the client's check
    with pytest.raises(TeamStoreFailed, match=r"refused.*tom cannot approve payout batch .* TOM"):
        staff["tom"].rewards.approve(batch)
    with pytest.raises(TeamStoreFailed, match=r"una cannot approve payout batch .* (h2|h3)"):
        staff["una"].rewards.approve(batch)
    raw = as_person(cache, "tom")
    with pytest.raises(TeamStoreFailed, match=r"tom cannot approve payout batch"):
        with raw.transaction() as conn:
            conn.execute(
                "INSERT INTO payout_approvals (batch_id, approver, approver_os_user, "
                "approved_at) VALUES (?, session_user, 'somebody', '2026-11-20T00:00:00Z')",
                (batch,),
            )
    assert _state(cache, batch) == ("prepared", [])
    assert cache.query("SELECT count(*) FROM audit") == audit
    low3, high3 = sorted((v1, h3))
    superuser_sql(
        cache,
        request,
        "UPDATE member_links SET linked = 0",  # "not one person"
        "INSERT INTO member_links (member_id, other_id, linked, decided_by, decided_at) "
        f"VALUES ({low3}, {high3}, 0, 'alice', '2026-11-02T00:00:00Z')",
    )
    monkeypatch.undo()
    staff["una"].rewards.approve(batch)
    staff["ada"].rewards.approve(batch)
    assert _state(cache, batch) == ("approved", ["ada", "una"])


@POSTGRESQL
def test_an_approved_batchs_lines_do_not_change_behind_the_approvers_backs(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int]
) -> None:
    """What four-eyes approved is what is paid: with a raw client the preparer cannot, after
    the approval, send a line's money elsewhere or raise it, release the banned member's held
    line, mark a line paid before the export, delete a line or add one. Each refusal leaves the
    lines as they were, and the export pays what was approved."""
    h1, h2 = ids["member:h1"], ids["member:h2"]
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    staff["una"].rewards.ban(h1, "voting ring")  # h1's line held, for good
    staff["tom"].rewards.approve(batch)

    def lines() -> list[tuple[object, ...]]:
        return [
            tuple(r)
            for r in cache.query(
                "SELECT id, member_id, points, amount_minor, state, receiver FROM payout_lines "
                "ORDER BY id"
            )
        ]

    raw = as_person(cache, "priya")
    attempts = {
        "send a line's money elsewhere": (
            f"UPDATE payout_lines SET receiver = 'priya@example.com' WHERE member_id = {h2}"
        ),
        "raise a line": f"UPDATE payout_lines SET amount_minor = 99999 WHERE member_id = {h2}",
        "give a line to another member": (
            f"UPDATE payout_lines SET member_id = {ids['member:h3']} WHERE member_id = {h2}"
        ),
        "release the banned member's line": (
            f"UPDATE payout_lines SET state = 'ready' WHERE member_id = {h1}"
        ),
        "mark a line paid before the export": (
            f"UPDATE payout_lines SET state = 'paid' WHERE member_id = {h2}"
        ),
        "delete a line": f"DELETE FROM payout_lines WHERE member_id = {h1}",
        "add a line": (
            "INSERT INTO payout_lines (batch_id, member_id, points, amount_minor, state, "
            f"recipient_type, receiver) VALUES ({batch}, {ids['member:h4']}, 20, 100, 'ready', "
            "'EMAIL', 'priya@example.com')"
        ),
    }
    before = lines()
    for words, statement in attempts.items():
        with pytest.raises(TeamStoreFailed, match="refused"), raw.transaction() as conn:
            conn.execute(statement)
        assert lines() == before, words
    made = rewards.export(batch, None, None)
    assert b"priya@example.com" not in made.json and b"h1@example.com" not in made.json
