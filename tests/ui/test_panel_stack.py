"""Panels are shown over the Queue (or a thread opened from it) and popped by escape: the Queue
comes back exactly as it was left (the same screen, its cursor, search and selection), a panel
gives way to another panel (escape never lands on a panel), `1` goes back to where the moderator
was working, and what changed meanwhile still shows after the return."""

from __future__ import annotations

# SQLite only: how screens are pushed and popped; every panel on a team database:
# tests/ui/test_console_backends.py.
from pathlib import Path

import pytest

from console.app import PANELS, PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.screens.duplicates import DuplicatesScreen
from console.screens.panel import PanelScreen
from console.screens.queue import QueueScreen
from console.screens.sync import SyncScreen
from console.screens.thread import ThreadScreen
from tests.ui.helpers import screen_text, settle, table

pytestmark = pytest.mark.anyio


def panels_in(app: PeerdeskApp) -> list[str]:
    return [type(s).__name__ for s in app.screen_stack if isinstance(s, PanelScreen)]


async def test_back_from_a_panel_finds_the_queue_as_it_was_left(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        await pilot.press("slash", *"roaming", "enter")
        await settle(pilot)
        found = table(app).total
        assert found > 2
        await pilot.press("j", "j", "space")  # the third row selected, the cursor below it
        await settle(pilot)
        selected, row = set(table(app).selected), table(app).cursor_row
        assert selected and row > 0
        for key in ("D", "Y", "E", "dollar_sign", "V"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, PanelScreen), key
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is queue, f"{key}: not the Queue left"
            assert table(app).cursor_row == row, key
            assert set(table(app).selected) == selected, key
            assert queue.search_text == "roaming", key
            assert table(app).total == found, key
            assert app.focused is table(app), key
        assert "search: roaming" in screen_text(pilot)


async def test_a_panel_gives_way_to_another_and_escape_goes_back_to_the_queue(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        dupes = app.screen
        assert isinstance(dupes, DuplicatesScreen)
        await pilot.press("Y")
        await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        assert panels_in(app) == ["SyncScreen"]  # never two panels in the stack
        await pilot.press("D")
        await settle(pilot)
        assert app.screen is dupes  # the kept one
        assert panels_in(app) == ["DuplicatesScreen"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen) and len(app.screen_stack) == 1


async def test_a_panel_over_a_thread_returns_to_the_thread(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)
        thread = app.screen
        assert isinstance(thread, ThreadScreen)
        opened = thread.thread_id
        for back in ("escape", "1"):  # escape pops the panel; `1` goes back to the work
            await pilot.press("E")
            await settle(pilot)
            assert isinstance(app.screen, PanelScreen)
            await pilot.press(back)
            await settle(pilot)
            assert app.screen is thread and thread.thread_id == opened, back
        await pilot.press("1")  # no panel shown: nothing changes
        await settle(pilot)
        assert app.screen is thread
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert table(app).cursor_row == 1  # the row the thread was opened from


async def test_a_thread_opened_from_a_panel_goes_back_to_it_and_its_key_pops_to_it(
    desk: Desk,
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        dupes = app.screen
        assert isinstance(dupes, DuplicatesScreen)
        dupes.open_thread(desk.queue(limit=1)[0].thread_id)  # as enter on one of its rows does
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        await pilot.press("D")  # the Duplicates panel is under the thread: popped back to it
        await settle(pilot)
        assert app.screen is dupes
        assert panels_in(app) == ["DuplicatesScreen"]


async def test_what_changed_while_a_panel_showed_is_on_the_queue_after_it(
    desk: Desk, ui_db: Path
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = int(table(app).row_at(0).key)  # type: ignore[call-overload]
        await pilot.press("Y")
        await settle(pilot)
        other = open_cache(ui_db)
        try:
            with other.conn:
                other.conn.execute("UPDATE threads SET in_queue = 0 WHERE id = ?", (first,))
        finally:
            other.close()
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert int(table(app).row_at(0).key) != first  # type: ignore[call-overload]


async def test_the_palette_goes_to_a_panel_and_back(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        commands = {c.title: c.callback for c in app.get_system_commands(app.screen)}
        commands["Go to Sync"]()
        await settle(pilot)
        assert isinstance(app.screen, SyncScreen)
        commands["Go to Queue"]()
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen) and len(app.screen_stack) == 1


@pytest.mark.parametrize("name", [panel.name for panel in PANELS[1:]])
async def test_keys_that_reach_a_panel_before_its_widgets_do_nothing(desk: Desk, name: str) -> None:
    """A panel's first visit pushes it before Textual has composed it: any of its keys typed in
    between found none of its widgets and crashed the console (every panel did). Until the
    screen is mounted its keys do nothing; then it shows and its keys work."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.show_panel(name)
        screen = app.get_screen(name)
        assert not screen.is_mounted
        actions = [b.action for keys in screen._bindings.key_to_bindings.values() for b in keys]
        assert actions
        for action in actions:
            await app.run_action(action, screen)
        await settle(pilot)
        assert app.is_running and app._exception is None
        assert app.screen is screen and screen.is_mounted
        await pilot.press("escape")  # mounted, its keys act
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
