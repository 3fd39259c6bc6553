"""`V` shows the answers as scored so far at once and scores new activity apart, a step at a
time (the first V at a million threads scored 500 threads before it showed anything: more
than 15 s). With the scoring held, the panel is already there ("scoring new activity…") and
the Queue still answers; once let go, the answers it scored appear.

SQLite only: which connection of the console's the scoring takes (a second one on the cache
file); the panel on the team database is tests/verify/test_panel.py's."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from console.app import PeerdeskApp
from console.desk import Desk
from console.screens.queue import QueueScreen
from console.screens.verification import VerificationScreen
from console.verify import queue
from console.verify.settings import VerifySettings
from tests.ui.helpers import held, screen_text, settle, wait_for
from tests.verify.conftest import Community

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


@pytest.fixture
def fresh_desk(community: Community) -> Iterator[Desk]:
    """The community never scored (no verification row yet), every role (a demo cache)."""
    cache = community.cache
    with cache.transaction():
        cache.set_meta("demo", "1")
    assert cache.one("SELECT count(*) FROM verifications")[0] == 0
    yield Desk.for_cache(cache)


def test_scoring_a_step_at_a_time_newest_first(community: Community) -> None:
    cache = community.cache
    seen: list[tuple[int, int]] = []  # (candidates kept so far, rows written so far)

    def progress(kept: int) -> None:
        seen.append((kept, cache.one("SELECT count(*) FROM verifications")[0]))

    kept = queue.refresh_changed(cache, VerifySettings(), step=1, progress=progress)
    assert kept > 0 and len(seen) == 2  # two threads, one a step
    assert seen[-1][0] == kept
    assert 0 < seen[0][1] < seen[1][1]  # each step committed before the next began
    newest = cache.one("SELECT id FROM threads ORDER BY last_activity_at DESC LIMIT 1")[0]
    first = {r[0] for r in cache.query("SELECT DISTINCT thread_id FROM verifications")}
    assert newest in first
    assert queue.refresh_changed(cache, VerifySettings(), step=1, progress=progress) == 0


async def test_the_list_shows_while_new_activity_is_scored(
    fresh_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = fresh_desk
    app = PeerdeskApp(desk)
    with held(monkeypatch, queue, "refresh_changed") as scoring:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("V")
            shown = await wait_for(pilot, lambda: "scoring new activity…" in screen_text(pilot))
            assert shown, "the panel waited for the scoring"
            assert scoring.started.is_set()
            assert scoring.args[0][0] is not desk.cache  # on a connection of its own
            screen = app.screen
            assert isinstance(screen, VerificationScreen)
            assert screen.rows == []  # nothing scored yet, and said so
            assert "Verification · 0 answers to check · scoring new activity…" in screen_text(pilot)
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
            await pilot.press("V")
            assert await wait_for(pilot, lambda: app.screen is screen)
            scoring.release.set()
            await settle(pilot)
            assert screen.rows, "the answers scored did not appear"
            text = screen_text(pilot)
            assert "scoring" not in text
            assert f"Verification · {len(screen.rows)} answers to check" in text


async def test_a_hidden_panel_reads_its_list_on_its_next_visit_not_after_each_step(
    fresh_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first scoring at a million threads runs on for seconds after an escape: each of its
    steps read the 500 rows of the list again on the Desk's connection, hidden or not."""
    reads: list[int] = []
    read_list = VerificationScreen.read_list

    def counting(self: VerificationScreen, desk: Desk, cursor: int) -> object:
        reads.append(cursor)
        return read_list(self, desk, cursor)

    monkeypatch.setattr(VerificationScreen, "read_list", counting)
    app = PeerdeskApp(fresh_desk)
    with held(monkeypatch, queue, "refresh") as step:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("V")
            assert await wait_for(pilot, lambda: step.started.is_set() and len(reads) == 1)
            screen = app.screen
            assert isinstance(screen, VerificationScreen)
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen))
            step.release.set()  # the steps keep answers while the panel is hidden
            assert await wait_for(pilot, lambda: not screen.scoring)
            await settle(pilot)
            assert len(reads) == 1, "the hidden panel read its list after a step"
            await pilot.press("V")
            await settle(pilot)
            assert len(reads) == 2  # the visit's own refresh
            assert screen.rows, "the answers scored did not appear"
            assert f"Verification · {len(screen.rows)} answers to check" in screen_text(pilot)
