"""Escalations for the demo community: every kind of rule, in every state, some SLAs breached.

The demo's posts are generated, so the rules are run over all of them once (the shipped example
rules, on the demo's own clock), and a plausible history is written for what was raised: most
older escalations were acknowledged by one of the demo's moderators and then resolved (some
after a Zendesk ticket, "kestrel-support") or dismissed with a reason; the newest stay open in
every state. Times are moved so that the newest escalation was raised an hour before the build:
the open ones then show running and breached SLA clocks when the console opens. The same seed and
build time give the same rows. Nothing is written to the audit log or the outbox: this is
history the demo starts with, not decisions taken in it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from random import Random

from console.clock import iso, now, parse
from console.db import Cache
from console.escalate import engine
from console.escalate.detect import PostMatcher
from console.escalate.engine import HIDE_REASON, Finding
from console.escalate.rules import example_rules
from console.storage import Connection

MODERATORS = ("alice", "dave", "priya", "sam")
TICKET_SYSTEM = "kestrel-support"
OPEN_DAYS = 2  # escalations raised in the last two days (after the shift) are still open
MORE_OPEN_EVERY = 6  # and one in this many older ones was left open (breached) ...
BREACHED_DAYS = 7  # ... if raised in the last week
DISMISS_REASONS = {
    "angry-complaint": ["venting, already helped in the thread", "sarcasm, not a complaint"],
    "legal-threat": ["asking what Ofcom is, not a threat", "quoting an old thread"],
    "account-billing": ["general billing question, community answered", "no account details"],
    "personal-data": ["a staff address, fine to show", "a fictional number from a guide"],
    "follow-ups": ["asker said it was sorted"],
    "unanswered": ["duplicate of an answered thread"],
}


@dataclass(frozen=True)
class DemoEscalations:
    raised: int
    open: int
    breached: int
    by_rule: dict[str, int]


def _findings(cache: Cache, at: datetime) -> list[Finding]:
    rules = example_rules()
    conn = cache.conn
    found = list(engine.scan_posts(cache, rules, PostMatcher(rules.rules)))
    threads = [int(r[0]) for r in conn.execute("SELECT id FROM threads ORDER BY id")]
    follow = [r for r in rules.rules if r.kind == "follow_ups"]
    found += engine.follow_up_findings(conn, follow, threads)
    unanswered = [r for r in rules.rules if r.kind == "unanswered"]
    found += engine.unanswered_findings(conn, unanswered, at, 10**8)
    has_verifications = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'verifications'"
    ).fetchone()
    if has_verifications:
        rejected = [r for r in rules.rules if r.kind == "verification_rejected"]
        found += engine.verification_findings(conn, rejected)
    unique = {(f.rule.id, f.subject, f.version): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.raised_at, f.rule.id, f.subject))


def _history(
    conn: Connection,
    escalation_id: int,
    ts: datetime,
    actor: str,
    event: str,
    before: str | None,
    after: str | None,
    body: str = "",
) -> None:
    conn.execute(
        "INSERT INTO escalation_history (escalation_id, ts, actor, event, from_state, to_state, "
        "body) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (escalation_id, iso(ts), actor, event, before, after, body),
    )


def add_demo_escalations(
    cache: Cache, reference: str, seed: int, *, built_at: datetime | None = None
) -> DemoEscalations:
    """Raise and give a history to the demo's escalations (see the module's docstring)."""
    rng = Random(seed ^ 0xE5CA1A7E)
    built_at = built_at or now()
    findings = _findings(cache, parse(reference))
    if not findings:
        return DemoEscalations(0, 0, 0, {})
    shift = (built_at - timedelta(hours=1)) - parse(findings[-1].raised_at)
    open_after = built_at - timedelta(days=OPEN_DAYS)
    by_rule: dict[str, int] = {}
    newest_of_rule: dict[str, int] = {}
    opened = breached = 0
    with cache.transaction() as conn:
        for index, f in enumerate(findings):
            by_rule[f.rule.id] = by_rule.get(f.rule.id, 0) + 1
            raised = parse(f.raised_at) + shift
            ack_due = raised + timedelta(minutes=f.rule.acknowledge_minutes)
            resolve_due = raised + timedelta(minutes=f.rule.resolve_minutes)
            stamp = iso(raised)  # the demo's past: detected when raised
            escalation_id = engine.insert_escalation(conn, replace(f, raised_at=stamp), stamp)
            if escalation_id is None:
                raise RuntimeError(f"the demo raised {f.subject} under {f.rule.id} twice")
            newest_of_rule[f.rule.id] = escalation_id
            _history(
                conn,
                escalation_id,
                raised,
                engine.SYSTEM_ACTOR,
                "raised",
                None,
                "new",
                f"{f.rule.name}: {f.detail}",
            )
            stays_open = raised >= open_after or (
                index % MORE_OPEN_EVERY == 0 and raised >= built_at - timedelta(days=BREACHED_DAYS)
            )
            state = _story(conn, rng, escalation_id, f, raised, stays_open, built_at)
            if state in engine.OPEN_STATES:
                opened += 1
                due = resolve_due if state != "new" else ack_due
                breached += int(due < built_at)
                if f.rule.hide_pending_review and f.post_id is not None:
                    conn.execute(
                        "UPDATE posts SET hidden = 1, hidden_reason = ? WHERE id = ?",
                        (HIDE_REASON, f.post_id),
                    )
        # the newest of every rule is open, whatever the story said, so every kind is on show
        for escalation_id in newest_of_rule.values():
            row = conn.execute(
                "SELECT state FROM escalations WHERE id = ?", (escalation_id,)
            ).fetchone()
            if row[0] not in engine.OPEN_STATES:
                conn.execute(
                    "UPDATE escalations SET state = 'acknowledged', closed_at = NULL, "
                    "closed_by = NULL, dismiss_reason = NULL WHERE id = ?",
                    (escalation_id,),
                )
                _history(
                    conn,
                    escalation_id,
                    built_at - timedelta(minutes=30),
                    "dave",
                    "reopened",
                    row[0],
                    "acknowledged",
                    "came back",
                )
                opened += 1
    return DemoEscalations(len(findings), opened, breached, by_rule)


def _story(
    conn: Connection,
    rng: Random,
    escalation_id: int,
    f: Finding,
    raised: datetime,
    stays_open: bool,
    built_at: datetime,
) -> str:
    """What happened to one escalation; returns its state now."""
    who = rng.choice(MODERATORS)
    values: dict[str, object] = {}
    state = "new"
    ack_minutes = rng.choice((5, 20, 45, 90, 240, 600)) * (2 if rng.random() < 0.2 else 1)
    acked = raised + timedelta(minutes=ack_minutes)
    roll = rng.random()
    if stays_open:
        if roll < 0.35 or acked >= built_at:
            return "new"
        values |= {"acknowledged_at": iso(acked), "acknowledged_by": who, "assignee": who}
        _history(conn, escalation_id, acked, who, "acknowledged", "new", "acknowledged")
        state = "acknowledged"
        if roll > 0.55:
            state = _ticket(conn, rng, escalation_id, acked, who, values, final=False)
    else:
        values |= {"acknowledged_at": iso(acked), "acknowledged_by": who, "assignee": who}
        _history(conn, escalation_id, acked, who, "acknowledged", "new", "acknowledged")
        closed = acked + timedelta(minutes=rng.choice((30, 120, 400, 900, 2000, 4000)))
        if roll < 0.22 and f.rule.id in DISMISS_REASONS:
            reason = rng.choice(DISMISS_REASONS[f.rule.id])
            values |= {"closed_at": iso(closed), "closed_by": who, "dismiss_reason": reason}
            _history(
                conn, escalation_id, closed, who, "dismissed", "acknowledged", "dismissed", reason
            )
            state = "dismissed"
        elif roll < 0.45 and f.rule.severity in ("high", "critical"):
            state = _ticket(conn, rng, escalation_id, acked, who, values, final=True)
        else:
            values |= {"closed_at": iso(closed), "closed_by": who}
            _history(conn, escalation_id, closed, who, "resolved", "acknowledged", "resolved")
            state = "resolved"
    values["state"] = state
    sets = ", ".join(f"{k} = ?" for k in values)
    conn.execute(f"UPDATE escalations SET {sets} WHERE id = ?", (*values.values(), escalation_id))
    return state


def _ticket(
    conn: Connection,
    rng: Random,
    escalation_id: int,
    acked: datetime,
    who: str,
    values: dict[str, object],
    *,
    final: bool,
) -> str:
    ticket = str(40_000 + escalation_id)
    sent = acked + timedelta(minutes=rng.choice((10, 30, 60)))
    values |= {
        "ticket_system": TICKET_SYSTEM,
        "ticket_ref": ticket,
        "ticket_url": f"https://kestrel.zendesk.example/agent/tickets/{ticket}",
    }
    _history(
        conn,
        escalation_id,
        sent,
        who,
        "sent_to_support",
        "acknowledged",
        "sent_to_support",
        f"to {TICKET_SYSTEM}",
    )
    _history(
        conn, escalation_id, sent, TICKET_SYSTEM, "ticket_created", None, None, f"ticket {ticket}"
    )
    answered = sent + timedelta(minutes=rng.choice((45, 180, 600)))
    _history(
        conn,
        escalation_id,
        answered,
        f"{TICKET_SYSTEM}:agent",
        "support_comment",
        "sent_to_support",
        "sent_to_support",
        "Thanks for flagging this - we have contacted the customer directly.",
    )
    if not final:
        if rng.random() < 0.5:
            values["ticket_status"] = "open"
            return "sent_to_support"
        values["ticket_status"] = "pending"
        _history(
            conn,
            escalation_id,
            answered,
            TICKET_SYSTEM,
            "ticket_status",
            "sent_to_support",
            "waiting_on_customer",
            f"ticket {ticket} is pending",
        )
        return "waiting_on_customer"
    solved = answered + timedelta(minutes=rng.choice((120, 600, 1500)))
    values |= {"ticket_status": "solved", "closed_at": iso(solved), "closed_by": TICKET_SYSTEM}
    _history(
        conn,
        escalation_id,
        solved,
        TICKET_SYSTEM,
        "ticket_status",
        "sent_to_support",
        "resolved",
        f"ticket {ticket} is solved",
    )
    return "resolved"
