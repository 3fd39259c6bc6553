"""Once the console has started and imported what its first thread needs, what exists then is
frozen out of Python's collector (console.app: `gc.freeze` after the warm-up), so full
collections walk only what came after."""

from __future__ import annotations

# SQLite only: the interpreter's collector after the first frame, whatever the store.
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from console import quiet_start
from console.app import PeerdeskApp
from console.cli import main
from console.desk import Desk
from tests.ui.helpers import settle, wait_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process collects as before


async def test_what_the_started_console_holds_is_frozen_after_the_warm_up(
    desk: Desk, thawed: None
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(100):  # the warm-up starts 0.3 s after the first rows
            if gc.get_freeze_count():
                break
            await pilot.pause(0.05)
            await app.workers.wait_for_complete()
        assert gc.get_freeze_count() > 10_000  # Textual, the console and its first screen
        assert gc.is_tracked(app)
        assert all(o is not app for o in gc.get_objects())  # frozen: collections skip it


async def test_collections_paused_for_the_start_resume_with_the_first_rows(desk: Desk) -> None:
    # what `peerdesk` does before it imports the console (console.cli.main)
    quiet_start.pause()
    try:
        assert not gc.isenabled()
        app = PeerdeskApp(desk)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert app.screen.query_one("#queue-table").total > 0  # the first rows are in
            # once the frame is on the terminal (console.quiet_start.FIRST_FRAME_WRITTEN)
            assert await wait_for(pilot, gc.isenabled)
            assert not quiet_start.paused()
    finally:
        quiet_start.resume()
        gc.enable()


def test_resuming_never_enables_a_collector_someone_else_disabled() -> None:
    gc.disable()
    try:
        quiet_start.pause()  # already off: not ours to turn back on
        quiet_start.resume()
        assert not gc.isenabled()
    finally:
        gc.enable()
    quiet_start.pause()
    assert not gc.isenabled() and quiet_start.paused()
    quiet_start.resume()
    quiet_start.resume()
    assert gc.isenabled()


def test_a_console_that_ends_before_its_first_rows_leaves_the_collector_on(
    ui_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    during: list[bool] = []
    monkeypatch.setattr(PeerdeskApp, "run", lambda self: during.append(gc.isenabled()))
    assert main(["--db", str(ui_db)]) == 0  # the console (its run stubbed: no terminal here)
    assert during == [False]  # paused for the start
    assert gc.isenabled()
    assert main(["--db", str(ui_db), "tui"]) == 0
    assert during == [False, False]
    assert gc.isenabled()
