"""Results in one place: the status line says what was done (on every screen), `L` lists the
recent messages, and only what needs attention (an error) pops up as a toast. The Duplicates panel
says each result once. Claims' results and refusals also on a team database (by its clock)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.message import Message

from console.app import PeerdeskApp
from console.desk import Desk
from console.screens.message_log import MessageLogScreen
from console.screens.thread import ThreadScreen
from tests.ui.helpers import notes, screen_text, settle, toasts, until
from tests.ui.test_duplicates_inline import dupe_db  # noqa: F401 (a fixture)

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


@pytest.fixture
def dupe_desk(dupe_db: Path) -> Iterator[Desk]:  # noqa: F811
    opened = Desk.open(dupe_db)
    yield opened
    opened.close_cache()


def status_line(text: str) -> str:
    return text.splitlines()[-2]  # above the keys


@pytest.mark.backends
async def test_a_result_goes_to_the_status_line_not_a_toast(desk: Desk) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    top = desk.queue(limit=1)[0].thread_id
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        line = status_line(screen_text(pilot))
        held = f"You hold thread {top} until {until(desk, 'alice')}"
        assert line.startswith(" Queue · all") and held in line
        assert toasts(messages) == []
        await pilot.press("enter")  # the Thread screen's status line says it too
        await settle(pilot)
        assert held in status_line(screen_text(pilot))


@pytest.mark.backends
async def test_an_error_needs_attention_so_it_also_pops_up(desk: Desk) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    t1 = int(desk.cache.one("SELECT id FROM threads WHERE remote_id = 't1'")[0])  # dave's
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        app.push_screen(ThreadScreen(t1))
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        refusal = f"Thread {t1} is claimed by dave until {until(desk, 'dave')}"
        assert any(refusal in t for t in toasts(messages))
        assert f"✗ Not done: {refusal}" in status_line(screen_text(pilot))


async def test_l_lists_recent_messages_newest_first(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, MessageLogScreen)
        assert "Nothing yet" in screen_text(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("space", "space", "A")
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        lines = [li for li in screen_text(pilot).splitlines() if " 12:00:00 " in li]
        assert len(lines) == 2
        assert "Selected" in lines[0] and "You hold thread" in lines[1]
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, MessageLogScreen)


async def test_the_duplicates_panel_says_a_result_once(dupe_desk: Desk) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(dupe_desk)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        said = [n for n in notes(messages) if n.startswith("confirmed")]
        assert len(said) == 1
        words = said[0][:40]
        assert screen_text(pilot).count(words) == 1
        assert toasts(messages) == []
