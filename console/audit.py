"""The audit log: every decision, hash-chained so an edited or deleted row is detected.

Each row's hash is SHA-256 over the previous row's hash and the row's own fields in a canonical
JSON form. The newest hash and the row count are kept in `meta` too, so cutting rows off the end
is detected as well. `verify` walks the chain and names every row that does not fit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from console import chain_head
from console.chain_head import Head as Head  # the type callers name as audit.Head / ledger.Head
from console.clock import now_iso
from console.db import Cache
from console.errors import PeerdeskError
from console.models import AuditProblem
from console.storage import Connection, dialect_of

GENESIS = "0" * 64


def _digest(prev_hash: str, row: dict[str, Any]) -> str:
    fields = {
        key: row[key]
        for key in ("id", "ts", "actor", "action", "target_kind", "target_id", "batch_id", "detail")
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    target_kind: str,
    target_id: int | None,
    detail: dict[str, Any],
    batch_id: int | None = None,
    os_user: str | None = None,
) -> int:
    """Append one entry inside the caller's transaction; returns its id.

    `os_user` (an Identity's `audit_os_user`) records the OS account of an overridden name.
    """
    if os_user is not None:
        detail = {**detail, "os_user": os_user}
    if dialect_of(conn).server_audit:
        return _append_on_server(conn, action, target_kind, target_id, detail, batch_id)
    head = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = head[1] if head else GENESIS
    row = {
        "id": (head[0] + 1) if head else 1,
        "ts": now_iso(),
        "actor": actor,
        "action": action,
        "target_kind": target_kind,
        "target_id": target_id,
        "batch_id": batch_id,
        "detail": json.dumps(detail, sort_keys=True, ensure_ascii=False),
    }
    digest = _digest(prev_hash, row)
    conn.execute(
        "INSERT INTO audit (id, ts, actor, action, target_kind, target_id, batch_id, detail, "
        "prev_hash, hash) VALUES (:id, :ts, :actor, :action, :target_kind, :target_id, "
        ":batch_id, :detail, :prev_hash, :hash)",
        {**row, "prev_hash": prev_hash, "hash": digest},
    )
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('audit_head', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (f"{row['id']}:{digest}",),
    )
    return int(str(row["id"]))


def server_append(
    action: str,
    target_kind: str,
    target_id: int | None,
    detail: dict[str, Any],
    batch_id: int | None,
    os_user: str | None = None,
) -> tuple[str, tuple[object, ...]]:
    """(SELECT, parameters) that appends an entry on the team database and gives its id, for
    a caller that makes it part of a larger statement (console.outbox.insert_audited)."""
    if os_user is not None:
        detail = {**detail, "os_user": os_user}
    text = json.dumps(detail, sort_keys=True, ensure_ascii=False)
    return "SELECT peerdesk_audit_append(?, ?, ?, ?, ?)", (
        action,
        target_kind,
        target_id,
        batch_id,
        text,
    )


def _append_on_server(
    conn: Connection,
    action: str,
    target_kind: str,
    target_id: int | None,
    detail: dict[str, Any],
    batch_id: int | None,
) -> int:
    """The team database appends the entry itself (console/team/grants.sql): numbered, stamped
    with the server's clock, the connected role as the actor, chained under a lock held until
    the caller's transaction ends (so append last); the transaction commits it with the decision
    or not at all."""
    sql, params = server_append(action, target_kind, target_id, detail, batch_id)
    row = conn.execute(sql, params).fetchone()
    return int(row[0])


def verify(cache: Cache) -> list[AuditProblem]:
    """Every problem in the chain; an empty list means the log is intact."""
    return check_chain(
        (dict(raw) for raw in cache.conn.execute("SELECT * FROM audit ORDER BY id")),
        cache.meta("audit_head"),
    )


def check_chain(
    rows: Iterable[dict[str, Any]],
    head: str | None,
    *,
    after: int = 0,
    after_hash: str = GENESIS,
) -> list[AuditProblem]:
    """Every problem in a chain of rows in id order, with the recorded head (`meta.audit_head`);
    the SQLite cache and the team database (console.team.audit) check with the same rules.
    Given `after` (an entry already checked) and its hash, `rows` are the entries after it."""
    problems: list[AuditProblem] = []
    prev_hash, expected_id = after_hash, after + 1
    for row in rows:
        gap = row["id"] != expected_id
        if gap:
            last_missing = row["id"] - 1
            span = (
                f"row {expected_id}"
                if last_missing == expected_id
                else (f"rows {expected_id}-{last_missing}")
            )
            problems.append(AuditProblem(expected_id, f"{span} deleted"))
        if _digest(row["prev_hash"], row) != row["hash"]:
            problems.append(AuditProblem(row["id"], "row edited: its hash does not match"))
        elif row["prev_hash"] != prev_hash and not gap:
            problems.append(
                AuditProblem(row["id"] - 1, "row rewritten: the next row no longer chains to it")
            )
        prev_hash, expected_id = row["hash"], row["id"] + 1
    last_id = expected_id - 1
    if head:
        head_id, _, head_hash = head.partition(":")
        if int(head_id) > last_id:
            span = (
                f"row {head_id}" if int(head_id) == last_id + 1 else f"rows {last_id + 1}-{head_id}"
            )
            problems.append(AuditProblem(last_id + 1, f"{span} deleted from the end"))
        elif int(head_id) == last_id and head_hash != prev_hash:
            problems.append(AuditProblem(last_id, "row rewritten: the newest hash changed"))
    elif last_id:
        problems.append(AuditProblem(0, "the record of the chain's head is missing"))
    return problems


def entries(cache: Cache, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    """The newest entries first, as plain dicts with `detail` decoded."""
    rows = cache.query(
        "SELECT id, ts, actor, action, target_kind, target_id, batch_id, detail FROM audit "
        "ORDER BY id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


HEAD_PATTERN = chain_head.pattern("audit-head")


def head(cache: Cache) -> Head:
    """The newest entry (entry 0 with the genesis hash for an empty log)."""
    return chain_head.newest(cache, "audit")


def parse_head(text: str) -> Head:
    """`ENTRY:HASH` as `peerdesk audit head` prints it."""
    return chain_head.parse(
        text,
        HEAD_PATTERN,
        PeerdeskError(
            f"{text.strip()[:80]!r} is not an audit head: give ENTRY:HASH as printed by "
            "`peerdesk audit head` (e.g. 1234:5f0c…, 64 hex digits)"
        ),
    )


def verify_since(cache: Cache, kept: Head) -> list[AuditProblem]:
    """`verify`, and that entry `kept.entry` still has the hash kept outside the cache.

    The hash of an entry depends on every entry before it, so an unchanged hash at the kept
    head proves nothing up to it was changed, even by someone who recomputed the chain; an
    intact chain after it shows the log only grew since.
    """
    problems = verify(cache)
    row = cache.one("SELECT hash FROM audit WHERE id = ?", (kept.entry,))
    return check_kept(problems, kept, None if row is None else str(row[0]))


def check_kept(
    problems: list[AuditProblem], kept: Head, hash_now: str | None
) -> list[AuditProblem]:
    """`problems`, plus what is wrong with the kept head given the hash its entry has now."""
    if kept.entry == 0:
        return problems
    if hash_now is None:
        problems.append(
            AuditProblem(
                kept.entry,
                f"the entry of the head you kept ({kept.entry}) is gone: the log was cut back "
                "or rewritten",
            )
        )
    elif hash_now != kept.hash:
        problems.append(
            AuditProblem(
                kept.entry,
                f"its hash is not the one you kept ({kept.hash[:12]}…): entries up to "
                f"{kept.entry} were rewritten and the hashes recomputed",
            )
        )
    return sorted(problems, key=lambda p: p.audit_id)
