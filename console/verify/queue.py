"""The verification queue: which answers wait for a moderator, in order of impact.

`refresh` scores every reply of a thread (console.verify.signals) and keeps up to two candidates
per thread in `verifications`: the answer the asker accepted, and the best-scoring other reply if
it looks like an answer (score 55 or more). Decided answers keep the score and reasons they were
decided on; pending ones are rescored on every refresh.

The order of the queue is by impact, documented here once:

    impact = payout at stake in whole currency units (payout_minor / 100)
           + 20 × threads closed as duplicates of this one + 5 × pending duplicate candidates
           + 10 × (flags on the answer + flags and reports on the thread)
           + days since the answer was posted, at most 30
           + 25 if the asker accepted it but its score is below 50 (a likely wrong accept)
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from console.clock import now, now_iso, parse
from console.db import Cache
from console.errors import NotFound
from console.storage import Connection, Row, dialect_of
from console.verify.facts import ThreadRead, body_hash, chunks, marks, thread_facts, threads_facts
from console.verify.settings import VerifySettings
from console.verify.signals import Assessment, assess_thread

PLAUSIBLE = 55  # a reply the asker did not accept enters the queue from this score
DOUBTFUL = 50  # an accepted answer below this is "likely wrong"


@dataclass(frozen=True)
class QueueRow:
    kind: str  # "answer" | "four_eyes" | "recheck" | "calibration"
    verification_id: int
    post_id: int
    thread_id: int
    title: str
    author: str
    score: int
    impact: float
    accepted: bool
    detail: str  # why it is here beyond the score: "awaiting a second moderator", ...
    review_id: int | None = None


def _impact(read: ThreadRead, post_id: int, score: int, payout: int) -> float:
    reply = read.replies[post_id]
    age = max(0.0, (now() - parse(reply.created_at)).total_seconds() / 86400.0)
    accepted = read.accepted_post_id == post_id
    return round(
        payout / 100
        + 20 * read.duplicates
        + 5 * read.pending_candidates
        + 10 * (reply.flag_count + read.flags_and_reports)
        + min(30.0, age)
        + (25 if accepted and score < DOUBTFUL else 0),
        2,
    )


def _reasons_json(assessment: Assessment) -> str:
    return json.dumps(
        [{"name": s.name, "points": s.points, "reason": s.reason} for s in assessment.signals],
        ensure_ascii=False,
    )


def assess_thread_in(
    conn: Connection, thread_id: int, settings: VerifySettings
) -> list[Assessment]:
    facts = thread_facts(
        conn, thread_id, official_domains=settings.official_domains, points=settings.points
    )
    return assess_thread(facts)


_UPSERT = (
    "INSERT INTO verifications (post_id, thread_id, state, score, reasons, impact, "
    "payout_minor, body_hash, created_at, updated_at) "
    "VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (post_id) DO UPDATE SET score = excluded.score, "
    "reasons = excluded.reasons, impact = excluded.impact, "
    "payout_minor = {payout}, body_hash = excluded.body_hash, "
    "updated_at = excluded.updated_at WHERE verifications.state = 'pending'"
)


def _existing(conn: Connection, thread_ids: list[int]) -> dict[int, set[int]]:
    """The answers of each thread that already have a verification row (any state)."""
    found: dict[int, set[int]] = defaultdict(set)
    for part in chunks(thread_ids):
        for r in conn.execute(
            f"SELECT post_id, thread_id FROM verifications WHERE thread_id IN ({marks(len(part))})",
            part,
        ).fetchall():
            found[int(r[1])].add(int(r[0]))
    return found


def _bodies(conn: Connection, post_ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for part in chunks(post_ids):
        for r in conn.execute(
            f"SELECT id, body_text FROM posts WHERE id IN ({marks(len(part))})", part
        ).fetchall():
            found[int(r[0])] = str(r[1])
    return found


@dataclass(frozen=True)
class Scores:
    """The threads' candidates as scored, to be written (`write_scores`)."""

    kept: int  # candidates chosen
    rows: list[tuple[object, ...]]  # the upsert's parameters, one tuple an answer


def score_many(
    conn: Connection,
    thread_ids: Iterable[int],
    settings: VerifySettings,
    *,
    also: frozenset[int] = frozenset(),
) -> Scores:
    """Score the threads' replies (reads only): the threads are read in a few queries
    (console.verify.facts.threads_facts) and scored in Python. Posts in `also` get a row too
    (a reply nobody proposed that a moderator decides)."""
    ids = list(dict.fromkeys(int(t) for t in thread_ids))
    reads = threads_facts(
        conn, ids, official_domains=settings.official_domains, points=settings.points
    )
    existing = _existing(conn, [t for t in ids if t in reads])
    kept = 0
    writes: list[tuple[int, int, Assessment, float, int]] = []
    for thread_id in ids:
        read = reads.get(thread_id)
        if read is None:
            continue
        assessments = assess_thread(read.facts)
        accepted = read.accepted_post_id
        chosen = [a for a in assessments if accepted is not None and int(a.key) == accepted]
        others = [a for a in assessments if accepted is None or int(a.key) != accepted]
        if others and others[0].score >= PLAUSIBLE:
            chosen.append(others[0])
        wanted = existing.get(thread_id, set()) | also
        keep = chosen + [a for a in assessments if int(a.key) in wanted and a not in chosen]
        kept += len(chosen)
        for assessment in keep:
            post_id = int(assessment.key)
            payout = 0 if read.replies[post_id].staff else settings.payout_minor
            impact = _impact(read, post_id, assessment.score, payout)
            writes.append((post_id, thread_id, assessment, impact, payout))
    if not writes:
        return Scores(kept, [])
    bodies = _bodies(conn, [w[0] for w in writes])
    stamp = now_iso()
    return Scores(
        kept,
        [
            (
                post_id,
                thread_id,
                assessment.score,
                _reasons_json(assessment),
                impact,
                payout,
                body_hash(bodies[post_id]),
                stamp,
                stamp,
            )
            for post_id, thread_id, assessment, impact, payout in writes
        ],
    )


def write_scores(conn: Connection, scores: Scores) -> int:
    """Write scored candidates (inside the caller's transaction): pending rows take the new
    score, decided ones keep what they were decided on; returns candidates kept."""
    if scores.rows:
        upsert = _UPSERT.format(
            payout=dialect_of(conn).greatest("excluded.payout_minor", "verifications.payout_minor")
        )
        conn.executemany(upsert, scores.rows)
    return scores.kept


def refresh_many_in(
    conn: Connection,
    thread_ids: Iterable[int],
    settings: VerifySettings,
    *,
    also: frozenset[int] = frozenset(),
) -> int:
    """Rescore the threads' replies inside the caller's transaction; returns candidates kept
    (`score_many`, then `write_scores`)."""
    return write_scores(conn, score_many(conn, thread_ids, settings, also=also))


def refresh_in(conn: Connection, thread_id: int, settings: VerifySettings) -> int:
    """Rescore one thread's replies inside the caller's transaction; returns candidates kept."""
    return refresh_many_in(conn, [thread_id], settings)


def refresh(cache: Cache, thread_ids: Iterable[int], settings: VerifySettings) -> int:
    """Rescore the given threads a batch at a time: each batch read and scored first, then
    written in one short transaction (one statement batch), so other writers (a decision, the
    console's reads that write) never wait for the reading and scoring, which take seconds at a
    million threads; returns candidates kept."""
    ids = list(thread_ids)
    kept = 0
    for part in chunks(ids):
        scores = score_many(cache.conn, part, settings)
        with cache.transaction() as conn:
            kept += write_scores(conn, scores)
    return kept


SEEN_KEY = "verify_activity_seen"  # newest thread activity already scored (meta)
FIRST_BATCH = 500  # threads scored when a cache is first opened for verification


def refresh_changed(
    cache: Cache,
    settings: VerifySettings,
    limit: int = FIRST_BATCH,
    *,
    step: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Score threads with activity since the last call (new answers synced, edits): at most
    `limit` at a time, oldest activity first; a cache never scored starts with its newest.
    With `step`, they are scored and committed `step` threads at a time (the newest first on a
    cache never scored), `progress(kept so far)` after each, so a reader sees the first ones
    while the rest are scored."""
    seen = cache.meta(SEEN_KEY)
    if seen is None:
        rows = cache.query(
            "SELECT id, last_activity_at FROM threads WHERE status != 'duplicate' "
            "ORDER BY last_activity_at DESC LIMIT ?",
            (limit,),
        )
    else:
        rows = cache.query(
            "SELECT id, last_activity_at FROM threads WHERE last_activity_at > ? "
            "AND status != 'duplicate' ORDER BY last_activity_at LIMIT ?",
            (seen, limit),
        )
    if not rows:
        return 0
    ids = [int(r[0]) for r in rows]
    kept = 0
    for start in range(0, len(ids), step or len(ids)):
        kept += refresh(cache, ids[start : start + (step or len(ids))], settings)
        if progress is not None:
            progress(kept)
    newest = max(str(r[1]) for r in rows)
    with cache.transaction():
        cache.set_meta(SEEN_KEY, max(newest, seen or ""))
    return kept


def mark_all_seen(cache: Cache) -> None:
    """Every thread's activity so far counts as scored (after a full or a chosen refresh)."""
    row = cache.one("SELECT max(last_activity_at) FROM threads")
    if row and row[0]:
        with cache.transaction():
            cache.set_meta(SEEN_KEY, str(row[0]))


def answered_threads(cache: Cache) -> list[int]:
    """Threads with at least one visible reply and not closed as duplicates."""
    return [
        int(r[0])
        for r in cache.query(
            "SELECT t.id FROM threads t WHERE t.status != 'duplicate' AND EXISTS ("
            "SELECT 1 FROM posts p WHERE p.thread_id = t.id AND p.position > 0 AND p.hidden = 0) "
            "ORDER BY t.id"
        )
    ]


def ensure(cache: Cache, post_id: int, settings: VerifySettings) -> None:
    """Make sure `post_id` has a verification row (a reply nobody proposed can be decided too).

    Its thread is read and scored first, in one read snapshot, and the result written in one
    short transaction after, so the cache file's writer lock is held only for the upsert (as in
    `refresh`): other writers never wait for the reading and scoring. What another connection
    wrote between the two stays: a row decided meanwhile keeps its decision and score (the
    upsert changes pending rows only) and one created meanwhile is not made twice."""
    row = cache.one("SELECT thread_id, position FROM posts WHERE id = ?", (post_id,))
    if row is None:
        raise NotFound(
            f"There is no answer {post_id} {cache.dialect.where} (deleted on the platform?); "
            "nothing was changed"
        )
    if int(row["position"]) == 0:
        raise NotFound(f"Post {post_id} is the question of its thread, not an answer")
    with cache.snapshot() as conn:
        scores = score_many(conn, [int(row["thread_id"])], settings, also=frozenset({post_id}))
    with cache.transaction() as conn:
        write_scores(conn, scores)


PENDING_INDEX = "verifications_pending"  # migration 36: the pending ones in the list's order
_ROW = (
    "SELECT v.id, v.post_id, v.thread_id, t.title, coalesce(m.username, '(unknown)') AS author, "
    "v.score, v.impact, v.post_id = t.accepted_post_id AS accepted, v.proposed_state, "
    "v.proposed_by, v.recheck, v.contested "
    "FROM verifications v{by} JOIN posts p ON p.id = v.post_id "
    "JOIN threads t ON t.id = v.thread_id LEFT JOIN members m ON m.id = p.author_id "
)


def _detail(row: Row) -> tuple[str, str]:
    if row["proposed_state"]:
        return "four_eyes", (
            f"{row['proposed_by']} proposes {row['proposed_state']} "
            f"({row['contested']}): a second moderator must confirm"
        )
    if row["recheck"]:
        return "recheck", f"re-check: {row['recheck']}"
    return "answer", ""


def _pending_sql(cache: Cache) -> str:
    """A page of the pending answers (LIMIT ? OFFSET ?), in the order of migration 36's index:
    SQLite's planner would take the (state, impact) one and sort every pending answer."""
    return (
        _ROW.format(by=cache.dialect.indexed_by(PENDING_INDEX))
        + "WHERE v.state = 'pending' AND p.hidden = 0 "
        "ORDER BY (v.recheck IS NOT NULL) DESC, v.impact DESC, v.id LIMIT ? OFFSET ?"
    )


def pending(cache: Cache, actor: str, *, offset: int = 0, limit: int = 100) -> list[QueueRow]:
    """What waits for `actor`: blind calibration items first (few, asked of them), then
    pending answers with re-checks first, by impact."""
    calibration = calibration_items(cache, actor, limit=1_000)
    out = calibration[offset : offset + limit]
    skip = max(0, offset - len(calibration))
    rows = cache.query(_pending_sql(cache), (limit - len(out), skip))
    for r in rows:
        kind, detail = _detail(r)
        out.append(
            QueueRow(
                kind,
                r["id"],
                r["post_id"],
                r["thread_id"],
                r["title"],
                r["author"],
                r["score"],
                r["impact"],
                bool(r["accepted"]),
                detail,
            )
        )
    return out


def pending_count(cache: Cache) -> int:
    row = cache.one(
        "SELECT count(*) FROM verifications v JOIN posts p ON p.id = v.post_id "
        "WHERE v.state = 'pending' AND p.hidden = 0"
    )
    return int(row[0]) if row else 0


def calibration_items(cache: Cache, actor: str, *, limit: int = 100) -> list[QueueRow]:
    """Decisions re-queued blind for `actor` (never their own): the first decision is hidden."""
    rows = cache.query(
        "SELECT r.id AS review_id, v.id, v.post_id, v.thread_id, t.title, "
        "coalesce(m.username, '(unknown)') AS author, v.score, v.impact, "
        "v.post_id = t.accepted_post_id AS accepted "
        "FROM verification_reviews r JOIN verifications v ON v.id = r.verification_id "
        "JOIN posts p ON p.id = v.post_id JOIN threads t ON t.id = v.thread_id "
        "LEFT JOIN members m ON m.id = p.author_id "
        "WHERE r.kind = 'calibration' AND r.state = 'open' AND r.first_by != ? "
        "ORDER BY r.id LIMIT ?",
        (actor, limit),
    )
    return [
        QueueRow(
            "calibration",
            r["id"],
            r["post_id"],
            r["thread_id"],
            r["title"],
            r["author"],
            r["score"],
            r["impact"],
            bool(r["accepted"]),
            "calibration: decide blind; another moderator's decision is hidden",
            review_id=r["review_id"],
        )
        for r in rows
    ]
