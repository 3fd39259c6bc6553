"""A decision and the header's outbox state are read in one hold of the Desk's connection, so
the header changes with the status line and no second read waits ahead of the Queue's reload;
on a cache file and on a team database (where the server's notification of the decision, as of
anyone's, reloads the Queue and the header once more, at most once a decision)."""

from __future__ import annotations

import pytest
from textual.message import Message

from console.app import PeerdeskApp
from console.desk import Desk
from console.messages import DecisionSaved
from tests.ui.helpers import screen_text, settle

pytestmark = pytest.mark.anyio


@pytest.mark.backends
async def test_a_close_brings_the_headers_outbox_state_with_it(desk: Desk) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        assert "nothing waiting" in screen_text(pilot)
        separate_reads: list[str] = []
        app.refresh_outbox = lambda: separate_reads.append("read")  # type: ignore[method-assign]
        await pilot.press("x")
        await settle(pilot)
        saved = list({id(m): m for m in messages if isinstance(m, DecisionSaved)}.values())
        assert [m.outbox for m in saved] == [("1 action waiting", False)]
        notified = 0 if desk.cache.dialect.is_sqlite else 1
        assert len(separate_reads) <= notified
        assert app.status_line == "1 action waiting"
        assert "1 action waiting" in screen_text(pilot).splitlines()[0]
        await pilot.press("u")
        await settle(pilot)
        assert app.status_line == "nothing waiting"
        assert len(separate_reads) <= 2 * notified
