"""Whether a ledger entry fits the ledger: the one set of rules every writer checks it by.

The team database's `peerdesk_ledger_append` (console/team/grants.sql) refuses, in SQL, what
does not fit; the cache file's ledger Appender refuses the same before it writes (the ledger as
it stands: `LiveBook`), and migrate-to checks every entry of a cache's ledger the same way
before it copies anything (the ledger replayed up to each entry: console/rewards/replay.py).

- an accrual adds (never takes) points and money, reverses nothing, names no payout line, pays
  for an event true now (the view reward_events), and pays exactly what its schedule version
  pays for it (console/rewards/pricing.py);
- a reversal takes back exactly one accrual of the same member, rule and event (or, rule
  member_banned, exactly the whole balance of a banned member);
- a payout entry is exactly its payout line of a batch still being prepared, negated; a
  payout_return gives back exactly its line's payout entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from console.rewards import pricing
from console.storage import Connection, dialect_of

if TYPE_CHECKING:
    from console.rewards.ledger import Entry


@dataclass(frozen=True)
class Money:
    """Whose, and how much: an entry's or a payout line's points and minor units."""

    member_id: int
    points: int
    amount_minor: int

    def negated(self) -> Money:
        return Money(self.member_id, -self.points, -self.amount_minor)


@dataclass(frozen=True)
class Earlier:
    """An entry already in the ledger, as a later one that answers it needs it."""

    entry_id: int
    kind: str
    rule: str
    event_key: str
    money: Money


@dataclass(frozen=True)
class Line:
    """A payout line: what it pays, and whether its batch is still being prepared."""

    money: Money
    prepared: bool


class Book(Protocol):
    """What the rules read, as it was when the entry is (or was) written."""

    where: str  # "in the cache", "on the team database": for the words of a refusal

    def banned(self, member_id: int) -> bool: ...
    def balance(self, member_id: int) -> Money: ...
    def entry(self, entry_id: int) -> Earlier | None: ...
    def line(self, line_id: int) -> Line | None: ...
    def paid(self, line_id: int) -> Earlier | None: ...
    def event_is_true(self, entry: Entry) -> bool: ...


_IDS_A_READ = 500  # ids in one statement of events_read (under every engine's parameter limit)

EVENT_ID = re.compile(r"[a-z_]+:([1-9][0-9]{0,17})")
"""An event's own key: its kind and its id, written one way only (`post:01` is not `post:1`)."""

_EVENT = (
    "SELECT 1 FROM reward_events WHERE rule = ? AND event_id = ? AND event_key = ? "
    "AND member_id = ? AND thread_id IS NOT DISTINCT FROM ? AND occurred_at = ?"
)


def money_of(entry: Entry) -> Money:
    return Money(entry.member_id, entry.points, entry.amount_minor)


def unfit(entry: Entry, book: Book, pricer: pricing.Pricer) -> str | None:
    """Why `entry` does not fit the ledger `book` shows (one sentence), or None if it does."""
    what = f"{entry.kind} {entry.rule} {entry.event_key}"
    if entry.kind == "accrual":
        return _unfit_accrual(entry, book, pricer)
    if entry.kind == "reversal":
        if entry.line_id is not None:
            return f"A reversal names no payout line ({what})"
        if entry.reverses is None:
            if entry.rule != "member_banned" or not book.banned(entry.member_id):
                return (
                    "A reversal reverses an entry (or the balance of a banned member); "
                    f"{what} does neither"
                )
            held = book.balance(entry.member_id)
            if money_of(entry) != held.negated():
                return (
                    f"A ban reverses exactly the member's balance ({held.points} points, "
                    f"{held.amount_minor} minor units)"
                )
            return None
        target = book.entry(entry.reverses)
        if target is None or (target.kind, target.rule, target.event_key, target.money) != (
            "accrual",
            entry.rule,
            entry.event_key,
            money_of(entry).negated(),
        ):
            return (
                f"A reversal negates exactly the accrual it reverses (entry {entry.reverses}), once"
            )
        return None
    if entry.kind in ("payout", "payout_return"):
        line_id = entry.line_id
        line = None if line_id is None else book.line(line_id)
        if (
            line_id is None
            or line is None
            or (entry.rule, entry.event_key)
            != (
                "payout",
                f"line:{line_id}",
            )
        ):
            return f"A {entry.kind} entry is for an existing payout line, as line:<its id> ({what})"
        if entry.kind == "payout":
            if not line.prepared or entry.reverses is not None or not _negates(entry, line.money):
                return (
                    f"A payout entry is exactly its payout line {line_id} of a prepared batch, "
                    "negated"
                )
            return None
        paid = book.paid(line_id)
        if paid is None or entry.reverses != paid.entry_id or not _negates(entry, paid.money):
            return f"A payout_return gives back exactly the payout entry of line {line_id}"
        return None
    return f"There is no ledger entry kind {entry.kind!r}"


def _negates(entry: Entry, money: Money) -> bool:
    return money_of(entry) == money.negated()


def _unfit_accrual(entry: Entry, book: Book, pricer: pricing.Pricer) -> str | None:
    if entry.points < 0 or entry.amount_minor < 0:
        return (
            f"An accrual adds points and money; {entry.rule} {entry.event_key} would take "
            f"{entry.points} points away"
        )
    if entry.reverses is not None or entry.line_id is not None:
        return (
            f"An accrual reverses nothing and names no payout line ({entry.rule} {entry.event_key})"
        )
    if not book.event_is_true(entry):
        return (
            f"There is no {entry.rule} event {entry.event_key} of member {entry.member_id} "
            f"(thread {entry.thread_id}, at {entry.occurred_at}) to pay {book.where} now"
        )
    wrong = pricer.problems(
        member_id=entry.member_id,
        rule=entry.rule,
        points=entry.points,
        amount_minor=entry.amount_minor,
        currency=entry.currency,
        version=entry.schedule_version,
        occurred_at=entry.occurred_at,
        thread_id=entry.thread_id,
    )
    return f"The accrual for {entry.rule} {entry.event_key} {wrong[0]}" if wrong else None


class LiveBook:
    """The ledger and its tables as they stand, in the writer's transaction (the Appender)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.where = dialect_of(conn).where
        self.asked: set[tuple[str, int]] = set()  # (rule, event id) read by events_read
        self.known: set[tuple[str, str, int, int | None, str]] = set()  # what it found

    def banned(self, member_id: int) -> bool:
        found = self.conn.execute(
            "SELECT 1 FROM reward_bans WHERE member_id = ?", (member_id,)
        ).fetchone()
        return found is not None

    def balance(self, member_id: int) -> Money:
        row = self.conn.execute(
            "SELECT coalesce(sum(points), 0), coalesce(sum(amount_minor), 0) FROM ledger "
            "WHERE member_id = ?",
            (member_id,),
        ).fetchone()
        return Money(member_id, int(row[0]), int(row[1]))

    def _earlier(self, where: str, value: object) -> Earlier | None:
        row = self.conn.execute(
            "SELECT id, kind, rule, event_key, member_id, points, amount_minor FROM ledger "
            f"WHERE {where}",
            (value,),
        ).fetchone()
        if row is None:
            return None
        money = Money(int(row[4]), int(row[5]), int(row[6]))
        return Earlier(int(row[0]), str(row[1]), str(row[2]), str(row[3]), money)

    def entry(self, entry_id: int) -> Earlier | None:
        return self._earlier("id = ?", entry_id)

    def paid(self, line_id: int) -> Earlier | None:
        return self._earlier(
            "kind = 'payout' AND rule = 'payout' AND event_key = ?", f"line:{line_id}"
        )

    def line(self, line_id: int) -> Line | None:
        row = self.conn.execute(
            "SELECT l.member_id, l.points, l.amount_minor, b.state FROM payout_lines l "
            "JOIN payout_batches b ON b.id = l.batch_id WHERE l.id = ?",
            (line_id,),
        ).fetchone()
        if row is None:
            return None
        return Line(Money(int(row[0]), int(row[1]), int(row[2])), str(row[3]) == "prepared")

    @contextmanager
    def events_read(self, entries: Iterable[Entry]) -> Iterator[None]:
        """Inside: the events of these accruals read from reward_events in a few statements (by
        rule and a list of ids), so that `event_is_true` answers them without a statement each
        (what a run of many accruals does while it writes them). Only the caller's transaction
        writes meanwhile, and what was read is forgotten on the way out, so it is never
        answered from once something else may have changed it."""
        wanted: dict[str, set[int]] = {}
        for entry in entries:
            found = EVENT_ID.fullmatch(entry.event_key)
            if entry.kind == "accrual" and found is not None:
                wanted.setdefault(entry.rule, set()).add(int(found.group(1)))
        for rule, ids in wanted.items():
            listed = sorted(ids)
            for start in range(0, len(listed), _IDS_A_READ):
                part = listed[start : start + _IDS_A_READ]
                marks = ", ".join("?" * len(part))
                for row in self.conn.execute(
                    "SELECT event_id, event_key, member_id, thread_id, occurred_at "
                    f"FROM reward_events WHERE rule = ? AND event_id IN ({marks})",
                    (rule, *part),
                ):
                    thread = None if row[3] is None else int(row[3])
                    self.known.add((rule, str(row[1]), int(row[2]), thread, str(row[4])))
                self.asked.update((rule, event_id) for event_id in part)
        try:
            yield
        finally:
            self.asked, self.known = set(), set()

    def event_is_true(self, entry: Entry) -> bool:
        """The accrual's event is in reward_events now (the one definition of what the rules
        pay for, migration 29): of its rule, named by its own key, this member's, in this
        thread, at this time (the caps count by day and thread). Looked up by rule and id, so
        each branch of the view reads a few rows by a primary key (or answered from what
        `events_read` read)."""
        found = EVENT_ID.fullmatch(entry.event_key)
        if found is None:
            return False
        if (entry.rule, int(found.group(1))) in self.asked:
            fact = (entry.rule, entry.event_key, entry.member_id, entry.thread_id)
            return (*fact, entry.occurred_at) in self.known
        row = self.conn.execute(
            _EVENT,
            (
                entry.rule,
                int(found.group(1)),
                entry.event_key,
                entry.member_id,
                entry.thread_id,
                entry.occurred_at,
            ),
        ).fetchone()
        return row is not None
