"""A small community of threads with known duplicates, in a real cache file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console.db import Cache
from console.dupes import vectors
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord
from tests.backends import backend, empty_store, team_server

__all__ = ["backend", "team_server"]  # fixtures: a `backends` test's cache is either engine

# Filler threads on other subjects, so pools and z-scores look like a forum's.
FILLER = [
    ("Contract ends next month, best deal?", "What SIM only deal can I get when it ends?"),
    ("Bill higher than expected this month", "My bill is 20 pounds more than my plan price."),
    ("Hotspot tethering blocked", "Tethering says my plan does not allow a personal hotspot."),
    ("Phone stuck on emergency calls only", "No service, only emergency calls, since Monday."),
    ("Cancel my contract early", "What does it cost to leave my contract before it ends?"),
    ("Wi-Fi calling not available on Pixel", "The Wi-Fi calling toggle is missing on my Pixel."),
    ("Unlock code for old handset", "I need an unlock code for my old phone to use another SIM."),
    ("Data bundle renewed early", "My data bundle renewed two days before the date."),
    ("Spam texts from unknown number", "I keep getting scam texts about a parcel delivery."),
    ("Upgrade eligibility question", "When can I upgrade my phone on a 24 month plan?"),
    ("Payment declined for top up", "My card is declined when I try to top up online."),
    ("Lost phone, block SIM", "My phone was stolen yesterday, how do I block the SIM?"),
]


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


def asked(
    remote: str,
    title: str,
    body: str,
    created: str,
    *,
    status: str = "open",
    raw: str | None = None,
) -> tuple[ThreadRecord, PostRecord]:
    """A thread and its question (`remote`, `remote-q`), both created at `created`; the
    question's raw form is `raw` if given, else its text."""
    thread = ThreadRecord(remote, title, None, status, created, created)
    question = PostRecord(
        f"{remote}-q", remote, None, 0, body, body if raw is None else raw, created
    )
    return thread, question


def store_asked(
    cache: Cache, source: int, rows: list[tuple[ThreadRecord, PostRecord]]
) -> dict[str, int]:
    """`asked` rows through the real ingest path; {remote id: local id}."""
    return upsert_threads(cache, source, [t for t, _ in rows], [q for _, q in rows])


def seed(cache: Cache, kind: str = "discourse", name: str = "forum") -> dict[str, int]:
    """THREADS, after a dozen older threads on other subjects (FILLER: remote ids f0..f11),
    so that a thread's pool of possible originals looks like a forum's."""
    source = ensure_source(cache, kind, name, "https://forum.example")
    threads, posts = [], []
    everything = {
        f"f{i}": (title, body, "open", f"2025-06-{1 + i:02d}T10:00:00Z")
        for i, (title, body) in enumerate(FILLER)
    }
    everything.update(THREADS)
    for remote, (title, body, status, created) in everything.items():
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
    ids = upsert_threads(cache, source, threads, posts)
    vectors.embed_threads(cache, ids.values())  # as a sync page does (update_candidates)
    return ids


@pytest.fixture
def ids(cache: Cache) -> dict[str, int]:
    return seed(cache)


@pytest.fixture
def cache(backend: str, cache_path: Path, request: pytest.FixtureRequest) -> Iterator[Cache]:
    """An empty cache file, or (the PostgreSQL run of a `backends` test) an empty team database
    of the test's own (schema and grants from team-install) connected as the moderator alice."""
    with empty_store(backend, cache_path, request) as store:
        yield store
