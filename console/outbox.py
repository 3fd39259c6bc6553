"""The outbox: platform actions queued by decisions, pushed later by `sync`.

An item is written in the same transaction as the decision and its audit entry, so a half-written
item never exists. Each has an idempotency key that the pusher sends (or checks remote state
with) so a retried push is never applied twice.

Exactly one process sends an item: `claim` takes a lease on it in one write transaction (a
compare-and-set on the state it read). Another process skips an item whose lease is held by a
live process; a lease whose holder died (same host, process gone) or that ran out is taken over,
and that attempt checks the platform's state first. Each item also records `base`: the remote
version the decision was made against (the newest post of the thread, the post's edit state as
the cache knew them), so the pusher can tell a remote change made since from its own.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NotRequired, TypedDict, Unpack

from console.clock import now_iso
from console.db import Cache
from console.models import OutboxItem
from console.storage import Connection, Row, dialect_of

OPEN_STATES = ("pending", "sending")
LEASE_SECONDS = 600  # longer than one request with all its retries
_TOKEN = uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class NewItem:
    """An outbox item made ready before its transaction's audit entry is appended (everything
    it needs read first), inserted with the entry's id by `insert` or `insert_audited`."""

    source_id: int
    action: str
    target_kind: str
    target_id: int | None
    payload: str
    idempotency_key: str
    state: str
    reason: str | None
    stamp: str
    batch_id: int | None
    base: str | None

    def values(self) -> tuple[object, ...]:
        return (
            self.source_id,
            self.action,
            self.target_kind,
            self.target_id,
            self.payload,
            self.idempotency_key,
            self.state,
            self.reason,
            self.stamp,
            self.stamp,
            self.batch_id,
        )


_COLUMNS = (
    "source_id, action, target_kind, target_id, payload, idempotency_key, state, last_error, "
    "created_at, updated_at, batch_id, audit_id, base"
)


def prepare(conn: Connection, **item: Unpack[Item]) -> NewItem:
    """An item to queue inside the caller's transaction (see `enqueue`), read but not written."""
    target_kind, target_id = item["target_kind"], item["target_id"]
    base = base_version(conn, target_kind, target_id)
    return NewItem(
        item["source_id"],
        item["action"],
        target_kind,
        target_id,
        json.dumps(item["payload"], sort_keys=True, ensure_ascii=False),
        item.get("idempotency_key") or uuid.uuid4().hex,
        item.get("state", "pending"),
        item.get("reason"),
        now_iso(),
        item["batch_id"],
        json.dumps(base, sort_keys=True) if base else None,
    )


def insert(conn: Connection, item: NewItem, audit_id: int | None) -> int:
    """Write a prepared item; returns its id."""
    cursor = conn.execute(
        f"INSERT INTO outbox ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (*item.values(), audit_id, item.base),
    )
    return int(cursor.fetchone()[0])


def insert_audited(
    conn: Connection, item: NewItem, append_sql: str, append_params: tuple[object, ...]
) -> tuple[int, int]:
    """Append an audit entry (`append_sql`: a SELECT of the new entry's id) and write the item
    that names it in ONE statement; returns (audit id, item id). On the team database the
    entry's append takes the audit chain's lock until the commit: with this as a decision's
    last statement the lock is held for it and the commit only."""
    row = conn.execute(
        f"WITH entry AS ({append_sql} AS id) INSERT INTO outbox ({_COLUMNS}) "
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, entry.id, ? FROM entry RETURNING audit_id, id",
        (*append_params, *item.values(), item.base),
    ).fetchone()
    return int(row[0]), int(row[1])


class Item(TypedDict):
    """What an outbox item is made of, as `prepare` and `enqueue` take it (keywords)."""

    source_id: int
    action: str
    target_kind: str
    target_id: int | None
    payload: dict[str, Any]
    batch_id: int | None
    state: NotRequired[str]  # "pending", or "local_only" with a `reason`
    reason: NotRequired[str | None]
    idempotency_key: NotRequired[str | None]  # only for a decision replayed from another cache


def enqueue(conn: Connection, *, audit_id: int | None, **item: Unpack[Item]) -> int:
    """Queue one action inside the caller's transaction; returns its id.

    `state="local_only"` with a `reason` records a decision the platform cannot receive;
    `idempotency_key` is given only for a decision replayed from another cache (`team push`).
    """
    return insert(conn, prepare(conn, **item), audit_id)


def base_version(
    conn: Connection, target_kind: str, target_id: int | None
) -> dict[str, Any] | None:
    """What the cache knew of the target when the decision was made (see the module doc)."""
    if target_id is None:
        return None
    if target_kind == "thread":
        last_post = dialect_of(conn).leading_integer("p.remote_id")
        row = conn.execute(
            f"SELECT t.reply_count, (SELECT max({last_post}) FROM posts p "
            "WHERE p.thread_id = t.id) AS last_post FROM threads t WHERE t.id = ?",
            (target_id,),
        ).fetchone()
        if row is None:
            return None
        return {"replies": row[0], "last_post": row[1]}
    if target_kind == "post":
        row = conn.execute(
            "SELECT p.updated_at, f.fingerprint FROM posts p LEFT JOIN sync_fingerprints f "
            "ON f.source_id = p.source_id AND f.kind = 'post' AND f.remote_id = p.remote_id "
            "WHERE p.id = ?",
            (target_id,),
        ).fetchone()
        if row is None:
            return None
        return {"updated_at": row[0], "fingerprint": row[1]}
    return None


# ---------------------------------------------------------------------------- leases


def lease_owner() -> str:
    """This process, as written into the leases it holds: host, pid and a per-run token."""
    return f"{socket.gethostname()}:{os.getpid()}:{_TOKEN}"


def _holder_alive(owner: str) -> bool:
    """False when `owner` certainly does not run any more (same host, process gone)."""
    host, _, rest = owner.partition(":")
    pid_text, _, token = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine: only the lease's end frees the item
    pid = int(pid_text)
    if pid == os.getpid():
        return token == _TOKEN  # the same pid with another token: an earlier, dead process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


@dataclass(frozen=True)
class Claim:
    """An item this process now holds; `row` is the item as it was before the claim."""

    row: Row
    owner: str
    # when an earlier attempt started: that attempt may have reached the platform
    sent_before: str | None
    # where the platform stood before the earliest attempt that recorded it (`claim`'s `mark`):
    # what an earlier attempt wrote can only be after it; None when none was recorded
    mark_before: dict[str, Any] | None = None


def claim(
    cache: Cache,
    outbox_id: int,
    owner: str | None = None,
    *,
    mark: dict[str, Any] | None = None,
) -> Claim | str:
    """Take the lease on one item, or say why not: "busy" (another live process sends it) or
    "done" (settled meanwhile). One write transaction: no two processes both succeed.

    `mark`: where the platform stood just before this attempt (read by the adapter before the
    claim, sync.base.MarksSends), recorded in the same transaction that marks the item sent,
    so it is on disk before the request goes out. An earlier attempt's mark is kept: anything
    that attempt wrote lies after it."""
    owner = owner or lease_owner()
    with cache.transaction() as conn:
        row = conn.execute("SELECT * FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
        if row is None or row["state"] not in OPEN_STATES:
            return "done"
        dialect = dialect_of(conn)
        if row["state"] == "sending" and row["lease_owner"]:  # leases run on the dialect's clock
            lapsed = row["lease_until"] is None or row["lease_until"] <= dialect.lease_time(conn)
            if not lapsed and _holder_alive(row["lease_owner"]):
                return "busy"
        stamp = now_iso()
        claimed = conn.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, sent_at = ?, "
            "updated_at = ?, lease_owner = ?, lease_until = ?, "
            "sent_mark = coalesce(sent_mark, ?) "
            "WHERE id = ? AND state = ? AND attempts = ?",
            (
                stamp,
                stamp,
                owner,
                dialect.lease_time(conn, ahead=timedelta(seconds=LEASE_SECONDS)),
                json.dumps(mark, sort_keys=True) if mark else None,
                outbox_id,
                row["state"],
                row["attempts"],
            ),
        ).rowcount
        if not claimed:  # pragma: no cover - the write lock makes this impossible
            return "busy"
    previous = row["sent_at"] or (row["updated_at"] if row["state"] == "sending" else None)
    return Claim(row, owner, previous, _mark(row["sent_mark"]))


def _mark(text: str | None) -> dict[str, Any] | None:
    """A recorded `sent_mark`, or None (none recorded, or unreadable: looked for as before)."""
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def settle(
    cache: Cache,
    outbox_id: int,
    state: str,
    *,
    owner: str,
    message: str | None,
    remote_ref: str | None = None,
) -> bool:
    """Give a claimed item its outcome (only while `owner` still holds it)."""
    with cache.transaction() as conn:
        changed = conn.execute(
            "UPDATE outbox SET state = ?, last_error = ?, remote_ref = coalesce(?, remote_ref), "
            "updated_at = ?, lease_owner = NULL, lease_until = NULL "
            "WHERE id = ? AND state = 'sending' AND lease_owner = ?",
            (state, message, remote_ref, now_iso(), outbox_id, owner),
        ).rowcount
    return bool(changed)


def _item(row: Row) -> OutboxItem:
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


def cancel_open(conn: Connection, outbox_ids: list[int]) -> list[int]:
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
