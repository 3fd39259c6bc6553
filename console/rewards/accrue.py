"""Bring the ledger up to date with the cache: pay new events once, reverse undone ones.

One call is one write transaction: it either records every change it found or none (a crash
part-way leaves the ledger as it was, and the next run finds the same work). Running it again
with nothing new writes nothing, whatever was re-synced or re-imported meanwhile, because each
accrual is unique per (rule, event) and an event that was paid and reversed is never paid again.

Caps: a member's accruals are capped per UTC day and per thread by the schedule; a capped event
is still recorded (with the points it got, possibly 0, and the points it would have had), so it
is never looked at again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.bulk_sqlite import bulk_page_cache
from console.clock import now_iso
from console.db import Cache
from console.errors import InvalidDecision
from console.rewards.events import SOURCES, Event, EventSource, new_events
from console.rewards.ledger import Appender, Entry
from console.rewards.pricing import Earned, Terms, due
from console.rewards.schedule import Schedule
from console.storage import Connection, dialect_of


@dataclass
class AccrualReport:
    accrued: int = 0
    reversed: int = 0
    capped: int = 0
    skipped_banned: int = 0
    points: int = 0
    amount_minor: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class _Caps:
    """Points already accrued per (member, day) and (member, thread): read once per member."""

    def __init__(self, conn: Connection, schedule: Schedule) -> None:
        self.conn = conn
        self.terms = Terms.of(schedule)
        self.day: dict[int, dict[str, int]] = {}
        self.thread: dict[int, dict[int, int]] = {}

    def _load(self, member: int) -> None:
        days: dict[str, int] = {}
        threads: dict[int, int] = {}
        for day, thread, points in self.conn.execute(
            "SELECT substr(occurred_at, 1, 10), thread_id, sum(points) FROM ledger "
            "WHERE member_id = ? AND kind = 'accrual' GROUP BY 1, 2",
            (member,),
        ):
            days[day] = days.get(day, 0) + int(points)
            if thread is not None:
                threads[int(thread)] = threads.get(int(thread), 0) + int(points)
        self.day[member], self.thread[member] = days, threads

    def grant(self, event: Event) -> int:
        """The points `event` gets (what the schedule pays its rule, within the caps' room:
        console.rewards.pricing, as the ledger checks it), counted against later ones."""
        member = event.member_id
        if member not in self.day:
            self._load(member)
        days, threads = self.day[member], self.thread[member]
        day = event.occurred_at[:10]
        earned = Earned(
            days.get(day, 0), None if event.thread_id is None else threads.get(event.thread_id, 0)
        )
        granted = due(self.terms, event.rule, earned)
        days[day] = days.get(day, 0) + granted
        if event.thread_id is not None:
            threads[event.thread_id] = threads.get(event.thread_id, 0) + granted
        return granted


def banned_members(conn: Connection) -> set[int]:
    return {int(r[0]) for r in conn.execute("SELECT member_id FROM reward_bans")}


_LIVE = "rewards_events_now"  # the run's temporary table of the keys of the events true now
_WRITE_EVERY = 2_000  # accruals written (and their events checked) together


MASS_REVERSAL_SHARE = 0.5
MASS_REVERSAL_MIN = 50


def accrue(
    cache: Cache,
    schedule: Schedule,
    *,
    allow_mass_reversal: bool = False,
) -> AccrualReport:
    """Pay every new event once and reverse every paid event that is no longer true.

    The ledger's own bookkeeping, derived from the cache's events (like an index): it takes no
    identity and writes no audit entry. The audited way in is the `ledger_accrue` action of
    `Desk.rewards` (and every batch preparation runs it first, inside its own transaction).

    If a rule would reverse more than half of its paid events (and more than 50), the cache has
    probably lost data (a table emptied, a half import) rather than that many answers being
    undone: nothing is written and InvalidDecision says so, unless `allow_mass_reversal`."""
    with cache.transaction() as conn:
        return accrue_in(conn, schedule, AccrualReport(), allow_mass_reversal)


def accrue_in(
    conn: Connection,
    schedule: Schedule,
    report: AccrualReport,
    allow_mass_reversal: bool = False,
) -> AccrualReport:
    """`accrue` inside the caller's write transaction."""
    appender = Appender(conn)
    banned = banned_members(conn)
    caps = _Caps(conn, schedule)
    with bulk_page_cache(conn):
        for source in SOURCES.values():
            _accrue_source(
                conn, appender, source, schedule, banned, caps, report, allow_mass_reversal
            )
    return report


def _accrue_source(
    conn: Connection,
    appender: Appender,
    source: EventSource,
    schedule: Schedule,
    banned: set[int],
    caps: _Caps,
    report: AccrualReport,
    allow_mass_reversal: bool = False,
) -> None:
    rule = source.rule
    # The keys of the events true now go into a temporary table (how often each is listed), in
    # SQL; the new events are then read in time order, a page at a time, and the paid ones no
    # longer true found with index lookups: neither the events nor the ledger (tens of millions
    # of rows for a big community's first run) are ever held in memory.
    dialect = dialect_of(conn)
    scratch = dialect.scratch_table(_LIVE)
    conn.execute(dialect.create_scratch_table(_LIVE, "event_key TEXT PRIMARY KEY, n INTEGER"))
    conn.execute(f"DELETE FROM {scratch}")
    conn.execute(
        f"INSERT INTO {scratch} (event_key, n) SELECT event_key, count(*) FROM reward_events "
        "WHERE rule = ? GROUP BY event_key",
        (rule,),
    )
    listed_twice = {str(r[0]) for r in conn.execute(f"SELECT event_key FROM {scratch} WHERE n > 1")}
    open_accruals = {
        str(r["event_key"]): r
        for r in conn.execute(
            "SELECT a.id, a.event_key, a.member_id, a.points, a.amount_minor, a.thread_id "
            "FROM ledger a WHERE a.kind = 'accrual' AND a.rule = ? "
            f"AND NOT EXISTS (SELECT 1 FROM {scratch} l WHERE l.event_key = a.event_key) "
            "AND NOT EXISTS (SELECT 1 FROM ledger r WHERE r.kind = 'reversal' AND r.rule = a.rule "
            "AND r.event_key = a.event_key)",
            (rule,),
        )
    }

    per_point = schedule.points.get(rule, 0)
    paid_now: set[str] = set()  # of the keys listed twice: the first one in time is paid
    batch: list[Entry] = []
    for event in new_events(conn, rule):
        if event.event_key in listed_twice:
            if event.event_key in paid_now:
                continue
            paid_now.add(event.event_key)
        if event.member_id in banned:
            report.skipped_banned += 1
            continue
        if per_point <= 0:
            continue
        granted = caps.grant(event)
        detail: dict[str, object] = dict(event.detail)
        if granted < per_point:
            detail["capped_from"] = per_point
            report.capped += 1
        amount = granted * schedule.point_value_minor
        batch.append(
            Entry(
                member_id=event.member_id,
                kind="accrual",
                rule=rule,
                event_key=event.event_key,
                points=granted,
                amount_minor=amount,
                currency=schedule.currency,
                schedule_version=schedule.version,
                occurred_at=event.occurred_at,
                thread_id=event.thread_id,
                detail=detail,
            )
        )
        report.accrued += 1
        report.points += granted
        report.amount_minor += amount
        report.by_rule[rule] = report.by_rule.get(rule, 0) + 1
        if len(batch) >= _WRITE_EVERY:
            appender.append_accruals(batch)
            batch = []
    appender.append_accruals(batch)

    gone = list(open_accruals)
    if not allow_mass_reversal and len(gone) > MASS_REVERSAL_MIN:
        paid = conn.execute(
            "SELECT count(*) FROM ledger WHERE kind = 'accrual' AND rule = ?", (rule,)
        ).fetchone()[0]
        if len(gone) > MASS_REVERSAL_SHARE * paid:
            raise InvalidDecision(
                f"Accruing would reverse {len(gone)} of {paid} paid {rule.replace('_', ' ')} "
                f"events at once: what is {dialect_of(conn).where} looks incomplete (a table "
                "emptied or a half import?). "
                "Nothing was written. Sync again, or pass --allow-mass-reversal if they really "
                "were all undone."
            )
    now = now_iso()
    for key, row in sorted(open_accruals.items(), key=lambda kv: int(kv[1]["id"])):
        if int(row["member_id"]) in banned:
            continue
        appender.append(
            Entry(
                member_id=int(row["member_id"]),
                kind="reversal",
                rule=rule,
                event_key=key,
                points=-int(row["points"]),
                amount_minor=-int(row["amount_minor"]),
                currency=schedule.currency,
                schedule_version=schedule.version,
                occurred_at=now,
                thread_id=row["thread_id"],
                reverses=int(row["id"]),
                detail={"why": source.why_gone(conn, key)},
            )
        )
        report.reversed += 1
        report.points -= int(row["points"])
        report.amount_minor -= int(row["amount_minor"])


def forfeit_for_ban(
    conn: Connection, member_id: int, schedule: Schedule, reason: str
) -> int | None:
    """A banned member's whole current balance is reversed in one entry (unique per member)."""
    row = conn.execute(
        "SELECT coalesce(sum(points), 0), coalesce(sum(amount_minor), 0) FROM ledger "
        "WHERE member_id = ?",
        (member_id,),
    ).fetchone()
    points, amount = int(row[0]), int(row[1])
    if amount <= 0 and points <= 0:
        return None
    return Appender(conn).append(
        Entry(
            member_id=member_id,
            kind="reversal",
            rule="member_banned",
            event_key=f"member:{member_id}",
            points=-points,
            amount_minor=-amount,
            currency=schedule.currency,
            schedule_version=schedule.version,
            occurred_at=now_iso(),
            detail={"why": f"member banned: {reason}"},
        )
    )
