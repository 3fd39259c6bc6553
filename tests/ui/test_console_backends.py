"""The console's main flows on both storage backends (`@pytest.mark.backends`): the same keys on
a cache file and on a team database, asserting on what the store holds afterwards."""

from __future__ import annotations

import time

import pytest
from textual.message import Message

from console.app import PeerdeskApp
from console.desk import Desk
from console.previews import preview
from console.screens.member import MemberScreen
from console.screens.queue import QueueScreen
from console.screens.queue_preview import PreviewsRead
from console.screens.thread import ThreadScreen
from console.store import QueueFilter
from tests.ui.backends_ui import any_desk
from tests.ui.helpers import notes, screen_text, settle, table
from widgets.preview import PreviewPane

__all__ = ["any_desk"]  # the fixture
pytestmark = [pytest.mark.anyio, pytest.mark.backends]


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def failures(messages: list[Message]) -> list[str]:
    return [n for n in notes(messages) if "went wrong" in n or "failed" in n or "Error" in n]


def status(desk: Desk, thread_id: int) -> str:
    return str(desk.cache.one("SELECT status FROM threads WHERE id = ?", (thread_id,))[0])


async def test_queue_search_thread_claim_close_undo(any_desk: Desk) -> None:
    desk = any_desk
    expected = desk.queue(limit=5)
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        grid = table(app)
        assert grid.total == desk.queue_count()
        assert [grid.row_at(i).key for i in range(5)] == [i.thread_id for i in expected]
        assert "nothing waiting" in screen_text(pilot)
        await pilot.press("slash", *"roaming", "enter")
        await settle(pilot)
        found = desk.queue(QueueFilter(text="roaming"), limit=100)
        assert 0 < len(found) < desk.queue_count()
        assert grid.total == len(found)
        first = found[0].thread_id
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert app.screen.thread_id == first
        assert "Roaming charges in Spain" in screen_text(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert "claimed by you" in screen_text(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert status(desk, first) == "closed"
        holder = desk.cache.one("SELECT holder FROM claims WHERE thread_id = ?", (first,))
        assert holder[0] == "alice"
        assert "1 action waiting" in screen_text(pilot)  # the header's outbox state
        await pilot.press("u")
        await settle(pilot)
        assert status(desk, first) == found[0].status
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
    assert not failures(messages)


async def test_claimed_filter_preview_pane_and_member_view(any_desk: Desk) -> None:
    desk = any_desk
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await settle(pilot)
        grid = table(app)
        first, second = grid.row_at(0).key, grid.row_at(1).key
        # the preview pane, read ahead on its own read-only connection
        pane = app.screen.query_one("#queue-preview", PreviewPane)
        assert pane.display and pane.shown == first
        read_ahead = [m for m in messages if isinstance(m, PreviewsRead)]
        assert read_ahead and first in read_ahead[0].previews
        await pilot.press("j")
        shown = preview(desk.cache, second)
        assert pane.shown == second
        assert f"#{second} {shown.title}" in screen_text(pilot)
        # claim two threads, then only mine
        await pilot.press("c", "k", "c")
        await settle(pilot)
        await pilot.press("slash", *"claimed:me", "enter")
        await settle(pilot)
        assert grid.total == 2
        assert {grid.row_at(0).key, grid.row_at(1).key} == {first, second}
        # the member view of the first row's author
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, MemberScreen)
        author = desk.cache.one(
            "SELECT m.username FROM threads t JOIN members m ON m.id = t.author_id WHERE t.id = ?",
            (grid.row_at(0).key,),
        )
        assert str(author[0]) in screen_text(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
    assert not failures(messages)


@pytest.mark.parametrize(
    ("key", "shows"),
    [
        ("V", "Verification"),
        ("E", "Escalations"),
        ("dollar_sign", "Rewards"),
        ("Y", "Sync · 1 source"),
    ],
)
async def test_every_panel_opens(any_desk: Desk, key: str, shows: str) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(any_desk)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        await settle(pilot)
        text = screen_text(pilot)
        assert shows in text
        assert "loading" not in text.lower()
    assert not failures(messages)


async def test_the_duplicates_panel_shows_the_stored_pair(any_desk: Desk) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(any_desk)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        text = screen_text(pilot)
        # the pair stored in the store, side by side, on both
        assert "Duplicates · 1 thread to decide" in text
        assert "Roaming charges in Spain (12)" in text and "Roaming charges in Spain (2)" in text
    assert not failures(messages)
