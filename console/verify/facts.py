"""The facts the signals read, from the cache: threads, their replies, their authors' records and
the decided answers on their duplicates. The benchmark builds the same dataclasses from its files.

Threads are read in batches (`threads_facts`): a fixed handful of queries per batch whatever
its size (heads, posts, authors, decided answers, duplicate links, known answers), so scoring
500 threads costs the same few round trips on the team database as scoring one.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from console.errors import NotFound
from console.storage import Connection, Row, dialect_of
from console.verify.signals import (
    VERY_EXPERIENCED,
    WEIGHTS,
    AuthorRecord,
    KnownAnswer,
    Reply,
    ThreadFacts,
)

TEXT_LIMIT = 20_000  # characters of a question or reply read for the signals
STAFF_TRUST_LEVEL = 4  # Discourse "leader"; the demo's and our staff accounts
BATCH = 500  # ids in one IN (...) list


def body_hash(text: str) -> str:
    """What a decision remembers of the answer it was made on (to spot remote changes)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def marks(count: int) -> str:
    return ",".join("?" * count)


def chunks(ids: Sequence[int], size: int = BATCH) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


@dataclass(frozen=True)
class ReplyFacts:
    """What the queue's impact needs of a visible reply besides its signals."""

    created_at: str
    flag_count: int
    staff: bool


@dataclass
class ThreadRead:
    """One thread as read for scoring: the signals' facts and what its impact adds."""

    facts: ThreadFacts
    accepted_post_id: int | None
    flags_and_reports: int
    duplicates: int = 0  # threads closed as duplicates of this one
    pending_candidates: int = 0  # pending duplicate candidates pointing at it
    replies: dict[int, ReplyFacts] = field(default_factory=dict)  # visible replies by id


@dataclass
class _Posts:
    question: dict[int, str] = field(default_factory=dict)
    replies: dict[int, list[Row]] = field(default_factory=lambda: defaultdict(list))
    # replies (hidden ones too) of each author in each thread: their records leave these out
    own: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))


def _posts(conn: Connection, ids: list[int]) -> _Posts:
    found = _Posts()
    rows = conn.execute(
        f"SELECT p.thread_id, p.id, p.author_id, p.position, p.hidden, "
        f"{dialect_of(conn).prefix('p.body_text', TEXT_LIMIT)} AS text, p.created_at, "
        "p.updated_at, p.score, "
        "p.flag_count, coalesce(m.trust_level, 0) AS trust "
        "FROM posts p LEFT JOIN members m ON m.id = p.author_id "
        f"WHERE p.thread_id IN ({marks(len(ids))}) ORDER BY p.thread_id, p.position, p.id",
        ids,
    ).fetchall()
    for r in rows:
        thread_id = int(r["thread_id"])
        found.question.setdefault(thread_id, r["text"])  # the first post, hidden or not
        if int(r["position"]) <= 0:
            continue
        if r["author_id"] is not None:
            found.own[(int(r["author_id"]), thread_id)] += 1
        if not r["hidden"]:
            found.replies[thread_id].append(r)
    return found


def _author_records(
    conn: Connection, pairs: set[tuple[int, int]], own: Mapping[tuple[int, int], int]
) -> dict[tuple[int, int], AuthorRecord]:
    """Each (author, thread)'s record from threads other than that one.

    Replies elsewhere are counted up to VERY_EXPERIENCED (a prolific author has 100k+ posts):
    each author's replies anywhere are counted up to that cap plus the most any of them wrote in
    one of these threads, and their replies in the thread itself are taken off, which gives the
    same capped count as counting the other threads' alone."""
    authors = sorted({author for author, _ in pairs})
    cap = VERY_EXPERIENCED + max((own.get(pair, 0) for pair in pairs), default=0)
    counted: dict[int, tuple[int, str | None]] = {}
    decided: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for part in chunks(authors):
        for r in conn.execute(
            "SELECT m.id, m.joined_at, (SELECT count(*) FROM (SELECT 1 FROM posts "
            "WHERE author_id = m.id AND position > 0 LIMIT ?) AS capped) AS answers "
            f"FROM members m WHERE m.id IN ({marks(len(part))})",
            (cap, *part),
        ).fetchall():
            counted[int(r["id"])] = (int(r["answers"]), r["joined_at"])
        for r in conn.execute(
            "SELECT p.author_id, v.thread_id, count(*) FILTER (WHERE v.state = 'verified'), "
            "count(*) FILTER (WHERE v.state = 'rejected') FROM verifications v "
            "JOIN posts p ON p.id = v.post_id WHERE v.state IN ('verified', 'rejected') "
            f"AND p.author_id IN ({marks(len(part))}) GROUP BY p.author_id, v.thread_id",
            part,
        ).fetchall():
            decided[int(r[0])][int(r[1])] = (int(r[2] or 0), int(r[3] or 0))
    records: dict[tuple[int, int], AuthorRecord] = {}
    for author, thread_id in pairs:
        answers, joined = counted.get(author, (0, None))
        by_thread = decided.get(author, {})
        verified = sum(v for t, (v, _) in by_thread.items() if t != thread_id)
        rejected = sum(r for t, (_, r) in by_thread.items() if t != thread_id)
        records[(author, thread_id)] = AuthorRecord(
            answers=min(VERY_EXPERIENCED, answers - own.get((author, thread_id), 0)),
            verified=verified,
            rejected=rejected,
            joined_at=joined,
        )
    return records


def _duplicates(
    conn: Connection, ids: list[int], heads: Mapping[int, Row], reads: dict[int, ThreadRead]
) -> dict[int, set[int]]:
    """Threads confirmed as duplicates of each thread, or that it duplicates (either way);
    counts its closed duplicates and pending candidates into `reads` on the way."""
    others: dict[int, set[int]] = defaultdict(set)
    for thread_id, head in heads.items():
        if head["duplicate_of"] is not None:
            others[thread_id].add(int(head["duplicate_of"]))
    wanted = marks(len(ids))
    for r in conn.execute(
        f"SELECT duplicate_of, id FROM threads WHERE duplicate_of IN ({wanted})", ids
    ).fetchall():
        others[int(r[0])].add(int(r[1]))
        reads[int(r[0])].duplicates += 1
    for r in conn.execute(
        "SELECT original_id, thread_id, decision FROM duplicate_links "
        f"WHERE original_id IN ({wanted}) AND decision IN ('confirmed', 'merged', 'pending')",
        ids,
    ).fetchall():
        if r[2] == "pending":
            reads[int(r[0])].pending_candidates += 1
        else:
            others[int(r[0])].add(int(r[1]))
    for r in conn.execute(
        "SELECT thread_id, original_id FROM duplicate_links "
        f"WHERE thread_id IN ({wanted}) AND decision IN ('confirmed', 'merged')",
        ids,
    ).fetchall():
        others[int(r[0])].add(int(r[1]))
    return {thread_id: found - {thread_id} for thread_id, found in others.items() if found}


def _known(conn: Connection, others: Mapping[int, set[int]]) -> dict[int, tuple[KnownAnswer, ...]]:
    """The decided answers on each thread's duplicates, by thread id then position."""
    every = sorted(set().union(*others.values())) if others else []
    decided: dict[int, list[KnownAnswer]] = defaultdict(list)
    for part in chunks(every):
        for r in conn.execute(
            f"SELECT v.thread_id, v.state, {dialect_of(conn).prefix('p.body_text', TEXT_LIMIT)} "
            "AS text "
            "FROM verifications v JOIN posts p ON p.id = v.post_id "
            f"WHERE v.thread_id IN ({marks(len(part))}) "
            "AND v.state IN ('verified', 'rejected') ORDER BY v.thread_id, p.position",
            part,
        ).fetchall():
            decided[int(r[0])].append(KnownAnswer(str(r[0]), r[2], r[1] == "verified"))
    return {
        thread_id: tuple(k for other in sorted(found) for k in decided.get(other, ()))
        for thread_id, found in others.items()
    }


def _reply(r: Row) -> Reply:
    return Reply(
        key=str(r["id"]),
        author=None if r["author_id"] is None else str(r["author_id"]),
        position=int(r["position"]),
        text=r["text"],
        created_at=r["created_at"],
        votes=int(r["score"]),
        staff=int(r["trust"]) >= STAFF_TRUST_LEVEL,
        edited_at=r["updated_at"]
        if r["updated_at"] and r["updated_at"] > r["created_at"]
        else None,
    )


def threads_facts(
    conn: Connection,
    thread_ids: Iterable[int],
    *,
    official_domains: tuple[str, ...] = (),
    points: Mapping[str, int] = WEIGHTS,
) -> dict[int, ThreadRead]:
    """Everything the signals and the queue's impact need about each of `thread_ids` (hidden
    replies left out), read in a few queries per batch; threads not in the cache are left out."""
    wanted = list(dict.fromkeys(int(t) for t in thread_ids))
    out: dict[int, ThreadRead] = {}
    for ids in chunks(wanted):
        out.update(_batch(conn, ids, official_domains, points))
    return out


def _batch(
    conn: Connection,
    ids: list[int],
    official_domains: tuple[str, ...],
    points: Mapping[str, int],
) -> dict[int, ThreadRead]:
    heads = {
        int(r["id"]): r
        for r in conn.execute(
            "SELECT id, title, author_id, created_at, accepted_post_id, duplicate_of, "
            f"flag_count + report_count AS flags FROM threads WHERE id IN ({marks(len(ids))})",
            ids,
        ).fetchall()
    }
    ids = [t for t in ids if t in heads]
    if not ids:
        return {}
    posts = _posts(conn, ids)
    pairs = {
        (int(r["author_id"]), thread_id)
        for thread_id, rows in posts.replies.items()
        for r in rows
        if r["author_id"] is not None
    }
    records = _author_records(conn, pairs, posts.own)
    reads: dict[int, ThreadRead] = {}
    for thread_id in ids:
        head = heads[thread_id]
        rows = posts.replies.get(thread_id, [])
        reads[thread_id] = ThreadRead(
            facts=ThreadFacts(
                title=head["title"],
                question=posts.question.get(thread_id, ""),
                asker=None if head["author_id"] is None else str(head["author_id"]),
                replies=tuple(_reply(r) for r in rows),
                accepted=None
                if head["accepted_post_id"] is None
                else str(head["accepted_post_id"]),
                created_at=head["created_at"],
                official_domains=official_domains,
                weights=points,
            ),
            accepted_post_id=None
            if head["accepted_post_id"] is None
            else int(head["accepted_post_id"]),
            flags_and_reports=int(head["flags"] or 0),
            replies={
                int(r["id"]): ReplyFacts(
                    r["created_at"], int(r["flag_count"]), int(r["trust"]) >= STAFF_TRUST_LEVEL
                )
                for r in rows
            },
        )
    known = _known(conn, _duplicates(conn, ids, heads, reads))
    for thread_id, read in reads.items():
        writers = sorted({int(r.author) for r in read.facts.replies if r.author is not None})
        read.facts = replace(
            read.facts,
            authors={str(a): records[(a, thread_id)] for a in writers},
            known=known.get(thread_id, ()),
        )
    return reads


def thread_facts(
    conn: Connection,
    thread_id: int,
    *,
    official_domains: tuple[str, ...] = (),
    points: Mapping[str, int] = WEIGHTS,
) -> ThreadFacts:
    """Everything the signals need about `thread_id` (hidden replies left out)."""
    found = threads_facts(conn, [thread_id], official_domains=official_domains, points=points)
    if thread_id not in found:
        raise NotFound(f"There is no thread {thread_id} {dialect_of(conn).where}")
    return found[thread_id].facts
