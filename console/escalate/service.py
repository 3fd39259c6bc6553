"""The escalation facade the console and the CLI use (through `Desk.escalations`): reads from
console.escalate.panel, decisions through console.decisions (roles checked there)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from console.db import Cache
from console.escalate import actions as _actions  # registers the esc_* decision kinds
from console.escalate import active, engine, pages, panel, people, report, tickets
from console.escalate.clock_watch import ClockWatch
from console.escalate.kept_counts import Recounted, recount_in
from console.escalate.panel import EscalationRow, HistoryEntry, RuleRate
from console.escalate.rules import RuleSet
from console.models import DecisionResult
from console.storage import Connection

if TYPE_CHECKING:
    from console.desk import Desk

assert _actions.ESCALATION_ROLES  # the import above is for its side effect


@dataclass
class Escalations:
    desk: Desk

    @property
    def cache(self) -> Cache:
        return self.desk.cache

    # ---- reading ----
    def refresh(self, at: datetime | None = None) -> int:
        """Raise what time made true and link tickets created by pushes; returns new count.

        Safe for read-only users: it only records facts, never a moderator decision.
        """
        raised = engine.scan_clock(self.cache, at)
        tickets.link_created_tickets(self.cache)
        return raised

    def refresh_apart(self, at: datetime | None = None, watch: ClockWatch | None = None) -> int:
        """`refresh` on a connection of its own (a new session on the team database), for the
        console's worker: the Desk's connection stays free for the Queue, threads and decisions
        while the scan reads and writes. Given the `watch` of an earlier scan, only what changed
        since is read (console.escalate.clock_watch)."""
        cache = self.cache.reopen()
        try:
            raised = engine.scan_clock(cache, at) if watch is None else watch.scan(cache, at)
            tickets.link_created_tickets(cache)
        finally:
            cache.close()
        return raised

    def refresh_changes(self, watch: ClockWatch, at: datetime | None = None) -> int | None:
        """`refresh` with the watch when it reads only what changed since its last scan
        (milliseconds); None, having scanned nothing, when a full scan is due. On the Desk's own
        connection: its caller holds the Desk (the panel's list worker, which reads its page
        next), and a connection opened for it cost 1-8 ms a visit at 100,000 threads."""
        raised = watch.scan_changes(self.cache, at)
        if raised is not None:
            tickets.link_created_tickets(self.cache)
        return raised

    def listing(self, *, include_closed: bool = False) -> list[EscalationRow]:
        return panel.listing(self.cache, include_closed=include_closed)

    def page(
        self,
        *,
        include_closed: bool = False,
        offset: int = 0,
        limit: int = 100,
        after: int | None = None,
        before: int | None = None,
        total: int | None = None,
    ) -> list[EscalationRow]:
        """A page of the panel's list (console.escalate.pages: keyset from `after`/`before`)."""
        return pages.page(
            self.cache,
            include_closed=include_closed,
            offset=offset,
            limit=limit,
            after=after,
            before=before,
            total=total,
        )

    def one(self, escalation_id: int) -> EscalationRow:
        return panel.one(self.cache, escalation_id)

    def history(self, escalation_id: int) -> list[HistoryEntry]:
        return panel.history(self.cache, escalation_id)

    def rule_rates(self) -> dict[str, RuleRate]:
        return panel.rule_rates(self.cache)

    def open_counts(self, days: int = 30) -> list[int]:
        return panel.open_counts(self.cache, days)

    def for_thread(self, thread_id: int) -> list[EscalationRow]:
        return panel.thread_escalations(self.cache, thread_id)

    def marks(self, thread_ids: list[int]) -> dict[int, str]:
        return panel.escalated_threads(self.cache, thread_ids)

    def report(self) -> report.SlaReport:
        return report.build(self.cache)

    def takers(self) -> list[str]:
        """Who an escalation can be assigned to (console.escalate.people), sorted."""
        return people.takers(self.cache.conn, self.desk.who)

    def rules(self) -> RuleSet:
        return active.current(self.cache)

    # ---- rules ----
    def install_rules(self, path: Path) -> RuleSet:
        """Check RULES and put them in force: the `escalation_rules` action (the roles of
        console.escalate.actions), one transaction with its audit entry."""
        self.desk.door.check("escalation_rules")  # before the file is read
        rules = active.read_rules_file(path)

        def put_in_force(conn: Connection) -> RuleSet:
            active.install_in(conn, rules)
            return rules

        return self.desk.door.act(
            "escalation_rules",
            put_in_force,
            target_kind="rules",
            detail={
                "origin": rules.origin,
                "rules": [rule.id for rule in rules.rules],
                "sha256": hashlib.sha256(rules.text.encode()).hexdigest(),
            },
        )

    def recount(self) -> Recounted:
        """Count the panel's kept figures (migration 37) again from the escalations: the
        `escalation_recount` action (admins), one transaction with its audit entry saying how
        many rows were wrong (console.escalate.kept_counts)."""
        return self.desk.door.act(
            "escalation_recount",
            recount_in,
            target_kind="escalations",
            detail=lambda done: done.as_detail(),
        )

    # ---- decisions ----
    def _decide(self, action: str, escalation_id: int, **params: object) -> DecisionResult:
        return self.desk.decide(action, [escalation_id], **params)

    def raise_thread(
        self, thread_id: int, reason: str, severity: str | None = None
    ) -> DecisionResult:
        """Escalate a thread by hand (console.escalate.by_hand)."""
        return self.desk.decide("esc_raise", [thread_id], reason=reason, severity=severity)

    def acknowledge(self, escalation_id: int) -> DecisionResult:
        return self._decide("esc_acknowledge", escalation_id)

    def assign(self, escalation_id: int, assignee: str | None = None) -> DecisionResult:
        return self._decide("esc_assign", escalation_id, assignee=assignee or self.desk.actor)

    def send_to_support(self, escalation_id: int, system: str | None = None) -> DecisionResult:
        return self._decide("esc_send", escalation_id, system=system)

    def note(self, escalation_id: int, body: str) -> DecisionResult:
        return self._decide("esc_note", escalation_id, body=body)

    def resolve(self, escalation_id: int, reply: str = "") -> DecisionResult:
        return self._decide("esc_resolve", escalation_id, reply=reply)

    def dismiss(self, escalation_id: int, reason: str) -> DecisionResult:
        return self._decide("esc_dismiss", escalation_id, reason=reason)

    def reopen(self, escalation_id: int) -> DecisionResult:
        return self._decide("esc_reopen", escalation_id)
