"""Snapshots of the console at 80x24 (time frozen, a deterministic cache, user alice).

Re-approve deliberately after a visual change: `pytest tests/ui/test_snapshots.py --snapshot-update`
and look at the report.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.desk import Desk
from tests.ui.helpers import settle
from tests.ui.same_snapshot import assert_same_as_snapshot


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def thread_row(desk: Desk, remote: str) -> int:
    row = desk.cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote,))
    assert row is not None
    return next(i for i, item in enumerate(desk.queue(limit=100)) if item.thread_id == row[0])


def test_queue(snap_compare: Any, desk: Desk) -> None:
    assert snap_compare(PeerdeskApp(desk), terminal_size=(80, 24), run_before=settle)


def test_queue_16_colours_with_selection(snap_compare: Any, desk: Desk) -> None:
    async def select(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("j", "space", "space")
        await settle(pilot)

    app = PeerdeskApp(desk, theme="ansi-dark")
    assert snap_compare(app, terminal_size=(80, 24), run_before=select)


async def open_hostile(pilot: Pilot[Any]) -> None:
    """The Queue's row of t3 (the hostile thread), opened."""
    await settle(pilot)
    assert isinstance(pilot.app, PeerdeskApp)
    await pilot.press(*["j"] * thread_row(pilot.app.desk, "t3"), "enter")
    await settle(pilot)


def test_hostile_thread(snap_compare: Any, desk: Desk) -> None:
    assert snap_compare(PeerdeskApp(desk), terminal_size=(80, 24), run_before=open_hostile)


def test_help(snap_compare: Any, desk: Desk) -> None:
    async def help_screen(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(PeerdeskApp(desk), terminal_size=(80, 24), run_before=help_screen)


def test_batch_confirmation(snap_compare: Any, desk: Desk) -> None:
    async def confirm(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("space", "space", "space", "x")
        await settle(pilot)

    assert snap_compare(PeerdeskApp(desk), terminal_size=(80, 24), run_before=confirm)


def test_snapshot_fixture_is_the_frozen_one(ui_db: Path) -> None:
    import os

    assert os.environ["PEERDESK_NOW"] == "2026-11-20T12:00:00Z"
    assert os.environ["PEERDESK_USER"] == "alice"


@pytest.mark.backends
@pytest.mark.parametrize("name", ["test_queue", "test_hostile_thread"])
def test_either_engine_draws_the_approved_screens(desk: Desk, name: str) -> None:
    """The same community on a team database draws the Queue (order, ages, states, flags, the
    claim) and the hostile thread approved on the cache file, line for line (checked on the
    cache file too, the same way)."""
    assert_same_as_snapshot(
        PeerdeskApp(desk),
        Path(__file__).parent / "__snapshots__" / "test_snapshots" / f"{name}.svg",
        terminal_size=(80, 24),
        run_before=settle if name == "test_queue" else open_hostile,
    )
