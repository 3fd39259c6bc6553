"""Where rewards come from: pluggable event sources over the cache.

Each source names the rule it pays for and lists the events that are *currently true* in the
cache (this answer is accepted, this vote stands, this answer is verified...). The accrual step
pays each new event once and reverses a paid event that is no longer true, asking the source why
("answer un-verified", "post removed as spam"). A source whose tables are not in this cache yet
(verification and escalations come from other parts of peerdesk) reports itself unavailable and
is skipped; nothing else changes when those tables land.

Register another source with `register(EventSource(...))`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

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
    available: Callable[[Connection], bool]
    events: Callable[[Connection], Iterator[Event]]
    why_gone: Callable[[Connection, str], str]


SOURCES: dict[str, EventSource] = {}


def register(source: EventSource) -> EventSource:
    SOURCES[source.rule] = source
    return source


def has_table(conn: Connection, name: str, *columns: str) -> bool:
    present = dialect_of(conn).columns(conn, name)
    return bool(present) and all(c in present for c in columns)


def _always(conn: Connection) -> bool:
    return True


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


def _accepted(conn: Connection) -> Iterator[Event]:
    for row in conn.execute(
        "SELECT p.id, p.author_id, p.created_at, t.id, t.author_id FROM threads t "
        "JOIN posts p ON p.id = t.accepted_post_id "
        "WHERE p.hidden = 0 AND p.position > 0 AND p.author_id IS NOT NULL "
        "AND (t.author_id IS NULL OR t.author_id != p.author_id)"
    ):
        yield Event("accepted_answer", f"post:{row[0]}", int(row[1]), str(row[2]), int(row[3]))


def _accepted_gone(conn: Connection, event_key: str) -> str:
    post_id = _id_of(event_key)
    gone = _post_gone(conn, post_id)
    if gone:
        return gone
    return "answer no longer accepted"


register(
    EventSource(
        "accepted_answer", "an answer the asker accepted", _always, _accepted, _accepted_gone
    )
)


# ---- helpful votes (the votes table; see README for what each platform exposes) -----------


def _votes(conn: Connection) -> Iterator[Event]:
    for row in conn.execute(
        "SELECT v.id, p.author_id, v.created_at, p.thread_id, v.voter_id FROM votes v "
        "JOIN posts p ON p.id = v.post_id "
        "WHERE v.value > 0 AND v.retracted_at IS NULL AND p.hidden = 0 "
        "AND p.author_id IS NOT NULL AND p.author_id != v.voter_id"
    ):
        yield Event(
            "helpful_vote",
            f"vote:{row[0]}",
            int(row[1]),
            str(row[2]),
            int(row[3]),
            (("voter_id", int(row[4])),),
        )


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
        lambda c: has_table(c, "votes"),
        _votes,
        _vote_gone,
    )
)


# ---- verified answers (console.verify's `verifications` table, when it is there) ----------


def _verified(conn: Connection) -> Iterator[Event]:
    for row in conn.execute(
        "SELECT p.id, p.author_id, coalesce(v.decided_at, p.created_at), p.thread_id "
        "FROM verifications v JOIN posts p ON p.id = v.post_id "
        "WHERE v.state = 'verified' AND p.hidden = 0 AND p.author_id IS NOT NULL"
    ):
        yield Event("verified_answer", f"post:{row[0]}", int(row[1]), str(row[2]), int(row[3]))


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
        lambda c: has_table(c, "verifications", "post_id", "state", "decided_at"),
        _verified,
        _verified_gone,
    )
)


# ---- first response within an escalation's SLA (console.escalate's `escalations`) ----------


def _has_escalations(conn: Connection) -> bool:
    return has_table(conn, "escalations", "thread_id", "raised_at", "acknowledge_due", "state")


def _escalation_responses(conn: Connection) -> Iterator[Event]:
    """The first reply by someone other than the asker after the escalation was raised, if it
    came before the escalation's first-response deadline (`acknowledge_due`)."""
    for row in conn.execute(
        "SELECT e.id, p.id, p.author_id, p.created_at, e.thread_id FROM escalations e "
        "JOIN posts p ON p.id = (SELECT p2.id FROM posts p2 JOIN threads t ON t.id = p2.thread_id "
        "  WHERE p2.thread_id = e.thread_id AND p2.position > 0 AND p2.created_at >= e.raised_at "
        "  AND p2.hidden = 0 AND (t.author_id IS NULL OR p2.author_id != t.author_id) "
        "  ORDER BY p2.created_at, p2.id LIMIT 1) "
        "WHERE p.created_at <= e.acknowledge_due AND p.author_id IS NOT NULL "
        "AND e.state != 'dismissed'"
    ):
        yield Event(
            "escalation_first_response",
            f"escalation:{row[0]}",
            int(row[2]),
            str(row[3]),
            int(row[4]),
            (("post_id", int(row[1])),),
        )


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
        _has_escalations,
        _escalation_responses,
        _escalation_gone,
    )
)


# ---- duplicates a member flagged and a moderator confirmed --------------------------------


def _duplicate_flags(conn: Connection) -> Iterator[Event]:
    for row in conn.execute(
        "SELECT f.thread_id, f.member_id, f.flagged_at FROM member_duplicate_flags f "
        "JOIN duplicate_links d ON d.thread_id = f.thread_id AND d.original_id = f.original_id "
        "WHERE d.decision IN ('confirmed', 'merged') "
        "AND f.flagged_at = (SELECT min(f2.flagged_at) FROM member_duplicate_flags f2 "
        "  WHERE f2.thread_id = f.thread_id AND f2.original_id = f.original_id)"
    ):
        yield Event("duplicate_flagged", f"thread:{row[0]}", int(row[1]), str(row[2]), int(row[0]))


register(
    EventSource(
        "duplicate_flagged",
        "the first member to flag a duplicate a moderator confirmed",
        lambda c: has_table(c, "member_duplicate_flags") and has_table(c, "duplicate_links"),
        _duplicate_flags,
        lambda c, k: "duplicate decision taken back",
    )
)
