"""`E`'s first clock scan runs on a connection of its own (Escalations.refresh_apart), so the
console keeps answering while it runs: with the scan held in the middle of its read, the Queue
opens a thread and claims it, on a cache file and on a team database."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from textual.message import Message
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.desk import Desk
from console.escalate import engine
from console.screens.escalations import EscalationsScreen
from console.screens.queue import QueueScreen
from console.screens.thread import ThreadScreen
from tests.backends import backend, team_server
from tests.ui.backends_ui import any_desk
from tests.ui.helpers import notes, settle, table

__all__ = ["any_desk", "backend", "team_server"]  # fixtures (the hook is the conftest's)
pytestmark = [pytest.mark.anyio, pytest.mark.backends]

WAIT = 400  # pauses of 50 ms: 20 s at most for what should take a moment


async def until(pilot: Pilot[Any], done: Any) -> bool:
    """Pause until `done()` (no settle(): it would wait for the held scan)."""
    for _ in range(WAIT):
        if done():
            return True
        await pilot.pause(0.05)
    return bool(done())


async def test_the_queue_answers_while_the_clock_scan_is_held(
    any_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = any_desk
    scanning, release = threading.Event(), threading.Event()
    original = engine.clock_findings

    finished = threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        scanning.set()
        assert release.wait(300)  # let go by the test (at the latest when it ends)
        found = original(*args, **kwargs)
        finished.set()
        return found

    monkeypatch.setattr(engine, "clock_findings", held)
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    try:
        async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, QueueScreen)
            held_by_others = {int(r[0]) for r in desk.cache.query("SELECT thread_id FROM claims")}
            grid = table(app)
            index = next(i for i in range(grid.total) if grid.row_at(i).key not in held_by_others)
            key = grid.row_at(index).key
            await pilot.press("E")
            assert await until(pilot, scanning.is_set)
            assert await until(pilot, lambda: isinstance(app.screen, EscalationsScreen))
            await pilot.press("escape")
            assert await until(pilot, lambda: isinstance(app.screen, QueueScreen))
            assert table(app).cursor_row == 0
            await pilot.press(*["j"] * index, "enter")
            opened = await until(
                pilot,
                lambda: isinstance(app.screen, ThreadScreen) and app.screen.thread_id == key,
            )
            assert opened, "the Queue did not open a thread while the clock scan ran"
            await pilot.press("c")
            claimed = await until(
                pilot,
                lambda: (
                    desk.cache.one("SELECT holder FROM claims WHERE thread_id = ?", (key,))
                    is not None
                ),
            )
            assert claimed, "a claim waited for the clock scan"
            assert not release.is_set()  # all of it while the scan was held
            release.set()
            await settle(pilot)
    finally:
        release.set()
    holder = desk.cache.one("SELECT holder FROM claims WHERE thread_id = ?", (key,))
    assert holder is not None and holder[0] == "alice"
    assert finished.is_set()  # the scan itself went on once let go
    assert not [n for n in notes(messages) if "went wrong" in n or "failed" in n]
