"""Pushing the outbox: each item is claimed (a lease: `sending`, attempt counted, time noted)
in one transaction BEFORE the request, and given its outcome in another AFTER it. Only one
process holds an item's lease (console.outbox.claim); an item another live process is sending is
skipped. An item whose holder died mid-push, or with an earlier attempt, is sent with `sent_at`,
so the adapter checks the platform's state first and never applies an action twice. For writes
that are not safe to send twice (a reply), the claim also records where the platform stood just
before (sync.base.MarksSends): a retry looks for its earlier write after that point only.

Offline is normal: a connection failure leaves the item `pending`, stops this source's push and
exits with code 3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from console import outbox
from console.db import Cache
from sync.base import Adapter, AuthFailed, MarksSends, Outcome, PushRequest, PushResult
from sync.runner import SourceRow, make_adapter

STATE_OF = {
    Outcome.APPLIED: "applied",
    Outcome.CONFLICT: "conflict",
    Outcome.REJECTED: "rejected",
    Outcome.RETRY_LATER: "pending",
    Outcome.LOCAL_ONLY: "local_only",
}


@dataclass
class PushReport:
    source: str
    applied: int = 0
    conflicts: int = 0
    rejected: int = 0
    local_only: int = 0
    waiting: int = 0
    busy: int = 0  # being sent by another peerdesk process at the same time
    offline: bool = False
    stopped: str = ""
    messages: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 done · 1 failed (credentials) · 3 offline (nothing lost), as the README says."""
        if self.offline:
            return 3
        if self.stopped:
            return 1
        return 0

    def counts(self, *, conflicts_hint: str = "", mark_offline: bool = False) -> list[str]:
        """The outcome in words: "3 applied", "1 conflicts", … (for the CLI and the console)."""
        parts = [f"{self.applied} applied"]
        if self.conflicts:
            parts.append(f"{self.conflicts} conflicts{conflicts_hint}")
        if self.rejected:
            parts.append(f"{self.rejected} rejected")
        if self.local_only:
            parts.append(f"{self.local_only} kept local")
        if self.waiting:
            offline = " (offline)" if mark_offline and self.offline else ""
            parts.append(f"{self.waiting} still waiting{offline}")
        if self.busy:
            parts.append(f"{self.busy} being sent by another peerdesk process")
        return parts


def _resolve(cache: Cache, source_id: int, payload: dict[str, Any]) -> dict[str, str]:
    """Local ids in a payload -> the platform's ids (KeyError names what is missing)."""
    remote: dict[str, str] = {}
    lookups = (
        ("thread_id", "thread", "threads"),
        ("post_id", "post", "posts"),
        ("original_id", "original", "threads"),
        ("restore_accepted_id", "restore", "posts"),  # undo of a verification (console.verify)
    )
    for key, name, table in lookups:
        if payload.get(key) is None:
            continue
        row = cache.one(
            f"SELECT remote_id FROM {table} WHERE id = ? AND source_id = ?",
            (payload[key], source_id),
        )
        if row is None:
            raise KeyError(f"{name} {payload[key]} is not in the cache any more")
        remote[name] = str(row[0])
    if payload.get("reviewable_id") is not None:
        row = cache.one(
            "SELECT remote_id FROM review_items WHERE id = ? AND source_id = ?",
            (payload["reviewable_id"], source_id),
        )
        if row is None:
            raise KeyError(f"review item {payload['reviewable_id']} is not in the cache")
        remote["reviewable"] = str(row[0])
    if "post" in remote and "thread" not in remote:
        row = cache.one(
            "SELECT t.remote_id FROM posts p JOIN threads t ON t.id = p.thread_id WHERE p.id = ?",
            (payload["post_id"],),
        )
        if row:
            remote["thread"] = str(row[0])
    return remote


def push_source(
    cache: Cache, row: SourceRow, *, adapter: Adapter | None = None, limit: int | None = None
) -> PushReport:
    report = PushReport(row.name)
    own = adapter is None
    adapter = adapter or _adapter(row)
    owner = outbox.lease_owner()
    try:
        items = cache.query(
            "SELECT id, action FROM outbox WHERE source_id = ? AND state IN ('sending', 'pending') "
            "ORDER BY id" + (" LIMIT ?" if limit else ""),
            (row.id, limit) if limit else (row.id,),
        )
        for index, listed in enumerate(items):
            # read before the claim, so the claim that marks the item sent records it
            mark = adapter.send_mark(listed["action"]) if isinstance(adapter, MarksSends) else None
            claim = outbox.claim(cache, listed["id"], owner, mark=mark)
            if claim == "busy":  # another live peerdesk process is sending it right now
                report.busy += 1
                continue
            if not isinstance(claim, outbox.Claim):  # settled meanwhile by another process
                continue
            item = claim.row
            payload = json.loads(item["payload"])
            try:
                remote = _resolve(cache, row.id, payload)
            except KeyError as error:
                result = PushResult(Outcome.REJECTED, f"cannot send: {error.args[0]}")
                _settle(cache, claim, result)
                report.rejected += 1
                report.messages.append(f"#{item['id']} {item['action']}: {result.message}")
                continue
            request = PushRequest(
                outbox_id=item["id"],
                action=item["action"],
                payload=payload,
                remote=remote,
                idempotency_key=item["idempotency_key"],
                attempts=item["attempts"] + 1,
                sent_at=claim.sent_before,
                base=json.loads(item["base"]) if item["base"] else None,
                mark=claim.mark_before if claim.sent_before else None,
            )
            try:
                result = adapter.push(request)
            except AuthFailed as error:
                _settle(cache, claim, PushResult(Outcome.RETRY_LATER, str(error)))
                report.stopped = str(error)
                report.waiting += len(items) - index
                break
            _settle(cache, claim, result)
            if result.outcome is Outcome.APPLIED:
                report.applied += 1
            elif result.outcome is Outcome.CONFLICT:
                report.conflicts += 1
                report.messages.append(f"#{item['id']} {item['action']}: {result.message}")
            elif result.outcome is Outcome.REJECTED:
                report.rejected += 1
                report.messages.append(f"#{item['id']} {item['action']}: {result.message}")
            elif result.outcome is Outcome.LOCAL_ONLY:
                report.local_only += 1
            else:
                report.waiting += len(items) - index
                report.offline = result.message.startswith("offline")
                report.stopped = result.message
                break
    finally:
        if own:
            adapter.close()
    return report


def _settle(cache: Cache, claim: outbox.Claim, result: PushResult) -> None:
    state = STATE_OF[result.outcome]
    outbox.settle(
        cache,
        int(claim.row["id"]),
        state,
        owner=claim.owner,
        message=None if state == "applied" else result.message,
        remote_ref=result.remote_ref,
    )


def _adapter(row: SourceRow) -> Adapter:
    return make_adapter(row)
