"""The rest of the domain's commands run the same on a cache file and on a team database:
members (show, link, unlink), escalations (list, one, decide, report), answer verification
(refresh, list, decide), export and the audit log. Each is run as the CLI runs it."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from pathlib import Path

import pytest

from console import audit
from console.cli import main
from console.clock import parse
from console.db import Cache
from console.desk import Desk
from console.escalate import engine
from console.escalate.rules import Rule
from console.ingest import upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.verify import demo as verify_demo
from tests.backends import location

AT = "2026-11-20T09:00:00Z"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _ok(*argv: str) -> str:
    code, out, err = _cli(*argv)
    assert code == 0, (argv, out, err)
    return out


@pytest.mark.backends
def test_members_show_link_and_unlink(
    cache: Cache, ids: dict[str, int], backend: str, cache_path: Path
) -> None:
    where = location(cache, cache_path)
    source = int(cache.one("SELECT id FROM sources WHERE name = 'forum'")[0])
    upsert_members(cache, source, [MemberRecord("u9", "Bob")])  # the same username, in any case
    shown = [
        json.loads(line)
        for line in _ok("--db", where, "members", "show", "forum:#u1", "--json").splitlines()
    ]
    assert {a["username"] for a in shown} == {"bob", "Bob"}
    out = _ok("--db", where, "members", "link", "forum:#u1", "forum:carol")
    assert "link" in out
    shown = _ok("--db", where, "members", "show", "forum:#u1")
    assert "carol" in shown and "linked by alice" in shown
    _ok("--db", where, "members", "unlink", "forum:#u1", "forum:#u9")
    shown = [
        json.loads(line)
        for line in _ok("--db", where, "members", "show", "forum:#u1", "--json").splitlines()
    ]
    assert {a["username"] for a in shown} == {"bob", "carol"}
    actions = [r[0] for r in cache.query("SELECT action FROM audit ORDER BY id")][-2:]
    assert actions == ["member_link", "member_unlink"]
    assert audit.verify(cache) == []


def _raise_escalations(cache: Cache) -> None:
    """A legal threat and personal data, through the real ingest path (the rules run there)."""
    source = int(cache.one("SELECT id FROM sources WHERE name = 'forum'")[0])
    upsert_threads(
        cache,
        source,
        [ThreadRecord("t9", "Disgraceful billing", "u1", "open", AT, AT, reply_count=1)],
        [
            PostRecord("p91", "t9", "u1", 0, "Going to the ombudsman about my bill", "x", AT),
            PostRecord("p92", "t9", "u1", 1, "email me: jo@example.com", "y", AT),
        ],
    )


@pytest.mark.backends
def test_escalations_list_decide_and_report(
    cache: Cache, ids: dict[str, int], backend: str, cache_path: Path
) -> None:
    where = location(cache, cache_path)
    _raise_escalations(cache)
    listed = [json.loads(line) for line in _ok("--db", where, "escalations", "--json").splitlines()]
    rules = {e["rule_id"]: e["escalation_id"] for e in listed}
    assert set(rules) >= {"legal-threat", "personal-data"}
    legal = str(rules["legal-threat"])
    _ok("--db", where, "escalations", legal, "--ack")
    _ok("--db", where, "escalations", legal, "--note", "rang the customer")
    _ok("--db", where, "escalations", legal, "--resolve")
    one = _ok("--db", where, "escalations", legal)
    assert "rang the customer" in one and "resolved" in one
    assert "legal" in _ok("--db", where, "escalations", "--report")
    state = cache.one("SELECT state, acknowledged_by FROM escalations WHERE id = ?", (int(legal),))
    assert tuple(state) == ("resolved", "alice")
    assert audit.verify(cache) == []


@pytest.mark.backends
def test_answer_verification_refresh_list_and_decide(
    cache: Cache, ids: dict[str, int], backend: str, cache_path: Path
) -> None:
    where = location(cache, cache_path)
    _ok("--db", where, "verify", "--refresh")
    listed = [
        json.loads(line) for line in _ok("--db", where, "verify", "--list", "--json").splitlines()
    ]
    answer = int(cache.one("SELECT id FROM posts WHERE remote_id = 'p22'")[0])
    assert answer in {row["post_id"] for row in listed}
    _ok("--db", where, "verify", str(answer), "--as", "verified", "--text", "the tariff page")
    row = cache.one("SELECT state, decided_by FROM verifications WHERE post_id = ?", (answer,))
    assert tuple(row) == ("verified", "alice")
    assert audit.verify(cache) == []


@pytest.mark.backends
def test_export_and_the_audit_log(
    cache: Cache, ids: dict[str, int], backend: str, cache_path: Path, tmp_path: Path
) -> None:
    where = location(cache, cache_path)
    _ok("--db", where, "close", str(ids["t1"]))
    log = _ok("--db", where, "audit", "log")
    assert "close" in log and "alice" in log
    target = tmp_path / "forum.jsonl"
    _ok("--db", where, "export", "--source", "forum", "--output", str(target))
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    threads = {r["remote_id"]: r for r in records if r.get("type") == "thread"}
    assert threads["t1"]["status"] == "closed" and len(threads) == 5
    assert target.stat().st_mode & 0o077 == 0
    assert cache.one("SELECT action FROM audit ORDER BY id DESC LIMIT 1")[0] == "export"


@pytest.mark.backends
def test_the_unanswered_rule_finds_its_tag_in_any_case_on_both_engines(
    cache: Cache, ids: dict[str, int]
) -> None:
    """The tag prefilter is a LIKE on the stored JSON list: SQLite's ignores case, PostgreSQL's
    would not (the dialect's ILIKE there)."""
    source = int(cache.one("SELECT id FROM sources WHERE name = 'forum'")[0])
    upsert_threads(
        cache,
        source,
        [ThreadRecord("t8", "No signal", "u1", "open", AT, AT, tags=("Outage",))],
        [PostRecord("p81", "t8", "u1", 0, "No signal since this morning", "x", AT)],
    )
    rule = Rule(
        "unanswered-outage",
        "Outage unanswered",
        "unanswered",
        "high",
        30,
        240,
        tags=("outage",),
        hours=2,
    )
    found = engine.unanswered_findings(cache.conn, [rule], parse("2026-11-20T12:00:00Z"), 10**6)
    thread = int(cache.one("SELECT id FROM threads WHERE remote_id = 't8'")[0])
    assert [f.thread_id for f in found] == [thread]


@pytest.mark.backends
def test_the_verification_demo_marks_its_decisions_sent_as_the_outbox_allows(
    cache: Cache, ids: dict[str, int]
) -> None:
    """pending -> sending -> applied: the team database's outbox guard refuses pending ->
    applied, whoever asks."""
    desk = Desk.for_cache(cache, actor="alice")
    done = desk.close([ids["t1"], ids["t5"]])
    verify_demo.mark_sent(cache, done.outbox_ids)
    rows = cache.query(
        f"SELECT state, attempts FROM outbox WHERE id IN ({','.join('?' * len(done.outbox_ids))})",
        done.outbox_ids,
    )
    assert [tuple(r) for r in rows] == [("applied", 1), ("applied", 1)]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_writers_of_new_threads_take_turns_on_the_team_database(
    cache: Cache, ids: dict[str, int]
) -> None:
    """Ingest treats ids above the newest before it as its own new rows; on the server that
    holds only if another writer cannot add rows meanwhile: the second waits for the first."""
    source = int(cache.one("SELECT id FROM sources WHERE name = 'forum'")[0])
    other = cache.reopen()
    other.conn.raw.execute("BEGIN")
    other.conn.execute("SELECT pg_advisory_xact_lock(hashtext('peerdesk:ingest'))")
    done: list[dict[str, int]] = []
    writer = threading.Thread(
        target=lambda: done.append(
            upsert_threads(
                cache,
                source,
                [ThreadRecord("t7", "Waiting", "u1", "open", AT, AT)],
                [PostRecord("p71", "t7", "u1", 0, "waiting for the other writer", "x", AT)],
            )
        )
    )
    writer.start()
    waiting = 0
    for _ in range(600):  # until the server says the ingest waits for the lock (<= 30 s)
        waiting = int(
            other.one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")[
                0
            ]
        )
        if waiting:
            break
        time.sleep(0.05)
    assert waiting == 1 and writer.is_alive() and not done
    other.conn.raw.execute("COMMIT")
    writer.join(timeout=30)
    other.close()
    assert done and "t7" in done[0]
    found = cache.one(
        "SELECT count(*) FROM post_fts WHERE rowid = ?",
        (cache.one("SELECT id FROM posts WHERE remote_id = 'p71'")[0],),
    )
    assert found[0] == 1
