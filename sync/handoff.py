"""Following ticket systems: a `peerdesk sync` of a Zendesk source links pushed hand-offs to
their tickets and brings each followed ticket's status and public comments back into its
escalation, a page at a time, each page in one transaction with the cursor after it."""

from __future__ import annotations

import json
import time
from typing import Any

from console.clock import now, now_iso, parse
from console.db import Cache
from console.escalate.tickets import apply_ticket, followed_tickets, link_created_tickets
from sync.base import Adapter
from sync.http import RetryPolicy
from sync.runner import SourceRow, SyncReport, make_adapter, reported

FIRST_LOOKBACK_SECONDS = 24 * 3600  # a first follow starts this long before the oldest hand-off


def _start_time(cache: Cache, row: SourceRow) -> int:
    first = cache.one(
        "SELECT min(created_at) FROM outbox WHERE source_id = ? AND action = 'ticket_create'",
        (row.id,),
    )
    base = parse(first[0]) if first and first[0] else now()
    return max(0, int(base.timestamp()) - FIRST_LOOKBACK_SECONDS)


def follow_source(
    cache: Cache,
    row: SourceRow,
    *,
    adapter: Adapter | None = None,
    policy: RetryPolicy | None = None,
) -> SyncReport:
    report = SyncReport(row.name)
    started = time.monotonic()
    linked = link_created_tickets(cache)
    tickets = set(followed_tickets(cache, row.name))
    own = adapter is None
    if row.kind != "zendesk" or (not tickets and not row.cursor):
        report.message = (
            f"{linked} tickets linked; nothing to follow"
            if row.kind == "zendesk"
            else "a webhook is one way: nothing to follow"
        )
        _finish(cache, row, report)
        return report
    adapter = adapter or make_adapter(row, policy=policy)
    follow = adapter.follow  # type: ignore[attr-defined]
    changes = 0
    with reported(cache, row, report, adapter, own=own, started=started):
        for updates, cursor in follow(dict(row.cursor), tickets, _start_time(cache, row)):
            with cache.transaction() as conn:
                for update in updates:
                    changes += apply_ticket(conn, row.name, update)
                conn.execute(
                    "UPDATE sources SET cursor = ? WHERE id = ?",
                    (json.dumps(cursor, sort_keys=True), row.id),
                )
            report.pages += 1
            report.threads += len(updates)
        report.message = f"{len(tickets)} tickets followed, {changes} changes brought back"
    _finish(cache, row, report)
    return report


def _finish(cache: Cache, row: SourceRow, report: SyncReport) -> None:
    summary: dict[str, Any] = {
        "result": report.result,
        "message": report.message,
        "pages": report.pages,
        "problems": report.problems,
        "requests": report.requests,
        "seconds": report.seconds,
    }
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE sources SET last_sync_at = ?, last_sync_result = ? WHERE id = ?",
            (now_iso(), json.dumps(summary, sort_keys=True), row.id),
        )
