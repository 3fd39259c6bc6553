"""`E` with more escalations than a page (and than the old panel's 500): the first page is shown
at once while every escalation is counted apart ("counting…"), then the count; `G` reaches the
last escalation and PgDn the second page, each read from its neighbour's place in the index.

SQLite only: the console over a team database is covered by tests/ui/test_console_backends.py,
and the paging itself on both backends by test_pages.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from console.app import PeerdeskApp
from console.clock import iso, parse
from console.db import open_cache
from console.desk import Desk
from console.escalate import pages
from console.screens.escalations import PAGE, Escalations, EscalationsScreen
from console.screens.panel import ListLoaded
from tests.escalate.conftest import post, store, thread
from tests.ui.helpers import held, screen_text, settle, wait_for
from widgets.latest_work import LatestWork

pytestmark = pytest.mark.anyio

THREADS = 520  # more than the 500 the panel used to list


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    path = tmp_path / "many.sqlite3"
    cache = open_cache(path, create=True)
    start = parse("2026-11-10T00:00:00Z")
    threads, posts = [], []
    for n in range(THREADS):
        created = iso(start + timedelta(minutes=17 * n))
        # answered: the clock rules for unanswered threads raise nothing more
        threads.append(thread(str(n), f"Threat number {n}", "u1", created, replies=1))
        posts.append(post(f"p{n}", str(n), "u1", 0, "see you at the ombudsman", created))
    store(cache, threads, posts)
    cache.set_meta("demo", "1")
    cache.close()
    opened = Desk.open(path)
    yield opened
    opened.close_cache()


def _in_order(desk: Desk) -> list[tuple[int, str]]:
    """(escalation id, thread title) of every open escalation by its clock, then id."""
    rows = desk.cache.query(
        "SELECT e.id, e.acknowledge_due, t.title FROM escalations e "
        "JOIN threads t ON t.id = e.thread_id"
    )
    return [(int(r[0]), str(r[2])) for r in sorted(rows, key=lambda r: (r[1], r[0]))]


async def test_the_first_page_shows_while_every_escalation_is_counted(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = _in_order(desk)
    assert len(order) == THREADS
    app = PeerdeskApp(desk)
    with held(monkeypatch, pages, "tally") as tally:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("E")
            shown = await wait_for(
                pilot,
                lambda: (
                    tally.started.is_set()
                    and isinstance(app.screen, EscalationsScreen)
                    and app.screen.rows
                ),
            )
            assert shown
            screen = app.screen
            assert isinstance(screen, EscalationsScreen)
            assert list(screen.rows) == [i for i, _ in order[:PAGE]]  # the first page only
            await wait_for(pilot, lambda: "counting…" in screen_text(pilot))
            text = screen_text(pilot)
            assert "Escalations · counting…" in text
            assert " 1/… " in text  # the list's length is not known yet
            tally.release.set()
            await settle(pilot)
            text = screen_text(pilot)
            assert f"Escalations · {THREADS} open · {THREADS} breached" in text
            assert f" 1/{THREADS} " in text


async def test_paging_to_the_second_page_and_to_the_end(desk: Desk) -> None:
    order = _in_order(desk)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EscalationsScreen)
        await pilot.press("G")
        await settle(pilot)
        assert screen.table.cursor_row == THREADS - 1
        last_id, last_title = order[-1]
        assert screen.table.current_key == last_id
        text = screen_text(pilot)
        assert f"{last_title}" in text and f" {THREADS}/{THREADS} " in text
        await pilot.press("g")
        await settle(pilot)
        for _ in range(PAGE):
            await pilot.press("j")
        await settle(pilot)
        assert screen.table.cursor_row == PAGE
        assert screen.table.current_key == order[PAGE][0]
        assert "Thread #" in screen_text(pilot) and order[PAGE][1] in screen_text(pilot)


async def test_a_count_that_found_nothing_new_changes_nothing(desk: Desk) -> None:
    messages: list[Any] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EscalationsScreen)
        first = screen.tally
        assert first is not None and first.open == THREADS
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        apart = [
            m.value
            for m in messages
            if isinstance(m, LatestWork.Answered) and isinstance(m.value, pages.Tally)
        ]
        with_page = [
            m.data.tally
            for m in messages
            if isinstance(m, ListLoaded) and isinstance(m.data, Escalations) and m.data.tally
        ]
        assert apart == [first]  # the first visit counted apart; the later one with its page
        assert with_page and with_page[-1] == first  # counted again, the same
        assert screen.tally is first  # kept as it was: nothing redrawn for it
