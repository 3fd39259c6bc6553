"""Pushing decisions from either backend: a cache file, or a team database holding the same
synced community (pulled from the fake Discourse into a cache, then copied by migrate-to)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import pytest

from console.cli import main
from console.db import Cache
from console.desk import Desk
from sync import runner
from tests.backends import (
    TeamServer,
    backend,
    location,
    pytest_generate_tests,
    team_database,
    team_server,
)
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import FakeDiscourse

__all__ = ["backend", "pytest_generate_tests", "team_server"]


def _pull(cache: Cache, url: str) -> dict[str, int]:
    add_source(cache, "forum", "discourse", url)
    assert runner.sync_source(cache, runner.source(cache, "forum")).result == "ok"
    return {}


@pytest.fixture
def synced(
    backend: str,
    cache: Cache,
    fake: FakeDiscourse,
    creds_env: None,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cache]:
    """The fake forum's community, pulled: into the test's cache, or (PostgreSQL) copied into a
    team database of the test's own whose source points at this test's fake server."""
    if backend == "sqlite":
        _pull(cache, fake.url)
        yield cache
        return
    server: TeamServer = request.getfixturevalue("team_server")
    template, _ = server.seeded_template(
        "discourse", lambda seed: _pull(seed, fake.url), tmp_path_factory.mktemp("seed")
    )
    with team_database(server, template) as team:
        with team.transaction() as conn:  # the fake forum of this test (its port is new)
            conn.execute("UPDATE sources SET base_url = ? WHERE name = 'forum'", (fake.url,))
        yield team


def _thread(cache: Cache, remote: str) -> int:
    return int(cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote,))[0])


@pytest.mark.backends
def test_decisions_pushed_once_from_either_backend(synced: Cache, fake: FakeDiscourse) -> None:
    desk = Desk.for_cache(synced, actor="alice")
    t2 = _thread(synced, "2")
    closed = desk.close([t2])
    note = desk.add_note(t2, "told them on the phone")
    [report] = desk.run_push()
    assert report.applied == 1 and report.local_only == 0, report.messages
    assert fake.state.applied == [("status", 2, True)]
    states = dict(synced.query("SELECT id, state FROM outbox ORDER BY id"))
    assert states[closed.outbox_ids[0]] == "applied"
    assert states[note.outbox_ids[0]] == "local_only"  # notes never leave peerdesk
    before = len(fake.state.requests)
    assert desk.run_push()[0].applied == 0  # a second push sends nothing
    assert len(fake.state.requests) == before
    pushes = synced.query("SELECT actor, detail FROM audit WHERE action = 'push'")
    assert len(pushes) == 2 and {r[0] for r in pushes} == {"alice"}


@pytest.mark.backends
def test_push_command_on_either_backend(synced: Cache, fake: FakeDiscourse) -> None:
    where = location(synced, synced.path)
    t2 = _thread(synced, "2")
    Desk.for_cache(synced, actor="alice").close([t2])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--db", where, "push"])
    assert code == 0, err.getvalue()
    assert fake.state.applied == [("status", 2, True)]
    assert synced.one("SELECT count(*) FROM outbox WHERE state = 'applied'")[0] == 1
