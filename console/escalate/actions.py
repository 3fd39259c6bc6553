"""Escalation decisions, registered as decision Kinds: each is one transaction with its audit
entry and outbox item (console.decisions), and each can be undone.

    esc_acknowledge  new -> acknowledged (the actor becomes the assignee if there is none)
    esc_assign       any open state, assignee = a named person (default: the actor)
    esc_send         hand to support: an outbox item for the ticket system (Zendesk, webhook)
    esc_note         a note in the escalation's history
    esc_resolve      -> resolved; optionally a reply to the community thread
    esc_dismiss      -> dismissed, with a reason (feeds rule tuning); unhides a post hidden
                     pending review
    esc_reopen       resolved or dismissed -> acknowledged (or new)

Internal changes go to the outbox as `local_only` items ("escalation"); the hand-off goes to the
ticket system's source, a reply or an unhide to the community's.
"""

from __future__ import annotations

import json
from typing import Any

from console import decisions
from console.clock import now_iso
from console.decisions import Change, Kind
from console.errors import InvalidDecision, NotFound
from console.escalate import people
from console.escalate.engine import HIDE_REASON, OPEN_STATES
from console.identity import Identity
from console.models import Role
from console.roles import ACTION_ROLES
from console.storage import Connection, Row

MODERATION = frozenset({Role.MODERATOR, Role.ADMIN})

# action -> roles; one table, merged into the role check's table (easy to move when roles move)
ESCALATION_ROLES: dict[str, frozenset[Role]] = {
    "esc_acknowledge": MODERATION,
    "esc_assign": MODERATION,
    "esc_send": MODERATION,
    "esc_note": MODERATION,
    "esc_resolve": MODERATION,
    "esc_dismiss": MODERATION,
    "esc_reopen": MODERATION,
    "escalation_rules": frozenset({Role.ADMIN, Role.MODERATOR}),
    "escalation_recount": frozenset({Role.ADMIN}),  # the panel's kept counts taken again
}
ACTION_ROLES.update(ESCALATION_ROLES)

INTERNAL = "escalation"  # the outbox action of changes that stay in peerdesk
HANDOFF_KINDS = ("zendesk", "webhook")
FIELDS = (
    "state",
    "assignee",
    "acknowledged_at",
    "acknowledged_by",
    "closed_at",
    "closed_by",
    "dismiss_reason",
    "ticket_system",
)


def escalation_row(conn: Connection, escalation_id: int) -> Row:
    row: Row | None = conn.execute(
        "SELECT e.*, t.title, t.url AS thread_url, t.source_id AS community_source, "
        "m.username AS asker FROM escalations e JOIN threads t ON t.id = e.thread_id "
        "LEFT JOIN members m ON m.id = t.author_id WHERE e.id = ?",
        (escalation_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no escalation {escalation_id}")
    return row


def thread_of_escalation(conn: Connection, escalation_id: int) -> int:
    return int(escalation_row(conn, escalation_id)["thread_id"])


def history(
    conn: Connection,
    escalation_id: int,
    actor: str,
    event: str,
    from_state: str | None,
    to_state: str | None,
    body: str = "",
    remote_id: str | None = None,
    *,
    audit_id: int | None = None,
) -> bool:
    """One line of an escalation's history (once per `remote_id` when given), tied to the audit
    entry `audit_id` when it records one; True when it was written."""
    cursor = conn.execute(
        "INSERT INTO escalation_history (escalation_id, ts, actor, event, from_state, to_state, "
        "body, remote_id, audit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (escalation_id, remote_id) DO NOTHING",
        (escalation_id, now_iso(), actor, event, from_state, to_state, body, remote_id, audit_id),
    )
    return bool(cursor.rowcount)


def _snapshot(row: Row) -> dict[str, Any]:
    return {key: row[key] for key in FIELDS}


def set_fields(conn: Connection, escalation_id: int, values: dict[str, Any]) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    conn.execute(
        f"UPDATE escalations SET {sets}, updated_at = ? WHERE id = ?",
        (*values.values(), now_iso(), escalation_id),
    )


def _change(
    row: Row,
    after: dict[str, Any],
    verb: str,
    *,
    action: str = INTERNAL,
    payload: dict[str, Any] | None = None,
    source_id: int | None = None,
) -> Change:
    before = _snapshot(row)
    full_after = {**before, **after}
    return Change(
        "escalation",
        int(row["id"]),
        int(row["thread_id"]),
        before,
        full_after,
        action,
        payload if payload is not None else {"escalation_id": int(row["id"]), "verb": verb},
        source_id,
    )


def _state_said(row: Row) -> str:
    """The escalation's state and who brought it there: "resolved (by alice)"."""
    by = row["closed_by"] if row["state"] not in OPEN_STATES else row["acknowledged_by"]
    return f"{row['state']} (by {by})" if by and row["state"] != "new" else str(row["state"])


def _require_open(row: Row, verb: str) -> None:
    if row["state"] not in OPEN_STATES:
        raise InvalidDecision(
            f"Escalation {row['id']} is {_state_said(row)}; reopen it before you {verb} it"
        )


def _acknowledge(conn: Connection, escalation_id: int, params: dict[str, Any]) -> Change:
    row = escalation_row(conn, escalation_id)
    if row["state"] != "new":
        raise InvalidDecision(f"Escalation {escalation_id} is already {_state_said(row)}")
    actor = str(params["actor"])
    after = {
        "state": "acknowledged",
        "acknowledged_at": now_iso(),
        "acknowledged_by": actor,
        "assignee": row["assignee"] or actor,
    }
    set_fields(conn, escalation_id, after)
    history(conn, escalation_id, actor, "acknowledged", "new", "acknowledged")
    return _change(row, after, "acknowledge")


def _assignee(params: dict[str, Any]) -> str:
    assignee = str(params.get("assignee") or params["actor"]).strip()
    if not assignee or len(assignee) > 64 or any(c.isspace() for c in assignee):
        raise InvalidDecision("An assignee is one user name (no spaces, at most 64 characters)")
    return assignee


def _check_assignee(conn: Connection, who: Identity, params: dict[str, Any]) -> None:
    """Before anything changes: the assignee is someone who can take escalations."""
    people.require_taker(conn, who, _assignee(params))


def _assign(conn: Connection, escalation_id: int, params: dict[str, Any]) -> Change:
    row = escalation_row(conn, escalation_id)
    _require_open(row, "assign")
    actor = str(params["actor"])
    assignee = _assignee(params)
    if assignee == row["assignee"]:
        raise InvalidDecision(f"Escalation {escalation_id} is already assigned to {assignee}")
    after: dict[str, Any] = {"assignee": assignee}
    set_fields(conn, escalation_id, after)
    history(conn, escalation_id, actor, "assigned", row["state"], row["state"], assignee)
    return _change(row, after, "assign")


def ticket_payload(row: Row, actor: str) -> dict[str, Any]:
    """What the ticket system is told: built once, at the decision, and kept in the outbox."""
    link = row["thread_url"] or f"(thread {row['thread_id']} in peerdesk)"
    body = "\n".join(
        [
            f"Escalated from the community by {actor} (peerdesk rule: {row['rule_name']}).",
            "",
            f"Thread: {row['title']}",
            f"Link: {link}",
            f"Asked by: {row['asker'] or 'unknown'}",
            "",
            f"What matched: {row['matched']}",
            f"In context: {row['context']}",
            f"Why: {row['detail']}",
            "",
            f"Severity: {row['severity']}. Raised {row['raised_at']}; acknowledge by "
            f"{row['acknowledge_due']}, resolve by {row['resolve_due']}.",
        ]
    )
    tags = ["peerdesk", f"peerdesk_{row['rule_id']}".replace("-", "_"), row["severity"]]
    tags += [str(t) for t in json.loads(row["ticket_tags"] or "[]")]
    return {
        "escalation_id": int(row["id"]),
        "subject": f"[{row['severity']}] {row['rule_name']}: {row['title']}"[:250],
        "body": body,
        "priority": row["zendesk_priority"],
        "tags": list(dict.fromkeys(tags)),
        "requester_name": row["asker"] or "community member",
        "thread_url": row["thread_url"],
        "rule": row["rule_id"],
        "severity": row["severity"],
    }


def _send(conn: Connection, escalation_id: int, params: dict[str, Any]) -> Change:
    row = escalation_row(conn, escalation_id)
    _require_open(row, "send")
    if row["state"] == "sent_to_support" or row["ticket_ref"]:
        raise InvalidDecision(
            f"Escalation {escalation_id} is already with support"
            + (f" (ticket {row['ticket_ref']})" if row["ticket_ref"] else "")
        )
    system = params.get("system")
    kinds = ",".join("?" * len(HANDOFF_KINDS))
    if system:
        target = conn.execute(
            f"SELECT id, name FROM sources WHERE name = ? AND kind IN ({kinds})",
            (system, *HANDOFF_KINDS),
        ).fetchone()
    else:
        target = conn.execute(
            f"SELECT id, name FROM sources WHERE kind IN ({kinds}) ORDER BY id LIMIT 1",
            HANDOFF_KINDS,
        ).fetchone()
    if target is None:
        raise InvalidDecision(
            "There is no ticket system to send to: add one with `peerdesk source add support "
            "--kind zendesk --url https://YOURS.zendesk.com` (or --kind webhook)"
            if not system
            else f"There is no ticket system named {system!r}"
        )
    actor = str(params["actor"])
    after = {"state": "sent_to_support", "ticket_system": target["name"]}
    if row["state"] == "new":
        after |= {"acknowledged_at": now_iso(), "acknowledged_by": actor}
    if not row["assignee"]:
        after["assignee"] = actor
    set_fields(conn, escalation_id, after)
    history(
        conn,
        escalation_id,
        actor,
        "sent_to_support",
        row["state"],
        "sent_to_support",
        f"to {target['name']}",
    )
    return _change(
        row,
        after,
        "send",
        action="ticket_create",
        payload=ticket_payload(row, actor),
        source_id=int(target["id"]),
    )


def _note(conn: Connection, escalation_id: int, params: dict[str, Any]) -> Change:
    row = escalation_row(conn, escalation_id)
    body = str(params.get("body") or "").strip()
    if not body:
        raise InvalidDecision("A note needs some text")
    history(conn, escalation_id, str(params["actor"]), "note", row["state"], row["state"], body)
    change = _change(row, {}, "note")
    return Change(
        change.target_kind,
        change.target_id,
        change.thread_id,
        change.before,
        {**change.after, "note": body},
        change.outbox_action,
        {**change.outbox_payload, "body": body},
    )


def _close(conn: Connection, escalation_id: int, params: dict[str, Any], state: str) -> Change:
    row = escalation_row(conn, escalation_id)
    verb = "resolve" if state == "resolved" else "dismiss"
    _require_open(row, verb)
    actor = str(params["actor"])
    reason = str(params.get("reason") or "").strip()
    if state == "dismissed" and not reason:
        raise InvalidDecision("Dismissing needs a reason (it is how rules get tuned)")
    after: dict[str, Any] = {"state": state, "closed_at": now_iso(), "closed_by": actor}
    if state == "dismissed":
        after["dismiss_reason"] = reason
    if not row["acknowledged_at"]:
        after |= {"acknowledged_at": now_iso(), "acknowledged_by": actor}
    set_fields(conn, escalation_id, after)
    history(conn, escalation_id, actor, state, row["state"], state, reason)
    reply = str(params.get("reply") or "").strip()
    if state == "resolved" and reply:
        # the moderator chose to tell the community: a reply on the thread's platform
        return _change(
            row, after, verb, action="reply", payload={"thread_id": row["thread_id"], "raw": reply}
        )
    if state == "dismissed" and row["hide_pending_review"] and row["post_id"]:
        post = conn.execute(
            "SELECT hidden, hidden_reason FROM posts WHERE id = ?", (row["post_id"],)
        ).fetchone()
        if post and post["hidden"] and post["hidden_reason"] == HIDE_REASON:
            # a false alarm: show the post again (here and on the platform)
            conn.execute(
                "UPDATE posts SET hidden = 0, hidden_reason = NULL WHERE id = ?", (row["post_id"],)
            )
            return _change(
                row,
                {**after, "unhidden_post": row["post_id"]},
                verb,
                action="unhide_post",
                payload={"post_id": row["post_id"]},
            )
    return _change(row, after, verb)


def _resolve(conn: Connection, escalation_id: int, params: dict[str, Any]) -> Change:
    return _close(conn, escalation_id, params, "resolved")


def _dismiss(conn: Connection, escalation_id: int, params: dict[str, Any]) -> Change:
    return _close(conn, escalation_id, params, "dismissed")


def _reopen(conn: Connection, escalation_id: int, params: dict[str, Any]) -> Change:
    row = escalation_row(conn, escalation_id)
    if row["state"] in OPEN_STATES:
        raise InvalidDecision(f"Escalation {escalation_id} is open ({row['state']})")
    state = "acknowledged" if row["acknowledged_at"] else "new"
    after = {"state": state, "closed_at": None, "closed_by": None, "dismiss_reason": None}
    set_fields(conn, escalation_id, after)
    history(conn, escalation_id, str(params["actor"]), "reopened", row["state"], state)
    return _change(row, after, "reopen")


def _revert(conn: Connection, recorded: dict[str, Any]) -> Change:
    escalation_id = int(recorded["target_id"])
    row = escalation_row(conn, escalation_id)
    after, before = recorded["after"], recorded["before"]
    if row["state"] != after["state"] or row["assignee"] != after["assignee"]:
        raise InvalidDecision(
            f"Escalation {escalation_id} changed since (it is now {row['state']}); "
            "undo would overwrite that"
        )
    if after["state"] == "sent_to_support" and before["state"] != "sent_to_support":
        if row["ticket_ref"]:
            raise InvalidDecision(
                f"Ticket {row['ticket_ref']} was already created; resolve or dismiss instead"
            )
        started = conn.execute(
            "SELECT 1 FROM outbox WHERE target_kind = 'escalation' AND target_id = ? "
            "AND action = 'ticket_create' AND (attempts > 0 OR state = 'applied')",
            (escalation_id,),
        ).fetchone()
        if started:
            raise InvalidDecision(
                "The hand-off may already have reached the ticket system; it cannot be undone"
            )
    values = {k: before[k] for k in FIELDS if k in before}
    set_fields(conn, escalation_id, values)
    if after.get("unhidden_post"):
        conn.execute(
            "UPDATE posts SET hidden = 1, hidden_reason = ? WHERE id = ?",
            (HIDE_REASON, after["unhidden_post"]),
        )
    history(conn, escalation_id, "undo", "undone", row["state"], before["state"])
    if after.get("unhidden_post"):
        return Change(
            "escalation",
            escalation_id,
            int(row["thread_id"]),
            after,
            before,
            "hide_post",
            {"post_id": after["unhidden_post"], "reason": HIDE_REASON},
        )
    return Change(
        "escalation",
        escalation_id,
        int(row["thread_id"]),
        after,
        before,
        INTERNAL,
        {"escalation_id": escalation_id, "verb": "undo"},
    )


for _action, _apply in (
    ("esc_acknowledge", _acknowledge),
    ("esc_assign", _assign),
    ("esc_send", _send),
    ("esc_note", _note),
    ("esc_resolve", _resolve),
    ("esc_dismiss", _dismiss),
    ("esc_reopen", _reopen),
):
    decisions.register(
        Kind(
            _action,
            _action,
            _apply,
            _revert,
            thread_of_escalation,
            changes_item=_action != "esc_note",
            check=_check_assignee if _action == "esc_assign" else None,
        )
    )
