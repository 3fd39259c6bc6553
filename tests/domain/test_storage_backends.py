"""The storage layer on both backends: the same domain calls, and what differs by design (on
the team database the server appends the audit entry, inside the decision's transaction)."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from console import audit
from console.cli import main
from console.db import Cache
from console.desk import Desk
from console.errors import InvalidDecision


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
    cache: Cache, ids: dict[str, int], backend: str, cache_path: object
) -> None:
    where = getattr(cache, "url", "") if backend == "postgresql" else str(cache_path)
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
