"""`D` counts the threads waiting for a decision on a connection of its own: with that count held
in the middle, the panel already shows its first page and "counting…", and the pair under the
cursor loads through the Desk's connection (before, the count held that connection, and every
other key's read waited behind it: ~0.35 s at a million threads).

SQLite only: the panel's reads on both engines are tests/dupes/test_panel.py's `backends` tests;
this is about which connection of the console's the count takes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.dupes import panel
from console.dupes.candidates import update_candidates
from console.screens.duplicates import DuplicatesScreen
from tests.dupes.conftest import seed
from tests.ui.helpers import held, screen_text, settle, wait_for

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    path = tmp_path / "forum.sqlite3"
    cache = open_cache(path, create=True)
    ids = seed(cache, kind="discourse", name="discourse")
    update_candidates(cache, ids.values())
    cache.set_meta("demo", "1")
    cache.close()
    opened = Desk.open(path)
    yield opened
    opened.close_cache()


async def test_the_count_runs_apart_and_holds_nothing_else(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = panel.pending_count(desk.cache)
    assert waiting > 0
    app = PeerdeskApp(desk)
    with held(monkeypatch, panel, "pending_count") as count:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("D")
            # the first pair is read and shown through the Desk while the count is held
            shown = await wait_for(
                pilot,
                lambda: (
                    count.started.is_set()
                    and isinstance(app.screen, DuplicatesScreen)
                    and app.screen.view is not None
                ),
            )
            assert shown, "the pair did not load while the count was held"
            assert count.args and all(args[0] is not desk.cache for args in count.args)
            await wait_for(pilot, lambda: "Duplicates · counting…" in screen_text(pilot))
            assert "Duplicates · counting…" in screen_text(pilot)
            count.release.set()
            await settle(pilot)
            noun = "thread" if waiting == 1 else "threads"
            assert f"Duplicates · {waiting} {noun} to decide" in screen_text(pilot)
