"""Every entry of a ledger checked as its writer checked it on arrival, replayed in id order.

migrate-to (console/team/copy.py) copies a cache file's ledger into a team database whose
server would have refused, one by one, any entry that does not fit (console/rewards/fit.py):
an accrual for an event that is not in reward_events or priced otherwise than its schedule
version pays, a reversal that does not undo exactly its accrual, a ban that does not take back
exactly the member's balance, a payout entry that is not exactly its batch line. The copy
itself only checks the hash chain, and anyone who can write the cache file can rewrite the
chain with it; so before anything is copied, each entry is checked here by the same rules,
against the ledger as it stood just before it (`ReplayBook`), and the first that does not fit
stops the copy.

What is no longer as it was when an entry was written is read as it must have been then: an
accrual whose event is not true now is accepted if a later entry takes it back (its reversal,
or the ban of its member: that is how the ledger answers an event undone); a payout entry's
batch was being prepared when it was written (its lines and their entries are written in one
transaction, before any approval).
"""

from __future__ import annotations

import json

from console.db import Cache
from console.rewards import fit, pricing
from console.rewards.ledger import Entry, LedgerProblem, entries
from console.storage import Connection, Row


class ReplayBook:
    """The ledger as it stood before the entry being checked: what was replayed so far."""

    def __init__(self, conn: Connection, where: str) -> None:
        self.live = fit.LiveBook(conn)
        self.conn = conn
        self.where = where
        self.bans = {int(r[0]) for r in conn.execute("SELECT member_id FROM reward_bans")}
        self.undone = {
            (str(r[0]), str(r[1]))
            for r in conn.execute(
                "SELECT rule, event_key FROM ledger "
                "WHERE kind = 'reversal' AND reverses IS NOT NULL"
            )
        }
        self.forfeited = {
            int(r[0])
            for r in conn.execute(
                "SELECT member_id FROM ledger WHERE kind = 'reversal' AND rule = 'member_banned'"
            )
        }
        self.balances: dict[int, fit.Money] = {}
        self.accruals: dict[int, fit.Earlier] = {}
        self.payouts: dict[int, fit.Earlier] = {}

    def banned(self, member_id: int) -> bool:
        return member_id in self.bans

    def balance(self, member_id: int) -> fit.Money:
        return self.balances.get(member_id, fit.Money(member_id, 0, 0))

    def entry(self, entry_id: int) -> fit.Earlier | None:
        return self.accruals.get(entry_id)  # (only an accrual is ever reversed)

    def paid(self, line_id: int) -> fit.Earlier | None:
        return self.payouts.get(line_id)

    def line(self, line_id: int) -> fit.Line | None:
        found = self.live.line(line_id)
        return None if found is None else fit.Line(found.money, prepared=True)

    def event_is_true(self, entry: Entry) -> bool:
        return (
            self.live.event_is_true(entry)
            or (entry.rule, entry.event_key) in self.undone
            or entry.member_id in self.forfeited
        )

    def add(self, entry_id: int, entry: Entry) -> None:
        """`entry` is in the ledger now: the entries after it see it."""
        money = fit.money_of(entry)
        held = self.balance(entry.member_id)
        self.balances[entry.member_id] = fit.Money(
            entry.member_id, held.points + money.points, held.amount_minor + money.amount_minor
        )
        earlier = fit.Earlier(entry_id, entry.kind, entry.rule, entry.event_key, money)
        if entry.kind == "accrual":
            self.accruals[entry_id] = earlier
        elif entry.kind == "payout" and entry.line_id is not None:
            self.payouts[entry.line_id] = earlier
        elif entry.reverses is not None:  # taken back once: never again
            self.accruals.pop(entry.reverses, None)
            if entry.line_id is not None:
                self.payouts.pop(entry.line_id, None)


def _entry(row: Row) -> Entry:
    return Entry(
        member_id=int(row["member_id"]),
        kind=str(row["kind"]),
        rule=str(row["rule"]),
        event_key=str(row["event_key"]),
        points=row["points"],
        amount_minor=row["amount_minor"],
        currency=str(row["currency"]),
        schedule_version=str(row["schedule_version"]),
        occurred_at=str(row["occurred_at"]),
        thread_id=None if row["thread_id"] is None else int(row["thread_id"]),
        reverses=None if row["reverses"] is None else int(row["reverses"]),
        line_id=None if row["line_id"] is None else int(row["line_id"]),
        detail=json.loads(str(row["detail"]) or "{}"),
    )


def first_unfit(cache: Cache) -> LedgerProblem | None:
    """The first entry of `cache`'s ledger, in id order, that its writer would have refused
    where it stands (or a payout line that has no payout entry), or None: all fit. Read in one
    snapshot (inside a transaction: that transaction)."""
    with cache.snapshot() as conn:
        book = ReplayBook(conn, cache.dialect.where)
        pricer = pricing.Pricer(conn, from_ledger=False)
        seen: set[tuple[str, str, str]] = set()
        for row in entries(cache):
            entry_id, entry = int(row["id"]), _entry(row)
            once = (entry.kind, entry.rule, entry.event_key)
            if once in seen:
                return LedgerProblem(entry_id, f"a second {entry.kind} for {once[1]} {once[2]}")
            seen.add(once)
            if not isinstance(entry.points, int) or not isinstance(entry.amount_minor, int):
                return LedgerProblem(entry_id, "its amount is not a whole number")
            problem = fit.unfit(entry, book, pricer)
            if problem is not None:
                return LedgerProblem(entry_id, problem)
            book.add(entry_id, entry)
            if entry.kind == "accrual":
                pricer.count(entry.member_id, entry.occurred_at, entry.thread_id, entry.points)
        unpaid = conn.execute(
            "SELECT l.id FROM payout_lines l WHERE NOT EXISTS (SELECT 1 FROM ledger e "
            "WHERE e.kind = 'payout' AND e.rule = 'payout' AND e.line_id = l.id) "
            "ORDER BY l.id LIMIT 1"
        ).fetchone()
        if unpaid is not None:
            return LedgerProblem(0, f"payout line {unpaid[0]} has no payout entry")
    return None
