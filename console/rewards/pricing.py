"""What an accrual pays: one definition for every place that prices one.

A schedule version pays `points[rule]` points for an event of that rule, at `point_value_minor`
minor units a point in its currency, but never more than the room its caps leave the member:
`cap_per_day` less what the member's accruals already hold that UTC day and, for an event in a
thread, `cap_per_thread` less what they hold in that thread (every earlier accrual counts,
whatever version paid it and whether or not it was reversed since). The accrual step
(console/rewards/accrue.py) grants exactly this; the cache file's ledger Appender refuses any
other price at write time, `ledger verify` re-prices every entry with it, and migrate-to checks
each imported accrual with it. The team database's `peerdesk_ledger_append`
(console/team/grants.sql) does the same arithmetic in SQL.

The terms come from a version's rows in reward_schedule_terms / reward_schedule_points
(migration 23: what the team database prices by), else from its TOML in reward_schedules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.storage import Connection

if TYPE_CHECKING:
    from console.rewards.schedule import Schedule


@dataclass(frozen=True)
class Terms:
    """A schedule version's prices: its currency, a point's value, the points per rule, caps."""

    currency: str
    point_value_minor: int
    points: dict[str, int]
    cap_per_day: int
    cap_per_thread: int

    @classmethod
    def of(cls, schedule: Schedule) -> Terms:
        return cls(
            schedule.currency,
            schedule.point_value_minor,
            dict(schedule.points),
            schedule.cap_per_day,
            schedule.cap_per_thread,
        )


Priced = Terms | str
"""A version's terms, or why they cannot be read (its TOML does not parse)."""


@dataclass(frozen=True)
class Earned:
    """What the member's accruals before this one hold: that UTC day, and in its thread (None
    for an event in no thread)."""

    day: int
    thread: int | None


_TERMS = (
    "SELECT t.version, t.currency, t.point_value_minor, t.cap_per_day, t.cap_per_thread, "
    "p.rule, p.points FROM reward_schedule_terms t "
    "LEFT JOIN reward_schedule_points p ON p.version = t.version"
)


def load(conn: Connection, version: str | None = None) -> dict[str, Priced]:
    """The terms of every loaded schedule version (or of `version` alone)."""
    from console.rewards.schedule import ScheduleError, parse_schedule

    where, args = ("", ()) if version is None else (" WHERE t.version = ?", (version,))
    found: dict[str, Priced] = {}
    for row in conn.execute(_TERMS + where, args):
        terms = found.setdefault(
            str(row[0]), Terms(str(row[1]), int(row[2]), {}, int(row[3]), int(row[4]))
        )
        if isinstance(terms, Terms) and row[5] is not None:
            terms.points[str(row[5])] = int(row[6])
    where = "" if version is None else " WHERE version = ?"
    for row in conn.execute("SELECT version, body FROM reward_schedules" + where, args):
        if str(row[0]) in found:
            continue
        try:
            schedule = parse_schedule(str(row[1]), f"schedule {row[0]}")
        except ScheduleError as error:
            found[str(row[0])] = str(error)
            continue
        found[str(row[0])] = Terms.of(schedule)
    return found


def due(terms: Terms, rule: str, earned: Earned) -> int:
    """The points an event of `rule` gets now: the rule's points, within the caps' room."""
    room = terms.cap_per_day - earned.day
    if earned.thread is not None:
        room = min(room, terms.cap_per_thread - earned.thread)
    return max(0, min(terms.points.get(rule, 0), room))


class Pricer:
    """Prices accruals one after another, each against what the member's accruals before it
    hold. From the ledger table (`from_ledger`: the Appender, at write time; each member's day
    and thread read once, when first asked, then every accrual this Pricer `count`s added, so
    not two queries per accrual), or from the counted ones alone (a walk of the whole ledger in
    id order: `ledger verify`, migrate-to's import check).

    An Appender's Pricer lives in one write transaction and sees every accrual written in it
    (only the accrual run writes accruals, through its one Appender)."""

    def __init__(self, conn: Connection, *, from_ledger: bool) -> None:
        self.conn = conn
        self.from_ledger = from_ledger
        self.terms: dict[str, Priced | None] = {} if from_ledger else dict(load(conn))
        self.day: dict[tuple[int, str], int] = {}
        self.thread: dict[tuple[int, int], int] = {}

    def _terms(self, version: str) -> Priced | None:
        if version not in self.terms:
            self.terms[version] = load(self.conn, version).get(version)
        return self.terms[version]

    def _earned(self, member_id: int, day: str, thread_id: int | None) -> Earned:
        day_key = (member_id, day)
        if self.from_ledger and day_key not in self.day:
            self.day[day_key] = self._sum(
                # a range on the member's index, then the exact day
                "occurred_at >= ? AND occurred_at < ? AND substr(occurred_at, 1, 10) = ?",
                member_id,
                day,
                day[:-1] + chr(ord(day[-1]) + 1) if day else "",
                day,
            )
        on_day = self.day.get(day_key, 0)
        if thread_id is None:
            return Earned(on_day, None)
        thread_key = (member_id, thread_id)
        if self.from_ledger and thread_key not in self.thread:
            self.thread[thread_key] = self._sum("thread_id = ?", member_id, thread_id)
        return Earned(on_day, self.thread.get(thread_key, 0))

    def _sum(self, where: str, member_id: int, *values: object) -> int:
        row = self.conn.execute(
            "SELECT coalesce(sum(points), 0) FROM ledger WHERE member_id = ? "
            f"AND kind = 'accrual' AND {where}",
            (member_id, *values),
        ).fetchone()
        return int(row[0])

    def problems(
        self,
        *,
        member_id: int,
        rule: str,
        points: int,
        amount_minor: int,
        currency: str,
        version: str,
        occurred_at: str,
        thread_id: int | None,
    ) -> list[str]:
        """Why this accrual is not what its version pays now (empty: it is exactly that)."""
        return mispriced(
            version,
            self._terms(version),
            rule=rule,
            points=points,
            amount_minor=amount_minor,
            currency=currency,
            earned=self._earned(member_id, occurred_at[:10], thread_id),
        )

    def count(self, member_id: int, occurred_at: str, thread_id: int | None, points: int) -> None:
        """An accrual priced by this Pricer and written (or about to be, in the same
        transaction): later ones count it. (Priced first, so from the ledger its day and thread
        were read before it was written.)"""
        if self.from_ledger:
            self._earned(member_id, occurred_at[:10], thread_id)  # read before it is counted
        day = (member_id, occurred_at[:10])
        self.day[day] = self.day.get(day, 0) + points
        if thread_id is not None:
            key = (member_id, thread_id)
            self.thread[key] = self.thread.get(key, 0) + points


def mispriced(
    version: str,
    terms: Priced | None,
    *,
    rule: str,
    points: int,
    amount_minor: int,
    currency: str,
    earned: Earned,
) -> list[str]:
    """Why an accrual of `points` (`amount_minor` in `currency`) under `version` is not what
    that version pays for `rule` now (empty: it is exactly that), each reason one phrase."""
    if terms is None:
        return [f"pays under schedule {version}, not loaded"]
    if isinstance(terms, str):
        return [f"its schedule cannot be read: {terms}"]
    if terms.points.get(rule, 0) <= 0:
        return [f"schedule {version} pays nothing for {rule}"]
    wrong = []
    owed = due(terms, rule, earned)
    if points != owed:
        capped = "" if owed == terms.points[rule] else f" (capped from {terms.points[rule]})"
        wrong.append(f"pays {points} points for {rule}; schedule {version} pays {owed}{capped}")
    if (amount_minor, currency) != (points * terms.point_value_minor, terms.currency):
        wrong.append(
            f"{amount_minor} {currency} minor units for {points} points is not schedule "
            f"{version}'s {terms.point_value_minor} {terms.currency} a point"
        )
    return wrong
