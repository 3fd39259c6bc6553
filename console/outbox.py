"""The outbox: platform actions queued by decisions, pushed later by `sync`.

An item is written in the same transaction as the decision and its audit entry, so a half-written
item never exists. Each has an idempotency key that the pusher sends (or checks remote state
with) so a retried push is never applied twice.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from console.clock import now_iso
from console.db import Cache
from console.models import OutboxItem

OPEN_STATES = ("pending", "sending")


def enqueue(
    conn: sqlite3.Connection,
    *,
    source_id: int,
    action: str,
    target_kind: str,
    target_id: int | None,
    payload: dict[str, Any],
    batch_id: int | None,
    audit_id: int | None,
    state: str = "pending",
    reason: str | None = None,
) -> int:
    """Queue one action inside the caller's transaction; returns its id.

    `state="local_only"` with a `reason` records a decision the platform cannot receive.
    """
    stamp = now_iso()
    cursor = conn.execute(
        "INSERT INTO outbox (source_id, action, target_kind, target_id, payload, "
        "idempotency_key, state, last_error, created_at, updated_at, batch_id, audit_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            source_id,
            action,
            target_kind,
            target_id,
            json.dumps(payload, sort_keys=True, ensure_ascii=False),
            uuid.uuid4().hex,
            state,
            reason,
            stamp,
            stamp,
            batch_id,
            audit_id,
        ),
    )
    return int(cursor.lastrowid or 0)


def _item(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        outbox_id=row["id"],
        source=row["source"],
        action=row["action"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        payload=json.loads(row["payload"]),
        idempotency_key=row["idempotency_key"],
        state=row["state"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def items(
    cache: Cache, states: tuple[str, ...] | None = None, limit: int = 500
) -> list[OutboxItem]:
    """Outbox items, oldest first, optionally only those in `states`."""
    where = ""
    params: list[Any] = []
    if states:
        where = f"WHERE o.state IN ({','.join('?' * len(states))})"
        params.extend(states)
    rows = cache.query(
        "SELECT o.*, s.name AS source FROM outbox o JOIN sources s ON s.id = o.source_id "
        f"{where} ORDER BY o.id LIMIT ?",
        (*params, limit),
    )
    return [_item(r) for r in rows]


def waiting_count(cache: Cache) -> int:
    row = cache.one("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')")
    return int(row[0]) if row else 0


def cancel_open(conn: sqlite3.Connection, outbox_ids: list[int]) -> list[int]:
    """Cancel items that were never sent; returns the ids that were cancelled."""
    cancelled = []
    for outbox_id in outbox_ids:
        cursor = conn.execute(
            "UPDATE outbox SET state = 'cancelled', updated_at = ? "
            "WHERE id = ? AND state = 'pending' AND attempts = 0",
            (now_iso(), outbox_id),
        )
        if cursor.rowcount:
            cancelled.append(outbox_id)
    return cancelled
