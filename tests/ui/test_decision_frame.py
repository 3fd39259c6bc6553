"""A decision's result is drawn before the screen reloads, and the reload redraws what changed:
a claim or a close in the Queue redraws its rows in place (no reset, no pages read again); a claim in a
thread changes the words of the header's claim line, not the header's height."""

# SQLite only: the order of frames and reloads, whatever the store (decisions on both engines:
# tests/ui/test_queue.py, tests/ui/test_console_backends.py).

from __future__ import annotations

from typing import Any

import pytest
from textual.message import Message

from console.app import PeerdeskApp
from console.desk import Desk
from console.messages import DecisionSaved, QueueLoaded, QueueRequested
from console.screens.queue import QueueScreen
from console.screens.thread import NOT_CLAIMED, ThreadScreen
from tests.ui.helpers import screen_text, settle
from widgets.lazy_table import LazyTable
from widgets.status_bar import StatusBar

pytestmark = pytest.mark.anyio


async def test_the_reload_after_a_claim_starts_once_the_result_is_drawn(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In order: the decision saved, the status line drawn with its result, then the reload."""
    happened: list[tuple[str, str]] = []
    render = StatusBar.render

    def drawn(bar: StatusBar) -> Any:
        if bar.message:
            happened.append(("drawn", bar.message))
        return render(bar)

    def seen(message: Message) -> None:
        if isinstance(message, (DecisionSaved, QueueRequested)):
            happened.append(("message", type(message).__name__))

    monkeypatch.setattr(StatusBar, "render", drawn)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=seen) as pilot:
        await settle(pilot)
        happened.clear()
        await pilot.press("c")
        await settle(pilot)
    saved = happened.index(("message", "DecisionSaved"))
    result = next(i for i, (kind, what) in enumerate(happened) if "You hold thread" in what)
    reload = happened.index(("message", "QueueRequested"), saved)
    assert saved < result < reload, happened


async def test_the_same_words_said_twice_still_reload_at_once(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two closes say the same words; the second reload waits for its frame, not the deadline."""
    monkeypatch.setattr("console.screens.base.RELOAD_AT_THE_LATEST", 30.0)
    loaded: list[Message] = []

    def seen(message: Message) -> None:
        if isinstance(message, QueueLoaded):
            loaded.append(message)

    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=seen) as pilot:
        await settle(pilot)
        for key, reloads in (("x", 1), ("j", 0), ("x", 1)):
            loaded.clear()
            await pilot.press(key)
            await settle(pilot)  # a reload left to the 30 s deadline would not be in yet
            assert len(loaded) == reloads, key
        assert "Close: 1 item" in screen_text(pilot).splitlines()[-2]


async def test_a_claim_or_a_close_redraws_the_queue_rows_in_place(
    desk: Desk,
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#queue-table", LazyTable)
        first = table.current_key
        generation = table.generation
        await pilot.press("c")
        await settle(pilot)
        assert table.generation == generation  # the same table, its rows replaced
        assert table.current_key == first
        assert "me" in screen_text(pilot).splitlines()[2]  # the claim is drawn in the row
        await pilot.press("C")
        await settle(pilot)
        assert table.generation == generation
        assert "me" not in screen_text(pilot).splitlines()[2]
        await pilot.press("x")  # a closed thread keeps its place in the Queue, marked closed
        await settle(pilot)
        assert table.generation == generation
        assert screen_text(pilot).splitlines()[2].split()[1] == "closed"


async def test_claiming_in_a_thread_keeps_the_header_height(desk: Desk) -> None:
    top = desk.queue(limit=1)[0].thread_id
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ThreadScreen) and screen.thread_id == top
        head = screen.query_one("#thread-head")
        height = head.outer_size.height
        assert screen_text(pilot).splitlines()[3].strip() == NOT_CLAIMED
        await pilot.press("c")
        await settle(pilot)
        assert screen_text(pilot).splitlines()[3].strip().startswith("claimed by you until ")
        assert head.outer_size.height == height
        await pilot.press("C")
        await settle(pilot)
        assert screen_text(pilot).splitlines()[3].strip() == NOT_CLAIMED
        assert head.outer_size.height == height
