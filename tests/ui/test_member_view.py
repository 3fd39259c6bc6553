"""The member view: one member across every source (console.members, plain Python), and the
screen `M` opens from a Queue row or a post."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.desk import Desk
from console.errors import NotFound
from console.members import profile
from console.screens.member import MemberScreen
from console.screens.thread import ThreadScreen
from tests.ui import member_community
from tests.ui.helpers import screen_text, settle, stored
from tests.ui.member_community import community, mdesk
from widgets.lazy_table import LazyTable
from widgets.post_list import PostList
from widgets.post_view import PostView

__all__ = ["community", "mdesk"]  # fixtures
pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


@pytest.fixture
def store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Desk, dict[str, int]]]:
    """alice's Desk on the community and its ids (a cache file, or a team database)."""
    with member_community.member_desk(backend, tmp_path / "members.sqlite3", request) as found:
        yield found


# ---- the domain query ----
def test_the_member_across_both_sources(
    mdesk: Desk, community: tuple[Path, dict[str, int]]
) -> None:
    ids = community[1]
    got = profile(mdesk.cache, ids["zoe"])
    assert got.username == "zoe"
    assert [(a.source, a.username, a.reputation, a.joined_at) for a in got.accounts] == [
        ("forum", "zoe", 120, "2024-03-01T09:00:00Z"),
        ("se", "Zoe", 4321, "2020-05-01T00:00:00Z"),
    ]
    assert got.accounts[0].display_name == "Zoe Z" and got.accounts[0].trust_level == 2
    # the same view from the other account
    assert [a.member_id for a in profile(mdesk.cache, ids["zoe_se"]).accounts] == [
        ids["zoe_se"],
        ids["zoe"],
    ]
    assert ids["max"] not in {a.member_id for a in got.accounts}


@pytest.mark.backends  # every section is a query of its own
def test_every_section_holds_what_was_planted(
    mdesk: Desk, community: tuple[Path, dict[str, int]]
) -> None:
    ids = community[1]
    got = profile(mdesk.cache, ids["zoe"])
    posts = got.section("Posts")
    assert posts.count == 3 and posts.summary == "2 asked, 1 answered"  # f1, q1 (SE); p2.1
    assert {line.thread_id for line in posts.lines} == {ids["f1"], ids["f2"], ids["q1"]}
    assert {line.source for line in posts.lines} == {"forum", "se"}
    answer = next(line for line in posts.lines if line.thread_id == ids["f2"])
    assert "score 4" in answer.text and "3 flags" in answer.text and "hidden" not in answer.text
    question = next(line for line in posts.lines if line.thread_id == ids["f1"])
    assert question.text.startswith("asked") and "hidden" in question.text

    accepted = got.section("Accepted answers")
    assert accepted.count == 1 and accepted.lines[0].thread_id == ids["f2"]
    verified = got.section("Verified answers")
    assert verified.count == 1 and "verified by carol" in verified.lines[0].text

    received = got.section("Flags received")
    assert received.count == 3 + 1 + 2  # the answer's 3, f1's flag, q1's 2 reports
    assert [line.text for line in received.lines] == [f"flag (pending) on #{ids['f2']} by max"]
    raised = got.section("Flags raised")
    assert raised.count == 2
    assert [line.text for line in raised.lines] == [
        f"#{ids['q1']} as a duplicate of #{ids['f1']}",
        f"flag (pending) on #{ids['f1']}",
    ]

    notes = got.section("Moderator notes")
    assert [line.text for line in notes.lines] == [f"#{ids['f1']} alice: asked twice before"]
    claims = got.section("Claims")
    assert [line.thread_id for line in claims.lines] == [ids["q1"]]
    [(expires,)] = stored(mdesk, "SELECT expires_at FROM claims WHERE holder = 'dave'")
    assert f"claimed by dave until {str(expires)[11:16]} UTC" in claims.lines[0].text

    decisions = got.section("Decisions")
    texts = [line.text for line in decisions.lines]
    assert any(t.startswith(f"hide post #{ids['p1.0']} by alice: spam link") for t in texts)
    assert any(t.startswith(f"note thread #{ids['f1']} by alice") for t in texts)
    assert any("claim thread" in t and "dave" in t for t in texts)
    hidden = next(line for line in decisions.lines if "hide post" in line.text)
    assert hidden.thread_id == ids["f1"]  # a post's decision opens its thread

    rewards = got.section("Rewards")
    assert rewards.count == 3  # both accounts' ledger lines
    assert rewards.summary == "balance 35 points, 350 GBP minor units"

    escalations = got.section("Escalations")
    assert escalations.count == 1 and escalations.summary == "1 open"
    assert escalations.lines[0].text == f"#{ids['f1']} high Account takeover (new)"


def test_a_quiet_member_has_empty_sections_and_an_unknown_one_is_refused(
    mdesk: Desk, community: tuple[Path, dict[str, int]]
) -> None:
    ids = community[1]
    quiet = profile(mdesk.cache, ids["max"])
    assert quiet.section("Rewards").count == 0 and quiet.section("Claims").lines == ()
    with pytest.raises(NotFound, match="No member 999999"):
        profile(mdesk.cache, 999999)


# ---- the screen ----
def lines(app: PeerdeskApp) -> LazyTable:
    return app.screen.query_one("#member-lines", LazyTable)


async def row_of(pilot: Pilot[Any], desk: Desk, thread_id: int) -> None:
    keys = [item.thread_id for item in desk.queue(limit=50)]
    await pilot.press(*["j"] * keys.index(thread_id))


@pytest.mark.backends
async def test_M_on_a_queue_row_opens_its_authors_member_view(
    mdesk: Desk, community: tuple[Path, dict[str, int]]
) -> None:
    ids = community[1]
    app = PeerdeskApp(mdesk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await row_of(pilot, mdesk, ids["q1"])
        await pilot.press("M")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MemberScreen)
        assert screen.member_id == ids["zoe_se"]
        text = screen_text(pilot)
        assert "Zoe · 2 accounts" in text
        assert "joined 2020-05-01 · reputation 4,321" in text
        assert "joined 2024-03-01 · reputation 120 · trust 2" in text
        # tab goes to the next section; enter opens that line's thread
        assert screen.profile is not None
        first_accepted = len(screen.profile.section("Posts").lines)
        await pilot.press("tab")
        assert lines(app).cursor_row == first_accepted
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen) and app.screen.thread_id == ids["f2"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MemberScreen)
        assert lines(app).cursor_row == first_accepted  # reloaded, where it was
        await pilot.press("escape")
        await settle(pilot)
        assert type(app.screen).__name__ == "QueueScreen"


async def test_M_on_a_post_opens_that_posts_author(
    mdesk: Desk, community: tuple[Path, dict[str, int]]
) -> None:
    ids = community[1]
    app = PeerdeskApp(mdesk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await row_of(pilot, mdesk, ids["f1"])
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("j")  # the reply, by max
        await settle(pilot)
        card = app.screen.query_one(PostList).cursor_card
        assert isinstance(card, PostView) and card.key == ids["p1.1"]
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, MemberScreen) and app.screen.member_id == ids["max"]
        assert "max · 1 account" in screen_text(pilot)


async def _open_zoe(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, PeerdeskApp)
    app.push_screen(MemberScreen(app.desk.author_of(thread_id=_thread(app.desk, "f1"))))
    await settle(pilot)


def _thread(desk: Desk, remote: str) -> int:
    row = desk.cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote,))
    assert row is not None
    return int(row[0])


def test_snapshot_member_80x24(snap_compare: Any, mdesk: Desk) -> None:
    assert snap_compare(PeerdeskApp(mdesk), terminal_size=(80, 24), run_before=_open_zoe)


def test_snapshot_member_120x40(snap_compare: Any, mdesk: Desk) -> None:
    assert snap_compare(PeerdeskApp(mdesk), terminal_size=(120, 40), run_before=_open_zoe)


def test_snapshot_member_16_colours(snap_compare: Any, mdesk: Desk) -> None:
    app = PeerdeskApp(mdesk, theme="ansi-dark")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_open_zoe)


@pytest.mark.backends
async def test_a_decision_made_from_the_member_view_shows_when_back(
    mdesk: Desk, community: tuple[Path, dict[str, int]]
) -> None:
    ids = community[1]
    app = PeerdeskApp(mdesk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(MemberScreen(ids["zoe"]))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MemberScreen) and screen.profile is not None
        before = screen.profile.section("Decisions").count
        await pilot.press("j", "enter")  # the second newest post: f1 (q1 is dave's claim)
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen) and app.screen.thread_id == ids["f1"]
        await pilot.press("x")  # close it
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and screen.profile is not None
        decisions = screen.profile.section("Decisions")
        assert decisions.count == before + 1
        assert decisions.lines[0].text.startswith(f"close thread #{ids['f1']} by alice")
