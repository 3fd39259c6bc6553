"""What the rewards rules pay for: the events true in the store now, and why a paid one is gone.

The events themselves are defined once, in SQL: the view `reward_events` (migrations 28 and
29), the same on the cache file and on the team database. Each row is one event that is *true
now* (this answer is accepted, this vote stands, this answer is verified...): its rule, its id
and key (`post:12`, `vote:7`), the member it pays, its thread, when it happened and its detail.
The accrual step (console/rewards/accrue.py) reads it rule by rule, pays each new event once
and reverses a paid event that is no longer there; the ledger's writers (the cache's Appender,
the server's `peerdesk_ledger_append`) look an accrual's event up in it by rule and id and
refuse one that is not there. This module names the rules, describes them, and says why a paid
event is gone ("answer un-verified", "post removed as spam") for its reversal.

A new rule is a new migration that re-creates the view with one more branch, and an
`EventSource` registered here with its reasons (tests/rewards/test_reward_events.py fails
while the two disagree).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from console.storage import Connection, dialect_of


@dataclass(frozen=True)
class Event:
    rule: str
    event_key: str
    member_id: int
    occurred_at: str
    thread_id: int | None
    detail: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class EventSource:
    rule: str
    description: str
    why_gone: Callable[[Connection, str], str]

    def events(self, conn: Connection) -> Iterator[Event]:
        """This rule's events true now (the view reward_events), in no particular order."""
        return events_of(conn, self.rule)


SOURCES: dict[str, EventSource] = {}


def register(source: EventSource) -> EventSource:
    SOURCES[source.rule] = source
    return source


def has_table(conn: Connection, name: str, *columns: str) -> bool:
    present = dialect_of(conn).columns(conn, name)
    return bool(present) and all(c in present for c in columns)


VIEW = (
    "SELECT event_key, member_id, occurred_at, thread_id, detail FROM reward_events WHERE rule = ?"
)


def events_of(conn: Connection, rule: str) -> Iterator[Event]:
    """The events of `rule` true now, as the view reward_events lists them."""
    for row in conn.execute(VIEW, (rule,)):
        yield _event(rule, row)


_NEW = (
    "SELECT e.event_key, e.member_id, e.occurred_at, e.thread_id, e.detail FROM reward_events e "
    "WHERE e.rule = ? AND NOT EXISTS (SELECT 1 FROM ledger a WHERE a.kind = 'accrual' "
    "AND a.rule = e.rule AND a.event_key = e.event_key) "
    "ORDER BY e.occurred_at, e.event_id, e.member_id"
)
_PAGE = 5_000


def new_events(conn: Connection, rule: str) -> Iterator[Event]:
    """The events of `rule` true now that the ledger has no accrual for, oldest first (ties by
    event id, then member): the order a run pays them in, which decides who meets a cap first.
    Read a page at a time; the query is sorted before its first row comes, so the run may write
    accruals on the same connection while it reads."""
    cursor = conn.execute(_NEW, (rule,))
    while rows := cursor.fetchmany(_PAGE):
        for row in rows:
            yield _event(rule, row)


def _event(rule: str, row: Sequence[Any]) -> Event:
    detail = json.loads(str(row[4])) if row[4] and row[4] != "{}" else {}
    return Event(
        rule,
        str(row[0]),
        int(row[1]),
        str(row[2]),
        None if row[3] is None else int(row[3]),
        tuple(sorted(detail.items())),
    )


def _post_gone(conn: Connection, post_id: int) -> str | None:
    row = conn.execute(
        "SELECT hidden, hidden_reason FROM posts WHERE id = ?", (post_id,)
    ).fetchone()
    if row is None:
        return "post deleted"
    if row[0]:
        return (
            f"post removed ({row[1] or 'hidden'})" if row[1] != "spam" else ("post removed as spam")
        )
    return None


def _id_of(event_key: str) -> int:
    return int(event_key.rpartition(":")[2])


# ---- accepted answers (every platform) ----------------------------------------------------


def _accepted_gone(conn: Connection, event_key: str) -> str:
    post_id = _id_of(event_key)
    gone = _post_gone(conn, post_id)
    if gone:
        return gone
    return "answer no longer accepted"


register(EventSource("accepted_answer", "an answer the asker accepted", _accepted_gone))


# ---- helpful votes (the votes table; see README for what each platform exposes) -----------


def _vote_gone(conn: Connection, event_key: str) -> str:
    row = conn.execute(
        "SELECT post_id, retracted_at FROM votes WHERE id = ?", (_id_of(event_key),)
    ).fetchone()
    if row is None:
        return "vote deleted"
    if row[1]:
        return "vote retracted"
    return _post_gone(conn, int(row[0])) or "vote no longer counts"


register(
    EventSource(
        "helpful_vote",
        "a helpful vote received",
        _vote_gone,
    )
)


# ---- verified answers (console.verify's `verifications` table, when it is there) ----------


def _verified_gone(conn: Connection, event_key: str) -> str:
    post_id = _id_of(event_key)
    gone = _post_gone(conn, post_id)
    if gone:
        return gone
    row = conn.execute("SELECT state FROM verifications WHERE post_id = ?", (post_id,)).fetchone()
    return f"answer un-verified (now {row[0]})" if row else "answer un-verified"


register(
    EventSource(
        "verified_answer",
        "an answer verified correct",
        _verified_gone,
    )
)


# ---- first response within an escalation's SLA (console.escalate's `escalations`) ----------


def _escalation_gone(conn: Connection, event_key: str) -> str:
    row = conn.execute(
        "SELECT state FROM escalations WHERE id = ?", (_id_of(event_key),)
    ).fetchone()
    if row is None:
        return "escalation deleted"
    if row[0] == "dismissed":
        return "escalation dismissed"
    return "first response removed"


register(
    EventSource(
        "escalation_first_response",
        "the first response to an escalation within its SLA",
        _escalation_gone,
    )
)


# ---- duplicates a member flagged and a moderator confirmed --------------------------------


register(
    EventSource(
        "duplicate_flagged",
        "the first member to flag a duplicate a moderator confirmed",
        lambda c, k: "duplicate decision taken back",
    )
)
