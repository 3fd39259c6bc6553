"""A huge post never enters the console whole: the Thread screen reads and draws one window of it
at a time, and `m` pages through it (issue #9, item 7: a 50 MB post grew the console to 491 MB).

The bound is asserted on what the console holds (the thread read, each card's text, what the
body widget draws), not on timings or process memory."""

from __future__ import annotations

# SQLite only: what the console holds of a 50 MB post; its parts read from a team database:
# tests/ui/test_thread.py (a 200 kB post).
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord
from console.screens.thread import WINDOW, ThreadScreen
from tests.ui.conftest import build_community
from tests.ui.helpers import settle
from widgets.post_view import PostView

pytestmark = pytest.mark.anyio

PART = "Line of a pasted log file, with a number in it: {:09d}.\n"
HUGE_CHARS = 4_000_000


def huge_text() -> str:
    parts, size, n = [], 0, 0
    while size < HUGE_CHARS:
        line = PART.format(n)
        parts.append(line)
        size += len(line)
        n += 1
    return "".join(parts)[:HUGE_CHARS]


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


@pytest.fixture
def huge_desk(tmp_path: Path) -> Iterator[tuple[Desk, int, str]]:
    path = tmp_path / "huge.sqlite3"
    cache = open_cache(path, create=True)
    build_community(cache, threads=5)
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    body = huge_text()
    thread = ThreadRecord(
        "huge", "A pasted log", "u1", "open", "2026-11-20T11:00:00Z", "2026-11-20T11:30:00Z",
        reply_count=1, flag_count=3,
    )  # fmt: skip
    posts = [
        PostRecord("huge.0", "huge", "u1", 0, body, body, "2026-11-20T11:00:00Z"),
        PostRecord("huge.1", "huge", "u2", 1, "Please attach less.", "", "2026-11-20T11:30:00Z"),
    ]
    ids = upsert_threads(cache, source, [thread], posts)
    cache.close()
    desk = Desk.open(path)
    yield desk, ids["huge"], body
    desk.close_cache()


def test_the_thread_is_read_one_window_at_a_time(huge_desk: tuple[Desk, int, str]) -> None:
    desk, thread_id, body = huge_desk
    view = desk.thread(thread_id, window=WINDOW)
    first = view.posts[0]
    assert len(first.body) == WINDOW and first.body == body[:WINDOW]
    assert first.body_length == HUGE_CHARS
    assert view.posts[1].body == "Please attach less." and view.posts[1].body_length is None
    assert desk.post_body(first.post_id, 3_000_000, 50) == body[3_000_000:3_000_050]
    assert desk.thread(thread_id).posts[0].body == body  # the CLI's `show` still gets it all


async def test_moving_and_paging_keep_what_is_drawn_bounded(
    huge_desk: tuple[Desk, int, str],
) -> None:
    desk, thread_id, body = huge_desk
    app = PeerdeskApp(desk)

    def held(screen: ThreadScreen) -> int:
        """Characters of post text the screen holds: the thread read and every card."""
        assert screen.view is not None
        kept = sum(len(p.body) for p in screen.view.posts)
        drawn = 0
        for card in screen.query(PostView):
            assert len(card.window) <= WINDOW
            drawn += len(card.card(80).plain)
        return kept + drawn

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        row = next(i for i, item in enumerate(desk.queue(limit=100)) if item.thread_id == thread_id)
        await pilot.press(*["j"] * row, "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ThreadScreen) and screen.thread_id == thread_id
        card = screen.query(PostView).first()
        assert card.length == HUGE_CHARS
        bound = 4 * WINDOW
        assert held(screen) <= bound
        for keys in (("j", "k", "G", "g"), ("pagedown", "pagedown", "pageup")):
            await pilot.press(*keys)
            await settle(pilot)
            assert held(screen) <= bound
        for page in range(1, 6):
            await pilot.press("m")
            await settle(pilot)
            assert card.start == page * WINDOW
            assert card.window == body[page * WINDOW : (page + 1) * WINDOW]
            assert held(screen) <= bound
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("enter")  # opened again: the first window again, nothing more
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert app.screen.query(PostView).first().start == 0
        assert held(app.screen) <= bound
