"""The generic signed webhook: a real receiver on 127.0.0.1 checks the documented HMAC-SHA256
signature over timestamp + "." + body; retries keep the idempotency key; refusals are clear."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from console.db import Cache
from console.desk import Desk
from sync import push, runner
from sync.webhook import sign, verify
from tests.escalate.conftest import post, store, thread
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import LocalServer

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

SECRET = "whsec-0123456789abcdef"


class Receiver(LocalServer):
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answers: list[int] = []  # status codes to answer with first
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stamp = self.headers.get("X-Peerdesk-Timestamp", "")
                good = verify(SECRET, stamp, raw, self.headers.get("X-Peerdesk-Signature", ""))
                with receiver.lock:
                    receiver.received.append(
                        {
                            "body": json.loads(raw),
                            "key": self.headers.get("X-Peerdesk-Idempotency-Key"),
                            "verified": good,
                        }
                    )
                    status = receiver.answers.pop(0) if receiver.answers else (200 if good else 401)
                payload = json.dumps({"ref": "CASE-77"} if status == 200 else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._serve(Handler)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERDESK_NO_KEYRING", "1")
    monkeypatch.setenv("PEERDESK_HOOK_API_KEY", SECRET)


def _send(cache: Cache, url: str) -> int:
    store(
        cache,
        [thread("1", "SIM swap fraud", "u1", "2026-11-20T09:00:00Z")],
        [post("11", "1", "u1", 0, "Someone did a SIM swap on my account", "2026-11-20T09:00:00Z")],
    )
    add_source(cache, "hook", "webhook", url)
    desk = Desk.for_cache(cache, actor="alice")
    esc = int(cache.one("SELECT id FROM escalations WHERE rule_id = 'account-billing'")[0])
    desk.escalations.send_to_support(esc, "hook")
    return esc


def test_signature_is_documented_hmac_over_timestamp_and_body() -> None:
    body = b'{"a":1}'
    signature = sign(SECRET, "1795176000", body)
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1795176000." + body, hashlib.sha256).hexdigest()
    assert signature == "sha256=" + expected
    assert verify(SECRET, "1795176000", body, signature, now=1795176100)
    assert not verify(SECRET, "1795176000", body + b" ", signature, now=1795176100)
    assert not verify("other", "1795176000", body, signature, now=1795176100)
    assert not verify(SECRET, "1795176000", body, signature, now=1795176000 + 301)  # replay
    assert not verify(SECRET, "soon", body, signature)


def test_hand_off_is_signed_and_delivered_once(
    cache: Cache, receiver: Receiver, secret_env: None
) -> None:
    _send(cache, receiver.url)
    report = push.push_source(cache, runner.source(cache, "hook"))
    assert report.applied == 1
    [got] = receiver.received
    assert got["verified"] and got["body"]["event"] == "escalation.handoff"
    assert got["body"]["escalation"]["rule"] == "account-billing"
    assert cache.one("SELECT remote_ref FROM outbox WHERE action = 'ticket_create'")[0] == "CASE-77"
    assert got["body"]["sent_at"] == "2026-11-20T12:00:00Z"


def test_server_errors_are_retried_with_the_same_key(
    cache: Cache, receiver: Receiver, secret_env: None
) -> None:
    _send(cache, receiver.url)
    receiver.answers = [500, 503]
    assert push.push_source(cache, runner.source(cache, "hook")).applied == 1
    keys = {r["key"] for r in receiver.received}
    assert len(receiver.received) == 3 and len(keys) == 1


def test_a_wrong_secret_stops_and_a_refusal_is_rejected(
    cache: Cache, receiver: Receiver, secret_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _send(cache, receiver.url)
    monkeypatch.setenv("PEERDESK_HOOK_API_KEY", "not-the-secret")
    report = push.push_source(cache, runner.source(cache, "hook"))
    assert report.stopped and "refused the signature" in report.stopped
    assert cache.one("SELECT state FROM outbox WHERE action = 'ticket_create'")[0] == "pending"
    monkeypatch.setenv("PEERDESK_HOOK_API_KEY", SECRET)
    receiver.answers = [400]
    report = push.push_source(cache, runner.source(cache, "hook"))
    assert report.rejected == 1
    state, error = cache.one("SELECT state, last_error FROM outbox WHERE action = 'ticket_create'")
    assert state == "rejected" and "HTTP 400" in error


def test_a_down_receiver_leaves_it_waiting(
    cache: Cache, receiver: Receiver, secret_env: None
) -> None:
    _send(cache, receiver.url)
    receiver.stop()
    report = push.push_source(cache, runner.source(cache, "hook"))
    assert report.waiting == 1 and report.offline
    result = runner.sync_source(cache, runner.source(cache, "hook"))
    assert result.message == "a webhook is one way: nothing to follow"
