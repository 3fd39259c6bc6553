"""The clock rules' scan again and again (each visit of the Escalations panel), reading only
what changed since the scan before.

A full scan (`engine.clock_findings`) reads every unanswered open thread of each rule's window
(30 days) and looks up its escalation: 0.3-1 s of reads at a million threads, on every visit,
to find what is nearly always nothing. Between two scans at `t0` and `t1` a thread can only have
become due for an `unanswered` rule if

- its time ran out meanwhile: it was asked in (t0 - hours, t1 - hours], a thin slice of the
  rule's window, read from the same index; or
- it is a new row (a sync brought it, however old it is): its id is above the highest id at
  `t0`, read from the primary key.

A thread changed in place (reopened, its only reply removed, its tags edited) is not in either:
a full scan finds it, and one is made when the last full scan is FULL_EVERY old (and whenever
the rules change). `verification_rejected` findings are few and read in an index each time;
those already raised are not written again. The watch lives as long as its owner (the panel):
its first scan is a full one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from console.clock import iso, now
from console.db import Cache
from console.escalate import active, engine
from console.escalate.rules import Rule, RuleSet
from console.storage import Connection, dialect_of

FULL_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class _Mark:
    """Where the last scan got to."""

    at: datetime  # the time it scanned for
    full_at: datetime  # the time of the last full scan
    max_id: int  # the highest thread id then
    rules: RuleSet


def _unanswered(
    conn: Connection, rule: Rule, at: datetime, ignore_minutes: int, since: _Mark
) -> list[engine.Finding]:
    """The rule's findings among threads whose time ran out after `since.at`, or that are newer
    rows than `since.max_id`."""
    threshold = at - timedelta(hours=rule.hours)
    oldest = threshold - timedelta(minutes=ignore_minutes)
    crossed = since.at - timedelta(hours=rule.hours)
    dialect = dialect_of(conn)
    tag_sql, tag_params = engine._tags_prefilter(rule, dialect)
    select = (
        "SELECT t.id, t.created_at, t.tags, (SELECT p.id FROM posts p WHERE p.thread_id = t.id "
        "AND p.position = 0 ORDER BY p.id LIMIT 1) AS question FROM threads t"
    )
    unanswered = (
        "t.in_queue = 1 AND t.status = 'open' AND t.reply_count = 0 "
        f"AND t.created_at <= ? AND t.created_at >= ? {tag_sql} "
        "AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.rule_id = ? "
        "AND e.subject = 'thread:' || t.id)"
    )
    window = (iso(threshold), iso(oldest), *tag_params, rule.id)
    rows = conn.execute(  # the slice whose time ran out, in the unanswered threads' index
        f"{select}{dialect.indexed_by('threads_unanswered')} "
        f"WHERE t.created_at > ? AND {unanswered}",
        (iso(crossed), *window),
    ).fetchall()
    # threads that are new rows, from the primary key (SQLite: NOT INDEXED keeps it off the
    # indexes of the Queue and of the window, which read every row they hold; PostgreSQL's
    # planner has statistics)
    rows += conn.execute(
        f"{select}{' NOT INDEXED' if dialect.is_sqlite else ''} WHERE t.id > ? AND {unanswered}",
        (since.max_id, *window),
    ).fetchall()
    seen: set[int] = set()
    findings = []
    for row in rows:
        if int(row["id"]) in seen:
            continue
        seen.add(int(row["id"]))
        found = engine.unanswered_finding(rule, row)
        if found is not None:
            findings.append(found)
    return findings


class ClockWatch:
    """The clock scan of one console (the Escalations panel keeps one): the first scan and one
    every FULL_EVERY read everything, the others what changed since (module docstring)."""

    def __init__(self, full_every: timedelta = FULL_EVERY) -> None:
        self.full_every = full_every
        self.full_scans = 0  # how many were full (what the tests look at)
        self._mark: _Mark | None = None
        self._raised: set[tuple[str, str, str]] = set()  # verification findings raised
        self._lock = threading.Lock()

    def due_full(self, at: datetime) -> bool:
        """Whether a scan at `at` would be a full one by the clock alone (the first scan, the
        clock set back, or the last full scan FULL_EVERY old); a change of the rules, which
        also makes one, is known only by reading them."""
        mark = self._mark
        return mark is None or at < mark.at or at - mark.full_at >= self.full_every

    def _full(self, rules: RuleSet, at: datetime) -> bool:
        mark = self._mark
        return self.due_full(at) or mark is None or mark.rules != rules

    def _findings(
        self, conn: Connection, rules: RuleSet, at: datetime, mark: _Mark
    ) -> list[engine.Finding]:
        findings: list[engine.Finding] = []
        for rule in rules.rules:
            if rule.kind == "unanswered":
                findings += _unanswered(conn, rule, at, rules.ignore_older_than_minutes, mark)
        if dialect_of(conn).has_table(conn, "verifications"):
            rejected = [r for r in rules.rules if r.kind == "verification_rejected"]
            findings += [
                f
                for f in engine.verification_findings(conn, rejected)
                if (f.rule.id, f.subject, f.version) not in self._raised
            ]
        return findings

    def scan(self, cache: Cache, at: datetime | None = None) -> int:
        """Raise what time made true since the last scan (everything, the first time, or when
        the last full scan is old); returns how many escalations were raised."""
        raised = self._scan(cache, at or now(), full_allowed=True)
        assert raised is not None
        return raised

    def scan_changes(self, cache: Cache, at: datetime | None = None) -> int | None:
        """`scan` when it reads only what changed since the last one; None, having read only
        the rules, when a full scan is due (its caller then makes one where its time shows
        least: the panel, after its list is drawn)."""
        return self._scan(cache, at or now(), full_allowed=False)

    def _scan(self, cache: Cache, at: datetime, *, full_allowed: bool) -> int | None:
        with self._lock:
            rules = active.current(cache)
            full = self._full(rules, at)
            if full and not full_allowed:
                return None
            row = cache.one("SELECT max(id) FROM threads")
            max_id = int(row[0]) if row and row[0] is not None else 0
            if full or self._mark is None:
                findings = engine.clock_findings(cache.conn, rules, at)
                self.full_scans += 1
            else:
                findings = self._findings(cache.conn, rules, at, self._mark)
            raised = 0
            if findings:
                with cache.transaction() as conn:
                    raised = len(engine.raise_findings(conn, findings))
            full_at = at if full or self._mark is None else self._mark.full_at
            self._mark = _Mark(at=at, full_at=full_at, max_id=max_id, rules=rules)
            self._raised |= _keys(f for f in findings if f.rule.kind == "verification_rejected")
            return raised


def _keys(findings: Iterable[engine.Finding]) -> set[tuple[str, str, str]]:
    return {(f.rule.id, f.subject, f.version) for f in findings}
