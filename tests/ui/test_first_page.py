"""The Queue's first page read while the console imports Textual (console.quiet_start.FirstPage):
the first frame shows it, the Queue reads it again once that frame is out, and a read that did
not finish or failed leaves the Queue to read for itself."""

from __future__ import annotations

# SQLite only: the read is the Desk's own first-page read (covered on both engines); what is tested is the console's order of reads and frames.
import threading
from typing import Any

import pytest

from console.app import PeerdeskApp
from console.desk import Desk, QueueFilter
from console.quiet_start import QUEUE_PAGE, FirstPage
from console.screens.queue import to_row
from tests.ui.helpers import settle, wait_for

pytestmark = pytest.mark.anyio


def read(desk: Desk) -> FirstPage:
    first_page = FirstPage(desk, threading.Lock())
    assert first_page._done.wait(30)
    return first_page


def test_the_first_page_is_the_queues_first_page_and_is_taken_once(desk: Desk) -> None:
    first_page = read(desk)
    assert first_page.take(QueueFilter(flagged_only=True)) is None  # not the filter it read
    taken = first_page.take(QueueFilter())
    assert taken is not None
    shape, items = taken
    assert shape == desk.queue_shape()
    assert [i.thread_id for i in items] == [
        i.thread_id for i in desk.queue(QueueFilter(), limit=QUEUE_PAGE)
    ]
    assert first_page.take(QueueFilter()) is None  # once: the Queue reads for itself after


class Failing:
    def queue_shape(self) -> Any:
        raise RuntimeError("the cache went away")


def test_a_failed_read_gives_nothing_and_frees_the_lock() -> None:
    lock = threading.Lock()
    first_page = FirstPage(Failing(), lock)  # type: ignore[arg-type]
    assert first_page._done.wait(30)
    assert first_page.take(QueueFilter()) is None
    assert not lock.locked()


async def test_the_first_frame_shows_the_page_read_before_and_the_queue_reads_it_again(
    desk: Desk,
) -> None:
    first_page = read(desk)
    before = desk.queue(QueueFilter(), limit=QUEUE_PAGE)
    first = next(item for item in before if not item.claimed_by).thread_id
    desk.claim(first)  # after the early read: only the Queue's own read again sees it
    after = desk.queue(QueueFilter(), limit=QUEUE_PAGE)
    assert after != before
    rows_before = [to_row(item, desk.actor) for item in before]
    rows_after = [to_row(item, desk.actor) for item in after]
    app = PeerdeskApp(desk, first_page=first_page)
    assert app.desk_lock is first_page.lock  # one lock on the Desk's connection
    shown: list[list[object]] = []
    original = app.first_rows_shown

    def first_rows_shown() -> None:
        table = app.screen.query_one("#queue-table")
        shown.append(list(table.page(0) or []))
        original()

    app.first_rows_shown = first_rows_shown  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert await wait_for(pilot, lambda: shown)
        assert shown[0] == rows_before  # the page read before Textual was up, in the first rows
        table = app.screen.query_one("#queue-table")
        assert await wait_for(pilot, lambda: table.page(0) == rows_after)
        assert await wait_for(pilot, lambda: table.exact)  # and counted, after the first frame
        assert table.total == desk.queue_count(QueueFilter())


async def test_a_read_not_done_leaves_the_queue_to_read_its_rows(desk: Desk) -> None:
    lock = threading.Lock()
    with lock:  # the early read waits for the lock: not done when the Queue is composed
        first_page = FirstPage(desk, lock)
        app = PeerdeskApp(desk, first_page=first_page)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#queue-table")
        assert await wait_for(pilot, lambda: table.exact and table.page(0))
        want = [i.thread_id for i in desk.queue(QueueFilter(), limit=QUEUE_PAGE)]
        assert [row.key for row in table.page(0) or []] == want
