"""A laptop's offline decisions, sent to the team database when it reconnects.

`peerdesk --db LAPTOP.sqlite3 team push --to postgresql://...` takes every decision of the
laptop's outbox that was not sent anywhere yet (pending, or local-only for the platform) and
replays it on the team database, each in ONE server transaction: the change on the team's copy
of the thread or post, an audit entry chained by the server (the actor is the login role), and
a team outbox item with the laptop's idempotency key, for the team's sender to push to the
platform. The laptop never pushes these to the platform itself: the item is marked as handed
over (`remote_ref` "team:<team outbox id>").

Threads, posts and sources are matched by the platform's ids (source name, remote id), never by
the laptop's row ids. What teammates did meanwhile is a CONFLICT, recorded and never
overwritten:

- someone else holds a live claim on the thread (a decision that changes the item; a note is
  welcome on a claimed thread, as on the laptop);
- the item is no longer as the laptop saw it (the decision's `before`, e.g. a thread closed or
  reopened by someone else);
- the thread has posts the laptop's copy had not seen (its outbox `base`), or the post was
  edited since;
- a decision kind this push cannot replay yet (only close/reopen/hide_post-like changes of a
  thread's or post's own columns, and notes, are replayed).

A conflict becomes a team outbox item in state `conflict` (with the reasons, beside a
`push_conflict` audit entry) so teammates see it in their Sync panel, and the laptop's item
becomes `conflict` with the same reasons. Retrying is safe: an item whose idempotency key is
already on the team database is not sent again, only marked on the laptop as the team recorded
it (a push killed between the server's commit and the laptop's mark resends nothing).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from console.clock import now_iso
from console.db import Cache
from console.door import Door
from console.models import Role
from console.roles import register_action
from console.team.connect import Connection, TeamStoreError, connect, explain
from console.team.location import redact

TEAM_PUSH = register_action("team_push", Role.MODERATOR, Role.ADMIN)
HANDED_OVER = "team:"
TABLES = {"thread": "threads", "post": "posts"}
REPLAYABLE_KEYS = {"threads": {"status"}, "posts": {"hidden", "hidden_reason"}}
"""The columns a replayed decision may set on the team's row: a moderator's own decisions."""

Progress = Callable[["Pushed"], None]
"""progress(pushed): called after each decision is settled on the team database (before the
laptop marks it)."""


@dataclass(frozen=True)
class LocalDecision:
    """One laptop outbox item and what the laptop knew when it was decided."""

    outbox_id: int
    idempotency_key: str
    action: str
    state: str  # pending | local_only
    target_kind: str
    source_name: str
    thread_remote: str | None
    post_remote: str | None
    payload: dict[str, Any]
    base: dict[str, Any] | None
    before: dict[str, Any]
    after: dict[str, Any]
    decided_at: str
    decided_by: str


@dataclass(frozen=True)
class Pushed:
    decision: LocalDecision
    team_outbox_id: int
    conflict: str | None  # the reasons, when it was recorded as a conflict
    again: bool = False  # the team database had it already (an earlier, interrupted push)


@dataclass
class PushReport:
    sent: list[Pushed] = field(default_factory=list)
    conflicts: list[Pushed] = field(default_factory=list)
    already: list[Pushed] = field(default_factory=list)


def local_decisions(cache: Cache) -> list[LocalDecision]:
    """The laptop's decisions that were sent nowhere yet, oldest first."""
    rows = cache.query(
        "SELECT o.id, o.idempotency_key, o.action, o.state, o.target_kind, o.target_id, "
        "o.payload, o.base, s.name AS source, a.detail, a.ts, a.actor, "
        "coalesce(t.remote_id, pt.remote_id) AS thread_remote, p.remote_id AS post_remote "
        "FROM outbox o JOIN sources s ON s.id = o.source_id "
        "LEFT JOIN audit a ON a.id = o.audit_id "
        "LEFT JOIN threads t ON o.target_kind = 'thread' AND t.id = o.target_id "
        "LEFT JOIN posts p ON o.target_kind = 'post' AND p.id = o.target_id "
        "LEFT JOIN threads pt ON pt.id = p.thread_id "
        "WHERE o.state IN ('pending', 'local_only') "
        "AND (o.remote_ref IS NULL OR o.remote_ref NOT LIKE 'team:%') ORDER BY o.id"
    )
    found = []
    for row in rows:
        detail = json.loads(row["detail"]) if row["detail"] else {}
        found.append(
            LocalDecision(
                outbox_id=int(row["id"]),
                idempotency_key=str(row["idempotency_key"]),
                action=str(row["action"]),
                state=str(row["state"]),
                target_kind=str(row["target_kind"]),
                source_name=str(row["source"]),
                thread_remote=row["thread_remote"],
                post_remote=row["post_remote"],
                payload=json.loads(row["payload"]),
                base=json.loads(row["base"]) if row["base"] else None,
                before=dict(detail.get("before") or {}),
                after=dict(detail.get("after") or {}),
                decided_at=str(row["ts"] or ""),
                decided_by=str(row["actor"] or ""),
            )
        )
    return found


# ---- on the team database -------------------------------------------------------------------


def _one(conn: Connection, query: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query.encode(), params).fetchone()


_NUMERIC: dict[tuple[str, str], frozenset[str]] = {}


def _numeric_columns(conn: Connection, table: str) -> frozenset[str]:
    """The table's integer columns (the cache's booleans are integers there), once per db."""
    key = (conn.info.host, conn.info.dbname + "/" + table)
    if key not in _NUMERIC:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "'peerdesk' AND table_name = %s AND data_type IN ('bigint', 'integer', 'smallint')",
            (table,),
        ).fetchall()
        _NUMERIC[key] = frozenset(str(r[0]) for r in rows)
    return _NUMERIC[key]


def _same(team: Any, laptop: Any) -> bool:
    if isinstance(laptop, bool) or isinstance(team, bool):
        return bool(team) == bool(laptop)
    return bool(team == laptop)


class _Replay:
    """One decision replayed on the team database, inside the caller's transaction."""

    def __init__(self, conn: Connection, decision: LocalDecision) -> None:
        self.conn = conn
        self.d = decision
        self.reasons: list[str] = []
        self.source_id: int | None = None
        self.thread_id: int | None = None
        self.target_id: int | None = None

    def locate(self) -> None:
        d = self.d
        source = _one(self.conn, "SELECT id FROM sources WHERE name = %s", (d.source_name,))
        if source is None:
            self.reasons.append(f"the team database has no source named {d.source_name!r}")
            return
        self.source_id = int(source["id"])
        thread = _one(
            self.conn,
            "SELECT id FROM threads WHERE source_id = %s AND remote_id = %s",
            (self.source_id, d.thread_remote),
        )
        if thread is None:
            self.reasons.append(f"the team database has no thread {d.thread_remote} of it")
            return
        self.thread_id = int(thread["id"])
        if d.target_kind == "post":
            post = _one(
                self.conn,
                "SELECT id FROM posts WHERE source_id = %s AND remote_id = %s",
                (self.source_id, d.post_remote),
            )
            if post is None:
                self.reasons.append(f"the team database has no post {d.post_remote}")
                return
            self.target_id = int(post["id"])
        else:
            self.target_id = self.thread_id

    def check_claim(self) -> None:
        held = _one(
            self.conn,
            "SELECT holder, expires_at FROM claims WHERE thread_id = %s AND "
            "expires_at > peerdesk_time() AND holder <> session_user",
            (self.thread_id,),
        )
        if held:
            self.reasons.append(f"{held['holder']} holds a claim on it until {held['expires_at']}")

    def check_base(self) -> None:
        base = self.d.base or {}
        if self.d.target_kind == "thread" and base:
            now = _one(
                self.conn,
                "SELECT t.reply_count, (SELECT max(CASE WHEN p.remote_id ~ '^[0-9]+$' "
                "THEN p.remote_id::numeric END) FROM posts p WHERE p.thread_id = t.id) AS last "
                "FROM threads t WHERE t.id = %s",
                (self.thread_id,),
            )
            assert now is not None
            replies, last = int(now["reply_count"] or 0), now["last"]
            seen = int(base.get("replies") or 0)
            seen_last = base.get("last_post")
            if replies > seen or (last is not None and (seen_last is None or last > seen_last)):
                self.reasons.append(
                    f"it has {replies} replies now, the laptop's copy had {seen}: "
                    "posts arrived since"
                )
        if self.d.target_kind == "post" and base.get("updated_at"):
            now = _one(self.conn, "SELECT updated_at FROM posts WHERE id = %s", (self.target_id,))
            if now is not None and now["updated_at"] != base["updated_at"]:
                self.reasons.append("the post was edited since the laptop's copy")

    def apply_change(self) -> dict[str, Any]:
        """Set the decision's `after` on the team's row if it is still as `before`."""
        table = TABLES.get(self.d.target_kind, "")
        keys = set(self.d.before) | set(self.d.after)
        if not keys or not keys <= REPLAYABLE_KEYS.get(table, set()):
            self.reasons.append(
                f"`team push` cannot replay a {self.d.action!r} decision yet: decide it again "
                "on the team database"
            )
            return {}
        columns = sorted(keys)
        current = _one(
            self.conn,
            f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s FOR UPDATE",
            (self.target_id,),
        )
        assert current is not None
        changed = [
            f"its {k} is {current[k]!r} now, the laptop saw {self.d.before[k]!r}"
            for k in sorted(self.d.before)
            if not _same(current[k], self.d.before[k])
        ]
        if changed:
            self.reasons.extend(changed)
        if self.reasons:
            return {}
        numeric = _numeric_columns(self.conn, table)
        values = [
            int(v) if k in numeric and isinstance(v, bool) else v
            for k, v in ((k, self.d.after.get(k)) for k in columns)
        ]
        self.conn.execute(
            f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in columns)} WHERE id = %s".encode(),
            (*values, self.target_id),
        )
        return dict(self.d.after)

    def add_note(self) -> dict[str, Any]:
        body = str(self.d.payload.get("body") or "")
        row = _one(
            self.conn,
            "INSERT INTO notes (thread_id, author, body, created_at) "
            "VALUES (%s, session_user, %s, %s) RETURNING id",
            (self.thread_id, body, self.d.decided_at or now_iso()),
        )
        assert row is not None
        return {"note_id": int(row["id"])}

    def run(self) -> tuple[int, str | None]:
        """The team outbox id, and the conflict's reasons (None when it was replayed)."""
        d = self.d
        after: dict[str, Any] = {}
        self.locate()
        if self.source_id is None:
            raise TeamStoreError(
                f"the team database has no source named {d.source_name!r}: sync it there (or "
                "migrate-to) before pushing this laptop's decisions"
            )
        if not self.reasons:
            if d.action == "note":
                after = self.add_note()
            else:
                self.check_claim()
                self.check_base()
                after = self.apply_change()
        conflict = "; ".join(self.reasons) or None
        payload = dict(d.payload)
        for key, value in (("thread_id", self.thread_id), ("post_id", self.target_id)):
            if key in payload and value is not None:
                payload[key] = value
        payload.update({k: v for k, v in after.items() if k in payload})
        detail: dict[str, Any] = {
            "before": d.before,
            "after": after or d.after,
            "thread_id": self.thread_id,
            "payload": payload,
            "from_laptop": {
                "decided_at": d.decided_at,
                "decided_by": d.decided_by,
                "outbox_id": d.outbox_id,
                "idempotency_key": d.idempotency_key,
            },
        }
        if conflict:
            detail["decision"] = d.action
            detail["conflict"] = conflict
        # the audit entry and the outbox item in ONE statement, the last before the commit:
        # the audit chain's lock (taken by the append) is held for as short a time as possible
        row = _one(
            self.conn,
            "WITH entry AS (SELECT peerdesk_audit_append(%s, %s, %s, NULL, %s) AS id) "
            "INSERT INTO outbox (source_id, action, target_kind, target_id, payload, "
            "idempotency_key, state, last_error, created_at, updated_at, audit_id, base) "
            "SELECT %s, %s, %s, %s, %s, %s, %s, %s, peerdesk_time(), peerdesk_time(), entry.id, "
            "%s FROM entry ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            (
                "push_conflict" if conflict else d.action,
                d.target_kind,
                self.target_id,
                json.dumps(detail, sort_keys=True, ensure_ascii=False),
                self.source_id,
                d.action,
                d.target_kind,
                self.target_id,
                json.dumps(payload, sort_keys=True, ensure_ascii=False),
                d.idempotency_key,
                "conflict" if conflict else d.state,
                conflict,
                json.dumps(d.base, sort_keys=True) if d.base else None,
            ),
        )
        if row is None:  # another push of this laptop's item won the race: undo ours
            raise _AlreadyThere()
        return int(row["id"]), conflict


class _AlreadyThere(Exception):
    """The team database got this item from a concurrent push; this transaction rolls back."""


def _already(conn: Connection, decision: LocalDecision) -> Pushed | None:
    row = _one(
        conn,
        "SELECT id, state, last_error FROM outbox WHERE idempotency_key = %s",
        (decision.idempotency_key,),
    )
    if row is None:
        return None
    conflict = str(row["last_error"] or "conflict") if row["state"] == "conflict" else None
    return Pushed(decision, int(row["id"]), conflict, again=True)


def push_one(conn: Connection, decision: LocalDecision) -> Pushed:
    """Replay one decision on the team database in one transaction (or find it there)."""
    try:
        with conn.transaction():
            found = _already(conn, decision)
            if found is not None:
                return found
            team_id, conflict = _Replay(conn, decision).run()
    except _AlreadyThere:
        with conn.transaction():
            found = _already(conn, decision)
        assert found is not None
        return found
    return Pushed(decision, team_id, conflict)


def _mark(cache: Cache, pushed: Pushed) -> None:
    """The laptop's item: handed over to the team database, or a conflict with its reasons."""
    d = pushed.decision
    state = "conflict" if pushed.conflict else ("applied" if d.state == "pending" else d.state)
    error = f"team database: {pushed.conflict}" if pushed.conflict else None
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE outbox SET state = ?, last_error = ?, remote_ref = ?, updated_at = ? "
            "WHERE id = ? AND state = ?",
            (
                state,
                error,
                f"{HANDED_OVER}{pushed.team_outbox_id}",
                now_iso(),
                d.outbox_id,
                d.state,
            ),
        )


def push(door: Door, url: str, progress: Progress | None = None) -> PushReport:
    """Send the laptop's unsent decisions to the team database at `url` (see the module)."""
    report = PushReport()
    with door.operation(TEAM_PUSH, detail={"to": redact(url)}) as record:
        decisions = local_decisions(door.cache)
        try:
            with connect(url, autocommit=True) as conn:
                for decision in decisions:
                    pushed = push_one(conn, decision)
                    if progress is not None:
                        progress(pushed)
                    _mark(door.cache, pushed)
                    if pushed.again:
                        report.already.append(pushed)
                    elif pushed.conflict:
                        report.conflicts.append(pushed)
                    else:
                        report.sent.append(pushed)
        except psycopg.Error as error:
            raise explain(error, url) from error
        finally:
            record.update(
                sent=len(report.sent),
                conflicts=len(report.conflicts),
                already_there=len(report.already),
                waiting=len(decisions),
            )
    return report
