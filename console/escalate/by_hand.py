"""Escalating a thread by hand: what the rules did not catch, a moderator who reads it does.

    esc_raise   a thread -> a new escalation, with the moderator's reason (and a severity)

The escalation is like one a rule raised (the same SLA clocks, panel, hand-off to support),
under the rule set's `manual` rule, which never fires by itself and only gives the SLA, the
ticket priority and tags; a set without one uses BY_HAND below. One transaction with its audit
entry and outbox item (local only: nothing goes to the community's platform), undone by `u`
(dismissed as raised by mistake) while nobody has acted on the escalation since. A thread has
at most one open escalation raised by hand: a second reason is a note on it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from console import decisions
from console.clock import now_iso
from console.decisions import Change, Kind
from console.errors import InvalidDecision, NotFound
from console.escalate.actions import (
    FIELDS,
    INTERNAL,
    escalation_row,
    history,
    set_fields,
)
from console.escalate.active import current_in
from console.escalate.engine import OPEN_STATES, Finding, insert_escalation
from console.escalate.rules import DEFAULT_PRIORITY, Rule, RuleSet
from console.escalate.severity import SEVERITIES
from console.storage import Connection, dialect_of

ACTION = "esc_raise"
MAX_REASON = 2000
UNDONE = "raised by mistake (undone)"
BY_HAND = Rule(
    id="by-hand",
    name="Raised by a moderator",
    kind="manual",
    severity="high",
    acknowledge_minutes=60,
    resolve_minutes=24 * 60,
    zendesk_priority=DEFAULT_PRIORITY["high"],
)


def manual_rule(rules: RuleSet) -> Rule:
    """The rule whose SLA escalations raised by hand get."""
    return next((r for r in rules.rules if r.kind == "manual"), BY_HAND)


def _thread_of(conn: Connection, thread_id: int) -> int:
    return thread_id


def _raise(conn: Connection, thread_id: int, params: dict[str, Any]) -> Change:
    reason = " ".join(str(params.get("reason") or "").split())
    if not reason:
        raise InvalidDecision("Escalating needs a reason: what the rules missed")
    if len(reason) > MAX_REASON:
        raise InvalidDecision(f"The reason is {len(reason):,} characters; {MAX_REASON:,} at most")
    if conn.execute("SELECT 1 FROM threads WHERE id = ?", (thread_id,)).fetchone() is None:
        raise NotFound(f"There is no thread {thread_id} {dialect_of(conn).where}")
    rule = manual_rule(current_in(conn))
    severity = str(params.get("severity") or rule.severity)
    if severity not in SEVERITIES:
        raise InvalidDecision(f"Severity must be one of {', '.join(SEVERITIES)} (got {severity!r})")
    states = ",".join("?" * len(OPEN_STATES))
    already = conn.execute(
        f"SELECT id, state FROM escalations WHERE thread_id = ? AND rule_kind = 'manual' "
        f"AND state IN ({states}) ORDER BY id LIMIT 1",
        (thread_id, *OPEN_STATES),
    ).fetchone()
    if already is not None:
        raise InvalidDecision(
            f"Thread {thread_id} is already escalated by hand (escalation {already['id']}, "
            f"{already['state']}): add a note to it in the Escalations panel"
        )
    earlier = conn.execute(
        "SELECT count(*) FROM escalations WHERE thread_id = ? AND rule_kind = 'manual'",
        (thread_id,),
    ).fetchone()[0]
    actor = str(params["actor"])
    stamp = now_iso()
    finding = Finding(
        rule=replace(
            rule,
            severity=severity,
            zendesk_priority=rule.zendesk_priority
            if severity == rule.severity
            else DEFAULT_PRIORITY[severity],
        ),
        thread_id=thread_id,
        post_id=None,
        subject=f"thread:{thread_id}",
        version=f"by-hand-{int(earlier) + 1}",
        raised_at=stamp,
        matched="",
        context=f"raised by hand by {actor}",  # what the panel and the ticket show as matched
        start=0,
        end=0,
        detail=reason,
    )
    escalation_id = insert_escalation(conn, finding, stamp)
    if escalation_id is None:  # two moderators at once: the other one's stands
        raise InvalidDecision(f"Thread {thread_id} was escalated by someone else just now")
    history(conn, escalation_id, actor, "raised", None, "new", reason)
    # The decision is about the thread (what `team push` finds on the team database by the
    # platform's ids and raises again there); the escalation it made is in `after`.
    return Change(
        "thread",
        thread_id,
        thread_id,
        {},
        {
            "escalation_id": escalation_id,
            "state": "new",
            "rule": finding.rule.id,
            "severity": severity,
            "reason": reason,
        },
        INTERNAL,
        {"escalation_id": escalation_id, "verb": "raise"},
    )


def _unraise(conn: Connection, recorded: dict[str, Any]) -> Change:
    """Undo: the escalation is dismissed as raised by mistake (never deleted: its number stays
    its own in the audit log), while nobody has worked on it since."""
    escalation_id = int(recorded["after"]["escalation_id"])
    row = escalation_row(conn, escalation_id)
    worked = conn.execute(
        "SELECT count(*) FROM escalation_history WHERE escalation_id = ? AND event != 'raised'",
        (escalation_id,),
    ).fetchone()[0]
    if row["state"] != "new" or row["assignee"] or row["ticket_ref"] or int(worked):
        raise InvalidDecision(
            f"Escalation {escalation_id} was worked on since (it is {row['state']}); "
            "dismiss it instead"
        )
    before = {key: row[key] for key in FIELDS}
    after = {
        "state": "dismissed",
        "closed_at": now_iso(),
        "closed_by": "undo",
        "dismiss_reason": UNDONE,
    }
    set_fields(conn, escalation_id, after)
    history(conn, escalation_id, "undo", "undone", "new", "dismissed", UNDONE)
    return Change(
        "thread",
        int(row["thread_id"]),
        int(row["thread_id"]),
        {**before, "escalation_id": escalation_id},
        {**before, **after, "escalation_id": escalation_id},
        INTERNAL,
        {"escalation_id": escalation_id, "verb": "undo"},
    )


decisions.register(Kind(ACTION, ACTION, _raise, _unraise, _thread_of))
