"""The Queue's search line and filters from the keyboard: `/` opens the line in the key bar's place
with the focus in it, typing searches, enter gives the focus back to the rows, escape closes the
line or clears the search, and clearing shows the Queue's rows as they were with the cursor where
it was; `f` back to a filter seen before shows its rows in the key's own frame."""

from __future__ import annotations

# SQLite only: what the screen does with its keys, focus and rows (the reads a search and a filter
# make run on a team database in tests/ui/test_queue.py and test_quick_keys.py); a held read is
# the cache's Desk.queue.
import pytest
from textual import events
from textual.widgets import Input

from console.app import PeerdeskApp
from console.desk import Desk
from console.screens.queue import QueueScreen
from console.store import QueueFilter, QueueReader
from tests.ui.helpers import held, settle, table
from widgets.key_bar import KeyBar
from widgets.lazy_table import LazyTable

pytestmark = pytest.mark.anyio


def search_line(app: PeerdeskApp) -> Input:
    return app.screen.query_one("#search", Input)


def status(app: PeerdeskApp) -> str:
    return str(app.screen.query_one("#queue-status").left)


def keys(grid: LazyTable, count: int) -> list[object]:
    return [row.key for row in (grid.row_at(i) for i in range(count)) if row is not None]


async def test_slash_opens_the_search_line_and_escape_closes_it(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        rows = keys(grid, 10)
        await pilot.press("slash")
        line = search_line(app)
        assert line.display and line.has_focus
        assert not app.screen.query_one(KeyBar).display  # the line takes the key bar's place
        assert not grid.has_focus
        await pilot.press("escape")
        await settle(pilot)
        assert not line.display
        assert app.screen.query_one(KeyBar).display
        assert grid.has_focus
        assert keys(grid, 10) == rows
        assert "search:" not in status(app)


async def test_typing_searches_and_enter_gives_the_rows_the_focus(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        found = [item.thread_id for item in desk.queue(QueueFilter(text="roaming"), limit=100)]
        assert 0 < len(found) < desk.queue_count()
        await pilot.press("slash", *"roaming")
        await settle(pilot)
        # searched as typed, the line still open for more
        assert keys(grid, len(found)) == found
        assert search_line(app).has_focus
        assert "search: roaming" in status(app)
        await pilot.press("enter")
        await settle(pilot)
        assert not search_line(app).display
        assert grid.has_focus
        assert keys(grid, len(found)) == found
        assert grid.total == len(found)
        await pilot.press("j")  # the keys move the rows again
        assert grid.cursor_row == 1


async def test_keys_that_arrive_together_reach_the_search_line_then_the_rows(
    desk: Desk,
) -> None:
    """A burst (a fast typist, a paste, a slow link over SSH delivering keys together): the
    letters after `/` are the search's, not the Queue's keys (`c` claims, `x` closes), and the
    keys after its enter move the rows. Textual's focus() waits for the keys already queued."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        decided = desk.cache.one("SELECT count(*) FROM audit")
        burst = [("slash", "/"), *((ch, ch) for ch in "xc"), ("enter", "\r"), ("j", "j")]
        for key, character in burst:
            app.post_message(events.Key(key, character))
        await settle(pilot)
        assert desk.cache.one("SELECT count(*) FROM audit") == decided  # nothing decided
        assert "search: xc" in status(app)
        assert not search_line(app).display and grid.has_focus
        assert grid.total == 0 or grid.cursor_row == min(1, grid.total - 1)
        assert search_line(app).value == "xc"


async def test_letters_that_come_with_n_are_the_notes_not_the_queues_keys(desk: Desk) -> None:
    """`n` and the note typed after it at once: the letters reach the note's field once the
    prompt is up (not the Queue: `c` would claim), and nothing is decided before enter."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        decided = desk.cache.one("SELECT count(*) FROM audit")
        for key in "ncalled":
            app.post_message(events.Key(key, key))
        await settle(pilot)
        assert type(app.screen).__name__ == "NoteScreen"
        assert app.screen.query_one(Input).value == "called"
        assert desk.cache.one("SELECT count(*) FROM audit") == decided


async def test_clearing_a_search_puts_the_rows_and_the_cursor_back(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        await pilot.press("j", "j", "j")
        rows, total, current = keys(grid, 20), grid.total, grid.current_key
        await pilot.press("slash", *"roaming", "enter")
        await settle(pilot)
        assert grid.current_key != current and grid.cursor_row == 0
        await pilot.press("j")
        await pilot.press("escape")  # the search line is closed: escape clears the search
        # at once, from the rows last read (the Queue is read again after the frame)
        assert keys(grid, 20) == rows
        assert (grid.cursor_row, grid.current_key) == (3, current)
        assert "search:" not in status(app)
        await settle(pilot)
        assert keys(grid, 20) == rows and grid.total == total
        assert (grid.cursor_row, grid.current_key) == (3, current)
        assert grid.has_focus and not search_line(app).display


async def test_escape_in_the_search_line_clears_what_was_typed(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        await pilot.press("j", "j")
        rows, current = keys(grid, 20), grid.current_key
        await pilot.press("slash", *"roaming")
        await settle(pilot)
        assert keys(grid, 20) != rows
        await pilot.press("escape")
        await settle(pilot)
        assert not search_line(app).display and search_line(app).value == ""
        assert grid.has_focus
        assert keys(grid, 20) == rows and grid.current_key == current
        assert isinstance(app.screen, QueueScreen) and app.screen.search_text == ""


async def test_a_filter_seen_before_comes_back_with_its_rows_before_any_read(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Queue's counts never finish here (as `flagged` at a million threads, given up when
    `f` moves on); `f` back to a filter still shows the rows last read for it in the key's own
    handler, the count as "…", while its reads are held."""
    monkeypatch.setattr(QueueReader, "count", lambda self, flt: None)  # always interrupted
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        flagged = [i.thread_id for i in desk.queue(QueueFilter(flagged_only=True), limit=20)]
        await pilot.press("f")
        await settle(pilot)
        assert keys(grid, len(flagged)) == flagged
        for _ in range(4):  # around to "all"
            await pilot.press("f")
            await settle(pilot)
        assert "Queue · all" in status(app)

        with held(monkeypatch, Desk, "queue") as reads:
            await pilot.press("f")
            assert "Queue · flagged" in status(app)
            assert keys(grid, len(flagged)) == flagged
            assert not grid.exact  # the header says "…" until a count is in
            reads.release.set()
            await settle(pilot)
        assert keys(grid, len(flagged)) == flagged


async def test_a_filter_not_read_yet_says_loading_not_the_last_filters_rows(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first `f` to a filter shows "Loading…" under its name while its page is read, never
    the threads of the filter before it (enter there would open a thread the filter leaves out);
    then its own rows."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        assert grid.total > 0 and "Queue · all" in status(app)
        with held(monkeypatch, Desk, "queue") as reads:
            await pilot.press("f")
            await pilot.pause()
            assert "Queue · flagged" in status(app)
            assert (grid.total, grid.loaded, grid.row_at(0)) == (0, False, None)
            assert grid.has_focus  # the keys still move the rows
            reads.release.set()
            await settle(pilot)
        flagged = [i.thread_id for i in desk.queue(QueueFilter(flagged_only=True), limit=20)]
        assert flagged and keys(grid, len(flagged)) == flagged
        assert grid.has_focus and "search:" not in status(app)


async def test_the_cursor_row_says_where_the_focus_is(desk: Desk) -> None:
    """Focused rows draw the cursor in the block cursor's colours, bold; with the focus in the
    search line, in the blurred cursor's background; back on escape."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        focused = grid.get_component_rich_style("lazy-table--cursor")
        blurred = grid.get_component_rich_style("lazy-table--cursor-blurred")
        assert focused.bgcolor != blurred.bgcolor and focused.bold and not blurred.bold

        def cursor_line() -> set[object]:
            strips = app.screen._compositor.render_strips()
            line = strips[grid.region.y + 1]  # the header, then the first row (the cursor's)
            return {
                (s.style.bgcolor, bool(s.style.bold)) for s in line if s.style and s.text.strip()
            }

        assert (focused.bgcolor, True) in cursor_line()
        await pilot.press("slash")
        await pilot.pause()
        assert (blurred.bgcolor, False) in cursor_line()
        assert (focused.bgcolor, True) not in cursor_line()
        await pilot.press("escape")
        await pilot.pause()
        assert (focused.bgcolor, True) in cursor_line()


async def test_a_search_typed_again_shows_its_rows_in_the_letters_own_frame(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each letter's search keeps its first page: typed again, the frame that draws the letter
    in the search line draws the status line and that page's rows too (before any read: they are
    held here), not the letter alone with the status and rows a frame later."""
    from tests.ui.test_lines_drawn import frames_of, lines_drawn

    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        await pilot.press("slash", *"roami")
        await settle(pilot)
        await pilot.press("escape")  # clears the search and closes the line
        await settle(pilot)
        line, bar = search_line(app), app.screen.query_one("#queue-status")
        await pilot.press("slash", *"ro")
        await settle(pilot)
        changed = 0
        with held(monkeypatch, QueueReader, "page"):
            for typed in ("roa", "roam", "roami"):
                before = keys(grid, 20)
                with frames_of(app) as frames:
                    await pilot.press(typed[-1])
                    await pilot.pause()
                    await pilot.pause()
                assert f"search: {typed}" in status(app)
                rows = keys(grid, 20)
                assert rows, typed  # the rows last found for `typed`
                assert frames, typed
                first = set(frames[0].lines)
                assert {line.region.y, bar.region.y} <= first, typed
                if rows != before:
                    changed += 1
                    shown = range(grid.region.y + 1, grid.region.y + 1 + len(rows))
                    assert set(shown) <= first, typed
                assert lines_drawn(frames[1:]) <= {grid.region.y}, typed  # the count, if any
        assert changed


async def test_a_letter_typed_lays_nothing_out_and_a_long_line_keeps_its_cursor_in_view(
    desk: Desk,
) -> None:
    """The search line's size never changes: a letter typed draws the line without a layout of
    the whole screen (nor do the rows found, however few: the table keeps its scrollbar);
    typed past the line's width, the line scrolls to keep the cursor (and
    the last letters) in view, and back to its start when emptied."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("slash")
        await settle(pilot)
        line = search_line(app)
        layouts: list[object] = []
        refresh_layout = screen._refresh_layout

        def counting(*args: object, **kwargs: object) -> None:
            layouts.append(args)
            refresh_layout(*args, **kwargs)  # type: ignore[arg-type]

        screen._refresh_layout = counting  # type: ignore[method-assign]
        for letter in "roaming":  # at "ro" the rows fit: the scrollbar's track stays
            await pilot.press(letter)
            await settle(pilot)
            assert table(app).show_vertical_scrollbar
        assert layouts == []
        assert line.value == "roaming" and "search: roaming" in status(app)
        long = " ".join(["roaming"] * 14)  # wider than the line
        line.value = long
        line.cursor_position = len(long)
        await settle(pilot)
        assert line.scroll_x > 0
        cursor_x = line.cursor_screen_offset.x
        assert line.region.x <= cursor_x < line.region.right
        assert line.render_line(0).text.rstrip().endswith("roaming")
        line.value = ""
        await settle(pilot)
        assert line.scroll_x == 0
