"""What the UI header and the Sync screen show, as plain Python (no Textual, no network).

summary(cache) -> SyncSummary(offline, waiting, conflicts, errors, sources=[SourceStatus...])
outbox_items(cache, states) / conflicts(cache) / errors(cache) -> rows for the Sync screen
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from console.clock import now_iso
from console.db import Cache
from console.models import OutboxItem
from console.outbox import items as _outbox_items


@dataclass(frozen=True)
class SourceStatus:
    source_id: int
    name: str
    kind: str
    base_url: str | None
    last_sync_at: str | None
    result: str | None  # ok | errors | partial | offline | failed | None (never synced)
    message: str
    waiting: int
    conflicts: int


@dataclass(frozen=True)
class SyncSummary:
    offline: bool | None  # None: no network source has been synced yet
    waiting: int  # outbox items still to send (pending or sending)
    conflicts: int
    errors: int  # problems recorded by the last sync of each source
    sources: list[SourceStatus] = field(default_factory=list)

    @property
    def headline(self) -> str:
        parts = []
        if self.offline:
            parts.append("offline")
        parts.append(f"{self.waiting} waiting")
        if self.conflicts:
            parts.append(f"{self.conflicts} conflicts")
        if self.errors:
            parts.append(f"{self.errors} sync errors")
        return " · ".join(parts)


@dataclass(frozen=True)
class SyncErrorRow:
    error_id: int
    source: str | None
    endpoint: str
    field: str | None
    message: str
    excerpt: str | None
    created_at: str


def _result(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {"result": raw, "message": raw}
    return data if isinstance(data, dict) else {"result": str(data)}


def summary(cache: Cache) -> SyncSummary:
    counts: dict[tuple[int, str], int] = {}
    for row in cache.query(
        "SELECT source_id, state, count(*) FROM outbox "
        "WHERE state IN ('pending', 'sending', 'conflict') GROUP BY source_id, state"
    ):
        key = (row[0], "conflict" if row[1] == "conflict" else "waiting")
        counts[key] = counts.get(key, 0) + row[2]
    sources = []
    network_results = []
    errors = 0
    for row in cache.query("SELECT * FROM sources ORDER BY name"):
        result = _result(row["last_sync_result"])
        if row["kind"] in ("discourse", "stackexchange") and result.get("result"):
            network_results.append(result["result"])
        errors += int(result.get("problems") or 0)
        sources.append(
            SourceStatus(
                source_id=row["id"],
                name=row["name"],
                kind=row["kind"],
                base_url=row["base_url"],
                last_sync_at=row["last_sync_at"],
                result=result.get("result"),
                message=str(result.get("message") or ""),
                waiting=counts.get((row["id"], "waiting"), 0),
                conflicts=counts.get((row["id"], "conflict"), 0),
            )
        )
    offline = None if not network_results else all(r == "offline" for r in network_results)
    return SyncSummary(
        offline=offline,
        waiting=sum(v for (_, k), v in counts.items() if k == "waiting"),
        conflicts=sum(v for (_, k), v in counts.items() if k == "conflict"),
        errors=errors,
        sources=sources,
    )


def outbox_items(
    cache: Cache, states: tuple[str, ...] | None = None, limit: int = 500
) -> list[OutboxItem]:
    return _outbox_items(cache, states, limit)


def conflicts(cache: Cache, limit: int = 500) -> list[OutboxItem]:
    return _outbox_items(cache, ("conflict",), limit)


def errors(cache: Cache, source: str | None = None, limit: int = 200) -> list[SyncErrorRow]:
    where, params = "", []
    if source:
        where = "WHERE s.name = ?"
        params.append(source)
    rows = cache.query(
        "SELECT e.*, s.name AS source FROM sync_errors e LEFT JOIN sources s ON s.id = e.source_id "
        f"{where} ORDER BY e.id DESC LIMIT ?",
        (*params, limit),
    )
    return [
        SyncErrorRow(
            error_id=r["id"],
            source=r["source"],
            endpoint=r["endpoint"],
            field=r["field"],
            message=r["message"],
            excerpt=r["excerpt"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


def retry_item(cache: Cache, outbox_id: int) -> bool:
    """Put a conflict or rejected item back in the queue to send (a human decided to retry).

    The remote version the decision was made against is dropped: the human has looked at the
    change since, so the item is sent even though the platform moved on."""
    with cache.transaction() as conn:
        changed = conn.execute(
            "UPDATE outbox SET state = 'pending', base = NULL, updated_at = ? "
            "WHERE id = ? AND state IN ('conflict', 'rejected')",
            (now_iso(), outbox_id),
        ).rowcount
    return bool(changed)


def dismiss_item(cache: Cache, outbox_id: int) -> bool:
    """Give up on a conflict or rejected item (it stays in the history as cancelled)."""
    with cache.transaction() as conn:
        changed = conn.execute(
            "UPDATE outbox SET state = 'cancelled', updated_at = ? "
            "WHERE id = ? AND state IN ('conflict', 'rejected', 'pending')",
            (now_iso(), outbox_id),
        ).rowcount
    return bool(changed)
