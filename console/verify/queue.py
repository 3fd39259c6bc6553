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
from collections.abc import Iterable
from dataclasses import dataclass

from console.clock import now, now_iso, parse
from console.db import Cache
from console.errors import NotFound
from console.storage import Connection, Row, dialect_of
from console.verify.facts import body_hash, thread_facts
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


def _impact(conn: Connection, thread_id: int, post: Row, score: int, payout: int) -> float:
    dupes = conn.execute(
        "SELECT (SELECT count(*) FROM threads WHERE duplicate_of = ?), "
        "(SELECT count(*) FROM duplicate_links WHERE original_id = ? AND decision = 'pending'), "
        "(SELECT flag_count + report_count FROM threads WHERE id = ?)",
        (thread_id, thread_id, thread_id),
    ).fetchone()
    age = max(0.0, (now() - parse(post["created_at"])).total_seconds() / 86400.0)
    accepted = bool(post["accepted"])
    return round(
        payout / 100
        + 20 * int(dupes[0])
        + 5 * int(dupes[1])
        + 10 * (int(post["flag_count"]) + int(dupes[2] or 0))
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


def refresh_in(conn: Connection, thread_id: int, settings: VerifySettings) -> int:
    """Rescore one thread's replies inside the caller's transaction; returns candidates kept."""
    thread = conn.execute(
        "SELECT accepted_post_id FROM threads WHERE id = ?", (thread_id,)
    ).fetchone()
    if thread is None:
        return 0
    assessments = assess_thread_in(conn, thread_id, settings)
    accepted = thread["accepted_post_id"]
    chosen = [a for a in assessments if accepted is not None and int(a.key) == accepted]
    others = [a for a in assessments if accepted is None or int(a.key) != accepted]
    if others and others[0].score >= PLAUSIBLE:
        chosen.append(others[0])
    existing = {
        int(r[0])
        for r in conn.execute("SELECT post_id FROM verifications WHERE thread_id = ?", (thread_id,))
    }
    keep = chosen + [a for a in assessments if int(a.key) in existing and a not in chosen]
    stamp = now_iso()
    for assessment in keep:
        post_id = int(assessment.key)
        post = conn.execute(
            "SELECT p.created_at, p.flag_count, p.body_text, p.author_id, "
            "coalesce(m.trust_level, 0) >= 4 AS staff, p.id = t.accepted_post_id AS accepted "
            "FROM posts p JOIN threads t ON t.id = p.thread_id "
            "LEFT JOIN members m ON m.id = p.author_id WHERE p.id = ?",
            (post_id,),
        ).fetchone()
        payout = 0 if post["staff"] else settings.payout_minor
        impact = _impact(conn, thread_id, post, assessment.score, payout)
        conn.execute(
            "INSERT INTO verifications (post_id, thread_id, state, score, reasons, impact, "
            "payout_minor, body_hash, created_at, updated_at) "
            "VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (post_id) DO UPDATE SET score = excluded.score, "
            "reasons = excluded.reasons, impact = excluded.impact, "
            "payout_minor = "
            f"{dialect_of(conn).greatest('excluded.payout_minor', 'verifications.payout_minor')}, "
            "body_hash = excluded.body_hash, "
            "updated_at = excluded.updated_at WHERE verifications.state = 'pending'",
            (
                post_id,
                thread_id,
                assessment.score,
                _reasons_json(assessment),
                impact,
                payout,
                body_hash(post["body_text"]),
                stamp,
                stamp,
            ),
        )
    return len(chosen)


def refresh(cache: Cache, thread_ids: Iterable[int], settings: VerifySettings) -> int:
    """Rescore the given threads, 200 per transaction; returns candidates kept."""
    ids = list(thread_ids)
    kept = 0
    for start in range(0, len(ids), 200):
        with cache.transaction() as conn:
            for thread_id in ids[start : start + 200]:
                kept += refresh_in(conn, thread_id, settings)
    return kept


SEEN_KEY = "verify_activity_seen"  # newest thread activity already scored (meta)
FIRST_BATCH = 500  # threads scored when a cache is first opened for verification


def refresh_changed(cache: Cache, settings: VerifySettings, limit: int = FIRST_BATCH) -> int:
    """Score threads with activity since the last call (new answers synced, edits): at most
    `limit` at a time, oldest activity first; a cache never scored starts with its newest."""
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
    kept = refresh(cache, [int(r[0]) for r in rows], settings)
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
    """Make sure `post_id` has a verification row (a reply nobody proposed can be decided too)."""
    row = cache.one("SELECT thread_id, position FROM posts WHERE id = ?", (post_id,))
    if row is None:
        raise NotFound(
            f"There is no answer {post_id} in the cache (deleted on the platform?); "
            "nothing was changed"
        )
    if int(row["position"]) == 0:
        raise NotFound(f"Post {post_id} is the question of its thread, not an answer")
    with cache.transaction() as conn:
        refresh_in(conn, int(row["thread_id"]), settings)
        if not conn.execute("SELECT 1 FROM verifications WHERE post_id = ?", (post_id,)).fetchone():
            for assessment in assess_thread_in(conn, int(row["thread_id"]), settings):
                if int(assessment.key) == post_id:
                    _insert_one(conn, post_id, int(row["thread_id"]), assessment, settings)


def _insert_one(
    conn: Connection,
    post_id: int,
    thread_id: int,
    assessment: Assessment,
    settings: VerifySettings,
) -> None:
    post = conn.execute(
        "SELECT p.created_at, p.flag_count, p.body_text, coalesce(m.trust_level, 0) >= 4 AS staff, "
        "p.id = t.accepted_post_id AS accepted FROM posts p JOIN threads t ON t.id = p.thread_id "
        "LEFT JOIN members m ON m.id = p.author_id WHERE p.id = ?",
        (post_id,),
    ).fetchone()
    payout = 0 if post["staff"] else settings.payout_minor
    stamp = now_iso()
    conn.execute(
        "INSERT INTO verifications (post_id, thread_id, state, score, reasons, impact, "
        "payout_minor, body_hash, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, "
        "?, ?, ?)",
        (
            post_id,
            thread_id,
            assessment.score,
            _reasons_json(assessment),
            _impact(conn, thread_id, post, assessment.score, payout),
            payout,
            body_hash(post["body_text"]),
            stamp,
            stamp,
        ),
    )


_ROW = (
    "SELECT v.id, v.post_id, v.thread_id, t.title, coalesce(m.username, '(unknown)') AS author, "
    "v.score, v.impact, v.post_id = t.accepted_post_id AS accepted, v.proposed_state, "
    "v.proposed_by, v.recheck, v.contested "
    "FROM verifications v JOIN posts p ON p.id = v.post_id JOIN threads t ON t.id = v.thread_id "
    "LEFT JOIN members m ON m.id = p.author_id "
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


def pending(cache: Cache, actor: str, *, offset: int = 0, limit: int = 100) -> list[QueueRow]:
    """What waits for `actor`: blind calibration items first (few, asked of them), then
    pending answers with re-checks first, by impact."""
    calibration = calibration_items(cache, actor, limit=1_000)
    out = calibration[offset : offset + limit]
    skip = max(0, offset - len(calibration))
    rows = cache.query(
        _ROW + "WHERE v.state = 'pending' AND p.hidden = 0 "
        "ORDER BY (v.recheck IS NOT NULL) DESC, v.impact DESC, v.id LIMIT ? OFFSET ?",
        (limit - len(out), skip),
    )
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
