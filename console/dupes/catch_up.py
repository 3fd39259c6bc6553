"""Embeddings after the fact: vectors for threads that have none, then better candidates.

The first `make demo` opens the console as soon as the threads and their word-based (lexical)
candidates are in the cache; the embeddings, which cost ~10 ms a thread on one core (and many
times that on a busy machine), are computed afterwards by `peerdesk dupes --catch-up`, which
the Makefile starts in the background. Until it is done, candidates come from the lexical path
(method `fts5+rerank`); then every thread whose candidates were computed without embeddings
(the demo's flag `dupes_semantic_pending`, or a pending pair of the lexical method) is
recomputed with them, and the Queue's next reload shows the result.

One catch-up at a time per cache (an advisory file lock beside it); a second one returns at
once. Nothing happens without the model (`embed.load_encoder()` is None): the lexical
candidates stay, and the reason is reported.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from console.db import Cache
from console.dupes import vector_names
from console.dupes.stored import LEXICAL_METHOD, MINILM_METHOD

PENDING = "dupes_semantic_pending"  # meta: candidates were computed without embeddings
SLICE = 200


@dataclass(frozen=True)
class CaughtUp:
    embedded: int
    refreshed: int
    pairs: int
    skipped: str | None  # why nothing was done (model unavailable, another catch-up running)


def lock_path(cache: Cache) -> Path:
    return cache.path.with_name(cache.path.name + ".catch-up.lock")


@contextlib.contextmanager
def only_one(cache: Cache) -> Iterator[bool]:
    """True if this process holds the cache's catch-up lock (held until the block ends; a team
    database has no file: there every step is safe to run twice)."""
    if not cache.dialect.is_sqlite:
        yield True
        return
    fd = os.open(lock_path(cache), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def mark_pending(cache: Cache, first: int, last: int) -> None:
    """Say that the candidates of threads `first`..`last` were computed without embeddings."""
    with cache.transaction():
        cache.set_meta(PENDING, f"{first}-{last}")


def _pending_range(cache: Cache) -> tuple[int, int] | None:
    raw = cache.meta(PENDING) or ""
    first, _, last = raw.partition("-")
    if not (first.isdigit() and last.isdigit()):
        return None
    return int(first), int(last)


def pending(cache: Cache) -> bool:
    """Is there anything to catch up on (a thread without a vector, or lexical candidates)?
    Read with SQL alone, as `anything_to_do`: numpy and the model load only for the work."""
    return (
        _pending_range(cache) is not None
        or vector_names.missing_any(cache)
        or (vector_names.e5_may_load() and vector_names.e5_missing_any(cache))
    )


def anything_to_do(cache: Cache) -> bool:
    """Would `catch_up` change anything: `pending`, or candidates of the lexical method?"""
    return pending(cache) or bool(_lexical_threads(cache, limit=1))


def _lexical_threads(cache: Cache, limit: int | None = None) -> list[int]:
    """Threads with pending candidates ranked without a model this process may have: words
    only, or (when e5 may load) without e5's vectors."""
    older = [LEXICAL_METHOD]
    if vector_names.e5_may_load():
        older.append(MINILM_METHOD)
    return [
        r[0]
        for r in cache.query(
            "SELECT DISTINCT thread_id FROM duplicate_links WHERE decision = 'pending' "
            f"AND method IN ({','.join('?' * len(older))})"
            + ("" if limit is None else f" LIMIT {int(limit)}"),
            older,
        )
    ]


def catch_up(
    cache: Cache,
    *,
    embed_progress: Callable[[int, int], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CaughtUp:
    """Embed every thread without a vector (newest first), then recompute the candidates that
    were computed without embeddings."""
    from console.dupes import candidates as cands
    from console.dupes import embed, vectors

    if embed.load_encoder() is None:
        return CaughtUp(0, 0, 0, embed.unavailable_reason())
    with only_one(cache) as mine:
        if not mine:
            return CaughtUp(0, 0, 0, "another catch-up is running on this cache")
        embedded, _ = vectors.embed_missing(cache, progress=embed_progress)
        chosen = set(_lexical_threads(cache))
        marked = _pending_range(cache)
        if marked is not None:
            chosen.update(
                r[0] for r in cache.query("SELECT id FROM threads WHERE id BETWEEN ? AND ?", marked)
            )
        ids = sorted(chosen)
        pairs = 0
        for start in range(0, len(ids), SLICE):
            pairs += cands.update_candidates(cache, ids[start : start + SLICE])
            if progress is not None:
                progress(min(start + SLICE, len(ids)), len(ids))
        with cache.transaction() as conn:
            conn.execute("DELETE FROM meta WHERE key = ?", (PENDING,))
        return CaughtUp(embedded, len(ids), pairs, None)
