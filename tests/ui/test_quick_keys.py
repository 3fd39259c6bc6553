"""What makes the Queue's keys quick, checked by behaviour (never by timing): search as you type
with newer results never overwritten by older ones, the last page read ahead for `G`, a focus
change that redraws only the cursor row, and `?` not rendering its list again when nothing
changed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Input

from console.app import PeerdeskApp
from console.desk import Desk
from console.filters import parse_filter
from console.screens import queue as queue_screen
from console.screens.help import HelpScreen
from console.screens.queue import QueueScreen, to_row
from console.store import QueueFilter
from tests.ui.helpers import screen_text, settle, table
from widgets.lazy_table import LazyTable

pytestmark = pytest.mark.anyio


def searched(desk: Desk, text: str) -> list[int]:
    """The Queue's rows for the search line `text`, read by the domain as the screen asks."""
    flt = parse_filter(text).to_filter(desk.actor, QueueFilter())
    return [item.thread_id for item in desk.queue(flt, limit=100)]


def hold_reads(
    monkeypatch: pytest.MonkeyPatch, when: Callable[[QueueFilter], bool]
) -> tuple[threading.Event, threading.Event]:
    """Hold the Queue's page reads for the filters `when` picks until `release` is set;
    `held` is set once one is held."""
    held, release = threading.Event(), threading.Event()
    original = QueueScreen._read_page

    def holding(self: QueueScreen, flt: QueueFilter, *args: Any, **kwargs: Any) -> Any:
        if when(flt):
            held.set()
            release.wait(30)
        return original(self, flt, *args, **kwargs)

    monkeypatch.setattr(QueueScreen, "_read_page", holding)
    return held, release


def shown_keys(grid: LazyTable) -> list[object]:
    return [row.key for row in (grid.row_at(i) for i in range(grid.total)) if row is not None]


@pytest.mark.backends  # the search, its count and the pages are the engine's
async def test_typing_searches_without_enter(desk: Desk) -> None:
    expected = searched(desk, "roaming")
    assert 0 < len(expected) < desk.queue_count()
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"roaming")
        await settle(pilot)
        search = app.screen.query_one("#search", Input)
        assert search.has_focus  # still typing: nothing was submitted
        assert shown_keys(table(app)) == expected
        assert table(app).total == len(expected)
        assert "search: roaming" in screen_text(pilot)


async def test_a_half_typed_filter_keeps_the_rows_and_says_so_once_typing_stops(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A longer pause than the console's 0.5 s: settling on a loaded machine (a suite beside a
    # CI run) once took longer than that, and the message came before the first check.
    monkeypatch.setattr(queue_screen, "FILTER_ERROR_PAUSE", 2.0)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = shown_keys(table(app))
        await pilot.press("slash")
        app.screen.query_one("#search", Input).value = "roaming age>"  # as if pasted
        await settle(pilot)
        assert shown_keys(table(app)) == before
        assert "filter:" not in screen_text(pilot)  # not while the moderator may still type
        await pilot.pause(2.2)  # FILTER_ERROR_PAUSE: the moderator stopped typing
        await settle(pilot)
        assert "filter:" in screen_text(pilot)
        assert shown_keys(table(app)) == before


async def test_an_older_search_finishing_late_never_replaces_a_newer_one(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search for "roaming" is held until "voicemail" is shown; its rows arrive last and
    are dropped."""
    wanted = searched(desk, "voicemail")
    stale = searched(desk, "roaming")
    assert wanted and stale and set(wanted).isdisjoint(stale)
    held, release = hold_reads(monkeypatch, lambda flt: flt.text == "roaming")
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"roaming")
        for _ in range(200):  # until the worker holds the "roaming" read
            if held.is_set():
                break
            await pilot.pause(0.01)
        assert held.is_set()
        await pilot.press(*["backspace"] * len("roaming"), *"voicemail")
        for _ in range(300):  # the newer search's rows, while the older one is still held
            if shown_keys(table(app)) == wanted:
                break
            await pilot.pause(0.01)
        assert shown_keys(table(app)) == wanted
        release.set()  # the older search finishes now
        await settle(pilot)
        assert shown_keys(table(app)) == wanted
        assert table(app).total == len(wanted)
        assert "search: voicemail" in screen_text(pilot)


@pytest.mark.backends  # the search, its count and the pages are the engine's
async def test_the_last_screenful_is_read_before_G(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("console.screens.queue.PAGE", 5)  # the 37 Queue threads: eight pages
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        assert grid.page_size == 5
        assert grid.total == desk.queue_count() and grid.exact
        last = grid.total - 1
        visible = grid.scrollable_content_region.height - 1  # under the header
        assert visible > grid.page_size  # the last screenful spans several pages
        for row in range(grid.total - visible, grid.total):  # read ahead, before any key
            assert grid.page(row) is not None, row
        await pilot.press("G")
        # no worker waited for: every row on the screen is there as the key is handled
        assert grid.cursor_row == last
        top = round(grid.scroll_y)
        assert top == grid.total - visible
        assert all(grid.row_at(row) is not None for row in range(top, grid.total))
        expected = desk.queue(QueueFilter(), offset=last, limit=1)[0].thread_id
        assert grid.current_key == expected


async def test_focus_moving_off_the_table_redraws_only_the_cursor_row(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[int] = []
    original = LazyTable._row_strip

    def counting(self: LazyTable, row: Any, cursor: bool, *args: Any) -> Any:
        drawn.append(row.key)
        return original(self, row, cursor, *args)

    monkeypatch.setattr(LazyTable, "_row_strip", counting)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        cursor_key = table(app).current_key
        drawn.clear()
        await pilot.press("slash")  # the search line takes focus (and a line of the screen)
        await settle(pilot)
        assert set(drawn) <= {cursor_key}  # (drawn before in that style: none at all)
        drawn.clear()
        await pilot.press("escape")  # back to the table
        await settle(pilot)
        assert set(drawn) <= {cursor_key}
        assert "Queue · all" in screen_text(pilot)


async def test_help_shown_again_for_the_same_keys_renders_nothing_new(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    original = HelpScreen._table

    def counting(self: HelpScreen) -> Any:
        built.append(self.origin_title)
        return original(self)

    monkeypatch.setattr(HelpScreen, "_table", counting)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(3):
            await pilot.press("question_mark")
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen)
            assert "Keys: Queue" in screen_text(pilot)
            await pilot.press("escape")
            await settle(pilot)
        assert built == ["Queue"]
        await pilot.press("enter")  # a thread: other keys, so the list is made again
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert built == ["Queue", "Thread"]
        assert "Keys: Thread" in screen_text(pilot)


async def test_clearing_a_search_shows_the_queue_rows_before_reading_them_again(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold = False
    held, release = hold_reads(monkeypatch, lambda flt: hold and not flt.text)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        everything = shown_keys(table(app))
        await pilot.press("slash", *"roaming", "enter")
        await settle(pilot)
        assert shown_keys(table(app)) == searched(desk, "roaming")
        hold = True
        await pilot.press("escape")  # clear the search
        for _ in range(300):
            if held.is_set() and shown_keys(table(app)) == everything:
                break
            await pilot.pause(0.01)
        assert not release.is_set()  # the read is still held: these rows were kept
        assert shown_keys(table(app)) == everything
        assert table(app).total == len(everything)
        release.set()
        await settle(pilot)
        assert shown_keys(table(app)) == everything
        assert "search:" not in screen_text(pilot)


async def test_rows_shown_at_once_are_replaced_when_the_queue_changed_meanwhile(
    desk: Desk,
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        top = table(app).current_key
        await pilot.press("slash", *"roaming", "enter")
        await settle(pilot)
        assert isinstance(top, int)
        before = [to_row(item, desk.actor) for item in desk.queue(QueueFilter(), limit=100)]
        desk.close([top])  # another moderator closes the first thread of the Queue
        after = [to_row(item, desk.actor) for item in desk.queue(QueueFilter(), limit=100)]
        assert after != before
        await pilot.press("escape")
        await settle(pilot)
        grid = table(app)
        assert [grid.row_at(i) for i in range(grid.total)] == after
        assert grid.total == desk.queue_count()


async def test_a_search_does_not_read_its_last_rows_ahead(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search's last page means reading every match (seconds for a common word at a million
    threads): only the unfiltered Queue and the filters read their last screenful ahead."""
    monkeypatch.setattr("console.screens.queue.PAGE", 5)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"question", "enter")
        await settle(pilot)
        grid = table(app)
        visible = grid.scrollable_content_region.height - 1
        assert grid.exact and grid.total > visible + 2 * grid.page_size
        assert grid.page(grid.total - 1) is None
        await pilot.press("G")
        await settle(pilot)  # read when asked for
        assert grid.current_row is not None


@pytest.mark.backends  # the search, its count and the pages are the engine's
async def test_a_common_word_shows_at_least_its_newest_matches_and_G_counts_them_all(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typing counts a search among its newest matches only ("n+" in the header: counting
    every match of a common word takes seconds at a million threads); the cursor near those
    rows, or `G`, counts them all and `G` lands on the real last row."""
    import console.screens.queue as queue_screen
    from console.ingest import ensure_source, upsert_threads
    from console.models import ThreadRecord

    source = ensure_source(desk.cache, "discourse", "forum", "https://forum.example")
    more = [
        ThreadRecord(f"r{i}", f"Roaming question {i}", "u1", "open", "2026-11-19T12:00:00Z",
                     "2026-11-19T12:00:00Z")
        for i in range(60)
    ]  # fmt: skip
    upsert_threads(desk.cache, source, more, [])
    expected = searched(desk, "roaming")
    assert len(expected) == 64
    monkeypatch.setattr(queue_screen, "SEARCH_COUNT_REACH", 50)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"roaming", "enter")
        await settle(pilot)
        grid = table(app)
        assert grid.at_least and not grid.exact
        assert 40 < grid.total < len(expected)
        assert f"1/{grid.total}+" in screen_text(pilot)
        assert shown_keys(grid)[:10] == expected[:10]
        await pilot.press("G")
        await settle(pilot)
        assert grid.exact and not grid.at_least
        assert grid.total == len(expected)
        assert grid.cursor_row == len(expected) - 1
        assert grid.current_key == expected[-1]
        assert f"{len(expected)}/{len(expected)} " in screen_text(pilot)


async def test_the_search_line_opens_in_the_key_bars_place_and_nothing_else_moves(
    desk: Desk,
) -> None:
    """`/` opens the search line where the key bar is (vim's `/`), enter closes it and the
    status line says what is searched, escape clears it: the table and the status line keep
    their place throughout, so none of these keys redraws the Queue's rows."""
    from widgets.key_bar import KeyBar
    from widgets.status_bar import StatusBar

    expected = searched(desk, "roaming")
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        status = app.screen.query_one("#queue-status", StatusBar)
        keys = app.screen.query_one(KeyBar)
        search = app.screen.query_one("#search", Input)
        places = (grid.region, status.region)
        key_line = keys.region
        assert key_line.height == 1 and not search.display
        await pilot.press("slash")
        await settle(pilot)
        assert search.has_focus and search.region == key_line and not keys.display
        assert (grid.region, status.region) == places
        await pilot.press(*"roaming")
        await settle(pilot)
        assert shown_keys(grid) == expected and (grid.region, status.region) == places
        await pilot.press("enter")
        await settle(pilot)
        assert not search.display and keys.display and keys.region == key_line
        assert (grid.region, status.region) == places
        assert "Queue · all · search: roaming" in screen_text(pilot).splitlines()[-2]
        await pilot.press("escape")
        await settle(pilot)
        assert (grid.region, status.region) == places and keys.region == key_line
        assert "search:" not in screen_text(pilot)
        assert grid.total == desk.queue_count()


async def test_a_filter_of_another_length_keeps_the_tables_width(desk: Desk) -> None:
    """The scrollbar's column is kept when a list is too short for one ("mine" is empty, "all"
    needs a scrollbar): `f` never changes the table's width, so the rows are never drawn a
    second time for a new width (the drawn rows are kept by width)."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        widths = {"all": grid.scrollable_content_region.width}
        assert grid.total > grid.rows_visible  # "all" needs a scrollbar
        for _ in range(4):  # flagged, unanswered, mine, likely duplicates
            await pilot.press("f")
            await settle(pilot)
            label = screen_text(pilot).splitlines()[-2].split("·")[1].strip().split("  ")[0]
            widths[label] = grid.scrollable_content_region.width
            if label == "mine":
                assert grid.total == 0  # alice holds nothing: no scrollbar needed
        assert "mine" in widths and len(set(widths.values())) == 1, widths
