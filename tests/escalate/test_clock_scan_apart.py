"""`E`'s first clock scan runs on a connection of its own (Escalations.refresh_apart), so the
console keeps answering while it runs: with the scan held in the middle of its read, the Queue
opens a thread and claims it, on a cache file and on a team database."""

from __future__ import annotations

import pytest
from textual.message import Message

from console.app import PeerdeskApp
from console.desk import Desk
from console.escalate import engine
from console.screens.escalations import EscalationsScreen
from console.screens.queue import QueueScreen
from console.screens.thread import ThreadScreen
from tests.backends import backend, team_server
from tests.ui.backends_ui import any_desk
from tests.ui.helpers import held, notes, settle, table, wait_for

__all__ = ["any_desk", "backend", "team_server"]  # fixtures (the hook is the conftest's)
pytestmark = [pytest.mark.anyio, pytest.mark.backends]


async def test_the_queue_answers_while_the_clock_scan_is_held(
    any_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = any_desk
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    with held(monkeypatch, engine, "clock_findings") as scan:
        async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, QueueScreen)
            held_by_others = {int(r[0]) for r in desk.cache.query("SELECT thread_id FROM claims")}
            grid = table(app)
            index = next(i for i in range(grid.total) if grid.row_at(i).key not in held_by_others)
            key = grid.row_at(index).key
            await pilot.press("E")
            assert await wait_for(pilot, scan.started.is_set)
            assert await wait_for(pilot, lambda: isinstance(app.screen, EscalationsScreen))
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
            assert table(app).cursor_row == 0
            await pilot.press(*["j"] * index, "enter")
            opened = await wait_for(
                pilot,
                lambda: isinstance(app.screen, ThreadScreen) and app.screen.thread_id == key,
            )
            assert opened, "the Queue did not open a thread while the clock scan ran"
            await pilot.press("c")
            claimed = await wait_for(
                pilot,
                lambda: (
                    desk.cache.one("SELECT holder FROM claims WHERE thread_id = ?", (key,))
                    is not None
                ),
            )
            assert claimed, "a claim waited for the clock scan"
            assert not scan.release.is_set()  # all of it while the scan was held
            scan.release.set()
            await settle(pilot)
    holder = desk.cache.one("SELECT holder FROM claims WHERE thread_id = ?", (key,))
    assert holder is not None and holder[0] == "alice"
    assert scan.finished.is_set()  # the scan itself went on once let go
    assert not [n for n in notes(messages) if "went wrong" in n or "failed" in n]
