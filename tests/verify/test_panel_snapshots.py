"""Snapshots of the Verification panel: 80x24, 120x40 and a 16-colour terminal (time frozen,
the verification community of tests/verify/conftest.py, user alice); the same community on a
team database draws the same panel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.desk import Desk
from tests.ui.helpers import settle
from tests.ui.same_snapshot import assert_same_as_snapshot
from tests.verify.conftest import Community

SNAPSHOTS = Path(__file__).parent / "__snapshots__" / "test_panel_snapshots"


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


@pytest.fixture
def panel_desk(community: Community) -> Iterator[Desk]:
    if community.cache.dialect.is_sqlite:
        with community.cache.transaction():
            community.cache.set_meta("demo", "1")
    desk = Desk.for_cache(community.cache)
    desk.verification.refresh()
    desk.verification.verify(community.posts["t2-2"])  # calibration and known answers have data
    yield desk


async def open_panel(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("V")
    await settle(pilot)


def test_panel_80x24(snap_compare: Any, panel_desk: Desk) -> None:
    assert snap_compare(PeerdeskApp(panel_desk), terminal_size=(80, 24), run_before=open_panel)


def test_panel_120x40(snap_compare: Any, panel_desk: Desk) -> None:
    assert snap_compare(PeerdeskApp(panel_desk), terminal_size=(120, 40), run_before=open_panel)


def test_panel_16_colours(snap_compare: Any, panel_desk: Desk) -> None:
    app = PeerdeskApp(panel_desk, theme="ansi-dark")
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_panel)


def test_reject_reasons_80x24(snap_compare: Any, panel_desk: Desk) -> None:
    async def reject(pilot: Pilot[Any]) -> None:
        await open_panel(pilot)
        await pilot.press("x")
        await settle(pilot)

    assert snap_compare(PeerdeskApp(panel_desk), terminal_size=(80, 24), run_before=reject)


@pytest.mark.backends
def test_either_engine_draws_the_approved_panel(panel_desk: Desk) -> None:
    """The same community on a team database draws the snapshot approved on the cache file,
    line for line (checked on the cache file too, the same way)."""
    assert_same_as_snapshot(
        PeerdeskApp(panel_desk),
        SNAPSHOTS / "test_panel_120x40.svg",
        terminal_size=(120, 40),
        run_before=open_panel,
    )
