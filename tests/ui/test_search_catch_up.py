"""Posts an import stored without indexing them for search (it was killed before its catch-up,
or another process is still importing): the console indexes them in a worker after its first
rows, says on the status line that search misses them until then, and says when it is done."""

from __future__ import annotations

# SQLite only: the cache file's search-index catch-up; a team database indexes as it writes.
import json
import sqlite3
from pathlib import Path

import pytest
from textual.message import Message

from console import app as console_app
from console import db
from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.errors import PeerdeskError
from sync import jsonl
from tests.ui.helpers import notes, settle

pytestmark = pytest.mark.anyio


def _import_unindexed(db: Path, tmp_path: Path, posts: int) -> None:
    head = {"type": "header", "format": "peerdesk-jsonl", "version": 1, "source": {"name": "x"}}
    lines: list[dict[str, object]] = [head]
    lines.append(
        {
            "type": "thread",
            "remote_id": "big",
            "title": "imported question",
            "created_at": "2026-01-01T00:00:00Z",
        }
    )
    for n in range(posts):
        text = "zeppelinword appears once" if n == posts - 1 else f"an ordinary reply {n}"
        lines.append(
            {
                "type": "post",
                "remote_id": f"p{n}",
                "thread": "big",
                "position": n,
                "body_text": text,
                "created_at": "2026-01-01T00:00:00Z",
            }
        )
    source = tmp_path / "import.jsonl"
    source.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    cache = open_cache(db)
    try:
        jsonl.import_file(cache, source, index_search=False)
    finally:
        cache.close()


async def test_the_console_catches_the_search_index_up_and_says_so(
    ui_db: Path, tmp_path: Path
) -> None:
    _import_unindexed(ui_db, tmp_path, posts=30)
    desk = Desk.open(ui_db)
    try:
        assert desk.search_backlog().posts == 30
        assert desk.search("zeppelinword") == []  # not searchable yet
        messages: list[Message] = []
        app = PeerdeskApp(desk)
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await settle(pilot)
            said = notes(messages)
            assert "search index catching up: 30 posts and 1 thread not searchable yet" in said
            assert "search index up to date (30 posts, 1 thread indexed)" in said
        assert desk.search_backlog().empty
        assert [item.title for item in desk.search("zeppelinword")] == ["imported question"]
    finally:
        desk.close_cache()


async def test_nothing_is_said_when_the_index_is_complete(desk: Desk) -> None:
    messages: list[Message] = []
    async with PeerdeskApp(desk).run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
    assert not [n for n in notes(messages) if "search index" in n]


async def test_a_cache_held_by_another_process_is_waited_for(
    ui_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import in another process holds the cache's write lock: the catch-up tries again."""
    _import_unindexed(ui_db, tmp_path, posts=12)
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(console_app, "SEARCH_RETRY_SECONDS", 0.1)
    holder = sqlite3.connect(ui_db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # the other writer
    desk = Desk.open(ui_db)
    refused: list[str] = []
    catch_up = desk.catch_up_search

    def after_the_other_writer(*args: object, **kwargs: object) -> object:
        try:
            return catch_up(*args, **kwargs)  # type: ignore[arg-type]
        except PeerdeskError as error:
            refused.append(str(error))
            holder.execute("COMMIT")  # the other writer is done
            raise

    monkeypatch.setattr(desk, "catch_up_search", after_the_other_writer)
    try:
        messages: list[Message] = []
        async with PeerdeskApp(desk).run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await settle(pilot)
        assert len(refused) == 1 and "locked by another process" in refused[0]
        assert "search index up to date (12 posts, 1 thread indexed)" in notes(messages)
        assert desk.search_backlog().empty
    finally:
        desk.close_cache()
        holder.close()
