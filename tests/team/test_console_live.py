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
from console.team import work
from console.team.connect import connect
from tests.ui.conftest import build_community

from .cluster import Cluster
from .conftest import login_role, superuser

pytestmark = [pytest.mark.xdist_group("teamdb"), pytest.mark.anyio]
WAIT_ROUNDS = 600  # pauses of 50 ms at most: the notification normally arrives in one


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


async def test_a_console_on_a_sqlite_cache_listens_to_nothing(sqlite_desk: Desk) -> None:
    app = PeerdeskApp(sqlite_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app._team_events is None
