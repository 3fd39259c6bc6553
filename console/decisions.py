"""Moderator decisions: each one (or each batch) is one transaction with its audit entries and
outbox items, and each can be undone by a later, itself audited, transaction.

A decision kind is registered with `register(Kind(...))`. Its `apply` changes local state and
returns a `Change` (what it was before, what it is now, what to tell the platform). `revert` takes
the recorded change back, refusing with InvalidDecision if the item has changed since. Other
modules (duplicates, verification) register their own kinds the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from console import audit, outbox, registrations
from console.claims import check_free, lock_threads
from console.clock import now_iso
from console.db import Cache
from console.errors import InvalidDecision, NotFound, NothingToUndo
from console.identity import Identity
from console.models import DecisionResult
from console.platforms import push_state
from console.roles import require
from console.storage import Connection, Row, dialect_of
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
    # the outbox item goes to this source instead of the thread's (e.g. a ticket system)
    outbox_source_id: int | None = None


@dataclass(frozen=True)
class Kind:
    action: str
    role_action: str  # the key in roles.ACTION_ROLES
    apply: Callable[[Connection, int, dict[str, Any]], Change]
    revert: Callable[[Connection, dict[str, Any]], Change]
    thread_of: Callable[[Connection, int], int]
    # False for decisions that only add something of their own (an internal note): a later
    # decision on the same item does not stop their undo, and they do not stop others' undo.
    changes_item: bool = True
    # other threads the decision reads and must not change under it (a duplicate's original),
    # from its parameters: locked with its own thread, in id order
    other_threads: Callable[[dict[str, Any]], Sequence[int]] | None = None
    # the kind's own refusal of its parameters for who decides (InvalidDecision), in the
    # decision's transaction before any item changes: an escalation's assignee must be someone
    # who can take escalations (console.escalate.people)
    check: Callable[[Connection, Identity, dict[str, Any]], None] | None = None


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.action] = kind
    return kind


def kind_for(action: str) -> Kind | None:
    """The registered kind of `action`; the modules that register kinds are imported first if
    it is not known yet (console.registrations: they are not imported at start)."""
    found = KINDS.get(action)
    if found is None:
        registrations.load_all()
        found = KINDS.get(action)
    return found


@dataclass
class Acting:
    """Where decisions come from (recorded on their batch) and which batches were made there."""

    origin: str
    batch_ids: list[int] = field(default_factory=list)


DEFAULT_ORIGIN = "command line"
_ACTING: ContextVar[Acting | None] = ContextVar("peerdesk_acting", default=None)


@contextmanager
def acting_from(origin: str) -> Iterator[Acting]:
    """Decisions made inside (in this thread) record `origin` ("console: Queue", ...) on their
    batch; the yielded Acting lists the batches they made, so a screen knows its own last one."""
    acting = Acting(origin)
    token = _ACTING.set(acting)
    try:
        yield acting
    finally:
        _ACTING.reset(token)


@dataclass(frozen=True)
class Replay:
    """A decision made elsewhere (a laptop's, offline), decided again here by `team push`: its
    outbox item keeps the idempotency key it was queued with there (so it is never sent twice)
    and its audit entry carries `detail` (where it came from)."""

    idempotency_key: str
    detail: dict[str, Any]


_REPLAY: ContextVar[Replay | None] = ContextVar("peerdesk_replay", default=None)


@contextmanager
def replaying(replay: Replay) -> Iterator[None]:
    """Decisions made inside (in this thread, one item each) are `replay`."""
    token = _REPLAY.set(replay)
    try:
        yield
    finally:
        _REPLAY.reset(token)


def _origin() -> str:
    acting = _ACTING.get()
    return acting.origin if acting else DEFAULT_ORIGIN


def _made(batch_id: int) -> None:
    acting = _ACTING.get()
    if acting is not None:
        acting.batch_ids.append(batch_id)


def thread_itself(conn: Connection, thread_id: int) -> int:
    if not conn.execute("SELECT 1 FROM threads WHERE id = ?", (thread_id,)).fetchone():
        raise NotFound(f"There is no thread {thread_id} {dialect_of(conn).where}")
    return thread_id


def thread_of_post(conn: Connection, post_id: int) -> int:
    row = conn.execute("SELECT thread_id FROM posts WHERE id = ?", (post_id,)).fetchone()
    if row is None:
        raise NotFound(f"There is no post {post_id} {dialect_of(conn).where}")
    return int(row[0])


def _source_kind(conn: Connection, thread_id: int) -> tuple[int, str]:
    row = conn.execute(
        "SELECT s.id, s.kind FROM threads t JOIN sources s ON s.id = t.source_id WHERE t.id = ?",
        (thread_id,),
    ).fetchone()
    return int(row[0]), str(row[1])


@dataclass(frozen=True)
class _Entry:
    """What one change of a decision writes: its audit entry and its outbox item (made ready,
    everything it needs read), written by `_record` when every change of the decision is made."""

    change: Change
    action: str
    detail: dict[str, Any]
    item: outbox.NewItem | None


def _prepare(
    conn: Connection,
    change: Change,
    *,
    action: str,
    batch_id: int,
    extra: dict[str, Any] | None = None,
) -> _Entry:
    """The audit entry and outbox item of one change, read but not written."""
    detail = {"before": change.before, "after": change.after, "thread_id": change.thread_id}
    if change.outbox_payload:
        detail["payload"] = change.outbox_payload
    if extra:
        detail.update(extra)
    replay = _REPLAY.get()
    if replay is not None:
        detail.update(replay.detail)
    if change.outbox_action is None:
        return _Entry(change, action, detail, None)
    if change.outbox_source_id is not None:
        source_id = change.outbox_source_id
        row = conn.execute("SELECT kind FROM sources WHERE id = ?", (source_id,)).fetchone()
        kind = str(row[0])
    else:
        source_id, kind = _source_kind(conn, change.thread_id)
    state, reason = push_state(kind, change.outbox_action)
    item = outbox.prepare(
        conn,
        source_id=source_id,
        action=change.outbox_action,
        target_kind=change.target_kind,
        target_id=change.target_id,
        payload=change.outbox_payload,
        batch_id=batch_id,
        state=state,
        reason=reason,
        idempotency_key=replay.idempotency_key if replay is not None else None,
    )
    return _Entry(change, action, detail, item)


def _record(conn: Connection, entries: list[_Entry], *, who: Identity, batch_id: int) -> list[int]:
    """Write the decision's audit entries and outbox items, as its last statements; the ids of
    the outbox items. On the team database an entry's append takes the audit chain's lock until
    the commit (every moderator's decisions take turns on it): with the entries last, and each
    written with its item in one statement, it is held for those statements and the commit."""
    server = dialect_of(conn).server_audit
    outbox_ids = []
    for entry in entries:
        change = entry.change
        if server and entry.item is not None:
            append = audit.server_append(
                entry.action,
                change.target_kind,
                change.target_id,
                entry.detail,
                batch_id,
                who.audit_os_user,
            )
            outbox_ids.append(outbox.insert_audited(conn, entry.item, *append)[1])
            continue
        audit_id = audit.append(
            conn,
            actor=who.name,
            action=entry.action,
            target_kind=change.target_kind,
            target_id=change.target_id,
            detail=entry.detail,
            batch_id=batch_id,
            os_user=who.audit_os_user,
        )
        if entry.item is not None:
            outbox_ids.append(outbox.insert(conn, entry.item, audit_id))
    return outbox_ids


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
    kind = kind_for(action)
    if kind is None:
        raise InvalidDecision(f"Unknown decision {action!r}")
    require(who, kind.role_action)
    actor = who.name
    targets = list(dict.fromkeys(target_ids))
    if not targets:
        raise InvalidDecision("Nothing is selected")
    # who decides is `who`'s, never the caller's: its name, and the OS account it runs under
    # (verification's four-eyes compares it)
    given = {k: v for k, v in (params or {}).items() if k not in ("actor", "os_user")}
    params = {**given, "actor": actor, "os_user": who.os_user}
    recorded = {"params": given} if given else None  # what `team push` decides again with
    with cache.transaction() as conn:
        batch_id = _new_batch(conn, actor, action, len(targets))
        # every thread of the batch locked first (on the team database), in id order: two
        # batches over the same threads in another order take turns, never deadlock
        thread_of = {target: kind.thread_of(conn, target) for target in targets}
        others = kind.other_threads(params) if kind.other_threads else ()
        lock_threads(conn, set(thread_of.values()) - {0}, others)  # 0: no thread (member links)
        if kind.check is not None:
            kind.check(conn, who, params)
        entries = []
        for target in targets:
            thread_id = thread_of[target]
            if kind.changes_item:  # an internal note is welcome on a thread someone else holds
                check_free(cache, thread_id, actor)
            change = kind.apply(conn, target, params)
            entries.append(_prepare(conn, change, action=action, batch_id=batch_id, extra=recorded))
        outbox_ids = _record(conn, entries, who=who, batch_id=batch_id)
    _made(batch_id)
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
    conn: Connection, actor: str, action: str, count: int, undoes: int | None = None
) -> int:
    dialect = dialect_of(conn)  # on the team database the server's clock, as its audit's
    cursor = conn.execute(
        "INSERT INTO batches (actor, action, created_at, item_count, undoes, origin) "
        f"VALUES (:actor, :action, {dialect.clock}, :count, :undoes, :origin) RETURNING id",
        {
            "actor": actor,
            "action": action,
            "count": count,
            "undoes": undoes,
            "origin": _origin(),
            **dialect.clock_parameters(),
        },
    )
    return int(cursor.fetchone()[0])


@dataclass(frozen=True)
class LaterChange:
    """A decision on the same item made after the one undo would take back."""

    actor: str
    action: str
    at: str
    target_kind: str
    target_id: int

    def describe(self) -> str:
        verb = self.action.replace("_", " ")
        return f"{self.actor} did {verb} on {self.target_kind} {self.target_id} at {self.at}"


@dataclass(frozen=True)
class UndoPreview:
    """What `undo` would take back, shown before it is done (and the reason it cannot be)."""

    batch_id: int
    action: str
    actor: str
    created_at: str
    origin: str  # where it was decided ("console: Queue", "command line", "" if not recorded)
    items: tuple[tuple[str, int], ...]  # (target kind, target id)
    pushed: int  # how many of its outbox items already went (or may have gone) to the platform
    later: tuple[LaterChange, ...] = ()

    @property
    def blocked(self) -> bool:
        return bool(self.later)

    def describe(self) -> str:
        """One line: kind, items, when, where, and what reached the platform."""
        kinds = {kind for kind, _ in self.items}
        noun = kinds.pop() if len(kinds) == 1 else "item"
        ids = ", ".join(f"#{target}" for _, target in self.items[:5])
        if len(self.items) > 5:
            ids += f" and {len(self.items) - 5} more"
        count = f"{len(self.items)} {noun}{'' if len(self.items) == 1 else 's'}"
        where = f" in {self.origin}" if self.origin else ""
        text = f"{self.action.replace('_', ' ')} of {count} ({ids}) at {self.created_at}{where}"
        if self.pushed:
            text += f"; {self.pushed} already sent to the platform (undo queues the reverse)"
        return text

    def why_ask(self, own_batch: int | None) -> str | None:
        """Why undo must be confirmed before it is done, or None when this is `own_batch` (the
        decision just made in the same screen or command) and none of it reached the platform."""
        if self.batch_id != own_batch:
            where = self.origin or "an unrecorded place"
            return f"It was not decided just now here (it was decided in {where})."
        if self.pushed:
            return "It was already sent to the platform: undo queues the reverse action."
        return None

    def refusal(self) -> str:
        """Why undo is refused: who changed which item after it, and when."""
        named = "; ".join(change.describe() for change in self.later[:3])
        if len(self.later) > 3:
            named += f"; and {len(self.later) - 3} more"
        return (
            f"Not undone: after your {self.action.replace('_', ' ')} at {self.created_at}, "
            f"{named}. Undo would overwrite that"
        )


def _newest_batch(conn: Connection, actor: str, *, lock: bool = False) -> Row:
    select = (
        "SELECT id, action, actor, created_at, origin FROM batches WHERE actor = ? "
        "AND undone_by IS NULL AND undoes IS NULL ORDER BY id DESC LIMIT 1"
    )
    # undo locks the batch on the team database: two undos of it take turns
    batch = conn.execute(dialect_of(conn).lock(select) if lock else select, (actor,)).fetchone()
    if batch is None:
        raise NothingToUndo(f"{actor} has no decision left to undo")
    return cast(Row, batch)


def _undo_base(action: str) -> str:
    return action.removeprefix("undo_")


def _later_changes(conn: Connection, batch_id: int) -> list[LaterChange]:
    """Decisions by anyone on the batch's items after it, that still stand.

    Not counted: decisions that were themselves undone, the undo entries that took them back
    (both later than this batch, so they cancel out), and kinds that change nothing of the item
    (an internal note). Every kind registered here counts, the duplicate decisions included.
    """
    rows = conn.execute(
        "SELECT later.actor, later.action, later.ts, later.target_kind, later.target_id "
        "FROM audit mine JOIN audit later ON later.target_kind = mine.target_kind "
        "AND later.target_id = mine.target_id AND later.id > mine.id "
        "LEFT JOIN batches lb ON lb.id = later.batch_id "
        "WHERE mine.batch_id = ? AND (later.batch_id IS NULL OR later.batch_id != ?) "
        "AND (lb.id IS NULL OR (lb.undone_by IS NULL AND (lb.undoes IS NULL OR lb.undoes < ?))) "
        "ORDER BY later.id",
        (batch_id, batch_id, batch_id),
    ).fetchall()
    found: list[LaterChange] = []
    for row in rows:
        kind = kind_for(_undo_base(str(row[1])))
        if kind is not None and not kind.changes_item:
            continue
        change = LaterChange(str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]))
        if change not in found:
            found.append(change)
    return found


def _preview(conn: Connection, actor: str, *, lock: bool = False) -> UndoPreview:
    batch = _newest_batch(conn, actor, lock=lock)
    batch_id, action = int(batch["id"]), str(batch["action"])
    items = tuple(
        (str(r[0]), int(r[1]))
        for r in conn.execute(
            "SELECT target_kind, target_id FROM audit WHERE batch_id = ? ORDER BY id", (batch_id,)
        )
    )
    pushed = conn.execute(
        "SELECT count(*) FROM outbox WHERE batch_id = ? AND state NOT IN ('local_only', "
        "'cancelled') AND NOT (state = 'pending' AND attempts = 0)",
        (batch_id,),
    ).fetchone()[0]
    kind = kind_for(action)
    later = _later_changes(conn, batch_id) if kind is None or kind.changes_item else []
    return UndoPreview(
        batch_id,
        action,
        str(batch["actor"]),
        str(batch["created_at"]),
        str(batch["origin"] or ""),
        items,
        int(pushed),
        tuple(later),
    )


def undo_preview(cache: Cache, *, actor: str) -> UndoPreview:
    """What `undo_last` would take back for `actor` now, and whether someone's later decision
    on the same items stops it. Raises NothingToUndo when there is nothing."""
    return _preview(cache.conn, actor)


def undo_last(
    cache: Cache,
    *,
    who: Identity,
    expect_batch: int | None = None,
) -> DecisionResult:
    """Take back `actor`'s newest decision or batch that is not already undone.

    Refused (InvalidDecision, nothing written) when anyone decided on one of its items after it:
    the message names who, what and when. `expect_batch` is the batch a preview showed: if the
    newest batch is another one by now, nothing is undone. Outbox items of the original that
    were never sent are cancelled; for those already sent (or being sent) the reverse action is
    queued, so the platform ends where it started.
    """
    require(who, "undo")
    actor = who.name
    with cache.transaction() as conn:
        preview = _preview(conn, actor, lock=True)
        if expect_batch is not None and preview.batch_id != expect_batch:
            raise InvalidDecision(
                "Not undone: your newest decision is no longer the one shown "
                f"(it is now {preview.describe()}); look again and undo that if you mean it"
            )
        if preview.blocked:
            raise InvalidDecision(preview.refusal())
        batch_id, action = preview.batch_id, preview.action
        kind = kind_for(action)
        if kind is None:
            raise InvalidDecision(f"Not undone: no decision kind {action!r} is known")
        entries = conn.execute(
            "SELECT a.id, a.target_kind, a.target_id, a.detail, o.id AS outbox_id "
            "FROM audit a LEFT JOIN outbox o ON o.audit_id = a.id "
            "WHERE a.batch_id = ? ORDER BY a.id DESC",
            (batch_id,),
        ).fetchall()
        undo_batch = _new_batch(conn, actor, f"undo_{action}", len(entries), undoes=batch_id)
        conn.execute("UPDATE batches SET undone_by = ? WHERE id = ?", (undo_batch, batch_id))
        details = [json.loads(entry["detail"]) for entry in entries]
        # its threads locked first, in id order, as decide locks them
        lock_threads(conn, {int(d["thread_id"]) for d in details if d.get("thread_id")})
        written = []
        for entry, detail in zip(entries, details, strict=True):
            recorded = {
                **detail,
                "target_kind": entry["target_kind"],
                "target_id": entry["target_id"],
            }
            if kind.changes_item:
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
            written.append(
                _prepare(
                    conn,
                    change,
                    action=f"undo_{action}",
                    batch_id=undo_batch,
                    extra={"undoes_audit": entry["id"], "cancelled_outbox": cancelled},
                )
            )
        outbox_ids = _record(conn, written, who=who, batch_id=undo_batch)
    _made(undo_batch)
    return DecisionResult(
        undo_batch,
        f"undo_{action}",
        len(entries),
        outbox_ids,
        f"undid {action.replace('_', ' ')} of {_count(len(entries))}",
    )


# ---- the first decision kinds: close / reopen a thread, hide a post, internal note ----


def _thread_status(conn: Connection, thread_id: int) -> Row:
    row: Row | None = conn.execute(
        "SELECT status, reply_count, flag_count, report_count FROM threads WHERE id = ?",
        (thread_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no thread {thread_id} {dialect_of(conn).where}")
    return row


def _set_status(conn: Connection, thread_id: int, status: str) -> None:
    row = _thread_status(conn, thread_id)
    conn.execute(
        "UPDATE threads SET status = ?, in_queue = ? WHERE id = ?",
        (status, int(in_queue(status, row["flag_count"], row["report_count"])), thread_id),
    )


def _apply_close(conn: Connection, thread_id: int, params: dict[str, Any]) -> Change:
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


def _apply_reopen(conn: Connection, thread_id: int, params: dict[str, Any]) -> Change:
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


def _revert_status(conn: Connection, recorded: dict[str, Any]) -> Change:
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


def _post_state(conn: Connection, post_id: int) -> Row:
    row: Row | None = conn.execute(
        "SELECT thread_id, hidden, hidden_reason FROM posts WHERE id = ?", (post_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no post {post_id} {dialect_of(conn).where}")
    return row


def _apply_hide(conn: Connection, post_id: int, params: dict[str, Any]) -> Change:
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


def _revert_hide(conn: Connection, recorded: dict[str, Any]) -> Change:
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


def _apply_note(conn: Connection, thread_id: int, params: dict[str, Any]) -> Change:
    body = str(params.get("body") or "").strip()
    if not body:
        raise InvalidDecision("An internal note needs some text")
    _thread_status(conn, thread_id)
    cursor = conn.execute(
        "INSERT INTO notes (thread_id, author, body, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        (thread_id, params.get("actor", ""), body, now_iso()),
    )
    note_id = int(cursor.fetchone()[0])
    return Change(
        "thread",
        thread_id,
        thread_id,
        {"note_id": None},
        {"note_id": note_id},
        "note",
        {"thread_id": thread_id, "note_id": note_id, "body": body},
    )


def _revert_note(conn: Connection, recorded: dict[str, Any]) -> Change:
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
register(Kind("note", "note", _apply_note, _revert_note, thread_itself, changes_item=False))
