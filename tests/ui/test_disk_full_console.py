"""The console on a full disk (a real tmpfs; root only): a decision is refused in words, with
nothing of it saved, and the moderator goes on reading: the Queue moves, a thread opens (its
claim, a write, refused in words too), and once there is room the same decision is saved."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.message import Message

from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.screens.thread import ThreadScreen
from tests.conftest import resize_disk
from tests.ui.helpers import notes, screen_text, settle

# SQLite only: the cache file on a full disk (a team database's disk is the server's)
pytestmark = pytest.mark.anyio


def _fill(disk: Path) -> None:
    with (disk / "filler").open("wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 4096)
        except OSError:
            pass


async def test_a_note_on_a_full_disk_is_told_and_reading_goes_on(
    small_disk: Callable[[int], Path], ui_db: Path
) -> None:
    disk = small_disk(4 * 1024)
    db = disk / "ui.sqlite3"
    source = sqlite3.connect(ui_db)
    source.execute(f"VACUUM INTO '{db}'")
    source.close()
    cache = open_cache(db)
    desk = Desk.for_cache(cache, actor="alice")
    rows = desk.queue(limit=2)
    top, second = rows[0], rows[1]
    notes_before = cache.one("SELECT count(*) FROM notes")[0]
    audit_before = cache.one("SELECT count(*) FROM audit")[0]
    messages: list[Message] = []
    try:
        app = PeerdeskApp(desk)
        async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
            await settle(pilot)
            _fill(disk)
            await pilot.press("n")
            await settle(pilot)
            await pilot.press(*"asked twice", "enter")
            await settle(pilot)
            told = [n for n in notes(messages) if "is full" in n]
            assert told and "nothing of the failed step was saved" in told[0]
            assert not any("Something went wrong" in n for n in notes(messages))
            await pilot.press("j", "enter")  # reading goes on: the next thread opens
            await settle(pilot)
            assert isinstance(app.screen, ThreadScreen)
            assert second.title[:20] in screen_text(pilot)
            await pilot.press("escape")
            await settle(pilot)
            resize_disk(disk, 64 * 1024)  # room again: the same note is saved
            await pilot.press("k", "n")
            await settle(pilot)
            await pilot.press(*"asked twice", "enter")
            await settle(pilot)
        assert cache.one("SELECT count(*) FROM notes")[0] == notes_before + 1
        note = cache.one("SELECT thread_id, body FROM notes ORDER BY id DESC LIMIT 1")
        assert tuple(note) == (top.thread_id, "asked twice")
        assert cache.one("SELECT count(*) FROM audit")[0] > audit_before
    finally:
        desk.close_cache()
