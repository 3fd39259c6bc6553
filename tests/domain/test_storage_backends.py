"""The storage layer on both backends: the same domain calls, and what differs by design (on
the team database the server appends the audit entry, inside the decision's transaction)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from console import audit
from console.cli import main
from console.db import Cache
from console.desk import Desk
from console.errors import InvalidDecision
from tests.backends import TeamServer, location, race


@pytest.mark.backends
def test_the_cache_is_the_backend_asked_for(
    cache: Cache, ids: dict[str, int], backend: str
) -> None:
    assert cache.dialect.name == backend
    row = cache.one("SELECT id, status FROM threads WHERE status = ? ORDER BY id", ("open",))
    assert row is not None and row["status"] == row[1] == "open"
    assert dict(row).keys() == {"id", "status"}


@pytest.mark.backends
def test_a_decision_its_audit_entry_and_outbox_item_commit_together(
    desk: Desk, cache: Cache, ids: dict[str, int], backend: str
) -> None:
    entries = cache.one("SELECT count(*) FROM audit")[0]
    result = desk.add_note(ids["t1"], "called back")
    entry = cache.one("SELECT * FROM audit ORDER BY id DESC LIMIT 1")
    assert entry["action"] == "note" and entry["actor"] == "alice"
    assert entry["id"] == entries + 1 if backend == "sqlite" else entry["id"] > entries
    item = cache.one("SELECT audit_id, batch_id FROM outbox WHERE id = ?", result.outbox_ids)
    assert item["audit_id"] == entry["id"] and item["batch_id"] == result.batch_id
    assert json.loads(entry["detail"])["after"]["note_id"] is not None
    assert audit.verify(cache) == []
    if backend == "postgresql":  # stamped by the server's clock, not the (frozen) test clock
        assert entry["ts"] != "2026-11-20T12:00:00Z"


@pytest.mark.backends
def test_a_refused_batch_leaves_no_audit_entry_on_either_backend(
    desk: Desk, cache: Cache, ids: dict[str, int]
) -> None:
    desk.close([ids["t4"]])
    before = [tuple(r) for r in cache.query("SELECT id, hash FROM audit ORDER BY id")]
    with pytest.raises(InvalidDecision, match="already closed"):
        desk.close([ids["t1"], ids["t4"]])  # t1's entry was appended, then rolled back
    assert [tuple(r) for r in cache.query("SELECT id, hash FROM audit ORDER BY id")] == before
    assert cache.one("SELECT status FROM threads WHERE id = ?", (ids["t1"],))[0] == "open"
    assert audit.verify(cache) == []


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.backends
def test_commands_run_the_same_on_a_team_database(
    cache: Cache, ids: dict[str, int], backend: str, cache_path: Path
) -> None:
    where = location(cache, cache_path)
    code, out, err = _cli("--db", where, "queue", "--json")
    assert code == 0, err
    queued = [json.loads(line)["thread_id"] for line in out.splitlines()]
    assert queued[0] == ids["t3"] and ids["t4"] not in queued
    assert _cli("--db", where, "queue", "--search", "65075")[1].count("\n") == 1
    assert _cli("--db", where, "claim", str(ids["t1"]))[0] == 0
    code, out, err = _cli("--db", where, "show", str(ids["t1"]))
    assert code == 0 and "claimed by you until" in out and "My new SIM" in out
    assert _cli("--db", where, "note", str(ids["t1"]), "rang the shop")[0] == 0
    assert _cli("--db", where, "close", str(ids["t1"]))[0] == 0
    assert cache.one("SELECT status FROM threads WHERE id = ?", (ids["t1"],))[0] == "closed"
    code, out, err = _cli("--db", where, "undo", "--yes")
    assert code == 0, err
    assert cache.one("SELECT status FROM threads WHERE id = ?", (ids["t1"],))[0] == "open"
    code, out, err = _cli("--db", where, "whoami")
    assert code == 0 and "alice" in out
    actions = [r[0] for r in cache.query("SELECT action FROM audit ORDER BY id")][-4:]
    assert actions == ["claim", "note", "close", "undo_close"]
    assert audit.verify(cache) == []


DECIDER = """
import sys
from pathlib import Path
from console.desk import Desk
from console.errors import PeerdeskError
where, thread, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if where.startswith("postgresql:"):
    desk = Desk.open_team(where, actor=name)
else:
    desk = Desk.open(Path(where), actor=name)
print("ready", flush=True)
sys.stdin.readline()
try:
    print("done:", desk.close([thread]).message)
except PeerdeskError as error:
    print("refused:", error)
"""


@pytest.mark.backends
def test_two_moderators_closing_one_thread_at_once_close_it_once(
    cache: Cache, ids: dict[str, int], backend: str, cache_path: Path
) -> None:
    """Each decision reads the thread's state and changes it in one transaction that holds the
    thread (BEGIN IMMEDIATE on the cache, the row lock on the team database): the second sees
    the first's close and is refused, so the thread is closed once, audited once, sent once."""
    where = location(cache, cache_path)
    outputs = sorted(race(DECIDER, [[where, str(ids["t5"]), name] for name in ("alice", "dave")]))
    assert outputs[0].startswith("done: close: 1 item"), outputs
    assert outputs[1].startswith("refused:") and "already closed" in outputs[1], outputs
    closes = cache.query(
        "SELECT count(*) FROM audit WHERE action = 'close' AND target_id = ?", (ids["t5"],)
    )
    assert closes[0][0] == 1
    sent = cache.one(
        "SELECT count(*) FROM outbox WHERE action = 'close' AND target_id = ?", (ids["t5"],)
    )
    assert sent[0] == 1


def test_a_team_database_that_is_missing_or_not_installed_is_one_line(
    team_server: TeamServer,
) -> None:
    missing = team_server.cluster.url("no_such_database", "alice")
    code, _, err = _cli("--db", missing, "queue")
    assert code == 2 and err.count("\n") == 1
    assert "no_such_database" in err and "failed" in err
    bare = team_server.copy_of("postgres")  # a database without the peerdesk schema
    try:
        code, _, err = _cli("--db", team_server.cluster.url(bare, "alice"), "show", "1")
        assert code == 2 and err.count("\n") == 1 and "peerdesk team-install" in err
    finally:
        team_server.drop(bare)


def test_acting_as_another_role_is_the_servers_decision(
    team_server: TeamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--as on a team database logs in as that role: the server's ident map says who may."""
    name = team_server.copy_of(team_server.template)
    try:
        url = team_server.cluster.url(name, "alice")
        monkeypatch.delenv("PEERDESK_USER")
        code, out, _ = _cli("--db", url, "whoami")
        assert code == 0 and "alice" in out and "moderator" in out
        code, out, _ = _cli("--db", url, "--as", "erin", "whoami")  # allowed in the test map
        assert code == 0 and "erin" in out and "payout_preparer" in out
        code, _, err = _cli("--db", url, "--as", "nobody_here", "whoami")
        assert code == 2 and err.count("\n") == 1 and "nobody_here" in err
    finally:
        team_server.drop(name)


def test_ingest_writes_the_same_community_on_a_team_database(
    team_server: TeamServer, cache: Cache
) -> None:
    """The real ingest path (members, threads, posts, full-text rows, escalation rules) into an
    empty team database, as a moderator; read back the same as from the cache file."""
    from console.storage.postgres import open_team

    from .conftest import seed_community

    local_ids = seed_community(cache)
    name = team_server.copy_of(team_server.template)
    team = open_team(team_server.cluster.url(name, "alice"))
    try:
        team_ids = seed_community(team)
        assert team_ids == local_ids
        local, shared = Desk.for_cache(cache), Desk.for_cache(team)
        assert [i.thread_id for i in shared.queue()] == [i.thread_id for i in local.queue()]
        for word in ("65075", "roam", "sim", "activate"):
            found = [i.thread_id for i in shared.search(word)]
            assert found == [i.thread_id for i in local.search(word)] and found, word
        assert shared.thread(team_ids["t3"]) == local.thread(local_ids["t3"])
        seed_community(team)  # a re-sync changes nothing
        assert (
            team.one("SELECT count(*) FROM posts")[0] == cache.one("SELECT count(*) FROM posts")[0]
        )
        assert team.one("SELECT count(*) FROM post_fts")[0] == 7
    finally:
        team.close()
        team_server.drop(name)
