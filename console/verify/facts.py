"""The facts the signals read, from the cache: one thread, its replies, their authors' records and
the decided answers on its duplicates. The benchmark builds the same dataclasses from its files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from console.errors import NotFound
from console.storage import Connection
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


def body_hash(text: str) -> str:
    """What a decision remembers of the answer it was made on (to spot remote changes)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _author_records(
    conn: Connection, thread_id: int, author_ids: set[int]
) -> dict[str, AuthorRecord]:
    records: dict[str, AuthorRecord] = {}
    for author_id in author_ids:
        answers = conn.execute(  # counted up to the cap: a prolific author has 100k+ posts
            "SELECT count(*) FROM (SELECT 1 FROM posts"
            " WHERE author_id = ? AND position > 0 AND thread_id != ? LIMIT ?) AS capped",
            (author_id, thread_id, VERY_EXPERIENCED),
        ).fetchone()[0]
        decided = conn.execute(
            "SELECT count(*) FILTER (WHERE v.state = 'verified'), "
            "count(*) FILTER (WHERE v.state = 'rejected') FROM verifications v "
            "JOIN posts p ON p.id = v.post_id WHERE p.author_id = ? AND v.thread_id != ?",
            (author_id, thread_id),
        ).fetchone()
        member = conn.execute("SELECT joined_at FROM members WHERE id = ?", (author_id,)).fetchone()
        records[str(author_id)] = AuthorRecord(
            answers=int(answers),
            verified=int(decided[0] or 0),
            rejected=int(decided[1] or 0),
            joined_at=member[0] if member else None,
        )
    return records


def duplicate_threads(conn: Connection, thread_id: int) -> list[int]:
    """Threads confirmed as duplicates of this one, or that this one duplicates (either way)."""
    rows = conn.execute(
        "SELECT id FROM threads WHERE duplicate_of = ? "
        "UNION SELECT duplicate_of FROM threads WHERE id = ? AND duplicate_of IS NOT NULL "
        "UNION SELECT thread_id FROM duplicate_links WHERE original_id = ? "
        "  AND decision IN ('confirmed', 'merged') "
        "UNION SELECT original_id FROM duplicate_links WHERE thread_id = ? "
        "  AND decision IN ('confirmed', 'merged')",
        (thread_id, thread_id, thread_id, thread_id),
    ).fetchall()
    return sorted({int(r[0]) for r in rows} - {thread_id})


def _known(conn: Connection, thread_id: int) -> tuple[KnownAnswer, ...]:
    others = duplicate_threads(conn, thread_id)
    if not others:
        return ()
    marks = ",".join("?" * len(others))
    rows = conn.execute(
        f"SELECT v.thread_id, v.state, substr(p.body_text, 1, {TEXT_LIMIT}) AS text "
        f"FROM verifications v JOIN posts p ON p.id = v.post_id WHERE v.thread_id IN ({marks}) "
        "AND v.state IN ('verified', 'rejected') ORDER BY v.thread_id, p.position",
        others,
    ).fetchall()
    return tuple(KnownAnswer(str(r[0]), r[2], r[1] == "verified") for r in rows)


def thread_facts(
    conn: Connection,
    thread_id: int,
    *,
    official_domains: tuple[str, ...] = (),
    points: Mapping[str, int] = WEIGHTS,
) -> ThreadFacts:
    """Everything the signals need about `thread_id` (hidden replies left out)."""
    head = conn.execute(
        "SELECT title, author_id, created_at, accepted_post_id FROM threads WHERE id = ?",
        (thread_id,),
    ).fetchone()
    if head is None:
        raise NotFound(f"There is no thread {thread_id} in the cache")
    question = conn.execute(
        f"SELECT substr(body_text, 1, {TEXT_LIMIT}) FROM posts WHERE thread_id = ? "
        "ORDER BY position, id LIMIT 1",
        (thread_id,),
    ).fetchone()
    rows = conn.execute(
        f"SELECT p.id, p.author_id, p.position, substr(p.body_text, 1, {TEXT_LIMIT}) AS text, "
        "p.created_at, p.updated_at, p.score, coalesce(m.trust_level, 0) AS trust "
        "FROM posts p LEFT JOIN members m ON m.id = p.author_id "
        "WHERE p.thread_id = ? AND p.position > 0 AND p.hidden = 0 ORDER BY p.position, p.id",
        (thread_id,),
    ).fetchall()
    replies = tuple(
        Reply(
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
        for r in rows
    )
    authors = {int(r["author_id"]) for r in rows if r["author_id"] is not None}
    return ThreadFacts(
        title=head["title"],
        question=question[0] if question else "",
        asker=None if head["author_id"] is None else str(head["author_id"]),
        replies=replies,
        accepted=None if head["accepted_post_id"] is None else str(head["accepted_post_id"]),
        created_at=head["created_at"],
        authors=_author_records(conn, thread_id, authors),
        known=_known(conn, thread_id),
        official_domains=official_domains,
        weights=points,
    )
