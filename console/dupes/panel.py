"""What the Duplicates panel reads: pending pairs by confidence, one pair in full, an outcome.

Plain Python over the cache (no Textual). A "pair" row is a thread that still waits for a
decision together with its best pending candidate; the thread's other pending candidates are
in `PairView.others`, so the moderator can pick one of them instead.

A pair can be decided only while the thread is still open to it (not closed, not already a
duplicate) and its original is not itself a duplicate: the same rules `console.dupes.actions`
enforces, so the list never offers what a decision would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.db import Cache
from console.dupes.stored import MAY_PROPOSE, Candidate, candidates, stored_explanation
from console.dupes.thresholds import PROPOSE, STRONG_SCORE, may_propose
from console.errors import NotFound
from console.models import DecisionResult

BODY_LIMIT = 20_000  # characters of a question or an answer read for the panel

# A pending proposal the moderator can still decide (alias d: the link, t: thread, o: original).
_OPEN_PAIR = (
    f"d.decision = 'pending' AND d.score >= {PROPOSE} "
    "AND t.duplicate_of IS NULL AND t.status NOT IN ('closed', 'duplicate') "
    "AND o.duplicate_of IS NULL AND o.status != 'duplicate' "
    f"AND {may_propose('t', 'o')}"
)
# ...and it is the thread's best such link.
# (the thread's own links by its (thread_id, original_id) key: left to itself SQLite reads every
# pending link of the cache from the (decision, score) index for each row of the page, 1.1 s for
# a page at 100,000 threads; the team database's planner chooses by its statistics)
_BEST_OF_THREAD = (
    "d.id = (SELECT d2.id FROM duplicate_links d2{by_thread} "
    "JOIN threads o2 ON o2.id = d2.original_id "
    "WHERE d2.thread_id = d.thread_id AND d2.decision = 'pending' AND o2.duplicate_of IS NULL "
    "AND o2.status != 'duplicate' AND NOT (t.status = 'solved' AND o2.status != 'solved' "
    "AND o2.accepted_post_id IS NULL) ORDER BY d2.score DESC, d2.original_id LIMIT 1)"
)
THREAD_KEY_INDEX = "sqlite_autoindex_duplicate_links_1"  # UNIQUE (thread_id, original_id)
_FROM = (
    "FROM duplicate_links d JOIN threads t ON t.id = d.thread_id "
    "JOIN threads o ON o.id = d.original_id JOIN sources s ON s.id = t.source_id"
)


@dataclass(frozen=True)
class PairRow:
    """One line of the panel's list: a thread and its best pending candidate."""

    link_id: int
    thread_id: int
    original_id: int
    score: float
    thread_title: str
    original_title: str
    source: str
    candidates: int  # pending candidates of the thread, this one included


@dataclass(frozen=True)
class ThreadSide:
    thread_id: int
    title: str
    body: str  # the question (first post), at most BODY_LIMIT characters
    body_length: int  # its full length
    status: str
    source: str
    source_kind: str
    created_at: str
    author: str


@dataclass(frozen=True)
class PairView:
    """A pair in full, for the side-by-side comparison."""

    link_id: int | None  # None: a pair no one proposed (picked by hand)
    score: float
    explanation: str
    method: str
    decision: str
    thread: ThreadSide
    original: ThreadSide
    accepted_answer: str | None  # the original's accepted answer (at most BODY_LIMIT chars)
    accepted_author: str | None
    others: list[Candidate]  # the thread's other pending candidates, best first
    platform_note: str  # what confirming tells the platform, in words


def pending_count(cache: Cache) -> int:
    """Threads with at least one pending pair the moderator can decide."""
    row = cache.one(f"SELECT count(DISTINCT d.thread_id) {_FROM} WHERE {_OPEN_PAIR}")
    return int(row[0]) if row else 0


_PAIR_SELECT = (
    "SELECT d.id, d.thread_id, d.original_id, d.score, t.title AS thread_title, "
    "o.title AS original_title, s.name AS source, (SELECT count(*) FROM duplicate_links d3 "
    "WHERE d3.thread_id = d.thread_id AND d3.decision = 'pending') AS n "
)
# The list's order, and the same turned round (a page read from the far end, or before a row).
_FORWARD = "d.score DESC, d.thread_id"
_BACKWARD = "d.score, d.thread_id DESC"
# The rows after (before) a row of the list: its score and thread as :score and :thread. Each
# thread is listed once, so (score, thread) places every row; written with the score's range
# first, so the (decision, score) index starts there rather than at the top.
_AFTER = "d.score <= :score AND (d.score < :score OR d.thread_id > :thread)"
_BEFORE = "d.score >= :score AND (d.score > :score OR d.thread_id < :thread)"


def _pairs(
    cache: Cache,
    *,
    backward: bool = False,
    condition: str = "",
    values: dict[str, object] | None = None,
    limit: int,
    offset: int = 0,
) -> list[PairRow]:
    if limit <= 0:
        return []
    best = _BEST_OF_THREAD.format(by_thread=cache.dialect.indexed_by(THREAD_KEY_INDEX))
    where = f"{_OPEN_PAIR} AND {best}" + (f" AND {condition}" if condition else "")
    rows = cache.query(
        f"{_PAIR_SELECT}{_FROM} WHERE {where} "
        f"ORDER BY {_BACKWARD if backward else _FORWARD} LIMIT :limit OFFSET :offset",
        {**(values or {}), "limit": limit, "offset": max(0, offset)},
    )
    found = [
        PairRow(
            r["id"],
            r["thread_id"],
            r["original_id"],
            float(r["score"]),
            r["thread_title"],
            r["original_title"],
            r["source"],
            int(r["n"]),
        )
        for r in rows
    ]
    return found[::-1] if backward else found


def _from_anchor(cache: Cache, link_id: int, *, forward: bool, limit: int) -> list[PairRow] | None:
    """The `limit` rows after (before) the row of link `link_id`, in the list's order; None if
    that link is gone. A link decided since still marks its place (its score and thread)."""
    found = cache.one("SELECT score, thread_id FROM duplicate_links WHERE id = ?", (link_id,))
    if found is None:
        return None
    values: dict[str, object] = {"score": float(found[0]), "thread": int(found[1])}
    condition = _AFTER if forward else _BEFORE
    return _pairs(cache, backward=not forward, condition=condition, values=values, limit=limit)


def pending_pairs(
    cache: Cache,
    *,
    offset: int = 0,
    limit: int = 100,
    after: int | None = None,
    before: int | None = None,
    total: int | None = None,
) -> list[PairRow]:
    """Rows `offset .. offset + limit` of the list: threads with pending pairs, by their best
    pair's score (highest first). Given `after` (the link of the row just above the page) or
    `before` (the row just below it), the page is read from that row's place in the score index;
    given the list's `total`, a page in its second half is read from the far end; otherwise
    OFFSET walks every row before it (the last page at a million threads took 730 ms so)."""
    limit = max(0, limit)
    if after is not None:
        rows = _from_anchor(cache, after, forward=True, limit=limit)
        if rows is not None:
            return rows
    elif before is not None:
        rows = _from_anchor(cache, before, forward=False, limit=limit)
        if rows is not None:
            return rows
    if total is not None and offset > total // 2:
        limit = max(0, min(limit, total - offset))
        return _pairs(cache, backward=True, limit=limit, offset=total - offset - limit)
    return _pairs(cache, limit=limit, offset=offset)


def position(cache: Cache, thread_id: int) -> int | None:
    """The row of `thread_id` in the list (0: the first), or None when it has no pair the
    moderator can decide: what the panel puts its cursor on when a thread's band sends the
    moderator there. The rows before it are counted from its place in the score index."""
    best = _BEST_OF_THREAD.format(by_thread=cache.dialect.indexed_by(THREAD_KEY_INDEX))
    listed = f"{_OPEN_PAIR} AND {best}"
    found = cache.one(
        f"SELECT d.score {_FROM} WHERE {listed} AND d.thread_id = :thread", {"thread": thread_id}
    )
    if found is None:
        return None
    values = {"score": float(found[0]), "thread": thread_id}
    row = cache.one(f"SELECT count(*) {_FROM} WHERE {listed} AND {_BEFORE}", values)
    return int(row[0]) if row else 0


def _side(cache: Cache, thread_id: int) -> tuple[ThreadSide, int | None]:
    row = cache.one(
        "SELECT t.id, t.title, t.status, t.created_at, t.accepted_post_id, s.name AS source, "
        "s.kind AS source_kind, coalesce(m.username, '(unknown)') AS author, "
        f"{cache.dialect.prefix('p.body_text', BODY_LIMIT)} AS body, "
        f"{cache.dialect.text_length('p.body_text')} AS body_length "
        "FROM threads t JOIN sources s ON s.id = t.source_id "
        "LEFT JOIN members m ON m.id = t.author_id "
        "LEFT JOIN posts p ON p.id = (SELECT id FROM posts WHERE thread_id = t.id "
        "ORDER BY position, id LIMIT 1) WHERE t.id = ?",
        (thread_id,),
    )
    if row is None:
        raise NotFound(
            f"There is no thread {thread_id} {cache.dialect.where} (deleted on the platform?)"
        )
    side = ThreadSide(
        thread_id=row["id"],
        title=row["title"],
        body=row["body"] or "",
        body_length=int(row["body_length"] or 0),
        status=row["status"],
        source=row["source"],
        source_kind=row["source_kind"],
        created_at=row["created_at"],
        author=row["author"],
    )
    return side, row["accepted_post_id"]


def platform_note(source_kind: str) -> str:
    """What confirming a duplicate does on the platform of `source_kind`, in words."""
    from console.platforms import push_state

    state, reason = push_state(source_kind, "close_duplicate")
    if state == "pending":
        return f"{_platform_name(source_kind)} gets a reply linking the original, then a close"
    return f"kept in peerdesk only: {reason}"


def pair(cache: Cache, thread_id: int, original_id: int) -> PairView:
    """The pair `thread_id` → `original_id`, proposed or not."""
    thread, _ = _side(cache, thread_id)
    original, accepted_id = _side(cache, original_id)
    link = cache.one(
        "SELECT id, score, explanation, method, decision FROM duplicate_links "
        "WHERE thread_id = ? AND original_id = ?",
        (thread_id, original_id),
    )
    answer = None
    answer_author = None
    if accepted_id is not None:
        found = cache.one(
            f"SELECT {cache.dialect.prefix('p.body_text', BODY_LIMIT)} AS body, "
            "coalesce(m.username, '(unknown)') AS author FROM posts p "
            "LEFT JOIN members m ON m.id = p.author_id WHERE p.id = ? AND p.hidden = 0",
            (accepted_id,),
        )
        if found is not None:
            answer, answer_author = found["body"], found["author"]
    # every pending candidate, weaker ones too: picking another original is asking for them
    others = [
        c
        for c in candidates(cache, thread_id, weaker=True, explained=False)  # titles only
        if c.original_id != original_id
    ]
    return PairView(
        link_id=None if link is None else int(link["id"]),
        score=0.0 if link is None else float(link["score"]),
        explanation="picked by hand"
        if link is None
        else stored_explanation(cache, thread_id, original_id, link["explanation"], link["method"]),
        method="manual" if link is None else link["method"],
        decision="pending" if link is None else link["decision"],
        thread=thread,
        original=original,
        accepted_answer=answer,
        accepted_author=answer_author,
        others=others,
        platform_note=platform_note(thread.source_kind),
    )


def pair_by_link(cache: Cache, link_id: int) -> PairView:
    row = cache.one("SELECT thread_id, original_id FROM duplicate_links WHERE id = ?", (link_id,))
    if row is None:
        raise NotFound(f"There is no duplicate pair {link_id} (refreshed since?)")
    return pair(cache, int(row[0]), int(row[1]))


def outcome(cache: Cache, result: DecisionResult, thread_id: int, original_id: int) -> str:
    """What a saved duplicate decision did, in words, including what the platform will be told."""
    verb = {
        "dupe_confirm": "confirmed",
        "dupe_merge": "merged",
        "dupe_reject": "rejected",
    }.get(result.action, result.action)
    if result.action == "dupe_reject":
        return (
            f"rejected: thread {thread_id} is not a duplicate of {original_id}; "
            "the pair will not be proposed again (u undoes it)"
        )
    text = f"{verb}: thread {thread_id} is a duplicate of {original_id}"
    if result.action == "dupe_merge":
        row = cache.one(
            "SELECT count(*) FROM dupe_merged_posts WHERE from_thread_id = ? AND original_id = ?",
            (thread_id, original_id),
        )
        merged = int(row[0]) if row else 0
        text += f"; {merged} answer{'s' if merged != 1 else ''} now shown under the original"
    states = [
        (r["state"], r["last_error"], r["kind"])
        for r in cache.query(
            "SELECT o.state, o.last_error, s.kind FROM outbox o "
            "JOIN sources s ON s.id = o.source_id WHERE o.batch_id = ? ORDER BY o.id",
            (result.batch_id,),
        )
    ]
    for state, reason, kind in states:
        if state == "local_only":
            text += f"; kept in peerdesk only: {reason}"
        else:
            text += f"; {_platform_name(kind)} will be told"
    return text + " (u undoes it)"


def _platform_name(kind: str) -> str:
    return {
        "discourse": "Discourse",
        "stackexchange": "Stack Exchange",
        "demo": "the demo forum",
    }.get(kind, kind)


def strong_threads(cache: Cache, limit: int = 50) -> list[tuple[int, str, float, int]]:
    """Threads with a pending candidate of STRONG_SCORE or more, strongest first:
    (thread id, title, best score, number of pending candidates)."""
    rows = cache.query(
        "SELECT d.thread_id, n.title, max(d.score) AS best, count(*) AS pairs "
        "FROM duplicate_links d JOIN threads n ON n.id = d.thread_id "
        "JOIN threads t ON t.id = d.original_id "
        f"WHERE d.decision = 'pending' AND d.score >= ? AND {MAY_PROPOSE} "
        "GROUP BY d.thread_id, n.title ORDER BY best DESC, d.thread_id LIMIT ?",
        (STRONG_SCORE, limit),
    )
    return [(int(r[0]), str(r[1]), float(r[2]), int(r[3])) for r in rows]
