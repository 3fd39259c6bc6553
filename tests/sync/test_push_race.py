"""Two real `peerdesk push` processes on one cache and one outbox, against the fake Discourse
server: each outbox item is sent by exactly one of them (the server counts the writes)."""

from __future__ import annotations

# SQLite only: two pushers on one cache FILE; on a team database: tests/team/test_concurrency.py.
import subprocess
from pathlib import Path

from console import outbox
from console.db import open_cache
from sync.http import FAST_RETRIES
from tests.sync.conftest import add_source, peerdesk
from tests.sync.fake_discourse import community


def _done(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=150)
    return proc.returncode, (out + err).decode()


def test_two_pushers_send_each_item_once(tmp_path: Path) -> None:
    server = community(n_topics=4, posts_per_topic=2).start()
    state = server.state
    try:
        db = tmp_path / "cache.sqlite3"
        cache = open_cache(db, create=True)
        # the first pusher's reply is held while the second one runs: wait for it patiently
        patient = {**FAST_RETRIES.__dict__, "read_timeout": 60.0, "total_timeout": 90.0}
        add_source(cache, "forum", "discourse", server.url, retry=patient)
        cache.close()
        assert _done(peerdesk(db, "sync", "forum", "-q"))[0] == 0
        cache = open_cache(db)
        tid = cache.one("SELECT id FROM threads WHERE remote_id = '3'")[0]
        with cache.transaction() as conn:
            oid = outbox.enqueue(
                conn,
                source_id=1,
                action="reply",
                target_kind="thread",
                target_id=tid,
                payload={"thread_id": tid, "raw": "Have you tried APN settings?"},
                batch_id=None,
                audit_id=None,
            )
        cache.close()

        writes = {"n": 0}

        def hold(method: str, path: str) -> str | None:
            if method == "POST":
                writes["n"] += 1
                return "pause" if writes["n"] == 1 else None
            return None

        state.hold = hold
        first = peerdesk(db, "push", "forum")
        assert state.held.wait(90), "the first pusher never sent its reply"
        # the first process is in the middle of sending: a second one starts on the same outbox
        code, text = _done(peerdesk(db, "push", "forum"))
        assert code == 0, text
        assert "being sent by another peerdesk process" in text
        state.release.set()
        code, text = _done(first)
        assert code == 0, text
        assert "1 applied" in text
    finally:
        server.stop()
    posts = [r for r in state.requests if r == ("POST", "/posts.json")]
    assert len(posts) == 1, state.requests
    replies = [p for p in state.topics[3].posts if p.raw == "Have you tried APN settings?"]
    assert len(replies) == 1
    cache = open_cache(db)
    try:
        row = cache.one("SELECT state, attempts, lease_owner FROM outbox WHERE id = ?", (oid,))
        assert (row[0], row[1], row[2]) == ("applied", 1, None)
    finally:
        cache.close()
