"""Pilot tests of `u`: the decision just made in this screen is undone at once; anything else
(decided elsewhere, or already sent to the platform) is shown and asked about first; a decision
someone changed since is refused, naming them. Asserted on the store afterwards; the decisions
made elsewhere also on a team database (another connection, another role, the server's push)."""

from __future__ import annotations

import pytest
from textual.message import Message
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.desk import Desk
from console.messages import UndoPreviewed
from console.screens.confirm import ConfirmScreen
from console.screens.queue import QueueScreen
from tests.backends import tamper
from tests.ui.helpers import notes, screen_text, settle, statuses, stored
from widgets.lazy_table import LazyTable

pytestmark = pytest.mark.anyio


def undo_batches(desk: Desk) -> int:
    [(count,)] = stored(desk, "SELECT count(*) FROM batches WHERE undoes IS NOT NULL")
    return int(count)  # type: ignore[call-overload]


def elsewhere(desk: Desk, actor: str | None = None) -> Desk:
    """A Desk on the same store in another terminal (`peerdesk close`…), as `actor`."""
    if desk.cache.dialect.is_sqlite:
        return Desk.open(desk.cache.path, actor=actor)
    if actor:  # a connection of that role's own
        return Desk.for_cache(desk.cache, actor=actor)
    return Desk.for_cache(desk.cache.reopen())


def first_unclaimed(desk: Desk) -> int:
    return next(i.thread_id for i in desk.queue(limit=10) if not i.claimed_by)


async def test_the_decision_just_made_here_is_undone_without_asking(desk: Desk) -> None:
    """...and in the worker that read what undo takes back (no second worker after a round
    trip through the UI thread)."""
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        target = await to_unclaimed(pilot, app, desk)
        await pilot.press("x")
        await settle(pilot)
        assert statuses(desk, [target]) == ["closed"]
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)  # no question
        assert statuses(desk, [target]) != ["closed"]
    assert undo_batches(desk) == 1
    assert not [m for m in messages if isinstance(m, UndoPreviewed)]


@pytest.mark.backends
async def test_a_decision_made_elsewhere_is_shown_and_asked_about(desk: Desk) -> None:
    target = first_unclaimed(desk)
    other = elsewhere(desk)  # e.g. `peerdesk close` in another terminal
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
        assert statuses(desk, [target]) == ["closed"]  # declined: nothing undone
        assert undo_batches(desk) == 0
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert statuses(desk, [target]) != ["closed"]
    assert undo_batches(desk) == 1


@pytest.mark.backends
async def test_a_decision_already_pushed_is_asked_about_even_here(
    desk: Desk, request: pytest.FixtureRequest
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        target = await to_unclaimed(pilot, app, desk)
        await pilot.press("x")
        await settle(pilot)
        # the push happened meanwhile (on the team database only its sender may say so)
        tamper(desk.cache, request, "UPDATE outbox SET state = 'applied', attempts = 1")
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "already sent to the platform" in screen_text(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert statuses(desk, [target]) != ["closed"]
    reverse = stored(desk, "SELECT action, state FROM outbox ORDER BY id DESC LIMIT 1")
    assert reverse == [("reopen", "pending")]


@pytest.mark.backends
async def test_undo_over_someone_elses_later_decision_is_refused_naming_them(desk: Desk) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        target = await to_unclaimed(pilot, app, desk)
        await pilot.press("x")
        await settle(pilot)
        dave = elsewhere(desk, "dave")
        dave.reopen([target])
        dave.close_cache()
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert any("dave did reopen on thread" in n and "Not undone" in n for n in notes(messages))
        assert statuses(desk, [target]) != ["closed"]  # dave's reopen stands
    assert undo_batches(desk) == 0


async def to_unclaimed(pilot: Pilot[None], app: PeerdeskApp, desk: Desk) -> int:
    """Move the cursor to the first thread nobody else holds; returns its id."""
    items = desk.queue(limit=10)
    row = next(i for i, item in enumerate(items) if not item.claimed_by)
    await pilot.press(*["j"] * row)
    key = app.screen.query_one("#queue-table", LazyTable).current_key
    assert key == items[row].thread_id
    return int(key)
