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
- the item is no longer as the laptop saw it: what the decision changes held something else on
  the team database than the laptop's `before` (a thread closed or reopened by someone else),
  or the decision's own checks refuse it there (the Kind's InvalidDecision: already hidden, an
  escalation resolved meanwhile...);
- the thread has posts the laptop's copy had not seen (its outbox `base`), or the post was
  edited since (not for decisions that only add something of their own, as a note);
- a row it names is not on the team database (a thread, post, member or escalation, matched
  by console.team.references), or it is not a decision (an undo: undo it on the team
  database).

Every decision kind is replayed the same way: by the domain's own `decisions.decide`, with the
Kind the laptop used and the parameters its audit entry recorded (row ids translated), inside a
savepoint; the laptop's idempotency key goes on the team outbox item it queues
(`decisions.replaying`). A conflict rolls the savepoint back.

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
from typing import TYPE_CHECKING, Any

import psycopg

from console import decisions
from console.clock import now_iso
from console.db import Cache
from console.door import Door
from console.errors import (
    CacheError,
    ClaimConflict,
    InvalidDecision,
    NotFound,
    PermissionRefused,
)
from console.identity import Identity
from console.models import Role
from console.roles import register_action
from console.team.connect import TeamStoreError
from console.team.location import redact
from console.team.no_role import require_a_role
from console.team.references import REFERENCES, Key, describe, id_of, key_of

if TYPE_CHECKING:
    from console.storage.postgres import TeamCache

TEAM_PUSH = register_action("team_push", Role.MODERATOR, Role.ADMIN)
HANDED_OVER = "team:"
UNDO_NOT_REPLAYED = (
    "an undo made offline is not replayed: undo it on the team database (peerdesk --db "
    "postgresql://... undo), which shows what it takes back and refuses over teammates' work"
)
"""Why an offline undo is a conflict (README "Offline laptops"): the team's undo takes back a
whole batch, the push sends item by item, and an undo that cancels unsent items leaves nothing
carrying the laptop's idempotency key, so a replay could be neither matched item by item nor
resumed safely after an interruption."""

Progress = Callable[["Pushed"], None]
"""progress(pushed): called after each decision is settled on the team database (before the
laptop marks it)."""


@dataclass(frozen=True)
class LocalDecision:
    """One laptop outbox item and what the laptop knew when it was decided."""

    outbox_id: int
    idempotency_key: str
    action: str  # what the outbox item sends (close, hide_post, an internal action...)
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
    decision: str = ""  # the decision kind (console.decisions) the laptop's audit names
    params: dict[str, Any] = field(default_factory=dict)
    target: Key | None = None  # the decided row, by its natural key (console.team.references)
    references: dict[str, Key] = field(default_factory=dict)  # parameters naming rows


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


def _params(detail: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The parameters the decision was made with: recorded in its audit entry since decisions
    record them; for an older entry, its outbox payload without the row ids."""
    if isinstance(detail.get("params"), dict):
        return dict(detail["params"])
    return {k: v for k, v in payload.items() if not k.endswith("_id")}


def local_decisions(cache: Cache) -> list[LocalDecision]:
    """The laptop's decisions that were sent nowhere yet, oldest first."""
    rows = cache.query(
        "SELECT o.id, o.idempotency_key, o.action, o.state, o.target_kind, o.target_id, "
        "o.payload, o.base, s.name AS source, a.detail, a.ts, a.actor, a.action AS decision, "
        "coalesce(t.remote_id, pt.remote_id, et.remote_id) AS thread_remote, "
        "p.remote_id AS post_remote "
        "FROM outbox o JOIN sources s ON s.id = o.source_id "
        "LEFT JOIN audit a ON a.id = o.audit_id "
        "LEFT JOIN threads t ON o.target_kind = 'thread' AND t.id = o.target_id "
        "LEFT JOIN posts p ON o.target_kind = 'post' AND p.id = o.target_id "
        "LEFT JOIN threads pt ON pt.id = p.thread_id "
        "LEFT JOIN escalations e ON o.target_kind = 'escalation' AND e.id = o.target_id "
        "LEFT JOIN threads et ON et.id = e.thread_id "
        "WHERE o.state IN ('pending', 'local_only') "
        "AND (o.remote_ref IS NULL OR o.remote_ref NOT LIKE 'team:%') ORDER BY o.id"
    )
    found = []
    for row in rows:
        detail = json.loads(row["detail"]) if row["detail"] else {}
        payload = json.loads(row["payload"])
        params = _params(detail, payload)
        references = {
            name: key
            for name, kind in REFERENCES.items()
            if isinstance(params.get(name), int)
            and (key := key_of(cache.conn, kind, params[name])) is not None
        }
        target_id = row["target_id"]
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
                payload=payload,
                base=json.loads(row["base"]) if row["base"] else None,
                before=dict(detail.get("before") or {}),
                after=dict(detail.get("after") or {}),
                decided_at=str(row["ts"] or ""),
                decided_by=str(row["actor"] or ""),
                decision=str(row["decision"] or row["action"]),
                params=params,
                target=key_of(cache.conn, str(row["target_kind"]), int(target_id))
                if target_id is not None
                else None,
                references=references,
            )
        )
    return found


# ---- on the team database -------------------------------------------------------------------


def _same(team: Any, laptop: Any) -> bool:
    if isinstance(laptop, bool) or isinstance(team, bool):
        return bool(team) == bool(laptop)
    return bool(team == laptop)


def _local_by_nature(key: str) -> bool:
    """Values that differ between the laptop and the team database by nature: row ids, and the
    OS account a decision ran under (a laptop's account; on the team database the login role:
    a proposal's `proposed_os_user`, whose name is compared)."""
    return key in ("id", "other") or key.endswith(("_id", "_os_user"))


class _Refused(Exception):
    """The replayed decision found the item changed since the laptop saw it: roll it back."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class _Replay:
    """One decision decided again on the team database by the domain's own decide (the same
    Kind, its checks, its audit entry and outbox item), inside the caller's transaction."""

    def __init__(self, team: TeamCache, who: Identity, decision: LocalDecision) -> None:
        self.team = team
        self.conn = team.conn
        self.who = who
        self.d = decision
        self.reasons: list[str] = []
        self.source_id: int | None = None
        self.thread_id: int | None = None
        self.target_id: int | None = None
        self.params: dict[str, Any] = {}

    def locate(self) -> None:
        d = self.d
        source = self.conn.execute(
            "SELECT id FROM sources WHERE name = ?", (d.source_name,)
        ).fetchone()
        if source is None:
            raise TeamStoreError(
                f"the team database has no source named {d.source_name!r}: sync it there (or "
                "migrate-to) before pushing this laptop's decisions"
            )
        self.source_id = int(source[0])
        if d.thread_remote is not None:
            thread = self.conn.execute(
                "SELECT id FROM threads WHERE source_id = ? AND remote_id = ?",
                (self.source_id, d.thread_remote),
            ).fetchone()
            self.thread_id = int(thread[0]) if thread is not None else None
        if d.target is None:
            self.reasons.append(f"the laptop's {d.target_kind} {d.outbox_id} cannot be named")
            return
        self.target_id = id_of(self.conn, d.target)
        if self.target_id is None:
            self.reasons.append(f"the team database has no {describe(d.target)}")
            return
        params = dict(d.params)
        for name in REFERENCES:
            if name not in params:
                continue
            key = d.references.get(name)
            found = id_of(self.conn, key) if key is not None else None
            if found is None:
                named = describe(key) if key is not None else f"{name} {params[name]}"
                self.reasons.append(f"the team database has no {named}")
                return
            params[name] = found
        if "other" in params and params["other"] < self.target_id:  # a link names the lower id
            self.target_id, params["other"] = int(params["other"]), self.target_id
        self.params = params

    def check_base(self) -> None:
        """Posts that arrived, or an edit, since the laptop's copy (its outbox item's base)."""
        base = self.d.base or {}
        if self.d.target_kind == "thread" and base:
            now = self.conn.execute(
                "SELECT t.reply_count, (SELECT max(CASE WHEN p.remote_id ~ '^[0-9]+$' "
                "THEN CAST(p.remote_id AS numeric) END) FROM posts p "
                "WHERE p.thread_id = t.id) AS last FROM threads t WHERE t.id = ?",
                (self.target_id,),
            ).fetchone()
            assert now is not None
            replies, last = int(now[0] or 0), now[1]
            seen = int(base.get("replies") or 0)
            seen_last = base.get("last_post")
            if replies > seen or (last is not None and (seen_last is None or last > seen_last)):
                self.reasons.append(
                    f"it has {replies} replies now, the laptop's copy had {seen}: "
                    "posts arrived since"
                )
        if self.d.target_kind == "post" and base.get("updated_at"):
            now = self.conn.execute(
                "SELECT updated_at FROM posts WHERE id = ?", (self.target_id,)
            ).fetchone()
            if now is not None and now[0] != base["updated_at"]:
                self.reasons.append("the post was edited since the laptop's copy")

    def _changing(self) -> list[str]:
        """What the decision changed on the laptop (not what is local by nature)."""
        d = self.d
        return [
            k
            for k in sorted(d.before)
            if not _local_by_nature(k) and not _same(d.after.get(k), d.before[k])
        ]

    def changed_since(self, batch_id: int) -> list[str]:
        """What the team's item had, of what the decision changes, that the laptop did not see
        (the laptop's `before` against the team's, as each decide recorded them)."""
        entry = self.conn.execute(
            "SELECT detail FROM audit WHERE batch_id = ? ORDER BY id LIMIT 1", (batch_id,)
        ).fetchone()
        team_before = dict(json.loads(entry[0]).get("before") or {}) if entry else {}
        d = self.d
        return [
            f"its {k} is {team_before.get(k)!r} now, the laptop saw {d.before[k]!r}"
            for k in self._changing()
            if k in team_before and not _same(team_before[k], self._as_here(d.before[k]))
        ]

    def _as_here(self, value: Any) -> Any:
        """A value the laptop saw, as the team database would hold it: the laptop's own name
        (an earlier decision of this push, e.g. "assigned to me") is the login role here."""
        return self.who.name if value == self.d.decided_by and value else value

    def score_if_new(self) -> None:
        """An answer the laptop decided on that nobody opened on the team database yet has no
        verification there: it is scored there first, from the team's own copy, as opening it
        would (console.verify.queue.ensure, what the laptop did before deciding), so the
        decision is made on the team's assessment instead of refused for want of one."""
        if self.d.target_kind != "post" or not self.d.decision.startswith("verify_"):
            return
        from console.verify import queue
        from console.verify.service import META_KEY
        from console.verify.settings import VerifySettings

        assert self.target_id is not None
        settings = VerifySettings.from_json(self.team.meta(META_KEY)) or VerifySettings()
        queue.ensure(self.team, self.target_id, settings)

    def decide(self) -> int:
        """Decide again, by the domain's decide; the team outbox id. A conflict raises
        _Refused, after the savepoint rolled the decision back."""
        d = self.d
        assert self.target_id is not None
        origin = {
            "from_laptop": {
                "decided_at": d.decided_at,
                "decided_by": d.decided_by,
                "outbox_id": d.outbox_id,
                "idempotency_key": d.idempotency_key,
            }
        }
        try:
            with (
                self.team.transaction(),
                decisions.replaying(decisions.Replay(d.idempotency_key, origin)),
            ):
                self.score_if_new()
                result = decisions.decide(
                    self.team,
                    who=self.who,
                    action=d.decision,
                    target_ids=[self.target_id],
                    params=self.params,
                )
                changed = self.changed_since(result.batch_id)
                if changed:
                    raise _Refused(changed)
                team_item = self.conn.execute(
                    "SELECT id FROM outbox WHERE idempotency_key = ?", (d.idempotency_key,)
                ).fetchone()
                if team_item is None:
                    raise _Refused([f"the team database queued nothing for {d.decision!r}"])
                return int(team_item[0])
        except (ClaimConflict, InvalidDecision, NotFound, PermissionRefused) as error:
            saw = ", ".join(f"{k} {d.before[k]!r}" for k in self._changing())
            reason = f"{error} on the team database" + (f"; the laptop saw {saw}" if saw else "")
            raise _Refused([reason]) from error

    def record_conflict(self, conflict: str) -> int:
        """The conflict as a team outbox item in state `conflict` beside a push_conflict audit
        entry (in ONE statement, the last before the commit: the audit chain's lock is held
        for as short a time as possible)."""
        d = self.d
        payload = dict(d.payload)
        for key, value in (("thread_id", self.thread_id), ("post_id", self.target_id)):
            if key in payload and value is not None:
                payload[key] = value
        detail: dict[str, Any] = {
            "before": d.before,
            "after": d.after,
            "thread_id": self.thread_id,
            "payload": payload,
            "decision": d.decision,
            "conflict": conflict,
            "from_laptop": {
                "decided_at": d.decided_at,
                "decided_by": d.decided_by,
                "outbox_id": d.outbox_id,
                "idempotency_key": d.idempotency_key,
            },
        }
        row = self.conn.execute(
            "WITH entry AS (SELECT peerdesk_audit_append(?, ?, ?, NULL, ?) AS id) "
            "INSERT INTO outbox (source_id, action, target_kind, target_id, payload, "
            "idempotency_key, state, last_error, created_at, updated_at, audit_id, base) "
            "SELECT ?, ?, ?, ?, ?, ?, 'conflict', ?, peerdesk_time(), peerdesk_time(), "
            "entry.id, ? FROM entry ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            (
                "push_conflict",
                d.target_kind,
                self.target_id,
                json.dumps(detail, sort_keys=True, ensure_ascii=False),
                self.source_id,
                d.action,
                d.target_kind,
                self.target_id,
                json.dumps(payload, sort_keys=True, ensure_ascii=False),
                d.idempotency_key,
                conflict,
                json.dumps(d.base, sort_keys=True) if d.base else None,
            ),
        ).fetchone()
        if row is None:  # another push of this laptop's item won the race: undo ours
            raise _AlreadyThere()
        return int(row[0])

    def run(self) -> tuple[int, str | None]:
        """The team outbox id, and the conflict's reasons (None when it was decided again)."""
        self.locate()
        kind = decisions.kind_for(self.d.decision)
        if not self.reasons and (kind is None or kind.changes_item):
            self.check_base()  # a note is welcome whatever happened since
        if not self.reasons:
            if kind is None and self.d.decision.startswith("undo_"):
                self.reasons.append(UNDO_NOT_REPLAYED)
            elif kind is None:
                self.reasons.append(
                    f"`team push` cannot replay {self.d.decision!r} (not a decision kind): "
                    "decide it again on the team database"
                )
            else:
                try:
                    return self.decide(), None
                except _Refused as refused:
                    self.reasons.extend(refused.reasons)
        conflict = "; ".join(self.reasons)
        return self.record_conflict(conflict), conflict


class _AlreadyThere(Exception):
    """The team database got this item from a concurrent push; this transaction rolls back."""


def _already(team: TeamCache, decision: LocalDecision) -> Pushed | None:
    row = team.one(
        "SELECT id, state, last_error FROM outbox WHERE idempotency_key = ?",
        (decision.idempotency_key,),
    )
    if row is None:
        return None
    conflict = str(row["last_error"] or "conflict") if row["state"] == "conflict" else None
    return Pushed(decision, int(row["id"]), conflict, again=True)


def _duplicate_key(error: Exception) -> bool:
    return isinstance(error.__cause__, psycopg.errors.UniqueViolation)


def push_one(team: TeamCache, who: Identity, decision: LocalDecision) -> Pushed:
    """Decide one laptop decision again on the team database in one transaction (or find it
    there already)."""
    try:
        with team.transaction():
            found = _already(team, decision)
            if found is not None:
                return found
            team_id, conflict = _Replay(team, who, decision).run()
    except _AlreadyThere:
        found = _already(team, decision)
        assert found is not None
        return found
    except CacheError as error:  # a concurrent push queued the same key first
        if not _duplicate_key(error):
            raise
        found = _already(team, decision)
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
    from console.storage.postgres import open_team

    report = PushReport()
    with door.operation(TEAM_PUSH, detail={"to": redact(url)}) as record:
        decisions_waiting = local_decisions(door.cache)
        try:
            team = open_team(url)
            try:
                require_a_role(team.conn.execute, url)
                who = team.identity(None)
                for decision in decisions_waiting:
                    pushed = push_one(team, who, decision)
                    if progress is not None:
                        progress(pushed)
                    _mark(door.cache, pushed)
                    if pushed.again:
                        report.already.append(pushed)
                    elif pushed.conflict:
                        report.conflicts.append(pushed)
                    else:
                        report.sent.append(pushed)
            finally:
                team.close()
        finally:
            record.update(
                sent=len(report.sent),
                conflicts=len(report.conflicts),
                already_there=len(report.already),
                waiting=len(decisions_waiting),
            )
    return report
