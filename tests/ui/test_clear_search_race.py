"""Clearing a search after a thread was opened from its results: the Queue shows its first page
as last read at once, then what the cache holds now, even when the read after the clear is
held back while the Queue's order changes (the README's "clear search" race, looked for here)."""

from __future__ import annotations

# SQLite only: the screen's order of a held read and a newer one (the Queue's reads on a team
# database: tests/ui/test_queue.py, test_quick_keys.py).
import threading
from pathlib import Path
from typing import Any

import pytest

from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.screens.queue import QueueScreen
from console.screens.thread import ThreadScreen
from tests.ui.helpers import settle, table

pytestmark = pytest.mark.anyio


async def test_clearing_a_search_shows_the_queue_as_it_is_now(
    desk: Desk, ui_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = [table(app).row_at(i).key for i in range(5)]
        await pilot.press("/", *"roaming", "enter")
        await settle(pilot)
        assert "search: roaming" in str(app.screen.query_one("#queue-status").left)
        await pilot.press("j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)

        # the Queue's next unfiltered read waits until released; meanwhile its order changes
        reading, release = threading.Event(), threading.Event()
        original = Desk.queue

        def held_queue(self: Desk, flt: Any = None, **kwargs: Any) -> Any:
            if flt is not None and not flt.text:
                reading.set()
                assert release.wait(30)
            return original(self, flt, **kwargs)

        monkeypatch.setattr(Desk, "queue", held_queue)
        moved = before[-1]
        other = open_cache(ui_db)
        try:
            with other.conn:
                other.conn.execute(
                    "UPDATE threads SET urgency = (SELECT max(urgency) FROM threads) + 100 "
                    "WHERE id = ?",
                    (moved,),
                )
        finally:
            other.close()

        await pilot.press("escape")  # clears the search
        for _ in range(600):  # no settle(): it would wait for the held read
            if reading.is_set():
                break
            await pilot.pause(0.05)
        assert reading.is_set()
        await pilot.pause()
        # the first page as last read is shown at once, without waiting for the read
        assert [table(app).row_at(i).key for i in range(5)] == before
        release.set()
        monkeypatch.setattr(Desk, "queue", original)
        await settle(pilot)
        assert "search:" not in str(app.screen.query_one("#queue-status").left)
        fresh = [item.thread_id for item in desk.queue(limit=5)]
        assert fresh[0] == moved
        assert [table(app).row_at(i).key for i in range(5)] == fresh
