"""Reading escalations for the panel, the CLI and the markers in the Queue and Thread screens.

SLA clocks: until an escalation is acknowledged its clock is the time to acknowledge; after, the
time to resolve. Open escalations are listed by the time left on their clock, breached first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from console.clock import now, parse
from console.db import Cache
from console.errors import NotFound
from console.escalate.engine import OPEN_STATES
from console.storage import Row

STATES = (*OPEN_STATES, "resolved", "dismissed")


@dataclass(frozen=True)
class EscalationRow:
    escalation_id: int
    rule_id: str
    rule_name: str
    severity: str
    state: str
    thread_id: int
    post_id: int | None
    title: str
    matched: str
    context: str
    match_start: int
    match_end: int
    detail: str
    assignee: str | None
    raised_at: str
    clock: str  # "acknowledge" | "resolve" | "closed"
    due_at: str | None
    seconds_left: int | None  # negative: breached by that much
    ticket_system: str | None
    ticket_ref: str | None
    ticket_status: str | None
    dismiss_reason: str | None

    @property
    def breached(self) -> bool:
        return self.seconds_left is not None and self.seconds_left < 0


@dataclass(frozen=True)
class HistoryEntry:
    ts: str
    actor: str
    event: str
    from_state: str | None
    to_state: str | None
    body: str


@dataclass(frozen=True)
class RuleRate:
    rule_id: str
    rule_name: str
    raised: int
    dismissed: int
    open: int

    @property
    def dismiss_rate(self) -> float:
        closed = self.raised - self.open
        return self.dismissed / closed if closed else 0.0


def clock_text(seconds: int | None) -> str:
    """'2h 05m left', 'BREACHED 1d 3h', or '' when closed. Words first: colour is only a cue."""
    if seconds is None:
        return ""
    span = abs(seconds)
    days, rest = divmod(span, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        amount = f"{days}d {hours}h"
    elif hours:
        amount = f"{hours}h {minutes:02d}m"
    else:
        amount = f"{minutes}m"
    return f"{amount} left" if seconds >= 0 else f"BREACHED {amount}"


_SELECT = "SELECT e.*, t.title FROM escalations e JOIN threads t ON t.id = e.thread_id "


def to_escalation(row: Row, at: datetime) -> EscalationRow:
    state = str(row["state"])
    due: str | None
    left: int | None
    if state in OPEN_STATES:
        acknowledged = row["acknowledged_at"] is not None
        clock = "resolve" if acknowledged else "acknowledge"
        due = str(row["resolve_due"] if acknowledged else row["acknowledge_due"])
        left = int((parse(due) - at).total_seconds())
    else:
        clock, due, left = "closed", None, None
    return EscalationRow(
        escalation_id=int(row["id"]),
        rule_id=row["rule_id"],
        rule_name=row["rule_name"],
        severity=row["severity"],
        state=state,
        thread_id=int(row["thread_id"]),
        post_id=row["post_id"],
        title=row["title"],
        matched=row["matched"],
        context=row["context"],
        match_start=int(row["match_start"]),
        match_end=int(row["match_end"]),
        detail=row["detail"],
        assignee=row["assignee"],
        raised_at=row["raised_at"],
        clock=clock,
        due_at=due,
        seconds_left=left,
        ticket_system=row["ticket_system"],
        ticket_ref=row["ticket_ref"],
        ticket_status=row["ticket_status"],
        dismiss_reason=row["dismiss_reason"],
    )


def listing(
    cache: Cache, *, include_closed: bool = False, limit: int = 500, at: datetime | None = None
) -> list[EscalationRow]:
    """Escalations by time left on their SLA clock (breached first); closed ones after."""
    at = at or now()
    where = "" if include_closed else f"WHERE e.state IN ({','.join('?' * len(OPEN_STATES))})"
    params: tuple[object, ...] = () if include_closed else OPEN_STATES
    rows = cache.query(
        _SELECT + where + " ORDER BY CASE WHEN e.acknowledged_at IS NULL THEN e.acknowledge_due "
        "ELSE e.resolve_due END, e.id LIMIT ?",
        (*params, limit),
    )
    found = [to_escalation(r, at) for r in rows]
    found.sort(key=lambda e: (e.seconds_left is None, e.seconds_left or 0, e.escalation_id))
    return found


def one(cache: Cache, escalation_id: int, at: datetime | None = None) -> EscalationRow:
    row = cache.one(_SELECT + "WHERE e.id = ?", (escalation_id,))
    if row is None:
        raise NotFound(f"There is no escalation {escalation_id}")
    return to_escalation(row, at or now())


def history(cache: Cache, escalation_id: int) -> list[HistoryEntry]:
    return [
        HistoryEntry(r["ts"], r["actor"], r["event"], r["from_state"], r["to_state"], r["body"])
        for r in cache.query(
            "SELECT * FROM escalation_history WHERE escalation_id = ? ORDER BY id",
            (escalation_id,),
        )
    ]


def rule_rates(cache: Cache) -> dict[str, RuleRate]:
    """Each rule's escalations raised, dismissed and open, from the counts per rule and state
    that migration 37's triggers keep (a few dozen rows, however many escalations there are;
    grouping the escalations took ~40 ms of CPU at 402,000), with each rule's name from one of
    its escalations (its name when it raised it) in the same statement, one index probe each."""
    counts: dict[str, dict[str, int]] = {}
    names: dict[str, str] = {}
    for r in cache.query(
        "SELECT k.rule_id, k.state, k.escalations, (SELECT e.rule_name FROM escalations e "
        "WHERE e.rule_id = k.rule_id LIMIT 1) FROM escalation_rule_states k "
        "WHERE k.escalations > 0 ORDER BY k.rule_id, k.state"
    ):
        rule = str(r[0])
        counts.setdefault(rule, {})[str(r[1])] = int(r[2])
        names[rule] = str(r[3]) if r[3] is not None else rule
    return {
        rule: RuleRate(
            rule,
            names[rule],
            sum(states.values()),
            states.get("dismissed", 0),
            sum(n for state, n in states.items() if state in OPEN_STATES),
        )
        for rule, states in sorted(counts.items())
    }


def thread_escalations(cache: Cache, thread_id: int) -> list[EscalationRow]:
    """Open escalations of one thread (the Thread screen's band)."""
    at = now()
    rows = cache.query(
        _SELECT + f"WHERE e.thread_id = ? AND e.state IN ({','.join('?' * len(OPEN_STATES))}) "
        "ORDER BY e.id",
        (thread_id, *OPEN_STATES),
    )
    return [to_escalation(r, at) for r in rows]


def escalated_threads(cache: Cache, thread_ids: list[int]) -> dict[int, str]:
    """{thread id: highest open severity} for the given threads (the Queue's marker)."""
    if not thread_ids:
        return {}
    marks = ",".join("?" * len(thread_ids))
    rows = cache.query(
        f"SELECT thread_id, max(CASE severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2 "
        f"WHEN 'medium' THEN 1 ELSE 0 END) AS rank FROM escalations "
        f"WHERE thread_id IN ({marks}) AND state IN ({','.join('?' * len(OPEN_STATES))}) "
        "GROUP BY thread_id",
        (*thread_ids, *OPEN_STATES),
    )
    names = ("low", "medium", "high", "critical")
    return {int(r[0]): names[int(r[1])] for r in rows}


def open_counts(cache: Cache, days: int = 30, at: datetime | None = None) -> list[int]:
    """Escalations open at the end of each of the last `days` calendar days (UTC), oldest
    first; the last is the day of `at` (today: its end is now, or any escalation recorded later
    today). Open at a day's end: raised by the end of that day and not closed by then, the day
    being the date of the timestamp's text (an escalation "closed" before it was raised is
    closed the day it was raised: never open). From migration 37's per-day counts, which its
    triggers keep: the days before the window summed, then each day's raised less closed
    (a few hundred rows; counting the escalations themselves cost ~160 ms of CPU a visit at a
    million threads)."""
    day = (at or now()).astimezone(UTC).date()
    first, last = (day - timedelta(days=days - 1)).isoformat(), day.isoformat()
    before = cache.one(
        "SELECT coalesce(sum(raised - closed), 0) FROM escalation_days WHERE day < ?", (first,)
    )
    moved = {
        str(r[0]): int(r[1])
        for r in cache.query(
            "SELECT day, raised - closed FROM escalation_days WHERE day >= ? AND day <= ?",
            (first, last),
        )
    }
    counts, running = [], int(before[0]) if before else 0
    for back in range(days - 1, -1, -1):
        running += moved.get((day - timedelta(days=back)).isoformat(), 0)
        counts.append(running)
    return counts


def counts_by_state(cache: Cache) -> dict[str, int]:
    """Escalations in each state (those with any), from migration 37's kept counts."""
    counts: dict[str, int] = {}
    for r in cache.query(
        "SELECT state, escalations FROM escalation_rule_states WHERE escalations > 0"
    ):
        counts[str(r[0])] = counts.get(str(r[0]), 0) + int(r[1])
    return counts


def ticket_tags(cache: Cache, escalation_id: int) -> list[str]:
    row = cache.one("SELECT ticket_tags FROM escalations WHERE id = ?", (escalation_id,))
    return json.loads(row[0]) if row else []


def thread_lines(cache: Cache, thread_id: int) -> tuple[str, ...]:
    """One line per open escalation of a thread, for the Thread screen:
    "! Escalated [HIGH] Personal data posted in public — new, BREACHED 2h 00m — E to review"."""
    lines = []
    for row in thread_escalations(cache, thread_id):
        clock = clock_text(row.seconds_left)
        state = row.state.replace("_", " ")
        lines.append(
            f"! Escalated [{row.severity.upper()}] {row.rule_name} — {state}, {clock} — E to review"
        )
    return tuple(lines)
