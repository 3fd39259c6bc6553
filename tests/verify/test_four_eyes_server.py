"""The team database's own four-eyes on answer verification, against a client that does not
check (an older peerdesk, one modified by whoever runs it, or raw SQL as a moderator's role): as
for payout batches, the server refuses a confirm by the role that made the proposal, a proposal
in another role's name, and a contested answer (the asker's accepted answer rejected, a paid
answer verified) decided without a confirmed proposal. peerdesk's own flows still pass: a
confirm by a second role, and an undo that puts another role's proposal back.
"""

# PostgreSQL only: the server's triggers; on a cache file the domain's check is the one there is

from __future__ import annotations

from typing import Any

import pytest

from console.desk import Desk
from console.storage.postgres import TeamStoreFailed
from console.verify import actions
from tests.verify.conftest import Community, door

POSTGRESQL = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

CLEARED = (
    "proposed_state = NULL, proposed_action = NULL, proposed_by = NULL, "
    "proposed_os_user = NULL, proposed_at = NULL"
)


def _row(community: Community, post: int) -> dict[str, Any]:
    row = community.cache.one("SELECT * FROM verifications WHERE post_id = ?", (post,))
    assert row is not None
    return dict(row)


def _audit(community: Community) -> int:
    return int(community.cache.one("SELECT count(*) FROM audit")[0])


def _raw(community: Community, name: str, statement: str, *params: object) -> None:
    """`statement` as `name`'s database role writes it with a client of its own."""
    cache = Desk.for_cache(community.cache, actor=name).cache
    with cache.transaction() as conn:
        conn.execute(statement, params)


@POSTGRESQL
def test_the_server_refuses_a_confirm_by_the_role_that_proposed(
    community: Community, monkeypatch: pytest.MonkeyPatch
) -> None:
    """alice picks the right answer over the asker's accept (a proposal). With the client's
    four-eyes check gone she still cannot confirm it, nor by a raw UPDATE that names zoe as
    the second; nothing changed. zoe, another role, confirms it."""
    right = community.posts["t1-2"]
    door(community.cache, "alice").pick(right)
    proposal = _row(community, right)
    assert (proposal["proposed_by"], proposal["proposed_os_user"]) == ("alice", "alice")
    audit = _audit(community)
    monkeypatch.setattr(actions, "_refuse_same_person", lambda *args, **kwargs: None)
    with pytest.raises(TeamStoreFailed, match=r"refused.*four-eyes: alice proposed"):
        door(community.cache, "alice").confirm(right)
    with pytest.raises(TeamStoreFailed, match=r"four-eyes: alice proposed"):
        _raw(
            community,
            "alice",
            f"UPDATE verifications SET state = 'verified', decided_by = 'alice', "
            f"second_by = 'zoe', {CLEARED} WHERE post_id = ?",
            right,
        )
    assert _row(community, right) == proposal
    assert _audit(community) == audit
    monkeypatch.undo()
    door(community.cache, "zoe").confirm(right)
    row = _row(community, right)
    assert (row["state"], row["decided_by"], row["second_by"]) == ("verified", "alice", "zoe")


@POSTGRESQL
def test_a_proposal_is_made_in_the_name_of_the_login_role(community: Community) -> None:
    """alice cannot write a proposal as zoe's (to confirm it herself), nor hand her own
    proposal to zoe afterwards; a confirm names the role that makes it as the second."""
    right = community.posts["t1-2"]
    door(community.cache, "alice").refresh()  # scored: its verification row is there
    with pytest.raises(TeamStoreFailed, match=r"made in the name of the login role \(alice\)"):
        _raw(
            community,
            "alice",
            "UPDATE verifications SET proposed_state = 'verified', proposed_action = "
            "'verify_pick', proposed_by = 'zoe', proposed_os_user = 'zoe', "
            "proposed_at = '2026-11-20T11:00:00Z' WHERE post_id = ?",
            right,
        )
    assert _row(community, right)["proposed_state"] is None
    door(community.cache, "alice").pick(right)
    with pytest.raises(TeamStoreFailed, match=r"login role \(alice\)"):
        _raw(
            community,
            "alice",
            "UPDATE verifications SET proposed_by = 'zoe', proposed_os_user = 'zoe' "
            "WHERE post_id = ?",
            right,
        )
    with pytest.raises(TeamStoreFailed, match=r"confirmed in the name of the login role \(zoe\)"):
        _raw(
            community,
            "zoe",
            f"UPDATE verifications SET state = 'verified', decided_by = 'alice', "
            f"second_by = 'bob', {CLEARED} WHERE post_id = ?",
            right,
        )
    assert _row(community, right)["proposed_by"] == "alice"


@POSTGRESQL
def test_a_contested_answer_is_not_decided_without_a_confirmed_proposal(
    community: Community,
) -> None:
    """Raw SQL cannot skip the proposal: rejecting the asker's accepted answer, verifying an
    answer with a payout (or giving it one on the way) are refused; an answer nobody contests
    is still one moderator's decision. A row written anew (INSERT) is held to the same."""
    accepted, staff = community.posts["t1-1"], community.posts["t2-2"]
    door(community.cache, "alice").refresh()
    with pytest.raises(TeamStoreFailed, match=r"four-eyes: answer \d+ .*second moderator"):
        _raw(
            community,
            "alice",
            "UPDATE verifications SET state = 'rejected', decided_by = 'alice', "
            "reject_reason = 'wrong' WHERE post_id = ?",
            accepted,
        )
    with pytest.raises(TeamStoreFailed, match=r"four-eyes: answer \d+ .*second moderator"):
        _raw(
            community,
            "alice",
            "UPDATE verifications SET state = 'verified', decided_by = 'alice', "
            "payout_minor = 500 WHERE post_id = ?",
            staff,
        )
    assert (_row(community, accepted)["state"], _row(community, staff)["state"]) == (
        "pending",
        "pending",
    )
    with pytest.raises(TeamStoreFailed, match=r"four-eyes: answer \d+ earns a payout"):
        _raw(
            community,
            "alice",
            "INSERT INTO verifications (post_id, thread_id, state, payout_minor, decided_by, "
            "created_at, updated_at) VALUES (?, ?, 'verified', 500, 'alice', 'now', 'now')",
            community.posts["t2-0"],
            community.threads["t2"],
        )
    _raw(
        community,
        "alice",
        "UPDATE verifications SET state = 'verified', decided_by = 'alice' WHERE post_id = ?",
        staff,
    )
    assert _row(community, staff)["state"] == "verified"


@POSTGRESQL
def test_an_undo_puts_back_another_roles_proposal(community: Community) -> None:
    """zoe confirms alice's proposal and undoes it, disagrees and undoes that: each undo, by
    zoe, writes alice's proposal back (its audit entry is alice's); bob then confirms it."""
    right = community.posts["t1-2"]
    door(community.cache, "alice").pick(right)
    proposal = _row(community, right)
    zoe = door(community.cache, "zoe")
    zoe.confirm(right)
    zoe.undo()
    assert _row(community, right)["proposed_by"] == "alice"
    zoe.confirm(right, agree=False)
    zoe.undo()
    restored = _row(community, right)
    assert [restored[k] for k in ("state", "proposed_by", "proposed_os_user", "proposed_at")] == [
        proposal[k] for k in ("state", "proposed_by", "proposed_os_user", "proposed_at")
    ]
    door(community.cache, "bob").confirm(right)
    row = _row(community, right)
    assert (row["state"], row["decided_by"], row["second_by"]) == ("verified", "alice", "bob")
