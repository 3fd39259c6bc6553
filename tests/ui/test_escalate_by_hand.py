"""`!` escalates the thread under the cursor (Queue) or shown (Thread) by hand: it asks why,
escape asks nothing of the cache, and a role that cannot escalate does not see the key."""

# SQLite only: the keys, the prompt and the role's hidden key, whatever the store (the decision
# on both engines: tests/escalate/test_by_hand.py; replayed by `team push`:
# tests/team/test_push_kinds.py).

from __future__ import annotations

from typing import Any

import pytest
from textual.message import Message

from console.app import PeerdeskApp
from console.desk import Desk
from console.screens.prompt import PromptScreen
from console.screens.queue import QueueScreen
from console.screens.thread import ThreadScreen
from tests.ui.helpers import notes, settle, table

pytestmark = pytest.mark.anyio


def by_hand(desk: Desk) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in desk.cache.query(
            "SELECT thread_id, detail, state FROM escalations WHERE rule_kind = 'manual'"
        )
    ]


async def test_escalate_from_the_queue_and_from_a_thread(desk: Desk) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        first = int(table(app).row_at(0).key)
        await pilot.press("!")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        assert f"Escalate thread {first} to support" in app.screen.title_text
        await pilot.press("escape")  # asked, then thought better of it
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen) and by_hand(desk) == []
        await pilot.press("!", *"Threatens to sue", "enter")
        await settle(pilot)
        assert by_hand(desk) == [(first, "Threatens to sue", "new")]
        assert f"Thread {first} escalated: E shows it, u undoes it" in notes(messages)
        await pilot.press("j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        second = app.screen.thread_id
        await pilot.press("!", *"Abusive to a helper", "enter")
        await settle(pilot)
        assert (second, "Abusive to a helper", "new") in by_hand(desk)
        await pilot.press("u")
        await settle(pilot)
    assert (second, "Abusive to a helper", "dismissed") in by_hand(desk)


async def test_the_key_is_hidden_from_a_role_that_cannot_escalate(readonly_desk: Desk) -> None:
    app = PeerdeskApp(readonly_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("!")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)  # no question asked
    assert by_hand(readonly_desk) == []
