"""Kill -9 at several points of a real `peerdesk sync` / `peerdesk push` process, run again, and
end with the same database as an uninterrupted run: no duplicated rows, no lost or double-pushed
action. The fake Discourse server blocks the chosen request; the test then SIGKILLs the child."""

from __future__ import annotations

# SQLite only: a killed process's cache FILE (WAL recovery); on a team database an unfinished
# transaction is the server's to roll back (the outbox lease: tests/sync/test_outbox_lease.py).
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from console import outbox
from console.db import open_cache
from tests.sync.conftest import add_source, finished, peerdesk
from tests.sync.fake_discourse import FakeDiscourse, community


def _server() -> FakeDiscourse:
    return community(n_topics=10, posts_per_topic=2, long_topic=45).start()


def _new_cache(path: Path, server: FakeDiscourse) -> None:
    cache = open_cache(path, create=True)
    add_source(cache, "forum", "discourse", server.url, per_page=3)
    cache.close()


def _kill_when_held(proc: subprocess.Popen[bytes], server: FakeDiscourse) -> None:
    held = server.state.held.wait(30)
    assert held, "the child never reached the chosen request"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    server.state.hold = None
    server.state.release.set()


def _dump(db: Path) -> dict[str, Any]:
    cache = open_cache(db)
    try:
        q = cache.query
        return {
            "members": sorted(
                tuple(r)
                for r in q(
                    "SELECT remote_id, username, display_name, reputation, trust_level FROM members"
                )
            ),
            "threads": sorted(
                tuple(r)
                for r in q(
                    "SELECT t.remote_id, t.title, a.remote_id, t.status, t.created_at, "
                    "t.last_activity_at, t.reply_count, t.flag_count, t.tags, ap.remote_id, t.url, "
                    "t.in_queue, t.urgency FROM threads t LEFT JOIN members a ON a.id = t.author_id "
                    "LEFT JOIN posts ap ON ap.id = t.accepted_post_id"
                )
            ),
            "posts": sorted(
                tuple(r)
                for r in q(
                    "SELECT p.remote_id, t.remote_id, p.position, p.body_text, p.created_at, "
                    "p.score, p.flag_count, p.hidden FROM posts p JOIN threads t ON t.id = p.thread_id"
                )
            ),
            "fts": (
                q("SELECT count(*) FROM thread_fts")[0][0],
                q("SELECT count(*) FROM post_fts")[0][0],
            ),
            "fingerprints": sorted(
                tuple(r) for r in q("SELECT kind, remote_id, fingerprint FROM sync_fingerprints")
            ),
            "duplicate_candidates": sorted(
                tuple(r)
                for r in q(
                    "SELECT a.remote_id, b.remote_id, round(d.score, 6), d.decision "
                    "FROM duplicate_links d JOIN threads a ON a.id = d.thread_id "
                    "JOIN threads b ON b.id = d.original_id"
                )
            ),
            "cursor": json.loads(q("SELECT cursor FROM sources")[0][0]),
            "errors": [tuple(r) for r in q("SELECT endpoint, message FROM sync_errors")],
            "outbox": sorted(
                tuple(r)
                for r in q("SELECT action, target_id, state, remote_ref IS NOT NULL FROM outbox")
            ),
        }
    finally:
        cache.close()


@pytest.mark.slow
def test_killed_sync_ends_like_an_uninterrupted_one(tmp_path: Path) -> None:
    server = _server()
    try:
        ref = tmp_path / "reference.sqlite3"
        _new_cache(ref, server)
        finished(ref, "sync", "forum", "-q", timeout=60)
        expected = _dump(ref)
        total = len(server.state.requests)
        assert expected["errors"] == [] and len(expected["threads"]) == 10
        assert len(expected["posts"]) == 9 * 2 + 45
        assert total > 15
        for n, point in enumerate((2, 5, 11, total - 2, total)):
            db = tmp_path / f"crash{n}.sqlite3"
            _new_cache(db, server)
            counter = {"n": 0}

            def hold(
                method: str,
                path: str,
                counter: dict[str, int] = counter,
                point: int = point,
                n: int = n,
            ) -> str | None:
                counter["n"] += 1
                if counter["n"] == point:
                    return "after" if n % 2 else "before"
                return None

            server.state.held.clear()
            server.state.release.clear()
            server.state.hold = hold
            proc = peerdesk(db, "sync", "forum", "-q")
            _kill_when_held(proc, server)
            finished(db, "sync", "forum", "-q", timeout=60)
            assert _dump(db) == expected, f"kill at request {point}"
    finally:
        server.stop()


def _with_outbox(db: Path, server: FakeDiscourse) -> None:
    _new_cache(db, server)
    finished(db, "sync", "forum", "-q", timeout=60)
    cache = open_cache(db)
    tid = {r[0]: r[1] for r in cache.query("SELECT remote_id, id FROM threads")}
    post = cache.one("SELECT id FROM posts WHERE thread_id = ? AND position = 1", (tid["4"],))[0]
    with cache.transaction() as conn:
        for action, kind, target, payload in (
            ("close", "thread", tid["2"], {"thread_id": tid["2"]}),
            (
                "reply",
                "thread",
                tid["3"],
                {"thread_id": tid["3"], "raw": "Have you tried APN settings?"},
            ),
            ("hide_post", "post", post, {"post_id": post, "reason": "spam"}),
        ):
            outbox.enqueue(
                conn,
                source_id=1,
                action=action,
                target_kind=kind,
                target_id=target,
                payload=payload,
                batch_id=None,
                audit_id=None,
            )
    cache.close()


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [
        ("PUT", "/t/2/status.json", "before"),
        ("PUT", "/t/2/status.json", "after"),
        ("POST", "/posts.json", "before"),
        ("POST", "/posts.json", "after"),
        ("POST", "/post_actions.json", "after"),
    ],
)
def test_killed_push_applies_each_action_once(
    tmp_path: Path, method: str, path: str, mode: str
) -> None:
    server = _server()
    try:
        db = tmp_path / "push.sqlite3"
        _with_outbox(db, server)
        server.state.held.clear()
        server.state.release.clear()

        def hold(m: str, p: str) -> str | None:
            return mode if (m, p) == (method, path) else None

        server.state.hold = hold
        proc = peerdesk(db, "push", "forum")
        _kill_when_held(proc, server)
        if mode == "after":
            assert len(server.state.applied) >= 1
        finished(db, "push", "forum", timeout=60)
        finished(db, "push", "forum", timeout=60)  # nothing left: a third run sends nothing
        applied = server.state.applied
        assert sorted(a[0] for a in applied) == ["flag", "reply", "status"], applied
        dump = _dump(db)
        assert [s for _, _, s, _ in dump["outbox"]] == ["applied"] * 3
        replies = [
            p for p in server.state.topics[3].posts if p.raw == "Have you tried APN settings?"
        ]
        assert len(replies) == 1
    finally:
        server.stop()
