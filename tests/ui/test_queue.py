"""Pilot tests of the Queue: keyboard flows, asserting on the cache afterwards. The flows whose
reads and writes the engine carries out (order, paging, search and filters, claims held by
another, batches and their undo, same-author selection) also run on a team database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.message import Message

from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.screens.confirm import ConfirmScreen
from console.screens.help import HelpScreen
from console.screens.queue import QueueScreen
from console.store import QueueFilter
from tests.ui.helpers import notes, screen_text, settle, status_of, statuses, stored, table, until
from widgets.lazy_table import LazyTable

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()  # the root conftest sets TZ=UTC; claims show local HH:MM


@pytest.mark.backends
async def test_queue_shows_the_most_urgent_first_with_a_count(desk: Desk) -> None:
    expected = desk.queue(limit=5)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        grid = table(app)
        assert grid.total == desk.queue_count()
        assert [grid.row_at(i).key for i in range(5)] == [i.thread_id for i in expected]
        text = screen_text(pilot)
        assert f"1/{desk.queue_count()}" in text
        if desk.cache.dialect.is_sqlite:
            assert "demo community: alice (override) has every role" in text
        else:  # the server says who is connected and what the role may do
            assert "alice: moderator" in text
        assert "nothing waiting" in text


@pytest.mark.backends
async def test_moving_with_j_k_g_G(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = table(app)
        await pilot.press("j", "j", "down")
        assert grid.cursor_row == 3
        await pilot.press("k")
        assert grid.cursor_row == 2
        await pilot.press("G")
        await settle(pilot)
        assert grid.cursor_row == grid.total - 1
        assert grid.current_key == desk.queue(offset=grid.total - 1, limit=1)[0].thread_id
        await pilot.press("g")
        assert grid.cursor_row == 0


@pytest.mark.backends
async def test_claim_shows_who_holds_a_claimed_thread(desk: Desk) -> None:
    items = desk.queue(limit=100)
    held = next(i for i, item in enumerate(items) if item.claimed_by == "dave")
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press(*["j"] * held, "c")
        await settle(pilot)
        assert any(
            f"Thread {items[held].thread_id} is claimed by dave until {until(desk, 'dave')}" in n
            for n in notes(messages)
        )
        await pilot.press("g", "c")
        await settle(pilot)
        assert "me" in screen_text(pilot).splitlines()[2]
    holders = dict(stored(desk, "SELECT thread_id, holder FROM claims"))
    assert holders[items[held].thread_id] == "dave"
    assert holders[items[0].thread_id] == "alice"


@pytest.mark.backends
async def test_batch_close_confirms_the_count_and_undo_takes_it_all_back(desk: Desk) -> None:
    first = [item.thread_id for item in desk.queue(limit=3)]
    before = statuses(desk, first)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "space")
        assert table(app).selected == set(first)
        assert "3 selected" in screen_text(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "Close 3 threads?" in screen_text(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert statuses(desk, first) == ["closed"] * 3
        assert table(app).selected == set()
        fresh = desk.queue(limit=5)
        assert [table(app).row_at(i).key for i in range(5)] == [i.thread_id for i in fresh]
        assert [table(app).row_at(i).cells[2] for i in range(5)] == [i.status for i in fresh]
        assert "3 actions waiting" in screen_text(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert statuses(desk, first) == before
    batches = stored(desk, "SELECT action, item_count FROM batches ORDER BY id")
    assert batches == [("close", 3), ("undo_close", 3)]


async def test_declining_the_confirmation_changes_nothing(desk: Desk, ui_db: Path) -> None:
    first = [item.thread_id for item in desk.queue(limit=2)]
    before = [status_of(ui_db, t) for t in first]
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "x")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
    assert [status_of(ui_db, t) for t in first] == before


def row_by(desk: Desk, author: str) -> tuple[int, int]:
    """(row index, thread id) of the first Queue row started by `author`."""
    items = desk.queue(limit=100)
    index = next(i for i, item in enumerate(items) if item.author == author)
    return index, items[index].thread_id


@pytest.mark.backends
async def test_select_every_open_thread_by_the_author(desk: Desk) -> None:
    index, thread = row_by(desk, "bob")
    same = desk.threads_by_same_author(thread)
    assert len(same) > 2
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press(*["j"] * index, "A")
        await settle(pilot)
        assert table(app).selected == set(same)
        await pilot.press("x")
        await settle(pilot)
        assert f"Close {len(same)} threads?" in screen_text(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert notes(messages)[-1] == f"Close: {len(same)} items (u undoes it)"
    assert set(statuses(desk, same)) == {"closed"}


@pytest.mark.backends
async def test_a_batch_touching_a_thread_claimed_by_another_is_refused_whole(desk: Desk) -> None:
    index, thread = row_by(desk, "carol")
    same = desk.threads_by_same_author(thread)
    before = statuses(desk, same)
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press(*["j"] * index, "A")
        await settle(pilot)
        await pilot.press("x")  # the dialog is read in a worker: "y" once it is up
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert any(f"is claimed by dave until {until(desk, 'dave')}" in n for n in notes(messages))
    assert statuses(desk, same) == before


async def test_note_from_the_keyboard(desk: Desk, ui_db: Path) -> None:
    top = desk.queue(limit=1)[0].thread_id
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"asked [bold]twice[/]", "enter")
        await settle(pilot)
    cache = open_cache(ui_db)
    rows = cache.query("SELECT thread_id, author, body FROM notes")
    cache.close()
    assert [tuple(r) for r in rows] == [(top, "alice", "asked [bold]twice[/]")]


@pytest.mark.backends
async def test_search_and_filters(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"roaming", "enter")
        await settle(pilot)
        found = desk.queue_count(QueueFilter(text="roaming", everything=True))
        assert 0 < found < desk.queue_count()
        assert table(app).total == found
        assert table(app).has_focus
        await pilot.press("escape")
        await settle(pilot)
        assert table(app).total == desk.queue_count()
        await pilot.press("f")
        await settle(pilot)
        assert table(app).total == desk.queue_count(QueueFilter(flagged_only=True))
        assert "Queue · flagged" in screen_text(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert table(app).total == desk.queue_count(QueueFilter(unanswered_only=True))


async def test_help_lists_every_queue_key(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        ids = {entry.binding_id for entry in app.screen.entries}
        wanted = {b.id for b in QueueScreen.BINDINGS} | {b.id for b in LazyTable.BINDINGS}
        assert wanted <= ids
        assert {"app.quit", "app.help"} <= ids
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)


async def test_command_palette_runs_an_action(desk: Desk, ui_db: Path) -> None:
    top = desk.queue(limit=1)[0].thread_id
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"claim the thread")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
    cache = open_cache(ui_db)
    holder = cache.one("SELECT holder FROM claims WHERE thread_id = ?", (top,))
    cache.close()
    assert holder is not None and holder[0] == "alice"


async def test_a_role_without_moderation_sees_no_moderation_keys(
    readonly_desk: Desk, ui_db: Path
) -> None:
    top = readonly_desk.queue(limit=1)[0].thread_id
    app = PeerdeskApp(readonly_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        actions = {a.binding.action for a in app.screen.active_bindings.values()}
        assert not {"claim", "close", "reopen", "note", "undo"} & actions
        assert "erin (override): payout_preparer" in screen_text(pilot)
        await pilot.press("x", "c")
        await settle(pilot)
    assert status_of(ui_db, top) != "closed"


async def test_each_filter_shown_again_draws_its_rows_as_they_are_now(desk: Desk) -> None:
    """`f` round every filter and back: each shows its own rows, count and name; rows drawn
    before (kept by the table across filters) come back without a selection cleared since."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        before = screen_text(pilot)
        await pilot.press("space")
        assert "●" in screen_text(pilot)
        names = screen.filter_names()
        for step in range(1, 2 * len(names) + 1):
            await pilot.press("f")
            await settle(pilot)
            flt = screen.current_filter()
            name = names[step % len(names)]
            shown = screen_text(pilot)
            assert f"Queue · {name}" in shown
            assert table(app).total == desk.queue_count(flt)
            first = desk.queue(flt, limit=1)
            if first:
                assert table(app).current_key == first[0].thread_id
                assert first[0].title[:20] in shown.splitlines()[2]
            assert "●" not in shown
        assert screen_text(pilot) == before
        await pilot.press("j")  # the row selected before, drawn without the cursor again
        assert "●" not in screen_text(pilot)
