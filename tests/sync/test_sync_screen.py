"""The Sync panel: push the outbox, work offline calmly, show conflicts literally.

A real cache file, or (tests marked `backends`) a team database copied from one, as alice (a
moderator): a `demo` source (its adapter marks pushed actions applied) and a Discourse source
pointing at a closed port (127.0.0.1:9), with decisions made through the Desk.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.db import Cache, open_cache
from console.desk import Desk
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.screens.sync import SyncProgress, SyncScreen
from sync.http import FAST_RETRIES
from tests.backends import pytest_generate_tests, store_holding, tamper
from tests.ui.helpers import notes, screen_text, settle

__all__ = ["pytest_generate_tests"]

pytestmark = [pytest.mark.anyio, pytest.mark.xdist_group("sync_screen")]

MARKUP = "[bold red]REFUSED[/] [@click=app.quit]quit[/] topic is locked"
CLOSED_PORT = "http://127.0.0.1:9"


def _threads(cache: Cache, source_id: int, prefix: str, count: int) -> dict[str, int]:
    upsert_members(cache, source_id, [MemberRecord(f"{prefix}u1", f"{prefix}bob")])
    threads = [
        ThreadRecord(
            f"{prefix}t{i}",
            f"{prefix} question {i}",
            f"{prefix}u1",
            "open",
            f"2026-11-20T0{i}:00:00Z",
            f"2026-11-20T0{i}:00:00Z",
        )
        for i in range(count)
    ]
    posts = [
        PostRecord(
            f"{prefix}p{i}",
            f"{prefix}t{i}",
            f"{prefix}u1",
            0,
            f"body {i}",
            f"<p>body {i}</p>",
            f"2026-11-20T0{i}:00:00Z",
        )
        for i in range(count)
    ]
    return upsert_threads(cache, source_id, threads, posts)


def seed(cache: Cache, *, offline_source: bool) -> dict[str, int]:
    demo = ensure_source(cache, "demo", "demo", None)
    ids = _threads(cache, demo, "demo", 3)
    if offline_source:
        forum = ensure_source(cache, "discourse", "forum", CLOSED_PORT)
        with cache.transaction() as conn:
            conn.execute(
                "UPDATE sources SET options = ? WHERE id = ?",
                (json.dumps({"retry": FAST_RETRIES.__dict__}), forum),
            )
        ids |= _threads(cache, forum, "forum", 2)
    cache.set_meta("demo", "1")  # alice has every role (on a cache file)
    return ids


def build(path: Path, *, offline_source: bool) -> dict[str, int]:
    cache = open_cache(path, create=True)
    try:
        return seed(cache, offline_source=offline_source)
    finally:
        cache.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sync-ui.sqlite3"


@contextmanager
def desk_on(
    backend: str, db: Path, request: pytest.FixtureRequest, *, offline_source: bool
) -> Iterator[Desk]:
    """alice's Desk on the community: a cache file (Desk.open, as the console opens it), or a
    team database of the test's own copied from one, connected as alice (a moderator)."""
    if backend == "sqlite":
        build(db, offline_source=offline_source)
        desk = Desk.open(db)
        try:
            yield desk
        finally:
            desk.close_cache()
        return
    key = "sync-screen-offline" if offline_source else "sync-screen"
    made = partial(seed, offline_source=offline_source)
    with store_holding(made, key, backend, db, request) as team:
        yield Desk.for_cache(team, actor="alice")


@pytest.fixture
def opened(backend: str, db: Path, request: pytest.FixtureRequest) -> Iterator[Desk]:
    with desk_on(backend, db, request, offline_source=False) as desk:
        yield desk


@pytest.fixture
def offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERDESK_NO_KEYRING", "1")
    monkeypatch.setenv("PEERDESK_FORUM_API_KEY", "test-key-not-a-secret")
    monkeypatch.setenv("PEERDESK_FORUM_API_USERNAME", "system")


def states(desk: Desk) -> dict[int, str]:
    return {i.outbox_id: i.state for i in desk.outbox()}


def thread_id(desk: Desk, remote: str) -> int:
    row = desk.cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote,))
    assert row is not None
    return int(row[0])


async def open_sync(pilot: Pilot[Any]) -> SyncScreen:
    await settle(pilot)
    await pilot.press("Y")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SyncScreen)
    return screen


@pytest.mark.backends
async def test_push_applies_demo_items_and_updates_title(opened: Desk) -> None:
    desk = opened
    desk.close([thread_id(desk, "demot0")], reason="answered")
    desk.close([thread_id(desk, "demot1")], reason="answered")
    assert list(states(desk).values()) == ["pending", "pending"]
    messages: list[Any] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await open_sync(pilot)
        assert "2 actions waiting" in app.status_line
        before = screen_text(pilot)
        assert "pending" in before and "demo" in before
        await pilot.press("p")
        await settle(pilot)
        assert set(states(desk).values()) == {"applied"}
        shown = screen_text(pilot)
        assert "applied" in shown and "pending" not in shown
        assert "demo: 2 applied" in shown
        assert app.status_line == "nothing waiting"
        assert any("2 applied" in n for n in notes(messages))
        # the audit chain stays intact
        assert desk.verify_audit() == []
        await pilot.press("question_mark")
        await settle(pilot)
        assert "Send the waiting decisions to the platforms" in screen_text(pilot)


@pytest.mark.backends
async def test_offline_is_calm_and_loses_nothing(
    backend: str, db: Path, offline_env: None, request: pytest.FixtureRequest
) -> None:
    with desk_on(backend, db, request, offline_source=True) as desk:
        desk.close([thread_id(desk, "forumt0")])
        desk.close([thread_id(desk, "forumt1")])
        app = PeerdeskApp(desk)
        messages: list[Any] = []
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await open_sync(pilot)
            await pilot.press("s")
            # the UI answers while the sync runs: switch lists and back
            await pilot.press("2", "1")
            await settle(pilot)
            summary = desk.sync_summary()
            assert summary.offline is True
            forum = next(s for s in summary.sources if s.name == "forum")
            assert forum.result == "offline"
            await pilot.press("p")
            await settle(pilot)
            assert sorted(states(desk).values()) == ["pending", "pending"]
            shown = screen_text(pilot)
            assert "offline — 2 actions waiting; they will be sent on the next push" in shown
            assert app.status_line.startswith("offline, 2 actions waiting")
            # offline is not an error: no error (no toast), the calm message instead
            said = [m for m in messages if type(m).__name__ == "Said"]
            assert not [m for m in said if m.severity == "error"]
            assert not [m for m in messages if type(m).__name__ == "Notify"]
            assert any("nothing is lost" in m.text for m in said)
            assert any(isinstance(m, SyncProgress) for m in messages)


@pytest.mark.backends
async def test_conflict_message_is_literal_and_can_be_retried(
    opened: Desk, request: pytest.FixtureRequest
) -> None:
    desk = opened
    desk.close([thread_id(desk, "demot2")])
    outbox_id = desk.outbox()[0].outbox_id
    tamper(  # what push stores when the platform refuses (on the server: only a lease may)
        desk.cache,
        request,
        "UPDATE outbox SET state = 'conflict', attempts = 1, last_error = ? WHERE id = ?",
        (MARKUP, outbox_id),
    )
    app = PeerdeskApp(desk)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_sync(pilot)
        await pilot.press("2")
        await settle(pilot)
        shown = screen_text(pilot)
        assert "[bold red]REFUSED[/] [@click=app.quit]quit[/] topic is locked" in shown
        assert "1 conflict" in app.status_line and "1 conflicts" not in app.status_line
        await pilot.press("R")
        await settle(pilot)
        assert states(desk)[outbox_id] == "pending"
        assert app.is_running  # the [@click=app.quit] text did nothing
        await pilot.press("1", "d")
        await settle(pilot)
        assert states(desk)[outbox_id] == "cancelled"
        actions = [e["action"] for e in desk.cache.query("SELECT action FROM audit")]
        assert "outbox_retry" in actions and "outbox_dismiss" in actions


@pytest.mark.backends
def test_sync_requires_the_sync_role(opened: Desk) -> None:
    from console.config import Config
    from console.errors import PermissionRefused

    if opened.cache.dialect.is_sqlite:
        opened.cache.set_meta("demo", "0")  # (on the team database roles are grants: erin's)
    erin = Desk.for_cache(opened.cache, config=Config(), actor="erin")
    with pytest.raises(PermissionRefused):
        erin.run_push()
    with pytest.raises(PermissionRefused):
        erin.run_sync()


@pytest.fixture
def _utc() -> None:
    time.tzset()


# SQLite only: the picture; what it shows is read the same way the tests above read it on both
def test_sync_screen_snapshot(snap_compare: Any, opened: Desk, _utc: None) -> None:
    desk = opened
    desk.close([thread_id(desk, "demot0")], reason="answered")
    desk.close([thread_id(desk, "demot1")], reason="answered")
    outbox_id = desk.outbox()[0].outbox_id
    with desk.cache.transaction() as conn:
        conn.execute(
            "UPDATE outbox SET state = 'conflict', attempts = 1, last_error = ? WHERE id = ?",
            (MARKUP, outbox_id),
        )

    async def show(pilot: Pilot[Any]) -> None:
        await open_sync(pilot)

    assert snap_compare(PeerdeskApp(desk), terminal_size=(80, 24), run_before=show)
