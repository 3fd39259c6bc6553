"""Four-eyes on answer verification holds on the OS account behind a name (migration 40).

Before, the confirm compared names only: one OS account proposed under its own name and
confirmed under an override (`--as zoe`) on its own cache, or the other way round, and the
proposal passed as checked by a second moderator. Now the proposal keeps the proposer's OS
account and the confirm is refused when the confirming process runs under it, as payouts'
four-eyes refuses it (console.identity.same_person). On the team database a name is the
database role one logs in as, so there the account is the name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from console import decisions
from console.errors import InvalidDecision
from console.identity import os_user
from console.migrations import MIGRATIONS
from console.team import dialect
from console.verify import actions
from console.verify.service import Verification
from tests.verify.conftest import MODERATORS, Community, as_moderator, door

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

ME = os_user()  # the account the tests run under: on a cache file, everyone's OS account


def _row(community: Community, post: int) -> dict[str, object]:
    row = community.cache.one("SELECT * FROM verifications WHERE post_id = ?", (post,))
    assert row is not None
    return dict(row)


def _on_a_cache_file(community: Community) -> None:
    if not community.cache.dialect.is_sqlite:
        pytest.skip(
            "an override exists only on a cache file: on the team database you are the role"
        )


@pytest.fixture
def own_name(grant_roles: Callable[[dict[str, list[str]]], Path]) -> None:
    """The OS account moderates under its own name too."""
    grant_roles({name: ["moderator"] for name in (*MODERATORS, ME)})


def test_the_proposal_keeps_the_proposers_account(community: Community) -> None:
    right = community.posts["t1-2"]
    door(community.cache, "alice").pick(right)
    row = _row(community, right)
    account = ME if community.cache.dialect.is_sqlite else "alice"  # the role, on the server
    assert (row["proposed_by"], row["proposed_os_user"]) == ("alice", account)
    door(community.cache, "alice").undo()  # the proposal taken back: its account with it
    assert _row(community, right)["proposed_os_user"] is None


@pytest.mark.usefixtures("own_name")
def test_an_account_cannot_confirm_under_an_override_what_it_proposed_as_itself(
    community: Community,
) -> None:
    _on_a_cache_file(community)
    right = community.posts["t1-2"]
    door(community.cache, ME).pick(right)
    with pytest.raises(InvalidDecision, match=f"OS account {ME}") as refused:
        door(community.cache, "zoe").confirm(right)
    assert "four-eyes" in str(refused.value).lower()
    row = _row(community, right)
    assert (row["state"], row["proposed_by"], row["second_by"]) == ("pending", ME, None)


@pytest.mark.usefixtures("own_name")
def test_an_account_cannot_confirm_as_itself_what_it_proposed_under_an_override(
    community: Community,
) -> None:
    _on_a_cache_file(community)
    accepted = community.posts["t1-1"]
    door(community.cache, "alice").reject(accepted, "wrong")  # the asker's accept: contested
    for agree in (True, False):
        with pytest.raises(InvalidDecision, match=f"OS account {ME}"):
            door(community.cache, ME).confirm(accepted, agree=agree)
    assert _row(community, accepted)["proposed_state"] == "rejected"


def test_two_names_of_one_account_stay_two_names(community: Community) -> None:
    """As payouts' four-eyes: two overrides are honoured only on a cache their account owns
    and could write directly, where they are what a demo or a test needs, and no more."""
    right = community.posts["t1-2"]
    verifier = door(community.cache, "alice")
    verifier.pick(right)
    with pytest.raises(InvalidDecision, match="second, different moderator"):
        verifier.confirm(right)
    as_moderator(verifier, "zoe").confirm(right)
    row = _row(community, right)
    assert (row["state"], row["decided_by"], row["second_by"]) == ("verified", "alice", "zoe")


def test_the_account_is_the_deciders_not_the_callers(community: Community) -> None:
    """An account passed in with the parameters is not taken: the decision names its own."""
    right = community.posts["t1-2"]
    alice = door(community.cache, "alice")
    alice.refresh()  # scored, as the door's own decisions do first
    decisions.decide(
        community.cache,
        who=alice.who,
        action=actions.PICK,
        target_ids=[right],
        params={"os_user": "somebody-else", "calibration_share": 0.0},
    )
    assert _row(community, right)["proposed_os_user"] == alice.who.os_user


def _filled(community: Community) -> list[str]:
    """Migration 40's filling statement, as the store's engine runs it."""
    statements = MIGRATIONS[40 - 1]
    if community.cache.dialect.is_sqlite:
        return [s for s in statements if s.lstrip().startswith(("UPDATE", "/* sqlite only */"))]
    return [r for s in statements for r in dialect.render(s) if r.lstrip().startswith("UPDATE")]


def _run(community: Community, statements: list[str]) -> None:
    with community.cache.transaction() as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.mark.usefixtures("own_name")
def test_a_proposal_from_before_takes_its_account_from_its_audit_entry(
    community: Community,
) -> None:
    """Migration 40 finds each open proposal's account in the audit entry that made it, which
    names the OS account beside an overridden name (alice's here; on the team database the
    entry's actor is the role that logged in); the proposals are then checked alike."""
    server = not community.cache.dialect.is_sqlite
    right, accepted = community.posts["t1-2"], community.posts["t1-1"]
    door(community.cache, "alice").pick(right)
    door(community.cache, "alice" if server else ME).reject(accepted, "wrong")
    _run(community, ["UPDATE verifications SET proposed_os_user = NULL"])  # as before 40
    _run(community, _filled(community))
    assert _row(community, right)["proposed_os_user"] == ("alice" if server else ME)
    assert _row(community, accepted)["proposed_os_user"] == ("alice" if server else ME)
    filled = community.cache.one(
        "SELECT count(*) FROM verifications WHERE proposed_os_user IS NOT NULL"
    )
    assert filled[0] == 2  # the two proposals; no other answer has one
    if not server:
        with pytest.raises(InvalidDecision, match=f"OS account {ME}"):
            door(community.cache, "zoe").confirm(accepted)


def test_a_proposal_whose_account_is_unknown_is_not_confirmed(community: Community) -> None:
    """Not found (no audit entry of it): whoever made it might be the confirming account, so
    a confirm is refused, saying why; a second moderator can still disagree, which sends it
    back to pending, to be proposed again and confirmed."""
    right = community.posts["t1-2"]
    door(community.cache, "alice").pick(right)
    _run(community, ["UPDATE verifications SET proposed_os_user = NULL"])
    zoe: Verification = door(community.cache, "zoe")
    with pytest.raises(InvalidDecision, match="no OS account recorded"):
        zoe.confirm(right)
    assert _row(community, right)["proposed_state"] == "verified"
    with pytest.raises(InvalidDecision, match="second, different moderator"):
        door(community.cache, "alice").confirm(right, agree=False)
    zoe.confirm(right, agree=False)
    assert _row(community, right)["proposed_state"] is None
    door(community.cache, "alice").pick(right)
    zoe.confirm(right)
    assert _row(community, right)["state"] == "verified"


def test_a_decision_recorded_before_is_still_undone(community: Community) -> None:
    """An audit entry written before migration 40 has no proposed_os_user in its before and
    after: undo compares and puts back the rest, and leaves the proposal with no account."""
    right = community.posts["t1-2"]
    door(community.cache, "alice").pick(right)
    entry = community.cache.one(
        "SELECT target_kind, target_id, detail FROM audit WHERE action = ? ORDER BY id DESC",
        (actions.PICK,),
    )
    recorded = {**json.loads(entry["detail"]), "target_kind": "post", "target_id": right}
    for side in ("before", "after"):
        del recorded[side]["proposed_os_user"]
    with community.cache.transaction() as conn:
        change = actions._revert(conn, recorded)
    row = _row(community, right)
    assert (row["proposed_state"], row["proposed_by"], row["proposed_os_user"]) == (None,) * 3
    assert change.before["proposed_os_user"] is None and change.after["proposed_by"] is None
