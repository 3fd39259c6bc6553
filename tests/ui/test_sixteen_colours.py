"""Every screen in a 16-colour terminal (`TERM=xterm`, no COLORTERM), at 80x24 and 120x40.

The app sees the terminal the way it does in real life: Rich detects 16 colours from TERM, the app
picks the ANSI theme and draws every colour as the nearest of the 16 (console.colours), so the
snapshots show what such a terminal shows. Each screen is also checked for text drawn in its own
background colour (the "possible duplicate" band was yellow on yellow).

The community is the demo's (300 threads, the frozen clock), built once per module; thread
`claimed` is held by dave, so the Thread screen shows another moderator's claim.
Re-approve deliberately: `pytest tests/ui/test_sixteen_colours.py --snapshot-update`.
"""

from __future__ import annotations

# SQLite only: the colours of fixed data; the same screens drawn from a team database:
# tests/ui/test_snapshots.py.
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console import claims
from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.screens.thread import ThreadScreen
from tests.conftest import FROZEN_NOW, BuiltOnce, demo_file
from tests.ui.helpers import settle, unreadable

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.fixture(scope="module")
def sixteen_file(tmp_path_factory: pytest.TempPathFactory, built_once: BuiltOnce) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PEERDESK_NOW", FROZEN_NOW)
        env.setenv("TZ", "UTC")
        time.tzset()
        path = demo_file(built_once, tmp_path_factory.mktemp("sixteen") / "demo.sqlite3", 300)
        cache = open_cache(path)
        thread = cache.one(
            "SELECT d.thread_id FROM duplicate_links d JOIN threads t ON t.id = d.thread_id "
            "WHERE d.decision = 'pending' AND t.in_queue = 1 ORDER BY d.score DESC, d.thread_id "
            "LIMIT 1"
        )[0]
        dave = Desk.for_cache(cache, actor="dave").who  # the demo's owner may act as anyone
        claims.claim(cache, int(thread), dave, minutes=30)
        cache.set_meta("sixteen_thread", str(thread))
        cache.close()
    yield path


@pytest.fixture
def terminal_16(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal that announces 16 colours, as `TERM=xterm` over SSH does."""
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLORTERM", raising=False)
    time.tzset()


@pytest.fixture
def desk(sixteen_file: Path, tmp_path: Path, terminal_16: None) -> Iterator[Desk]:
    path = tmp_path / "demo.sqlite3"
    shutil.copyfile(sixteen_file, path)
    opened = Desk.open(path)
    yield opened
    opened.close_cache()


def keys(*pressed: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def press(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press(*pressed)
        await settle(pilot)

    return press


async def open_thread(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, PeerdeskApp)
    thread = int(app.desk.cache.meta("sixteen_thread") or 0)
    app.push_screen(ThreadScreen(thread))
    await settle(pilot)


SCREENS: dict[str, Callable[[Pilot[Any]], Awaitable[None]]] = {
    "queue": keys(),
    "thread": open_thread,
    "help": keys("question_mark"),
    "batch_confirmation": keys("space", "j", "space", "x"),
    "note": keys("n"),
    "duplicates": keys("D"),
    "sync": keys("Y"),
    "escalations": keys("E"),
    "verification": keys("V"),
    "rewards": keys("dollar_sign"),
    "member": keys("M"),
    "message_log": keys("c", "C", "L"),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_every_screen_in_16_colours(snap_compare: Any, desk: Desk, screen: str, size: str) -> None:
    clashes: list[str] = []

    async def run_before(pilot: Pilot[Any]) -> None:
        await SCREENS[screen](pilot)
        clashes.extend(unreadable(pilot))

    app = PeerdeskApp(desk)
    assert app.console.color_system == "standard"
    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)
    assert app.theme == "ansi-dark"
    assert clashes == [], f"text in its own background colour on {screen}: {clashes}"
