"""Below 80x24 every screen gives way to one notice that the terminal is too small
(console.screens.too_small, widgets.too_small), and comes back as it was when the terminal grows."""

from __future__ import annotations

# SQLite only: the too-small notice draws no data.
import time
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.desk import Desk
from console.screens.too_small import TooSmallScreen
from tests.ui.helpers import screen_text, settle
from widgets.too_small import too_small, too_small_text

pytestmark = pytest.mark.anyio

NOTICE = "this needs at least 80x24"


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def test_the_notice_says_how_much_is_missing() -> None:
    assert too_small(79, 24) and too_small(80, 23) and not too_small(80, 24)
    text = too_small_text(70, 20, (80, 24), "ctrl+q")
    assert text.startswith(
        "The terminal is 70x20; this needs at least 80x24 (10 columns and 4 rows"
    )
    assert text.endswith("ctrl+q quits.")
    assert "(6 rows more)" in too_small_text(100, 18, (80, 24))


# (what opens the screen, a text the screen shows once open)
SCREENS: dict[str, tuple[tuple[str, ...], str]] = {
    "queue": ((), "Queue · all"),
    "thread": (("enter",), "Thread "),
    "member": (("M",), "Member"),
    "message log": (("c", "L"), "You hold thread"),
    "help": (("question_mark",), "Keys: "),
    "duplicates": (("D",), "Duplicates ·"),
    "sync": (("Y",), "Sync ·"),
    "escalations": (("E",), "Escalations ·"),
    "verification": (("V",), "Verification ·"),
    "rewards": (("dollar_sign",), "Rewards ·"),
}


@pytest.mark.parametrize("screen", SCREENS)
async def test_every_screen_says_the_terminal_is_too_small_and_comes_back(
    desk: Desk, screen: str
) -> None:
    opening, shows = SCREENS[screen]
    app = PeerdeskApp(desk)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press(*opening)
        await settle(pilot)
        before = app.screen
        assert shows in screen_text(pilot) and NOTICE not in screen_text(pilot)
        for width, height in ((79, 30), (100, 23), (60, 12)):
            await resize(pilot, width, height)
            text = " ".join(screen_text(pilot).split())
            assert f"The terminal is {width}x{height}; {NOTICE}" in text
            assert shows not in text  # nothing of the screen underneath shows through
        await pilot.press("D", "question_mark", "ctrl+p")  # no key but quitting does anything
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        await resize(pilot, 80, 24)
        assert app.screen is before  # the same screen, as it was
        assert shows in screen_text(pilot) and NOTICE not in screen_text(pilot)


async def test_a_console_started_in_a_small_terminal_shows_the_queue_once_it_grows(
    desk: Desk,
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(70, 20)) as pilot:
        await settle(pilot)
        assert "The terminal is 70x20" in " ".join(screen_text(pilot).split())
        await resize(pilot, 80, 24)
        assert "Queue · all" in screen_text(pilot)
        assert "Title" in screen_text(pilot)


async def test_ctrl_q_still_quits_while_the_notice_shows(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(70, 20)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0  # None until the app exits


async def resize(pilot: Pilot[Any], width: int, height: int) -> None:
    await pilot.resize_terminal(width, height)
    await settle(pilot)


def test_snapshot_too_small_70x20(snap_compare: Any, desk: Desk) -> None:
    assert snap_compare(PeerdeskApp(desk), terminal_size=(70, 20), run_before=settle)
