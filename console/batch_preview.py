"""What a decision on several items will touch, before it is made: each item (thread or post),
its source and platform, and whether the decision will be sent there or stays in peerdesk.

The console's batch confirmation lists these; nothing here writes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from console.db import Cache
from console.decisions import kind_for
from console.errors import InvalidDecision
from console.platforms import push_state

PLATFORM_NAMES = {
    "discourse": "Discourse",
    "stackexchange": "Stack Exchange",
    "zendesk": "Zendesk",
    "jsonl": "an imported file",
    "demo": "the demo platform",
}


@dataclass(frozen=True)
class BatchItem:
    target_id: int
    thread_id: int
    title: str  # the thread's title (for a post: its thread's)
    status: str  # the thread's status now
    source: str  # the source's name
    platform: str  # the source's kind ("discourse", ...)
    sent: bool  # whether the decision goes to the platform (else it stays in peerdesk)
    post_author: str | None = None  # for a post: who wrote it
    post_start: str | None = None  # for a post: how it begins


@dataclass(frozen=True)
class BatchPreview:
    action: str
    items: tuple[BatchItem, ...]

    def destinations(self) -> list[str]:
        """Where the decision goes, one line per source: "3 sent to forum (Discourse)",
        "1 kept in peerdesk only (site, Stack Exchange: no write access)"."""
        sent: Counter[tuple[str, str]] = Counter()
        kept: Counter[tuple[str, str]] = Counter()
        for item in self.items:
            (sent if item.sent else kept)[(item.source, item.platform)] += 1
        lines = [
            f"{count} sent to {source} ({PLATFORM_NAMES.get(platform, platform)})"
            for (source, platform), count in sorted(sent.items())
        ]
        for (source, platform), count in sorted(kept.items()):
            _state, reason = push_state(platform, self.action)
            why = f": {reason}" if reason else ""
            lines.append(f"{count} kept in peerdesk only ({source}{why})")
        return lines


def preview(cache: Cache, action: str, target_ids: list[int]) -> BatchPreview:
    """Every item `action` would touch, in the order given (duplicates dropped)."""
    kind = kind_for(action)
    if kind is None:
        raise InvalidDecision(f"Unknown decision {action!r}")
    items = []
    conn = cache.conn
    for target in dict.fromkeys(target_ids):
        thread_id = kind.thread_of(conn, target)
        row = cache.one(
            "SELECT t.title, t.status, s.name, s.kind FROM threads t "
            "JOIN sources s ON s.id = t.source_id WHERE t.id = ?",
            (thread_id,),
        )
        assert row is not None  # thread_of found it
        state, _reason = push_state(str(row[3]), action)
        post_author = post_start = None
        if target != thread_id or action == "hide_post":
            post = cache.one(
                "SELECT coalesce(m.username, '(unknown)'), "
                f"{cache.dialect.prefix('p.body_text', 80)} "
                "FROM posts p LEFT JOIN members m ON m.id = p.author_id WHERE p.id = ?",
                (target,),
            )
            if post is not None:
                post_author, post_start = str(post[0]), str(post[1])
        items.append(
            BatchItem(
                target_id=target,
                thread_id=thread_id,
                title=str(row[0]),
                status=str(row[1]),
                source=str(row[2]),
                platform=str(row[3]),
                sent=state == "pending",
                post_author=post_author,
                post_start=post_start,
            )
        )
    return BatchPreview(action, tuple(items))
