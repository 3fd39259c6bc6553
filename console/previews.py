"""What the Queue's preview pane shows for the thread under the cursor: the question, the latest
reply, its flags and its claim. Two small reads (the question and the newest post, each cut to
EXCERPT characters inside SQLite), so a thread with thousands of replies or a 50 MB post costs
what a short one does. Plain Python (no Textual).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from console.db import Cache
from console.errors import NotFound
from console.storage import Dialect, Row

EXCERPT = 1_500  # characters of the question and of the latest reply


@dataclass(frozen=True)
class PostExcerpt:
    author: str
    created_at: str
    text: str  # at most EXCERPT characters
    length: int  # of the whole post
    score: int
    flag_count: int
    hidden: bool
    accepted: bool


@dataclass(frozen=True)
class ThreadPreview:
    thread_id: int
    title: str
    source: str
    status: str
    author: str
    created_at: str
    tags: tuple[str, ...]
    reply_count: int
    flag_count: int
    report_count: int
    claimed_by: str | None
    claim_expires_at: str | None
    question: PostExcerpt | None
    latest: PostExcerpt | None  # the newest reply (None: no reply yet)
    escalations: int  # open ones
    accepted: PostExcerpt | None = None  # the accepted answer, when it is not the latest reply


def _post(dialect: Dialect, excerpt: int) -> str:
    """A post's excerpt row (its text and length also past a NUL, where SQLite's stop)."""
    return (
        "SELECT coalesce(m.username, '(unknown)'), p.created_at, "
        f"{dialect.prefix('p.body_text', int(excerpt))}, {dialect.text_length('p.body_text')}, "
        "p.score, p.flag_count, p.hidden, p.id = ? "
        "FROM posts p LEFT JOIN members m ON m.id = p.author_id "
    )


def preview(cache: Cache, thread_id: int, excerpt: int = EXCERPT) -> ThreadPreview:
    head = cache.one(
        "SELECT t.title, s.name, t.status, coalesce(m.username, '(unknown)'), t.created_at, "
        "t.tags, t.reply_count, t.flag_count, t.report_count, c.holder, c.expires_at, "
        "t.accepted_post_id, (SELECT count(*) FROM escalations e WHERE e.thread_id = t.id AND "
        "e.state IN ('new', 'acknowledged', 'sent_to_support', 'waiting_on_customer')) "
        "FROM threads t JOIN sources s ON s.id = t.source_id "
        "LEFT JOIN members m ON m.id = t.author_id "
        f"LEFT JOIN claims c ON c.thread_id = t.id AND c.expires_at > {cache.dialect.clock} "
        "WHERE t.id = :id",
        {"id": thread_id, **cache.dialect.clock_parameters()},
    )
    if head is None:
        raise NotFound(f"There is no thread {thread_id} {cache.dialect.where}")
    accepted = head[11] or 0
    post = _post(cache.dialect, excerpt)
    question = cache.one(
        post + "WHERE p.thread_id = ? AND p.position = 0 ORDER BY p.id LIMIT 1",
        (accepted, thread_id),
    )
    latest = cache.one(
        post + "WHERE p.thread_id = ? AND p.position > 0 ORDER BY p.position DESC, p.id DESC "
        "LIMIT 1",
        (accepted, thread_id),
    )
    answer = None
    if accepted and (latest is None or not latest[7]):
        answer = cache.one(post + "WHERE p.id = ?", (accepted, accepted))
    try:
        tags = tuple(str(t) for t in json.loads(head[5]))
    except ValueError:
        tags = ()
    return ThreadPreview(
        thread_id=thread_id,
        title=head[0],
        source=head[1],
        status=head[2],
        author=head[3],
        created_at=head[4],
        tags=tags,
        reply_count=head[6],
        flag_count=head[7],
        report_count=head[8],
        claimed_by=head[9],
        claim_expires_at=head[10],
        question=_excerpt(question),
        latest=_excerpt(latest),
        escalations=int(head[12]),
        accepted=_excerpt(answer),
    )


def previews(
    cache: Cache, thread_ids: Iterable[int], excerpt: int = EXCERPT
) -> dict[int, ThreadPreview]:
    """The previews of several threads (read ahead of the cursor); threads gone are left out."""
    found: dict[int, ThreadPreview] = {}
    for thread_id in thread_ids:
        try:
            found[thread_id] = preview(cache, thread_id, excerpt)
        except NotFound:
            continue
    return found


def _excerpt(r: Row | None) -> PostExcerpt | None:
    if r is None:
        return None
    return PostExcerpt(
        author=str(r[0]),
        created_at=str(r[1]),
        text=str(r[2]),
        length=int(r[3]),
        score=int(r[4]),
        flag_count=int(r[5]),
        hidden=bool(r[6]),
        accepted=bool(r[7]),
    )
