"""Accounts linked by more than username (console.member_links): a moderator's link or unlink
(a decision through the door: audit entry, local-only outbox item, undo), the same Stack Exchange
network account (recorded by the adapter from the platform's `account_id`), then the same
username; the member view and `peerdesk members` say why each account is the member's."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.cli import main
from console.db import open_cache
from console.desk import Desk
from console.errors import InvalidDecision, NotFound, PermissionRefused
from console.ingest import ensure_source
from console.member_links import find_account, linked_accounts
from console.members import profile
from console.screens.member import MemberScreen
from sync.base import Page
from sync.credentials import Credentials
from sync.runner import store_page
from sync.stackexchange import StackExchangeAdapter
from tests.conftest import require_shared
from tests.ui import member_community
from tests.ui.helpers import screen_text, settle, stored
from tests.ui.member_community import community, mdesk

__all__ = ["community", "mdesk"]  # fixtures
pytestmark = pytest.mark.anyio

Grant = Callable[[dict[str, list[str]]], Path]


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


@pytest.fixture
def store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, grant_roles: Grant
) -> Iterator[tuple[Desk, dict[str, int]]]:
    """alice's Desk (a moderator) on the community and its ids: a cache file whose roles come
    from the roles file, or a team database whose roles are the server's (the same ones)."""
    grant_roles({"alice": ["moderator"], "erin": ["payout_preparer"]})
    path = tmp_path / "members.sqlite3"
    with member_community.member_desk(backend, path, request, demo=False) as found:
        yield found


def linked_by_alice(desk: Desk) -> str:
    """What a link alice just made says: who and when (on the team database the server's
    clock stamps it)."""
    [(at,)] = stored(desk, "SELECT decided_at FROM member_links WHERE decided_by = 'alice'")
    return f"linked by alice {str(at)[:10]} {str(at)[11:16]}"


def accounts(desk: Desk, member: int) -> dict[int, str]:
    return {a.member_id: a.why for a in profile(desk.cache, member).accounts}


# ---- a moderator's decisions ----
@pytest.mark.backends
def test_a_link_joins_two_accounts_with_its_audit_entry_and_undo(
    mdesk: Desk, community: tuple[Path, dict[str, int]]
) -> None:
    ids = community[1]
    zoe, zoe_se, max_ = ids["zoe"], ids["zoe_se"], ids["max"]
    assert accounts(mdesk, zoe) == {zoe: "this account", zoe_se: "same username"}
    result = mdesk.link_members(max_, zoe)
    assert result.action == "member_link" and result.count == 1
    got = accounts(mdesk, zoe)
    assert got[max_] == linked_by_alice(mdesk)
    assert accounts(mdesk, max_)[zoe_se] == "same username as forum:zoe"  # through zoe
    entry = mdesk.cache.one(
        "SELECT actor, target_kind, target_id, detail FROM audit WHERE action = 'member_link'"
    )
    assert entry is not None and tuple(entry[:3]) == ("alice", "member", min(zoe, max_))
    assert json.loads(entry[3])["after"]["linked"] is True
    box = mdesk.cache.one("SELECT state, action FROM outbox WHERE action = 'member_link'")
    assert box is not None and tuple(box) == ("local_only", "member_link")  # never sent
    with pytest.raises(InvalidDecision, match="already linked"):
        mdesk.link_members(zoe, max_)
    assert mdesk.undo().action == "undo_member_link"
    assert max_ not in accounts(mdesk, zoe)
    assert mdesk.cache.one("SELECT count(*) FROM member_links")[0] == 0


@pytest.mark.backends
def test_an_unlink_outweighs_the_same_username_and_is_undone(
    mdesk: Desk, community: tuple[Path, dict[str, int]]
) -> None:
    ids = community[1]
    zoe, zoe_se = ids["zoe"], ids["zoe_se"]
    mdesk.link_members(zoe_se, zoe, linked=False)
    assert accounts(mdesk, zoe) == {zoe: "this account"}
    assert accounts(mdesk, zoe_se) == {zoe_se: "this account"}
    # the Zoe view's sections count only the member's own posts now
    assert (
        profile(mdesk.cache, zoe_se).section("Posts").count
        < profile(mdesk.cache, zoe).section("Posts").count
        + profile(mdesk.cache, zoe_se).section("Posts").count
    )
    mdesk.link_members(zoe, zoe_se)  # changed one's mind: linked again, by decision
    assert accounts(mdesk, zoe)[zoe_se].startswith("linked by alice")
    mdesk.undo()
    mdesk.undo()
    assert accounts(mdesk, zoe) == {zoe: "this account", zoe_se: "same username"}


@pytest.mark.backends
def test_links_need_a_moderator_and_two_real_accounts(
    community: tuple[Path, dict[str, int]], mdesk: Desk
) -> None:
    path, ids = community
    erin = Desk.open(path, actor="erin") if mdesk.cache.dialect.is_sqlite else None
    erin = erin or Desk.for_cache(mdesk.cache, actor="erin")  # her own role on the server
    try:
        with pytest.raises(PermissionRefused):
            erin.link_members(ids["zoe"], ids["max"])
    finally:
        erin.close_cache()
    with pytest.raises(InvalidDecision, match="always linked to itself"):
        mdesk.link_members(ids["zoe"], ids["zoe"])
    with pytest.raises(NotFound):
        mdesk.link_members(ids["zoe"], 999_999)
    assert mdesk.cache.one("SELECT count(*) FROM audit WHERE action LIKE 'member_%'")[0] == 0


def test_accounts_are_named_source_colon_username(mdesk: Desk, community: Any) -> None:
    ids = community[1]
    assert find_account(mdesk.cache, "se:zoe") == ids["zoe_se"]  # any case
    assert find_account(mdesk.cache, "forum:#u2") == ids["max"]  # the platform's id
    with pytest.raises(InvalidDecision, match="SOURCE:USERNAME"):
        find_account(mdesk.cache, "zoe")
    with pytest.raises(NotFound, match="No source 'nope'"):
        find_account(mdesk.cache, "nope:zoe")
    with pytest.raises(NotFound, match="No account 'nobody' on forum"):
        find_account(mdesk.cache, "forum:nobody")


def test_peerdesk_members_links_shows_and_unlinks(
    community: tuple[Path, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, ids = community
    db = ["--db", str(path)]
    assert main([*db, "members", "link", "forum:max", "forum:zoe"]) == 0
    assert "member link: 1 item" in capsys.readouterr().out
    assert main([*db, "members", "show", "forum:zoe", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["source"], r["username"], r["why"]) for r in rows] == [
        ("forum", "zoe", "this account"),
        ("forum", "max", "linked by alice 2026-11-20 12:00"),
        ("se", "Zoe", "same username"),
    ]
    assert main([*db, "members", "unlink", "forum:zoe", "se:Zoe"]) == 0
    capsys.readouterr()
    assert main([*db, "members", "show", "se:zoe"]) == 0
    assert capsys.readouterr().out.splitlines() == ["se:Zoe  (this account)"]
    assert main([*db, "members", "link", "forum:zoe", "forum:nobody"]) != 0
    assert "No account 'nobody' on forum" in capsys.readouterr().err
    assert ids["max"] != ids["zoe"]


# ---- the platforms' own identity: Stack Exchange's network account ----
SE = require_shared("fixtures", "stackexchange")


def test_the_same_stack_exchange_account_links_two_sites_whatever_the_names(
    tmp_path: Path, grant_roles: Grant
) -> None:
    grant_roles({"alice": ["moderator"], "erin": ["payout_preparer"]})
    data = json.loads((SE / "questions_user22656.json").read_text())
    cache = open_cache(tmp_path / "se.sqlite3", create=True)
    sites = {}
    for site in ("stackoverflow", "superuser"):
        adapter = StackExchangeAdapter("https://api.example", Credentials(), options={"site": site})
        page = Page()
        adapter.build(adapter.parse_questions(data["items"], page), {}, page)
        assert ("se_account_id", "11683") in page.member_facts[0].signals  # owner.account_id
        sites[site] = ensure_source(cache, "stackexchange", site, f"https://{site}.example")
        store_page(cache, sites[site], page)
    # a display name is per site on Stack Exchange: on superuser this one is another name
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE members SET username = 'jon.s' WHERE source_id = ?", (sites["superuser"],)
        )
    rows = cache.query("SELECT id, source_id FROM members ORDER BY source_id")
    so, su = (int(r[0]) for r in rows)
    got = {linked.member_id: linked.why for linked in linked_accounts(cache, so)}
    assert got == {so: "this account", su: "same Stack Exchange account (11683)"}
    cache.close()
    desk = Desk.open(tmp_path / "se.sqlite3")
    try:
        desk.link_members(so, su, linked=False)  # a moderator knows better
        assert [a.member_id for a in profile(desk.cache, so).accounts] == [so]
    finally:
        desk.close_cache()


# ---- the member view says why ----
@pytest.mark.backends
async def test_the_member_view_says_why_each_account_is_the_members(
    mdesk: Desk, community: tuple[Path, dict[str, int]]
) -> None:
    ids = community[1]
    mdesk.link_members(ids["zoe"], ids["max"])
    app = PeerdeskApp(mdesk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(MemberScreen(ids["zoe"]))
        await settle(pilot)
        text = " ".join(screen_text(pilot).split())
        assert "3 accounts" in text
        assert "same username" in text and linked_by_alice(mdesk) in text


async def _linked_member_view(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, PeerdeskApp)
    zoe = app.desk.find_account("forum:zoe")
    app.desk.link_members(zoe, app.desk.find_account("forum:max"))
    app.push_screen(MemberScreen(zoe))
    await settle(pilot)


def test_snapshot_linked_member_80x24(snap_compare: Any, mdesk: Desk) -> None:
    assert snap_compare(PeerdeskApp(mdesk), terminal_size=(80, 24), run_before=_linked_member_view)


def test_snapshot_linked_member_120x40(snap_compare: Any, mdesk: Desk) -> None:
    app = PeerdeskApp(mdesk)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_linked_member_view)
