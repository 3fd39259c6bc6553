"""A small community of threads with known duplicates, in a real cache file."""

from __future__ import annotations

import pytest

from console.db import Cache
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord

THREADS = {
    # remote id: (title, body, status, created_at)
    "o1": (
        "eSIM activation stuck on iPhone 15",
        "My eSIM activation is stuck at 'activating' on an iPhone 15 since yesterday. "
        "Tried restarting. Error code E-4012 shows in settings.",
        "solved",
        "2026-01-01T10:00:00Z",
    ),
    "o2": (
        "How do I get my PAC code to switch network",
        "I want to move my number to another network. Where do I get the PAC code?",
        "answered",
        "2026-01-02T10:00:00Z",
    ),
    "o3": (
        "Roaming charges in France too high",
        "I was charged for roaming data in France although my plan includes EU roaming.",
        "open",
        "2026-01-03T10:00:00Z",
    ),
    "o4": (
        "Voicemail not working after update",
        "Since the last software update voicemail does not pick up calls any more.",
        "open",
        "2026-01-04T10:00:00Z",
    ),
    "d1": (
        "iPhone 15 eSIM stuck activating",
        "eSIM on my new iPhone 15 has been stuck on activating for a day, error code E-4012. "
        "Restarting did not help.",
        "open",
        "2026-02-01T10:00:00Z",
    ),
    "d2": (
        "Need PAC code to move my number",
        "Switching network and need my PAC code to keep my number. How do I get it?",
        "open",
        "2026-02-02T10:00:00Z",
    ),
}


def seed(cache: Cache, kind: str = "discourse", name: str = "forum") -> dict[str, int]:
    source = ensure_source(cache, kind, name, "https://forum.example")
    threads, posts = [], []
    for remote, (title, body, status, created) in THREADS.items():
        threads.append(
            ThreadRecord(
                remote_id=remote,
                title=title,
                author_remote_id=None,
                status=status,
                created_at=created,
                last_activity_at=created,
                reply_count=2,
                remote_updated_at=created,
                accepted_post_remote_id=f"{remote}-a1" if status == "solved" else None,
            )
        )
        posts.append(PostRecord(f"{remote}-q", remote, None, 0, body, body, created))
        posts.append(PostRecord(f"{remote}-a1", remote, None, 1, "Try this.", "Try this.", created))
        posts.append(
            PostRecord(f"{remote}-a2", remote, None, 2, "Wrong!", "Wrong!", created, score=-3)
        )
    return upsert_threads(cache, source, threads, posts)


@pytest.fixture
def ids(cache: Cache) -> dict[str, int]:
    return seed(cache)
