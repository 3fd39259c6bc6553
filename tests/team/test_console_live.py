"""The console's hook: on a team database, a teammate's claim makes an open console reload at
once (LISTEN/NOTIFY) instead of at its next periodic refresh.

The console runs on the team database as ann; what is tested is the path from the server's
notification (bob's claim, on a connection of his own) to the app's reload (a RefreshRequested
on the screen). The periodic refresh is pushed out of the way so only a notification can cause
one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.message import Message

from console import app as app_module
from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.messages import RefreshRequested
from console.team import notify, work
from console.team.connect import connect
from tests.ui.conftest import build_community
from widgets.lazy_table import LazyTable

from .cluster import Cluster
from .conftest import login_role, superuser

pytestmark = [pytest.mark.xdist_group("teamdb"), pytest.mark.anyio]
WAIT_ROUNDS = 60  # pauses of 50 ms at most: the notification normally arrives in one


@pytest.fixture
def sqlite_desk(tmp_path: Path) -> Iterator[Desk]:
    cache = open_cache(tmp_path / "ui.sqlite3", create=True)
    build_community(cache, threads=5)
    cache.close()
    desk = Desk.open(tmp_path / "ui.sqlite3")
    yield desk
    desk.close_cache()


def _refreshes(messages: list[Message]) -> int:
    return sum(isinstance(m, RefreshRequested) for m in messages)


async def test_a_teammates_claim_reloads_an_open_console(
    pg_cluster: Cluster,
    team_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with superuser(pg_cluster, team_db) as conn:
        conn.execute(
            "SET search_path = peerdesk; "
            "INSERT INTO sources (kind, name, created_at) VALUES ('discourse', 'f', '2026-11-20T10:00:00Z'); "
            "INSERT INTO threads (source_id, remote_id, title, created_at, last_activity_at) "
            "VALUES (1, 't1', 'a question', '2026-11-20T10:00:00Z', '2026-11-20T10:00:00Z')"
        )
    ann = login_role(pg_cluster, "pd-team-ann", "moderator")
    bob = login_role(pg_cluster, "pd-team-bob", "moderator")
    monkeypatch.setattr(app_module, "REFRESH_SECONDS", 3600.0)
    desk = Desk.open_team(pg_cluster.url(team_db, ann), actor=ann)
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await pilot.pause()
        assert app._team_events is not None
        # its own session's claims and decisions are on screen already: not a reason to reload
        assert app._team_events.own == {notify.session_of(desk.cache)}
        before = _refreshes(messages)
        with connect(pg_cluster.url(team_db, bob), autocommit=True) as conn:
            assert work.claim(conn, 1).won
        for _ in range(WAIT_ROUNDS):
            if _refreshes(messages) > before:
                break
            await pilot.pause(0.05)
        assert _refreshes(messages) > before, "the claim did not reach the open console"
        subscription = app._team_events
    desk.close_cache()
    assert not subscription.thread.is_alive()  # closed with the app


async def test_the_cursor_keeps_its_thread_when_a_teammate_closes_one_above_it(
    pg_cluster: Cluster,
    team_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five threads in the Queue, ann's cursor on the third; bob closes the first. The reload
    his decision's notification causes keeps the third thread under ann's cursor (now the
    second row), not the row number (which would put the fourth thread under it)."""
    with superuser(pg_cluster, team_db) as conn:
        conn.execute(
            "SET search_path = peerdesk; "
            "INSERT INTO sources (kind, name, created_at) "
            "VALUES ('discourse', 'f', '2026-11-20T10:00:00Z')"
        )
        for n in range(1, 6):
            conn.execute(
                "INSERT INTO threads (source_id, remote_id, title, created_at, last_activity_at)"
                " VALUES (1, %s, %s, '2026-11-20T10:00:00Z', '2026-11-20T10:00:00Z')",
                (f"t{n}", f"question {n}"),
            )
    ann = login_role(pg_cluster, "pd-team-ann", "moderator")
    bob = login_role(pg_cluster, "pd-team-bob", "moderator")
    monkeypatch.setattr(app_module, "REFRESH_SECONDS", 3600.0)
    desk = Desk.open_team(pg_cluster.url(team_db, ann), actor=ann)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        table = app.screen.query_one(LazyTable)
        assert table.total == 5
        await pilot.press("j", "j")
        watched = table.current_key
        first = table.row_at(0)
        assert watched is not None and first is not None and table.cursor_row == 2
        teammate = Desk.open_team(pg_cluster.url(team_db, bob), actor=bob)
        try:
            teammate.close([int(str(first.key))])
        finally:
            teammate.close_cache()
        for _ in range(WAIT_ROUNDS):
            shown = table.row_at(0)
            if shown is not None and shown.key != first.key:
                break
            await pilot.pause(0.05)
        shown = table.row_at(0)
        assert shown is not None and shown.key != first.key, "bob's close was not reloaded"
        assert (table.current_key, table.cursor_row) == (watched, 1)
        for _ in range(WAIT_ROUNDS):  # and the count of the reload, not the one before
            if table.total == 4:
                break
            await pilot.pause(0.05)
        assert table.total == 4
    desk.close_cache()


async def test_a_console_on_a_sqlite_cache_listens_to_nothing(sqlite_desk: Desk) -> None:
    app = PeerdeskApp(sqlite_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app._team_events is None
