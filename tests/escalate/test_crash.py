"""Kill -9 a real `peerdesk push` while it hands an escalation to Zendesk (before the ticket is
created, and after it is created but before the answer arrives), and a real `peerdesk sync`
while it follows the ticket: a rerun ends with exactly one ticket, the item applied with the
ticket's id, and each comment in the history once. On a cache file and on a team database (where
the server rolls back what the killed process had not committed, and the rerun must still find
the hand-off to finish)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.escalate.shared import need_zendesk_fixtures

need_zendesk_fixtures()

from console.db import Cache  # noqa: E402
from console.desk import Desk  # noqa: E402
from tests.backends import location  # noqa: E402
from tests.escalate.conftest import post, store, thread  # noqa: E402
from tests.escalate.fake_zendesk import EMAIL, TOKEN, FakeZendesk  # noqa: E402
from tests.sync.conftest import REPO, add_source  # noqa: E402

ENV = {
    "PEERDESK_SUPPORT_API_USERNAME": EMAIL,
    "PEERDESK_SUPPORT_API_KEY": TOKEN,
    "PEERDESK_NO_KEYRING": "1",
}
pytestmark = pytest.mark.backends


def _run(db: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "console", "--db", db, *args],
        cwd=REPO,
        env={**os.environ, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _finish(db: str, *args: str) -> str:
    proc = _run(db, *args)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (out + err).decode()
    return out.decode()


def _kill_when_held(proc: subprocess.Popen[bytes], server: FakeZendesk) -> None:
    assert server.held.wait(30), "the child never reached the chosen request"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    server.hold = None
    server.release.set()


def _prepare(cache: Cache, server: FakeZendesk) -> int:
    store(
        cache,
        [thread("1", "Refund never came", "u1", "2026-11-20T09:00:00Z")],
        [post("11", "1", "u1", 0, "My solicitor will write to you", "2026-11-20T09:00:00Z")],
    )
    add_source(cache, "support", "zendesk", server.url)
    desk = Desk.for_cache(cache, actor="alice")
    legal = int(cache.one("SELECT id FROM escalations WHERE rule_id = 'legal-threat'")[0])
    desk.escalations.send_to_support(legal)
    return legal


@pytest.mark.parametrize("mode", ["before", "after"])
def test_killed_hand_off_creates_exactly_one_ticket(
    cache: Cache, cache_path: Path, mode: str
) -> None:
    server = FakeZendesk().start()
    try:
        db = location(cache, cache_path)
        legal = _prepare(cache, server)
        server.held.clear()
        server.release.clear()
        server.hold = lambda m, p: mode if (m, p) == ("POST", "/api/v2/tickets.json") else None
        proc = _run(db, "push")
        _kill_when_held(proc, server)
        assert len(server.tickets) == (1 if mode == "after" else 0)
        _finish(db, "push")
        _finish(db, "push")  # nothing left to send
        assert len(server.tickets) == 1
        rows = cache.query("SELECT state, remote_ref FROM outbox WHERE action = 'ticket_create'")
        assert [tuple(r) for r in rows] == [("applied", "4014")]
        out = _finish(db, "escalations", str(legal))
        assert "ticket: support 4014" in out
    finally:
        server.stop()


def test_killed_follow_brings_each_comment_once(cache: Cache, cache_path: Path) -> None:
    server = FakeZendesk().start()
    try:
        db = location(cache, cache_path)
        legal = _prepare(cache, server)
        _finish(db, "push")
        server.agent(4014, status="pending", comment="Could you send the letter?")
        server.held.clear()
        server.release.clear()
        server.hold = lambda m, p: "after" if p.endswith("/audits.json") else None
        proc = _run(db, "sync", "support", "-q")
        _kill_when_held(proc, server)
        _finish(db, "sync", "support", "-q")
        server.agent(4014, status="solved", comment="Refunded")
        _finish(db, "sync", "support", "-q")
        _finish(db, "sync", "support", "-q")
        events = [
            tuple(r)
            for r in cache.query(
                "SELECT event, body FROM escalation_history WHERE escalation_id = ? "
                "AND event IN ('support_comment', 'ticket_status') ORDER BY id",
                (legal,),
            )
        ]
        state = cache.one("SELECT state FROM escalations WHERE id = ?", (legal,))[0]
        assert events == [
            ("support_comment", "Could you send the letter?"),
            ("ticket_status", "ticket 4014 is pending"),
            ("support_comment", "Refunded"),
            ("ticket_status", "ticket 4014 is solved"),
        ]
        assert state == "resolved"
    finally:
        server.stop()
