"""The rewards ledger: append-only, hash-chained, integer minor units; balances are derived.

Entries are never changed or deleted (triggers in the schema refuse UPDATE and DELETE); an
undone event gets a `reversal` entry, a payout a `payout` entry, a failed or held-back payout a
`payout_return` entry. Each entry is unique per (kind, rule, event key), so a re-sync, replay or
re-import that offers the same event again writes nothing.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields; the newest
id and hash are also kept in meta `ledger_head`, so cutting entries off the end is detected.
On the team database the server appends (console.rewards.ledger_server): the same chain, numbered,
stamped and hashed by `peerdesk_ledger_append` under its lock, which also checks the entry.
In the cache file the Appender itself refuses what the server refuses (console.rewards.fit): an
accrual whose event is not true now (the view reward_events) or that is priced otherwise than its
schedule version pays now (console.rewards.pricing: points within the caps, point value,
currency), a reversal or payout entry that does not negate exactly what it answers. `verify`
walks the chain, re-derives every balance from the entries and checks the rules the entries
must obey (a reversal negates exactly the entry it reverses, once; a payout entry matches its
payout line; an accrual is priced as its schedule says).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from console import chain_head
from console.chain_head import Head as Head  # the type callers name as audit.Head / ledger.Head
from console.clock import now_iso
from console.db import Cache
from console.errors import InvalidDecision
from console.rewards import fit, ledger_server, pricing
from console.storage import Connection, Row, dialect_of

GENESIS = "0" * 64
HEAD_KEY = "ledger_head"

FIELDS = (
    "id",
    "member_id",
    "kind",
    "rule",
    "event_key",
    "thread_id",
    "points",
    "amount_minor",
    "currency",
    "schedule_version",
    "occurred_at",
    "recorded_at",
    "reverses",
    "line_id",
    "detail",
)


def digest(prev_hash: str, row: dict[str, Any] | Row) -> str:
    canonical = json.dumps([row[f] for f in FIELDS], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


@dataclass
class Entry:
    member_id: int
    kind: str
    rule: str
    event_key: str
    points: int
    amount_minor: int
    currency: str
    schedule_version: str
    occurred_at: str
    thread_id: int | None = None
    reverses: int | None = None
    line_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _checked(entry: Entry) -> None:
    if not isinstance(entry.amount_minor, int) or not isinstance(entry.points, int):
        raise TypeError("ledger amounts are whole numbers of points and minor units")


def _refuse(entry: Entry, book: fit.Book, pricer: pricing.Pricer) -> None:
    """InvalidDecision, in one line, unless `entry` fits the ledger (console.rewards.fit: the
    rules of the team database's peerdesk_ledger_append); the caller's transaction is rolled
    back, so nothing is written."""
    problem = fit.unfit(entry, book, pricer)
    if problem is not None:
        raise InvalidDecision(f"{problem}. Nothing was written")


class Appender:
    """Appends entries inside the caller's write transaction, keeping the chain's head in hand."""

    def __init__(self, conn: Connection) -> None:
        if not conn.in_transaction:
            raise RuntimeError("ledger entries are appended inside a write transaction")
        self.conn = conn
        self.on_server = dialect_of(conn).server_ledger
        self.written = 0
        self.pricer = pricing.Pricer(conn, from_ledger=True)
        self.book = fit.LiveBook(conn)
        if self.on_server:  # the server keeps the head (and numbers, stamps, chains)
            self.last_id, self.last_hash, self.recorded_at = 0, GENESIS, ""
            return
        head = conn.execute("SELECT id, hash FROM ledger ORDER BY id DESC LIMIT 1").fetchone()
        self.last_id = int(head[0]) if head else 0
        self.last_hash = str(head[1]) if head else GENESIS
        self.recorded_at = now_iso()

    def exists(self, kind: str, rule: str, event_key: str) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM ledger WHERE kind = ? AND rule = ? AND event_key = ?",
                (kind, rule, event_key),
            ).fetchone()
            is not None
        )

    def _row(self, entry: Entry, entry_id: int, prev_hash: str) -> dict[str, Any]:
        row = {
            "id": entry_id,
            "member_id": entry.member_id,
            "kind": entry.kind,
            "rule": entry.rule,
            "event_key": entry.event_key,
            "thread_id": entry.thread_id,
            "points": entry.points,
            "amount_minor": entry.amount_minor,
            "currency": entry.currency,
            "schedule_version": entry.schedule_version,
            "occurred_at": entry.occurred_at,
            "recorded_at": self.recorded_at,
            "reverses": entry.reverses,
            "line_id": entry.line_id,
            "detail": json.dumps(entry.detail, sort_keys=True, ensure_ascii=False),
        }
        _checked(entry)
        row["prev_hash"] = prev_hash
        row["hash"] = digest(prev_hash, row)
        return row

    def append_new(self, entries: list[Entry]) -> list[int]:
        """Write entries whose (kind, rule, event) cannot be in the ledger yet (a new payout
        line's entry), in one statement; the head is updated once. A duplicate is an error
        (IntegrityError: the caller's transaction is rolled back), never skipped."""
        if self.on_server:
            ids = ledger_server.append_new(self.conn, entries)
            self.written += len(ids)
            return ids
        rows = []
        entry_id, prev = self.last_id, self.last_hash
        for entry in entries:
            _refuse(entry, self.book, self.pricer)
            if entry.kind == "accrual":  # written together below: the next ones count it
                self.pricer.count(entry.member_id, entry.occurred_at, entry.thread_id, entry.points)
            entry_id += 1
            row = self._row(entry, entry_id, prev)
            prev = row["hash"]
            rows.append(row)
        if not rows:
            return []
        self.conn.executemany(
            "INSERT INTO ledger (id, member_id, kind, rule, event_key, thread_id, points, "
            "amount_minor, currency, schedule_version, occurred_at, recorded_at, reverses, "
            "line_id, detail, prev_hash, hash) VALUES (:id, :member_id, :kind, :rule, "
            ":event_key, :thread_id, :points, :amount_minor, :currency, :schedule_version, "
            ":occurred_at, :recorded_at, :reverses, :line_id, :detail, :prev_hash, :hash)",
            rows,
        )
        self.last_id, self.last_hash = entry_id, prev
        self._write_head()
        self.written += len(rows)
        return [int(r["id"]) for r in rows]

    def append_accruals(self, entries: list[Entry]) -> None:
        """Write one accrual run's new accruals (their events read by the run in this
        transaction, none in the ledger yet), in order. In the cache file the run holds the
        only write lock from its read to this write, so they are written together: their events
        read in a few statements (`LiveBook.events_read`), each checked and priced in order
        like `append`'s, one INSERT for all. On the team database each goes through the
        server's function (another client may have paid one meanwhile: skipped, as `append`)."""
        if self.on_server:
            for entry in entries:
                self.append(entry)
            return
        with self.book.events_read(entries):
            self.append_new(entries)

    def _write_head(self) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (HEAD_KEY, f"{self.last_id}:{self.last_hash}"),
        )

    def _refused_or_there(self, entry: Entry) -> bool:
        """True if the entry may be written; False if its (kind, rule, event) is in the ledger
        already (nothing to write, as on the server); InvalidDecision if it does not fit (an
        accrual for an event that is not true now, a reversal that does not negate what it
        reverses...)."""
        try:
            _refuse(entry, self.book, self.pricer)
        except InvalidDecision:
            if self.exists(entry.kind, entry.rule, entry.event_key):
                return False
            raise
        return True

    def append(self, entry: Entry) -> int | None:
        """Write `entry`; None (and nothing written) if its (kind, rule, event) is already there."""
        if self.on_server:
            appended = ledger_server.append(self.conn, entry)
            self.written += appended is not None
            return appended
        if not self._refused_or_there(entry):
            return None
        row = self._row(entry, self.last_id + 1, self.last_hash)
        cursor = self.conn.execute(
            "INSERT INTO ledger (id, member_id, kind, rule, event_key, thread_id, points, "
            "amount_minor, currency, schedule_version, occurred_at, recorded_at, reverses, "
            "line_id, detail, prev_hash, hash) VALUES (:id, :member_id, :kind, :rule, "
            ":event_key, :thread_id, :points, :amount_minor, :currency, :schedule_version, "
            ":occurred_at, :recorded_at, :reverses, :line_id, :detail, :prev_hash, :hash) "
            "ON CONFLICT (kind, rule, event_key) DO NOTHING",
            row,
        )
        if cursor.rowcount == 0:
            return None  # this (kind, rule, event) is already in the ledger: never twice
        if entry.kind == "accrual":  # priced above: the next ones count it
            self.pricer.count(entry.member_id, entry.occurred_at, entry.thread_id, entry.points)
        self.last_id, self.last_hash = int(str(row["id"])), str(row["hash"])
        self._write_head()
        self.written += 1
        return self.last_id


# ---- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    member_id: int
    username: str
    points: int
    amount_minor: int
    earned_points: int  # accruals less reversals in the window asked for
    entries: int


def balance(cache: Cache, member_id: int, *, before: str | None = None) -> tuple[int, int]:
    """(points, minor units) of one member: the sum of its entries (before a time, if given)."""
    sql = "SELECT coalesce(sum(points), 0), coalesce(sum(amount_minor), 0) FROM ledger "
    sql += "WHERE member_id = ?" + (" AND occurred_at < ?" if before else "")
    row = cache.one(sql, (member_id, before) if before else (member_id,))
    return (int(row[0]), int(row[1])) if row else (0, 0)


def balances(
    cache: Cache,
    *,
    earned_from: str | None = None,
    earned_to: str | None = None,
    limit: int = 200,
    offset: int = 0,
    order: str = "balance",
) -> list[Balance]:
    """Members with ledger entries, by balance (or by earned in [earned_from, earned_to))."""
    start = earned_from or ""
    end = earned_to or "9999"
    key = "amount_minor DESC" if order == "balance" else "earned_points DESC"
    rows = cache.query(
        "SELECT l.member_id, coalesce(m.username, '#' || l.member_id) AS username, "
        "sum(l.points) AS points, sum(l.amount_minor) AS amount_minor, "
        "sum(CASE WHEN l.kind IN ('accrual', 'reversal') AND l.occurred_at >= ? "
        "AND l.occurred_at < ? THEN l.points ELSE 0 END) AS earned_points, count(*) AS entries "
        "FROM ledger l LEFT JOIN members m ON m.id = l.member_id GROUP BY l.member_id, m.username "
        f"ORDER BY {key}, l.member_id LIMIT ? OFFSET ?",
        (start, end, limit, offset),
    )
    return [Balance(*(r[i] for i in range(6))) for r in rows]


def entries_of(cache: Cache, member_id: int, limit: int = 500) -> list[dict[str, Any]]:
    rows = cache.query(
        "SELECT id, kind, rule, event_key, thread_id, points, amount_minor, currency, "
        "schedule_version, occurred_at, recorded_at, reverses, line_id, detail FROM ledger "
        "WHERE member_id = ? ORDER BY occurred_at DESC, id DESC LIMIT ?",
        (member_id, limit),
    )
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


@dataclass(frozen=True)
class LedgerLine:
    """One ledger entry as a member's statement shows it (points and money signed)."""

    entry_id: int
    kind: str  # accrual, reversal, payout, payout_return
    rule: str  # what earned or took it: accepted_answer, helpful_vote, payout, member_banned...
    event_key: str  # the event it pays for (post:12, vote:7, line:3)
    thread_id: int | None
    points: int
    amount_minor: int
    currency: str
    schedule_version: str
    occurred_at: str
    reverses: int | None
    line_id: int | None  # the payout line, for payout and payout_return entries
    detail: dict[str, Any]


@dataclass(frozen=True)
class MemberLedger:
    """One member's balance and ledger lines, newest first (the member view, `ledger lines`)."""

    member_id: int
    username: str
    points: int  # the balance: the sum of every entry, not only of the lines shown
    amount_minor: int
    entries: int  # how many entries the member has in all
    lines: list[LedgerLine]

    @property
    def truncated(self) -> bool:
        return len(self.lines) < self.entries


def member_lines(cache: Cache, member_id: int, *, limit: int = 500) -> MemberLedger:
    """`member_id`'s balance and newest `limit` ledger lines; NotFound for an unknown member.

    A read: no role needed (the member's own statement, as in the Rewards panel)."""
    from console.errors import NotFound

    member = cache.one("SELECT username FROM members WHERE id = ?", (member_id,))
    if member is None:
        raise NotFound(f"There is no member {member_id}")
    totals = cache.one(
        "SELECT coalesce(sum(points), 0), coalesce(sum(amount_minor), 0), count(*) FROM ledger "
        "WHERE member_id = ?",
        (member_id,),
    )
    points, amount, count = (
        (int(totals[0]), int(totals[1]), int(totals[2])) if totals else (0, 0, 0)
    )
    lines = [
        LedgerLine(
            entry_id=int(r["id"]),
            kind=str(r["kind"]),
            rule=str(r["rule"]),
            event_key=str(r["event_key"]),
            thread_id=r["thread_id"],
            points=int(r["points"]),
            amount_minor=int(r["amount_minor"]),
            currency=str(r["currency"]),
            schedule_version=str(r["schedule_version"]),
            occurred_at=str(r["occurred_at"]),
            reverses=r["reverses"],
            line_id=r["line_id"],
            detail=r["detail"],
        )
        for r in entries_of(cache, member_id, limit)
    ]
    return MemberLedger(member_id, str(member[0]), points, amount, count, lines)


def daily_points(cache: Cache, member_id: int, start: str, days: int) -> list[int]:
    """Points earned (accruals less reversals) per UTC day for `days` days from `start`."""
    from datetime import date, timedelta

    first = date.fromisoformat(start[:10])
    end = (first + timedelta(days=days)).isoformat()
    rows = cache.query(
        "SELECT substr(occurred_at, 1, 10) AS day, sum(points) FROM ledger "
        "WHERE member_id = ? AND kind IN ('accrual', 'reversal') AND occurred_at >= ? "
        "AND occurred_at < ? GROUP BY day",
        (member_id, first.isoformat(), end),
    )
    by_day = {r[0]: int(r[1]) for r in rows}
    return [by_day.get((first + timedelta(days=i)).isoformat(), 0) for i in range(days)]


# ---- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerProblem:
    entry_id: int
    problem: str


@dataclass
class VerifyReport:
    entries: int = 0
    members: int = 0
    total_minor: int = 0
    problems: list[LedgerProblem] = field(default_factory=list)
    balances: dict[int, tuple[int, int]] = field(default_factory=dict)
    kept_entry: int | None = None  # the entry of the head checked (`verify(since=...)`)

    @property
    def ok(self) -> bool:
        return not self.problems


HEAD_PATTERN = chain_head.pattern("ledger-head")


def head(cache: Cache) -> Head:
    """The newest entry (entry 0 with the genesis hash for an empty ledger): kept outside the
    store, it anchors the ledger as `audit head` anchors the audit log."""
    return chain_head.newest(cache, "ledger")


def parse_head(text: str) -> Head:
    """`ENTRY:HASH` as `peerdesk ledger head` prints it; InvalidDecision otherwise."""
    return chain_head.parse(
        text,
        HEAD_PATTERN,
        InvalidDecision(
            f"{text.strip()[:80]!r} is not a ledger head: give ENTRY:HASH as printed by "
            "`peerdesk ledger head` (e.g. 1234:5f0c…, 64 hex digits)"
        ),
    )


def verify(cache: Cache, since: Head | None = None) -> VerifyReport:
    """Walk the chain and re-derive every balance; every problem found is reported.

    Everything is read in one snapshot (Cache.snapshot): the entries, the head record, the SQL
    balances and the payout lines, so an entry appended while the walk runs is either wholly
    in it or not at all, never "deleted from the end".

    The chain alone cannot show a rewrite by someone who recomputed every hash after it (and
    the head record in `meta`): anyone who can write the cache file can. With `since`, a head
    printed earlier by `ledger head` and kept outside the store, its entry must still have the
    hash kept: each hash depends on every entry before it, so nothing up to it changed, and
    the intact chain after it shows the ledger only grew since."""
    with cache.snapshot():
        report = _verify(cache)
        report.kept_entry = None if since is None else since.entry
        if since is not None and since.entry:
            row = cache.one("SELECT hash FROM ledger WHERE id = ?", (since.entry,))
            if row is None:
                report.problems.append(
                    LedgerProblem(
                        since.entry,
                        f"the entry of the head you kept ({since.entry}) is gone: the ledger "
                        "was cut back or rewritten",
                    )
                )
            elif str(row[0]) != since.hash:
                report.problems.append(
                    LedgerProblem(
                        since.entry,
                        "its hash is not the one you kept: the ledger was rewritten up to here "
                        "(its hashes recomputed)",
                    )
                )
        return report


def _verify(cache: Cache) -> VerifyReport:
    report = VerifyReport()
    problems = report.problems
    prev_hash, expected_id = GENESIS, 1
    points: dict[int, int] = defaultdict(int)
    amounts: dict[int, int] = defaultdict(int)
    seen_keys: set[tuple[str, str, str]] = set()
    by_id: dict[int, tuple[int, str, int, int]] = {}  # id -> (member, kind, points, amount)
    reversed_ids: set[int] = set()
    payout_entries: dict[int, tuple[int, int]] = {}  # line_id -> (member, amount)
    returned_lines: set[int] = set()
    pricer = pricing.Pricer(cache.conn, from_ledger=False)
    for row in entries(cache):
        entry_id = int(row["id"])
        gap = entry_id != expected_id
        if gap:
            last_missing = entry_id - 1
            span = (
                f"entry {expected_id}"
                if last_missing == expected_id
                else f"entries {expected_id}-{last_missing}"
            )
            problems.append(LedgerProblem(expected_id, f"{span} deleted"))
        if digest(row["prev_hash"], row) != row["hash"]:
            problems.append(LedgerProblem(entry_id, "entry edited: its hash does not match"))
        elif row["prev_hash"] != prev_hash and not gap:
            problems.append(
                LedgerProblem(entry_id - 1, "entry rewritten: the next entry no longer chains")
            )
        prev_hash, expected_id = row["hash"], entry_id + 1
        report.entries += 1
        member, kind = int(row["member_id"]), str(row["kind"])
        pts, amount = row["points"], row["amount_minor"]
        if not isinstance(pts, int) or not isinstance(amount, int):
            problems.append(LedgerProblem(entry_id, "amount is not a whole number"))
            continue
        key = (kind, str(row["rule"]), str(row["event_key"]))
        if key in seen_keys:
            problems.append(LedgerProblem(entry_id, f"{kind} for {key[1]} {key[2]} twice"))
        seen_keys.add(key)
        by_id[entry_id] = (member, kind, pts, amount)
        _check_entry(row, member, kind, pts, amount, by_id, reversed_ids, problems)
        if kind == "accrual":
            _check_price(row, pricer, problems)
        if kind == "payout" and row["line_id"] is not None:
            payout_entries[int(row["line_id"])] = (member, -amount)
        if kind == "payout_return" and row["line_id"] is not None:
            returned_lines.add(int(row["line_id"]))
        points[member] += pts
        amounts[member] += amount
        report.total_minor += amount
    last_id = expected_id - 1
    head = cache.meta(HEAD_KEY)
    if head:
        head_id, _, head_hash = head.partition(":")
        if int(head_id) > last_id:
            span = (
                f"entry {head_id}"
                if int(head_id) == last_id + 1
                else f"entries {last_id + 1}-{head_id}"
            )
            problems.append(LedgerProblem(last_id + 1, f"{span} deleted from the end"))
        elif int(head_id) == last_id and head_hash != prev_hash:
            problems.append(LedgerProblem(last_id, "entry rewritten: the newest hash changed"))
    elif last_id:
        problems.append(LedgerProblem(0, "the record of the ledger's head is missing"))
    _check_against_sql(cache, points, amounts, problems)
    _check_caps(cache, problems)
    _check_payout_lines(cache, payout_entries, returned_lines, problems)
    report.members = len(amounts)
    report.balances = {m: (points[m], amounts[m]) for m in amounts}
    return report


PAGE = 10_000


def entries(cache: Cache) -> Iterable[Row]:
    """Every entry in id order, a page at a time by id (a team database's client would
    otherwise hold the whole ledger in memory at once; append-only, so no page is missed)."""
    after = -1
    while True:
        page = cache.query("SELECT * FROM ledger WHERE id > ? ORDER BY id LIMIT ?", (after, PAGE))
        yield from page
        if len(page) < PAGE:
            return
        after = int(page[-1]["id"])


def _check_entry(
    row: Row,
    member: int,
    kind: str,
    pts: int,
    amount: int,
    by_id: dict[int, tuple[int, str, int, int]],
    reversed_ids: set[int],
    problems: list[LedgerProblem],
) -> None:
    entry_id = int(row["id"])
    if kind == "accrual" and (pts < 0 or amount < 0):
        problems.append(LedgerProblem(entry_id, "an accrual takes money away"))
    if kind == "payout" and (pts > 0 or amount >= 0):
        problems.append(LedgerProblem(entry_id, "a payout adds money"))
    if kind in ("reversal", "payout_return") and row["reverses"] is not None:
        target = int(row["reverses"])
        original = by_id.get(target)
        if original is None:
            problems.append(LedgerProblem(entry_id, f"reverses entry {target}, not before it"))
        elif (original[0], -original[2], -original[3]) != (member, pts, amount):
            problems.append(
                LedgerProblem(entry_id, f"does not exactly negate entry {target} it reverses")
            )
        elif target in reversed_ids:
            problems.append(LedgerProblem(entry_id, f"entry {target} reversed twice"))
        reversed_ids.add(target)


def _check_price(row: Row, pricer: pricing.Pricer, problems: list[LedgerProblem]) -> None:
    """An accrual pays exactly what its schedule version pays for its rule within the caps'
    room, at that version's point value and in its currency (console.rewards.pricing, as the
    Appender and the team database's server price it on arrival): one priced otherwise was not
    written by them. Counted for the accruals after it, in id order."""
    pts, member = int(row["points"]), int(row["member_id"])
    thread = None if row["thread_id"] is None else int(row["thread_id"])
    for problem in pricer.problems(
        member_id=member,
        rule=str(row["rule"]),
        points=pts,
        amount_minor=int(row["amount_minor"]),
        currency=str(row["currency"]),
        version=str(row["schedule_version"]),
        occurred_at=str(row["occurred_at"]),
        thread_id=thread,
    ):
        problems.append(LedgerProblem(int(row["id"]), problem))
    pricer.count(member, str(row["occurred_at"]), thread, pts)


def _check_caps(cache: Cache, problems: list[LedgerProblem]) -> None:
    """No member's accruals of a UTC day, or in a thread, add up to more than the highest cap
    of the schedule versions they were paid under (reward_schedule_terms; each accrual only
    gets the room its version's cap leaves, so more means entries not written by accrue).
    Counted by the engine, only the excess comes back."""
    for group, cap, where, per in (
        ("substr(l.occurred_at, 1, 10)", "t.cap_per_day", "on {}", "a day"),
        ("l.thread_id", "t.cap_per_thread", "in thread {}", "a thread"),
    ):
        for row in cache.conn.execute(
            f"SELECT l.member_id, {group}, sum(l.points), max({cap}), max(l.id) "
            "FROM ledger l JOIN reward_schedule_terms t ON t.version = l.schedule_version "
            f"WHERE l.kind = 'accrual' AND {group} IS NOT NULL "
            f"GROUP BY l.member_id, {group} HAVING sum(l.points) > max({cap})"
        ):
            problems.append(
                LedgerProblem(
                    int(row[4]),
                    f"member {row[0]} accrued {row[2]} points {where.format(row[1])}, over the "
                    f"cap of {row[3]} {per}",
                )
            )


def _check_against_sql(
    cache: Cache,
    points: dict[int, int],
    amounts: dict[int, int],
    problems: list[LedgerProblem],
) -> None:
    """The balances the console shows (SQL sums) must equal the ones derived entry by entry."""
    for row in cache.conn.execute(
        "SELECT member_id, sum(points), sum(amount_minor) FROM ledger GROUP BY member_id"
    ):
        member = int(row[0])
        if (points.get(member, 0), amounts.get(member, 0)) != (int(row[1]), int(row[2])):
            problems.append(LedgerProblem(0, f"member {member}: balance does not re-derive"))


def _check_payout_lines(
    cache: Cache,
    payout_entries: dict[int, tuple[int, int]],
    returned: set[int],
    problems: list[LedgerProblem],
) -> None:
    """Every payout line has exactly its payout entry; lines not paid out are returned (but a
    failed line of a member banned from rewards: their money stays out of their balance)."""
    for line in cache.conn.execute(
        "SELECT l.id, l.member_id, l.amount_minor, l.state, b.member_id FROM payout_lines l "
        "LEFT JOIN reward_bans b ON b.member_id = l.member_id ORDER BY l.id"
    ):
        line_id = int(line[0])
        entry = payout_entries.pop(line_id, None)
        if entry is None:
            problems.append(LedgerProblem(0, f"payout line {line_id} has no payout entry"))
            continue
        if entry != (int(line[1]), int(line[2])):
            problems.append(
                LedgerProblem(0, f"payout line {line_id} does not match its payout entry")
            )
        banned = line[4] is not None  # (a line returned before the ban is still returned)
        if (
            line[3] in ("returned", "failed")
            and line_id not in returned
            and not (banned and line[3] == "failed")
        ):
            problems.append(
                LedgerProblem(0, f"payout line {line_id} is {line[3]} but was not returned")
            )
        if line[3] in ("paid", "ready") and line_id in returned:
            problems.append(LedgerProblem(0, f"payout line {line_id} is {line[3]} and returned"))
    for line_id in payout_entries:
        problems.append(LedgerProblem(0, f"a payout entry names line {line_id}, which is gone"))


def members_with_entries(cache: Cache) -> Iterable[int]:
    return (int(r[0]) for r in cache.query("SELECT DISTINCT member_id FROM ledger"))
