"""Duplicate candidates an import queued (its background process was killed, or never ran):
the console computes them in a worker after its first rows and says on the status line that
they are not up to date until then."""

from __future__ import annotations

# SQLite only: a cache file's queued candidates caught up in the background; a team database
# computes an import's candidates at once (`dupes --catch-up` runs in the foreground there).
from pathlib import Path

import pytest
from textual.message import Message

from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.dupes import refresh
from sync import jsonl
from tests.dupes.test_refresh_backlog import _write
from tests.ui.helpers import notes, settle

pytestmark = pytest.mark.anyio


async def test_the_console_catches_the_duplicate_candidates_up_and_says_so(
    ui_db: Path, tmp_path: Path
) -> None:
    cache = open_cache(ui_db)
    try:
        jsonl.import_file(cache, _write(tmp_path / "f.jsonl"))
        source = int(cache.one("SELECT id FROM sources WHERE name = 'f'")[0])
        refresh.queue_newest(cache, source, 12)
    finally:
        cache.close()
    desk = Desk.open(ui_db)
    try:
        assert desk.duplicate_backlog().candidates == 12
        messages: list[Message] = []
        app = PeerdeskApp(desk)
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await settle(pilot)
            await app.workers.wait_for_complete()
            await settle(pilot)
            said = notes(messages)
            assert "duplicate candidates catching up: 12 threads" in said
            assert "duplicate candidates up to date (12 threads computed)" in said
        assert desk.duplicate_backlog().empty
        assert int(desk.cache.one("SELECT count(*) FROM duplicate_links")[0]) > 0
    finally:
        desk.close_cache()
