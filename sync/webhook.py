"""A generic signed webhook: hand an escalation to any system that can receive an HTTP POST.

Each hand-off is one POST of a JSON body to the source's URL with these headers:

    Content-Type: application/json
    X-Peerdesk-Timestamp: 1763640000                  (Unix seconds when it was sent)
    X-Peerdesk-Signature: sha256=<hex>                (HMAC-SHA256, see below)
    X-Peerdesk-Idempotency-Key: <key>                 (the same on every retry of one hand-off)

The signature is HMAC-SHA256 with the shared secret as the key, over the bytes
`timestamp + "." + body` (the body exactly as received). A receiver recomputes it, compares it in
constant time, refuses timestamps more than 5 minutes away from its clock (replays), and treats
a second delivery with the same idempotency key as the first (retries happen). `verify` below is
a receiver's check, written out.

The body: {"event": "escalation.handoff", "idempotency_key": ..., "sent_at": ...,
"escalation": {escalation_id, subject, body, priority, tags, requester_name, thread_url, rule,
severity}}. A 2xx answer is success (a JSON {"ref": "..."} names the receiver's record); 409 means
"already have it"; other 4xx are refusals; 429/5xx and timeouts are retried, then wait in the
outbox. The secret: PEERDESK_<NAME>_API_KEY or the keyring, like every credential.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

from console.clock import now_iso
from sync.base import (
    AuthFailed,
    BadPayload,
    HttpFailure,
    Known,
    Offline,
    Outcome,
    Page,
    PushRequest,
    PushResult,
)
from sync.credentials import Credentials
from sync.http import HttpSource, RetryPolicy, parsed

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """A receiver's check: the signature matches and the timestamp is recent."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookAdapter:
    kind = "webhook"

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        policy: RetryPolicy | None = None,
        name: str = "webhook",
    ) -> None:
        self.secret = credentials.api_key or ""
        self.name = name
        self.http = HttpSource(url, secrets=[self.secret], policy=policy, name=name)

    @property
    def requests_made(self) -> int:
        return self.http.requests_made

    def close(self) -> None:
        self.http.close()

    def pull(self, cursor: dict[str, Any], known: Known, *, full: bool = False) -> Iterator[Page]:
        return iter(())  # one way: nothing to follow

    def body(self, request: PushRequest) -> bytes:
        return json.dumps(
            {
                "event": "escalation.handoff",
                "idempotency_key": request.idempotency_key,
                "sent_at": now_iso(),
                "escalation": dict(request.payload),
            },
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()

    def push(self, request: PushRequest) -> PushResult:
        if request.action != "ticket_create":
            return PushResult(Outcome.LOCAL_ONLY, f"a webhook does not receive '{request.action}'")
        if not self.secret:
            raise AuthFailed(
                "POST webhook",
                401,
                f"no signing secret for {self.name}: set PEERDESK_<NAME>_API_KEY or the keyring",
            )
        body = self.body(request)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Peerdesk-Timestamp": stamp,
            "X-Peerdesk-Signature": sign(self.secret, stamp, body),
            "X-Peerdesk-Idempotency-Key": request.idempotency_key,
        }
        try:
            # the idempotency key makes a resend safe, so the POST is retried like a read
            response = self.http.request(
                "POST", "", endpoint="POST webhook", content=body, headers=headers, idempotent=True
            )
        except Offline as error:
            return PushResult(
                Outcome.RETRY_LATER, f"offline: {error}; the hand-off waits in the outbox"
            )
        except (HttpFailure, BadPayload) as error:
            return PushResult(
                Outcome.RETRY_LATER,
                f"the receiver is not answering ({error}); the hand-off waits in the outbox",
            )
        status = response.status_code
        if status in (401, 403):
            raise AuthFailed("POST webhook", status, "the receiver refused the signature")
        if status == 409:
            return PushResult(Outcome.APPLIED, "the receiver already had it")
        if status >= 400:
            return PushResult(Outcome.REJECTED, f"the receiver refused it: HTTP {status}")
        ref = None
        try:
            data = parsed(response.content)
            if isinstance(data, dict) and isinstance(data.get("ref"), str | int):
                ref = str(data["ref"])
        except ValueError:
            pass
        return PushResult(Outcome.APPLIED, "delivered", remote_ref=ref or request.idempotency_key)
