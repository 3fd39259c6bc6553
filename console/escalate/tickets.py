"""What ticket systems tell peerdesk about escalations handed to them.

- `link_created_tickets`: a pushed `ticket_create` outbox item carries the new ticket's id
  (`remote_ref`); the escalation gets it as its ticket reference.
- `apply_ticket`: a ticket's status and public comments, read by a sync of the ticket system,
  move the escalation (new/open/hold -> sent to support, pending -> waiting on customer,
  solved/closed -> resolved) and land in its history once each (keyed by the remote event id).
  Each change is audited with the ticket system as the actor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from console import audit
from console.clock import now_iso
from console.db import Cache
from console.escalate.actions import history
from console.storage import Connection

STATE_OF_STATUS = {
    "new": "sent_to_support",
    "open": "sent_to_support",
    "hold": "sent_to_support",
    "pending": "waiting_on_customer",
    "solved": "resolved",
    "closed": "resolved",
}


@dataclass(frozen=True)
class TicketComment:
    remote_id: str
    author: str
    body: str
    created_at: str


@dataclass(frozen=True)
class TicketUpdate:
    ticket_id: str
    status: str
    updated_at: str
    url: str | None = None
    comments: tuple[TicketComment, ...] = field(default_factory=tuple)


def link_created_tickets(cache: Cache) -> int:
    """Give escalations the ticket ids their applied hand-offs got back; returns how many."""
    rows = cache.query(
        "SELECT o.target_id, o.remote_ref, s.name FROM outbox o JOIN sources s "
        "ON s.id = o.source_id JOIN escalations e ON e.id = o.target_id "
        "WHERE o.action = 'ticket_create' AND o.target_kind = 'escalation' "
        "AND o.state = 'applied' AND o.remote_ref IS NOT NULL AND e.ticket_ref IS NULL"
    )
    if not rows:
        return 0
    with cache.transaction() as conn:
        for escalation_id, ref, system in rows:
            link_ticket(conn, int(escalation_id), system, str(ref))
    return len(rows)


def link_ticket(conn: Connection, escalation_id: int, system: str, ref: str) -> None:
    changed = conn.execute(
        "UPDATE escalations SET ticket_ref = ?, ticket_system = ?, ticket_status = "
        "coalesce(ticket_status, 'new'), updated_at = ? WHERE id = ? AND ticket_ref IS NULL",
        (ref, system, now_iso(), escalation_id),
    ).rowcount
    if changed:
        history(conn, escalation_id, system, "ticket_created", None, None, f"ticket {ref}")


def apply_ticket(conn: Connection, system: str, update: TicketUpdate) -> int:
    """Apply one ticket's news to its escalations (inside the caller's transaction)."""
    rows = conn.execute(
        "SELECT id, state, ticket_status FROM escalations WHERE ticket_system = ? "
        "AND ticket_ref = ?",
        (system, update.ticket_id),
    ).fetchall()
    changes = 0
    for row in rows:
        escalation_id = int(row["id"])
        for comment in update.comments:
            if history(
                conn,
                escalation_id,
                f"{system}:{comment.author}",
                "support_comment",
                row["state"],
                row["state"],
                comment.body,
                remote_id=f"comment:{comment.remote_id}",
            ):
                changes += 1
        if update.status == row["ticket_status"]:
            continue
        target = STATE_OF_STATUS.get(update.status)
        state = row["state"]
        values: dict[str, object] = {"ticket_status": update.status}
        if update.url:
            values["ticket_url"] = update.url
        if target and state != "dismissed" and target != state:
            values["state"] = target
            if target == "resolved":
                values |= {"closed_at": update.updated_at, "closed_by": system}
            elif state == "resolved":
                values |= {"closed_at": None, "closed_by": None}
        sets = ", ".join(f"{k} = ?" for k in values)
        conn.execute(
            f"UPDATE escalations SET {sets}, updated_at = ? WHERE id = ?",
            (*values.values(), now_iso(), escalation_id),
        )
        audit_id = audit.append(
            conn,
            actor=system,
            action="escalation_ticket_update",
            target_kind="escalation",
            target_id=escalation_id,
            detail={
                "ticket": update.ticket_id,
                "status": update.status,
                "before": {"state": state, "ticket_status": row["ticket_status"]},
                "after": {"state": values.get("state", state)},
            },
        )
        history(
            conn,
            escalation_id,
            system,
            "ticket_status",
            state,
            str(values.get("state", state)),
            f"ticket {update.ticket_id} is {update.status}",
            remote_id=f"status:{update.status}:{update.updated_at}",
            audit_id=audit_id,
        )
        changes += 1
    return changes


def followed_tickets(cache: Cache, system: str) -> list[str]:
    """Ticket ids of this system's escalations that are not finished on our side."""
    return [
        str(r[0])
        for r in cache.query(
            "SELECT DISTINCT ticket_ref FROM escalations WHERE ticket_system = ? "
            "AND ticket_ref IS NOT NULL AND state <> 'dismissed'",
            (system,),
        )
    ]


def ticket_tags_of(cache: Cache, escalation_id: int) -> list[str]:
    row = cache.one("SELECT ticket_tags FROM escalations WHERE id = ?", (escalation_id,))
    return list(json.loads(row[0])) if row else []
