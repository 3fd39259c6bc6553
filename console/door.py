"""One way in: every change or export of the cache passes one role check and leaves one audit entry.

The Desk owns a Door (`desk.door`); the CLI and the screens only ever call the Desk. A feature
adds a role-checked action in three lines:

    from console.roles import register_action
    ESCALATE = register_action("escalate", Role.MODERATOR, Role.ADMIN)

    # a change that fits in one transaction: role check, the change, its audit entry, together
    ticket = desk.door.act(ESCALATE, lambda conn: _escalate(conn, thread_id),
                           target_kind="thread", target_id=thread_id,
                           detail=lambda ticket: {"ticket": ticket.ref})

    # a long operation with transactions of its own (sync, import, export, rebuild):
    with desk.door.operation("export", target_kind="source", detail={"source": name}) as record:
        record["records"] = write_everything()      # the entry is written after, with "outcome"

Moderator decisions (close, hide, note, duplicates, verification...) are `console.decisions`
kinds: `desk.door.decide(action, ids, **params)`; `decisions.decide` checks the kind's role once
and writes one audit entry (and outbox item) per item in the decision's own transaction.

Every audit entry names `who.name` and, when that is an override, the OS account (`os_user`).
A refused action raises PermissionRefused before anything is read or written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from console import audit, decisions
from console.db import Cache
from console.identity import Identity
from console.models import DecisionResult
from console.roles import allowed, require
from console.storage import Connection

R = TypeVar("R")
Detail = dict[str, Any]


class Door:
    """The single entrance to changes and exports for one identity on one cache."""

    def __init__(self, cache: Cache, who: Identity) -> None:
        self.cache = cache
        self.who = who

    def can(self, action: str) -> bool:
        """Whether `who` may do `action` (for hiding keys; `act` checks again by itself)."""
        return allowed(self.who, action)

    def check(self, action: str) -> None:
        require(self.who, action)

    def record(
        self,
        conn: Connection,
        action: str,
        *,
        target_kind: str,
        target_id: int | None = None,
        detail: Detail | None = None,
    ) -> int:
        """Write the audit entry of `action` inside the caller's transaction; returns its id."""
        return audit.append(
            conn,
            actor=self.who.name,
            action=action,
            target_kind=target_kind,
            target_id=target_id,
            detail=detail or {},
            os_user=self.who.audit_os_user,
        )

    def act(
        self,
        action: str,
        change: Callable[[Connection], R],
        *,
        target_kind: str,
        target_id: int | Callable[[R], int | None] | None = None,
        detail: Callable[[R], Detail | None] | Detail | None = None,
    ) -> R:
        """Check the role, run `change(conn)` and write its audit entry, in ONE transaction.

        `detail` (a dict, or a function of the result) goes into the entry; a function that
        returns None means nothing changed, and no entry is written. `target_id` may also be a
        function of the result (a row the change creates).
        """
        require(self.who, action)
        with self.cache.transaction() as conn:
            result = change(conn)
            entry = detail(result) if callable(detail) else (detail or {})
            if entry is not None:
                target = target_id(result) if callable(target_id) else target_id
                self.record(conn, action, target_kind=target_kind, target_id=target, detail=entry)
        return result

    @contextmanager
    def operation(
        self,
        action: str,
        *,
        target_kind: str = "cache",
        target_id: int | None = None,
        detail: Detail | None = None,
        cache: Cache | None = None,
    ) -> Iterator[Detail]:
        """Check the role, run the body, then write ONE audit entry with what the body recorded.

        For work that commits in many transactions of its own. The yielded dict is the entry's
        detail; "outcome" is "done", or "failed: ..." when the body raised (which is re-raised).
        """
        require(self.who, action)
        record: Detail = dict(detail or {})
        try:
            yield record
        except BaseException as error:
            record["outcome"] = f"failed: {error}" if str(error) else type(error).__name__
            self._write_after(cache or self.cache, action, target_kind, target_id, record)
            raise
        record.setdefault("outcome", "done")
        self._write_after(cache or self.cache, action, target_kind, target_id, record)

    def _write_after(
        self, cache: Cache, action: str, target_kind: str, target_id: int | None, record: Detail
    ) -> None:
        with cache.transaction() as conn:
            self.record(conn, action, target_kind=target_kind, target_id=target_id, detail=record)

    # ---- moderator decisions (console.decisions kinds) ----
    def decide(self, action: str, target_ids: list[int], **params: object) -> DecisionResult:
        return decisions.decide(
            self.cache, who=self.who, action=action, target_ids=target_ids, params=dict(params)
        )

    def undo(self, *, expect_batch: int | None = None) -> DecisionResult:
        return decisions.undo_last(self.cache, who=self.who, expect_batch=expect_batch)
