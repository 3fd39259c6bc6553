"""What each key writes to the terminal: the lines that changed, not the screen. Every frame
the console hands to its driver is recorded (a full repaint of the screen, or the lines of a
partial one) and read back as text, so a test can say which lines a key drew and what the first
frame after it showed: a cursor move draws the header and two rows, focus coming back to the
Queue draws no row, a thread opened after another is drawn once, whole, with its own posts."""

# SQLite only: frames and lines drawn are the console's, whatever the store (the Queue and
# Thread screens are tested on both engines in test_queue.py and test_thread.py)

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from textual._compositor import ChopsUpdate, LayoutUpdate

from console.app import PeerdeskApp
from console.desk import Desk
from console.screens.thread import ThreadScreen
from tests.ui.helpers import settle, wait_for
from widgets.lazy_table import LazyTable
from widgets.post_view import PostView

pytestmark = pytest.mark.anyio


@dataclass
class Frame:
    whole: bool  # the whole screen repainted (a push, a screen's layout), else some lines
    lines: dict[int, str]  # y -> the text written on that line (whole lines only for `whole`)


@contextmanager
def frames_of(app: PeerdeskApp) -> Iterator[list[Frame]]:
    """Every frame handed to the driver while the block runs."""
    seen: list[Frame] = []
    display = app._display

    def noting(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if isinstance(renderable, LayoutUpdate):
            lines = {
                renderable.region.y + y: "".join(seg.text for strip in line for seg in strip)
                for y, line in enumerate(renderable.strips)
            }
            seen.append(Frame(True, lines))
        elif isinstance(renderable, ChopsUpdate):
            seen.append(Frame(False, {y: "" for y, _x1, _x2 in renderable.spans}))

    app._display = noting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        app._display = display  # type: ignore[method-assign]


async def ready(pilot: Any, app: PeerdeskApp) -> None:
    """The first rows shown and the console idle after them (the panels' stylesheets, read
    then, restyle the app: not what a key draws)."""
    await settle(pilot)
    assert await wait_for(pilot, lambda: app.later_screens_ready)
    await settle(pilot)


def lines_drawn(frames: list[Frame]) -> set[int]:
    return {y for frame in frames for y in frame.lines}


async def test_a_cursor_move_draws_the_header_and_two_rows(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        table = app.screen.query_one("#queue-table", LazyTable)
        top = table.region.y  # the header's line on the screen
        assert table.total >= 4
        for key, row in (("j", 1), ("j", 2), ("k", 1), ("down", 2), ("up", 1)):
            before = table.cursor_row
            with frames_of(app) as frames:
                await pilot.press(key)
                await settle(pilot)
            assert table.cursor_row == row
            assert frames and not any(frame.whole for frame in frames)
            # the header (the cursor's place), the row left and the row reached: no other row
            assert lines_drawn(frames) == {top, top + 1 + before, top + 1 + row}


async def test_focus_back_on_the_queue_draws_no_row_and_keeps_rows_and_cursor(
    desk: Desk,
) -> None:
    """`/` opens the search line and takes the focus from the table; enter closes it and gives
    the focus back. Neither draws the table's rows again (only the cursor's row looks different
    without the focus), and the rows and cursor are the ones shown before."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        table = app.screen.query_one("#queue-table", LazyTable)
        await pilot.press("j", "j")
        await settle(pilot)
        rows = [table.row_at(i) for i in range(table.total)]
        cursor, key = table.cursor_row, table.current_key
        cursor_line = table.region.y + 1 + cursor
        shown = min(table.total, table.region.height - 1)
        row_lines = set(range(table.region.y + 1, table.region.y + 1 + shown))
        with frames_of(app) as frames:
            await pilot.press("slash")
            await settle(pilot)
        assert not table.has_focus
        assert not any(frame.whole for frame in frames)
        assert lines_drawn(frames) & row_lines <= {cursor_line}
        with frames_of(app) as frames:
            await pilot.press("enter")  # nothing typed: the same rows
            await settle(pilot)
        assert table.has_focus
        assert not any(frame.whole for frame in frames)
        assert lines_drawn(frames) & row_lines <= {cursor_line}
        assert [table.row_at(i) for i in range(table.total)] == rows
        assert (table.cursor_row, table.current_key) == (cursor, key)


async def test_a_total_told_again_draws_the_header_not_the_rows(desk: Desk) -> None:
    """A search's count arrives as "n+" (at least n), then exact: the header says so; the rows,
    the same, are not drawn again."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        table = app.screen.query_one("#queue-table", LazyTable)
        total, header = table.total, table.region.y
        with frames_of(app) as frames:
            table.set_total(total, at_least=True)
            await settle(pilot)
        assert lines_drawn(frames) == {header}
        assert table.render_line(0).text.rstrip().endswith(f"/{total:,}+")
        with frames_of(app) as frames:
            table.set_total(total)
            await settle(pilot)
        assert lines_drawn(frames) == {header}
        assert table.render_line(0).text.rstrip().endswith(f"/{total:,}")


def posts_of(desk: Desk) -> dict[int, int]:
    """Thread id -> number of posts, for the threads of the Queue's first page."""
    return {
        item.thread_id: len(desk.thread(item.thread_id).posts) for item in desk.queue(limit=100)
    }


async def test_a_different_thread_is_drawn_once_whole_with_its_posts(desk: Desk) -> None:
    """The Thread screen is kept: opening another thread puts its posts in the cards there
    (mounting the ones it needs more) before the screen is pushed, so the first frame after
    enter is the whole screen with that thread's posts; never the new posts painted over the
    Queue, then the screen again."""
    counts = posts_of(desk)
    few = min(counts, key=lambda t: (counts[t], t))
    many = max(counts, key=lambda t: (counts[t], -t))
    assert counts[many] > counts[few]
    order = [item.thread_id for item in desk.queue(limit=100)]
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        for thread_id in (few, many, few):  # fewer cards than posts, then more
            table = app.screen.query_one("#queue-table", LazyTable)
            table.cursor_row = order.index(thread_id)
            await settle(pilot)
            with frames_of(app) as frames:
                await pilot.press("enter")
                await settle(pilot)
            screen = app.screen
            assert isinstance(screen, ThreadScreen) and screen.thread_id == thread_id
            view = desk.thread(thread_id)
            first = frames[0]
            assert first.whole, "a partial frame came before the screen was drawn whole"
            text = "\n".join(first.lines[y] for y in sorted(first.lines))
            assert f"#{thread_id} " in text and f"Thread {thread_id} · " in text
            assert f"Thread {thread_id} · {len(view.posts)} post" in text
            cards = screen._cards()
            assert [card.key for card in cards[: len(view.posts)]] == [
                post.post_id for post in view.posts
            ]
            shown = [c for c in cards if c.region.height and c.region.y < 22]
            for card in shown:  # every card on the screen, drawn in that first frame
                assert card.heading().plain[:20] in text
            assert all(isinstance(card, PostView) for card in cards)
            await pilot.press("escape")
            await settle(pilot)


async def test_moving_between_posts_draws_the_posts_not_the_screen(desk: Desk) -> None:
    """j/k/g in a thread longer than the screen scroll the posts: the lines of the posts area
    are drawn, never the whole screen (Textual compared the scroll with a map it had dropped
    when the focused card's place was looked up, so every widget counted as moved). Opening the
    same thread again draws the whole screen first, once (its scroll back to the top is in it)."""
    counts = posts_of(desk)
    many = max(counts, key=lambda t: (counts[t], -t))
    for n in range(6):  # cards enough to scroll at 80x24
        desk.decide("note", [many], body=f"Internal note {n}: asked the carrier, no answer yet.")
    order = [item.thread_id for item in desk.queue(limit=100)]
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        table = app.screen.query_one("#queue-table", LazyTable)
        table.cursor_row = order.index(many)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ThreadScreen) and screen.thread_id == many
        posts = screen.query_one("#posts")
        assert posts.virtual_size.height > posts.size.height  # it scrolls
        area = set(range(posts.region.y, posts.region.y + posts.region.height))
        scrolled = 0
        for key in ("j", "j", "j", "k", "G", "g", "j"):
            before = posts.scroll_y
            with frames_of(app) as frames:
                await pilot.press(key)
                await settle(pilot)
            scrolled += posts.scroll_y != before
            assert not any(frame.whole for frame in frames), key
            assert lines_drawn(frames) <= area, key
        assert scrolled >= 3
        await pilot.press("escape")
        await settle(pilot)
        with frames_of(app) as frames:
            await pilot.press("enter")
            await settle(pilot)
        assert app.screen is screen and posts.scroll_y == 0
        assert frames[0].whole, "a partial frame came before the screen was drawn whole"
        assert sum(frame.whole for frame in frames) == 1


async def test_a_new_number_of_rows_lays_nothing_out_again(desk: Desk) -> None:
    """Another filter's or search's count changes the rows' number, not the table's size: the
    header and the scrollbar say it without a layout of the whole screen (every widget placed
    again before the frame), also when the rows come to fit: the Queue's scrollbar stays, an
    empty track (`f` onto an empty filter, a search's letter that finds nothing)."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        screen = app.screen
        table = screen.query_one("#queue-table", LazyTable)
        total = table.total
        table.set_total(total + 500)  # more rows than lines: the scrollbar is shown
        await settle(pilot)
        assert table.show_vertical_scrollbar
        layouts: list[object] = []
        refresh_layout = screen._refresh_layout

        def counting(*args: Any, **kwargs: Any) -> None:
            layouts.append(args)
            refresh_layout(*args, **kwargs)

        screen._refresh_layout = counting  # type: ignore[method-assign]
        table.set_total(total + 1000)
        await settle(pilot)
        assert layouts == []
        assert table.virtual_size.height == total + 1001
        assert table.vertical_scrollbar.window_virtual_size == total + 1001
        assert table.render_line(0).text.rstrip().endswith(f"/{total + 1000:,}")
        table.set_total(min(total, 3))  # fewer rows than lines: no thumb, the same layout
        await settle(pilot)
        assert table.show_vertical_scrollbar and layouts == []
        bar = table.vertical_scrollbar
        assert bar.window_virtual_size <= bar.window_size
        assert table.render_line(0).text.rstrip().endswith(f"/{min(total, 3):,}")
