"""Pilot tests of `u`: the decision just made in this screen is undone at once; anything else
(decided elsewhere, or already sent to the platform) is shown and asked about first; a decision
someone changed since is refused, naming them. Asserted on the cache file afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.message import Message
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.screens.confirm import ConfirmScreen
from console.screens.queue import QueueScreen
from tests.ui.helpers import notes, screen_text, settle, status_of
from widgets.lazy_table import LazyTable

pytestmark = pytest.mark.anyio


def undo_batches(db: Path) -> int:
    cache = open_cache(db)
    try:
        return int(cache.one("SELECT count(*) FROM batches WHERE undoes IS NOT NULL")[0])
    finally:
        cache.close()


def first_unclaimed(desk: Desk) -> int:
    return next(i.thread_id for i in desk.queue(limit=10) if not i.claimed_by)


async def test_the_decision_just_made_here_is_undone_without_asking(
    desk: Desk, ui_db: Path
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        target = await to_unclaimed(pilot, app, desk)
        await pilot.press("x")
        await settle(pilot)
        assert status_of(ui_db, target) == "closed"
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)  # no question
        assert status_of(ui_db, target) != "closed"
    assert undo_batches(ui_db) == 1


async def test_a_decision_made_elsewhere_is_shown_and_asked_about(desk: Desk, ui_db: Path) -> None:
    target = first_unclaimed(desk)
    other = Desk.open(ui_db)  # e.g. `peerdesk close` in another terminal
    other.close([target])
    other.close_cache()
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        text = screen_text(pilot)
        assert "Undo this?" in text
        assert f"#{target}" in text and "command line" in text and "close of 1 thread" in text
        await pilot.press("n")
        await settle(pilot)
        assert status_of(ui_db, target) == "closed"  # declined: nothing undone
        assert undo_batches(ui_db) == 0
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert status_of(ui_db, target) != "closed"
    assert undo_batches(ui_db) == 1


async def test_a_decision_already_pushed_is_asked_about_even_here(desk: Desk, ui_db: Path) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        target = await to_unclaimed(pilot, app, desk)
        await pilot.press("x")
        await settle(pilot)
        cache = open_cache(ui_db)  # the push happened meanwhile
        with cache.transaction() as conn:
            conn.execute("UPDATE outbox SET state = 'applied', attempts = 1")
        cache.close()
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "already sent to the platform" in screen_text(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert status_of(ui_db, target) != "closed"
    cache = open_cache(ui_db)
    reverse = cache.one("SELECT action, state FROM outbox ORDER BY id DESC LIMIT 1")
    cache.close()
    assert tuple(reverse) == ("reopen", "pending")


async def test_undo_over_someone_elses_later_decision_is_refused_naming_them(
    desk: Desk, ui_db: Path
) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        target = await to_unclaimed(pilot, app, desk)
        await pilot.press("x")
        await settle(pilot)
        dave = Desk.open(ui_db, actor="dave")
        dave.reopen([target])
        dave.close_cache()
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert any("dave did reopen on thread" in n and "Not undone" in n for n in notes(messages))
        assert status_of(ui_db, target) != "closed"  # dave's reopen stands
    assert undo_batches(ui_db) == 0


async def to_unclaimed(pilot: Pilot[None], app: PeerdeskApp, desk: Desk) -> int:
    """Move the cursor to the first thread nobody else holds; returns its id."""
    items = desk.queue(limit=10)
    row = next(i for i, item in enumerate(items) if not item.claimed_by)
    await pilot.press(*["j"] * row)
    key = app.screen.query_one("#queue-table", LazyTable).current_key
    assert key == items[row].thread_id
    return int(key)
