"""Moderator decisions: each one (or each batch) is one transaction with its audit entries and
outbox items, and each can be undone by a later, itself audited, transaction.

A decision kind is registered with `register(Kind(...))`. Its `apply` changes local state and
returns a `Change` (what it was before, what it is now, what to tell the platform). `revert` takes
the recorded change back, refusing with InvalidDecision if the item has changed since. Other
modules (duplicates, verification) register their own kinds the same way.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from console import audit, outbox
from console.claims import check_free
from console.clock import now_iso
from console.db import Cache
from console.errors import InvalidDecision, NotFound, NothingToUndo
from console.identity import Identity
from console.models import DecisionResult
from console.platforms import push_state
from console.roles import require
from console.urgency import in_queue


@dataclass(frozen=True)
class Change:
    """What one decision did to one item."""

    target_kind: str  # "thread" | "post" | ...
    target_id: int
    thread_id: int  # the thread the item belongs to (for claims and the source)
    before: dict[str, Any]
    after: dict[str, Any]
    outbox_action: str | None = None
    outbox_payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    action: str
    role_action: str  # the key in roles.ACTION_ROLES
    apply: Callable[[sqlite3.Connection, int, dict[str, Any]], Change]
    revert: Callable[[sqlite3.Connection, dict[str, Any]], Change]
    thread_of: Callable[[sqlite3.Connection, int], int]


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.action] = kind
    return kind


def thread_itself(conn: sqlite3.Connection, thread_id: int) -> int:
    if not conn.execute("SELECT 1 FROM threads WHERE id = ?", (thread_id,)).fetchone():
        raise NotFound(f"There is no thread {thread_id} in the cache")
    return thread_id


def thread_of_post(conn: sqlite3.Connection, post_id: int) -> int:
    row = conn.execute("SELECT thread_id FROM posts WHERE id = ?", (post_id,)).fetchone()
    if row is None:
        raise NotFound(f"There is no post {post_id} in the cache")
    return int(row[0])


def _source_kind(conn: sqlite3.Connection, thread_id: int) -> tuple[int, str]:
    row = conn.execute(
        "SELECT s.id, s.kind FROM threads t JOIN sources s ON s.id = t.source_id WHERE t.id = ?",
        (thread_id,),
    ).fetchone()
    return int(row[0]), str(row[1])


def _write(
    conn: sqlite3.Connection,
    change: Change,
    *,
    who: Identity,
    action: str,
    batch_id: int,
    extra: dict[str, Any] | None = None,
) -> int | None:
    """Audit entry and outbox item for one change; returns the outbox id."""
    detail = {"before": change.before, "after": change.after, "thread_id": change.thread_id}
    if change.outbox_payload:
        detail["payload"] = change.outbox_payload
    if extra:
        detail.update(extra)
    audit_id = audit.append(
        conn,
        actor=who.name,
        action=action,
        target_kind=change.target_kind,
        target_id=change.target_id,
        detail=detail,
        batch_id=batch_id,
        os_user=who.audit_os_user,
    )
    if change.outbox_action is None:
        return None
    source_id, kind = _source_kind(conn, change.thread_id)
    state, reason = push_state(kind, change.outbox_action)
    return outbox.enqueue(
        conn,
        source_id=source_id,
        action=change.outbox_action,
        target_kind=change.target_kind,
        target_id=change.target_id,
        payload=change.outbox_payload,
        batch_id=batch_id,
        audit_id=audit_id,
        state=state,
        reason=reason,
    )


def decide(
    cache: Cache,
    *,
    who: Identity,
    action: str,
    target_ids: Sequence[int],
    params: dict[str, Any] | None = None,
) -> DecisionResult:
    """Apply `action` to every target as one batch: all or nothing.

    `who` comes from `console.identity.establish`; its roles are checked here, once.
    """
    kind = KINDS.get(action)
    if kind is None:
        raise InvalidDecision(f"Unknown decision {action!r}")
    require(who, kind.role_action)
    actor = who.name
    targets = list(dict.fromkeys(target_ids))
    if not targets:
        raise InvalidDecision("Nothing is selected")
    params = {**(params or {}), "actor": actor}
    with cache.transaction() as conn:
        batch_id = _new_batch(conn, actor, action, len(targets))
        outbox_ids = []
        for target in targets:
            check_free(cache, kind.thread_of(conn, target), actor)
            change = kind.apply(conn, target, params)
            outbox_id = _write(conn, change, who=who, action=action, batch_id=batch_id)
            if outbox_id:
                outbox_ids.append(outbox_id)
    return DecisionResult(
        batch_id,
        action,
        len(targets),
        outbox_ids,
        f"{action.replace('_', ' ')}: {_count(len(targets))}",
    )


def _count(number: int) -> str:
    return f"{number} item" if number == 1 else f"{number} items"


def _new_batch(
    conn: sqlite3.Connection, actor: str, action: str, count: int, undoes: int | None = None
) -> int:
    cursor = conn.execute(
        "INSERT INTO batches (actor, action, created_at, item_count, undoes) "
        "VALUES (?, ?, ?, ?, ?)",
        (actor, action, now_iso(), count, undoes),
    )
    return int(cursor.lastrowid or 0)


def undo_last(cache: Cache, *, who: Identity) -> DecisionResult:
    """Take back `actor`'s newest decision or batch that is not already undone.

    Outbox items of the original that were never sent are cancelled; for those already sent (or
    being sent) the reverse action is queued, so the platform ends where it started.
    """
    require(who, "undo")
    actor = who.name
    with cache.transaction() as conn:
        batch = conn.execute(
            "SELECT id, action FROM batches WHERE actor = ? AND undone_by IS NULL "
            "AND undoes IS NULL ORDER BY id DESC LIMIT 1",
            (actor,),
        ).fetchone()
        if batch is None:
            raise NothingToUndo(f"{actor} has no decision left to undo")
        batch_id, action = int(batch[0]), str(batch[1])
        kind = KINDS[action]
        entries = conn.execute(
            "SELECT a.id, a.target_kind, a.target_id, a.detail, o.id AS outbox_id "
            "FROM audit a LEFT JOIN outbox o ON o.audit_id = a.id "
            "WHERE a.batch_id = ? ORDER BY a.id DESC",
            (batch_id,),
        ).fetchall()
        undo_batch = _new_batch(conn, actor, f"undo_{action}", len(entries), undoes=batch_id)
        outbox_ids = []
        for entry in entries:
            detail = json.loads(entry["detail"])
            recorded = {
                **detail,
                "target_kind": entry["target_kind"],
                "target_id": entry["target_id"],
            }
            check_free(cache, int(detail["thread_id"]), actor)
            change = kind.revert(conn, recorded)
            cancelled = outbox.cancel_open(conn, [entry["outbox_id"]]) if entry["outbox_id"] else []
            if cancelled:
                change = Change(
                    change.target_kind,
                    change.target_id,
                    change.thread_id,
                    change.before,
                    change.after,
                )
            outbox_id = _write(
                conn,
                change,
                who=who,
                action=f"undo_{action}",
                batch_id=undo_batch,
                extra={"undoes_audit": entry["id"], "cancelled_outbox": cancelled},
            )
            if outbox_id:
                outbox_ids.append(outbox_id)
        conn.execute("UPDATE batches SET undone_by = ? WHERE id = ?", (undo_batch, batch_id))
    return DecisionResult(
        undo_batch,
        f"undo_{action}",
        len(entries),
        outbox_ids,
        f"undid {action.replace('_', ' ')} of {_count(len(entries))}",
    )


# ---- the first decision kinds: close / reopen a thread, hide a post, internal note ----


def _thread_status(conn: sqlite3.Connection, thread_id: int) -> sqlite3.Row:
    row = conn.execute(
        "SELECT status, reply_count, flag_count, report_count FROM threads WHERE id = ?",
        (thread_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no thread {thread_id} in the cache")
    return row


def _set_status(conn: sqlite3.Connection, thread_id: int, status: str) -> None:
    row = _thread_status(conn, thread_id)
    conn.execute(
        "UPDATE threads SET status = ?, in_queue = ? WHERE id = ?",
        (status, int(in_queue(status, row["flag_count"], row["report_count"])), thread_id),
    )


def _apply_close(conn: sqlite3.Connection, thread_id: int, params: dict[str, Any]) -> Change:
    before = _thread_status(conn, thread_id)["status"]
    if before in ("closed", "duplicate"):
        raise InvalidDecision(f"Thread {thread_id} is already {before}")
    _set_status(conn, thread_id, "closed")
    payload = {"thread_id": thread_id}
    if params.get("reason"):
        payload["reason"] = params["reason"]
    return Change(
        "thread", thread_id, thread_id, {"status": before}, {"status": "closed"}, "close", payload
    )


def _apply_reopen(conn: sqlite3.Connection, thread_id: int, params: dict[str, Any]) -> Change:
    row = _thread_status(conn, thread_id)
    if row["status"] != "closed":
        raise InvalidDecision(f"Thread {thread_id} is {row['status']}, not closed")
    status = "answered" if row["reply_count"] > 0 else "open"
    _set_status(conn, thread_id, status)
    return Change(
        "thread",
        thread_id,
        thread_id,
        {"status": "closed"},
        {"status": status},
        "reopen",
        {"thread_id": thread_id},
    )


def _revert_status(conn: sqlite3.Connection, recorded: dict[str, Any]) -> Change:
    thread_id = int(recorded["target_id"])
    current = _thread_status(conn, thread_id)["status"]
    if current != recorded["after"]["status"]:
        raise InvalidDecision(
            f"Thread {thread_id} changed since (it is now {current}); undo would overwrite that"
        )
    target = recorded["before"]["status"]
    _set_status(conn, thread_id, target)
    action = "close" if target in ("closed",) else "reopen"
    return Change(
        "thread",
        thread_id,
        thread_id,
        {"status": current},
        {"status": target},
        action,
        {"thread_id": thread_id},
    )


def _post_state(conn: sqlite3.Connection, post_id: int) -> sqlite3.Row:
    row = conn.execute(
        "SELECT thread_id, hidden, hidden_reason FROM posts WHERE id = ?", (post_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no post {post_id} in the cache")
    return row


def _apply_hide(conn: sqlite3.Connection, post_id: int, params: dict[str, Any]) -> Change:
    row = _post_state(conn, post_id)
    if row["hidden"]:
        raise InvalidDecision(f"Post {post_id} is already hidden")
    reason = str(params.get("reason") or "spam")
    conn.execute("UPDATE posts SET hidden = 1, hidden_reason = ? WHERE id = ?", (reason, post_id))
    return Change(
        "post",
        post_id,
        row["thread_id"],
        {"hidden": False, "hidden_reason": None},
        {"hidden": True, "hidden_reason": reason},
        "hide_post",
        {"post_id": post_id, "reason": reason},
    )


def _revert_hide(conn: sqlite3.Connection, recorded: dict[str, Any]) -> Change:
    post_id = int(recorded["target_id"])
    row = _post_state(conn, post_id)
    if not row["hidden"]:
        raise InvalidDecision(f"Post {post_id} was shown again since; nothing to undo")
    conn.execute("UPDATE posts SET hidden = 0, hidden_reason = NULL WHERE id = ?", (post_id,))
    return Change(
        "post",
        post_id,
        row["thread_id"],
        recorded["after"],
        recorded["before"],
        "unhide_post",
        {"post_id": post_id},
    )


def _apply_note(conn: sqlite3.Connection, thread_id: int, params: dict[str, Any]) -> Change:
    body = str(params.get("body") or "").strip()
    if not body:
        raise InvalidDecision("An internal note needs some text")
    _thread_status(conn, thread_id)
    cursor = conn.execute(
        "INSERT INTO notes (thread_id, author, body, created_at) VALUES (?, ?, ?, ?)",
        (thread_id, params.get("actor", ""), body, now_iso()),
    )
    note_id = int(cursor.lastrowid or 0)
    return Change(
        "thread",
        thread_id,
        thread_id,
        {"note_id": None},
        {"note_id": note_id},
        "note",
        {"thread_id": thread_id, "note_id": note_id, "body": body},
    )


def _revert_note(conn: sqlite3.Connection, recorded: dict[str, Any]) -> Change:
    note_id = int(recorded["after"]["note_id"])
    conn.execute("UPDATE notes SET deleted = 1 WHERE id = ?", (note_id,))
    thread_id = int(recorded["target_id"])
    return Change(
        "thread",
        thread_id,
        thread_id,
        {"note_id": note_id},
        {"note_id": None},
        "unnote",
        {"thread_id": thread_id, "note_id": note_id},
    )


register(Kind("close", "close", _apply_close, _revert_status, thread_itself))
register(Kind("reopen", "reopen", _apply_reopen, _revert_status, thread_itself))
register(Kind("hide_post", "hide_post", _apply_hide, _revert_hide, thread_of_post))
register(Kind("note", "note", _apply_note, _revert_note, thread_itself))
