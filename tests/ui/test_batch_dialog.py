"""The batch confirmation: it lists every item it will touch (scrollable), says what goes to which
platform, answers No unless told Yes, and `A` selects only threads the Queue shows; on a cache
file and on a team database (the dialog's rows and where they go are read from the store)."""

from __future__ import annotations

import time

import pytest
from textual.message import Message

from console.app import PeerdeskApp
from console.desk import Desk
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.screens.confirm import ConfirmScreen
from console.screens.queue import FILTERS, QueueScreen
from tests.ui.helpers import notes, screen_text, settle, statuses, table

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def rows_of(desk: Desk, author: str) -> list[tuple[int, int]]:
    """(row index, thread id) of the Queue rows started by `author`."""
    items = desk.queue(limit=100)
    return [(i, item.thread_id) for i, item in enumerate(items) if item.author == author]


@pytest.mark.backends
async def test_enter_answers_no_and_the_dialog_lists_every_thread(desk: Desk) -> None:
    items = desk.queue(limit=3)
    first = [item.thread_id for item in items]
    before = statuses(desk, first)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "space", "x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.focused is not None and app.screen.focused.id == "confirm-no"
        text = screen_text(pilot)
        assert "Close 3 threads?" in text
        assert "3 sent to forum (Discourse)" in text
        for item in items:
            line = next(li for li in text.splitlines() if f"#{item.thread_id} " in li)
            assert item.title[:20] in line and "→ forum" in line
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert table(app).selected == set(first)  # nothing lost: ask again, say yes
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    assert before != ["closed"] * 3
    assert statuses(desk, first) == ["closed"] * 3


async def test_a_long_batch_scrolls_inside_the_dialog(desk: Desk) -> None:
    chosen = [item.thread_id for item in desk.queue(limit=14)]
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*["space"] * 14, "x")
        await settle(pilot)
        text = screen_text(pilot)
        shown = [t for t in sorted(chosen) if f"#{t} " in text]
        assert shown and len(shown) < 14  # not all fit at 80x24
        assert f"#{sorted(chosen)[-1]} " not in text
        await pilot.press("pagedown", "pagedown")
        await settle(pilot)
        assert f"#{sorted(chosen)[-1]} " in screen_text(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)


@pytest.mark.backends
async def test_the_dialog_says_what_stays_in_peerdesk(desk: Desk) -> None:
    site = ensure_source(desk.cache, "stackexchange", "askmobile", "https://mobile.example")
    upsert_members(desk.cache, site, [MemberRecord("s1", "sam")])
    stamp = "2026-11-20T11:58:00Z"
    question = upsert_threads(
        desk.cache,
        site,
        [ThreadRecord("q1", "APN settings lost", "s1", "open", stamp, stamp, flag_count=3)],
        [PostRecord("q1.0", "q1", "s1", 0, "Help", "Help", stamp)],
    )["q1"]
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        grid = table(app)
        at = next(i for i in range(grid.total) if grid.row_at(i).key == question)
        assert at > 0
        keys = {grid.row_at(0).key, question}
        await pilot.press("space", *["j"] * (at - 1), "space", "x")  # space moves down
        await settle(pilot)
        assert grid.selected == keys
        text = screen_text(pilot)
        assert "1 sent to forum (Discourse)" in text
        assert "1 kept in peerdesk only (askmobile: the Stack Exchange API offers no" in text
        assert "→ askmobile (kept in peerdesk)" in text
        await pilot.press("escape")
        await settle(pilot)


@pytest.mark.backends
async def test_select_author_takes_only_the_threads_this_view_shows(desk: Desk) -> None:
    bob = rows_of(desk, "bob")
    everything = set(desk.threads_by_same_author(bob[0][1]))
    flagged = {
        i.thread_id
        for i in desk.queue(limit=100)
        if i.author == "bob" and (i.flag_count or i.report_count) and i.status != "solved"
    }
    assert flagged and flagged < everything  # the filter hides some of bob's threads
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        for _ in range(FILTERS.index("flagged")):
            await pilot.press("f")
            await settle(pilot)
        grid = table(app)
        index = next(i for i in range(grid.total) if grid.row_at(i).key in flagged)
        await pilot.press(*["j"] * index, "A")
        await settle(pilot)
        assert grid.selected == flagged
        assert notes(messages)[-1] == (
            f"Selected {len(flagged)} open threads by this author in this view (flagged)"
        )
        await pilot.press("x")
        await settle(pilot)
        text = screen_text(pilot)
        assert f"Close {len(flagged)} threads?" in text
        assert all(f"#{t} " in text for t in flagged)
        assert not any(f"#{t} " in text for t in everything - flagged)
