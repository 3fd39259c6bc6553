"""Candidates after a bulk arrival (JSONL import): queued by the import, computed by a catch-up.

Sync pages refresh their own threads as they arrive. An import of a whole community would take
minutes (~9 ms to embed a thread, ~20 ms for its candidates), so the import only *queues* the
work in `dupes_backlog` (migration 22), in one transaction after its own: the source's newest
`limit` open threads get their candidates (`candidates` = 1), and before that the source's
newest EMBED_FACTOR x `limit` threads without a vector are embedded (semantic recall needs the
older threads' vectors too). The rest are embedded by `peerdesk dupes --rebuild`.

`catch_up` works the backlog off after the import has returned (a background process started
by `peerdesk import`, `peerdesk dupes --pending`, a sync, or the console's start in a worker):

1. the search index's own catch-up (embeddings and candidates read `thread_fts`);
2. every queued thread without a vector is embedded, newest first, EMBED_SLICE at a time; the
   rows of threads that only needed a vector go in the transaction after each slice;
3. then the queued threads' candidates, SLICE at a time in id order, each slice's rows removed
   once its candidates are stored.

Killed anywhere, the next catch-up starts where the rows say: embedded vectors are skipped
(their text CRC matches), a slice whose rows are still there is computed again, and every
candidate is computed only once every queued vector exists, so the result is the same as an
uninterrupted run's (tests/dupes/test_refresh_backlog.py). One catch-up at a time per cache
file (the same lock as `console.dupes.catch_up`); a second one returns at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console import search_index
from console.db import Cache
from console.dupes import vector_names  # SQL only: the import queues its work without numpy
from console.words import counted

SLICE = 200  # threads whose candidates are computed (and their rows removed) at a time
EMBED_SLICE = 1024  # threads embedded before their rows are removed
EMBED_FACTOR = 5


@dataclass(frozen=True)
class Queued:
    """What an import left for the catch-up."""

    candidates: int  # the newest open threads whose candidates wait
    embed: int  # threads queued for a vector (the candidates' threads among them)
    left: int  # older open threads of the source left without a refresh (`dupes --rebuild`)


@dataclass(frozen=True)
class Backlog:
    """What waits in `dupes_backlog`."""

    candidates: int = 0
    embed_only: int = 0

    @property
    def empty(self) -> bool:
        return not (self.candidates or self.embed_only)

    def describe(self) -> str:
        """What a user reads while candidates are not up to date (empty when they are)."""
        if self.empty:
            return ""
        waiting = self.candidates or self.embed_only
        return f"duplicate candidates catching up: {counted(waiting, 'thread')}"


@dataclass
class CaughtUp:
    embedded: int = 0
    refreshed: int = 0
    pairs: int = 0
    stopped: bool = False  # by `should_stop` (the rest waits for the next catch-up)
    skipped: str | None = None  # why nothing was done (another catch-up holds the lock)


def queue_newest(cache: Cache, source_id: int, limit: int) -> Queued:
    """Queue the refresh of a source's newest `limit` open threads (one transaction)."""
    rows = cache.query(
        "SELECT id FROM threads WHERE source_id = ? AND in_queue = 1 AND status <> 'duplicate' "
        "ORDER BY created_at DESC, id DESC",
        (source_id,),
    )
    chosen = [int(r[0]) for r in rows[: max(0, limit)]]
    embed = vector_names.missing(cache, source_id)[: EMBED_FACTOR * len(chosen)] if chosen else []
    with cache.transaction() as conn:
        conn.executemany(
            "INSERT INTO dupes_backlog (thread_id, candidates) VALUES (?, 0) "
            "ON CONFLICT (thread_id) DO NOTHING",
            [(t,) for t in embed],
        )
        conn.executemany(
            "INSERT INTO dupes_backlog (thread_id, candidates) VALUES (?, 1) "
            "ON CONFLICT (thread_id) DO UPDATE SET candidates = 1",
            [(t,) for t in chosen],
        )
    return Queued(len(chosen), len(set(embed) | set(chosen)), len(rows) - len(chosen))


def backlog(cache: Cache) -> Backlog:
    row = cache.one(
        "SELECT coalesce(sum(candidates), 0), count(*) - coalesce(sum(candidates), 0) "
        "FROM dupes_backlog"
    )
    return Backlog(int(row[0]), int(row[1])) if row is not None else Backlog()


def _to_embed(cache: Cache) -> list[int]:
    return [
        int(r[0])
        for r in cache.query(
            "SELECT b.thread_id FROM dupes_backlog b JOIN threads t ON t.id = b.thread_id "
            "WHERE NOT EXISTS (SELECT 1 FROM thread_vectors v WHERE v.thread_id = b.thread_id) "
            "ORDER BY t.created_at DESC, t.id DESC"
        )
    ]


def catch_up(
    cache: Cache,
    *,
    embed_progress: Callable[[int, int], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CaughtUp:
    """Work the backlog off (see the module's text); safe to kill at any point."""
    done = CaughtUp()

    def stop() -> bool:
        done.stopped = should_stop is not None and should_stop()
        return done.stopped

    if backlog(cache).empty:
        return done
    from console.dupes import vectors
    from console.dupes.candidates import update_candidates
    from console.dupes.catch_up import only_one

    with only_one(cache) as mine:
        if not mine:
            done.skipped = "another catch-up is running on this cache"
            return done
        search_index.catch_up(cache, should_stop=should_stop)
        if stop():
            return done
        todo = _to_embed(cache)
        for start in range(0, len(todo), EMBED_SLICE):
            if stop():
                return done
            chunk = todo[start : start + EMBED_SLICE]
            done.embedded += vectors.embed_threads(cache, chunk)
            if embed_progress is not None:
                embed_progress(min(start + EMBED_SLICE, len(todo)), len(todo))
        with cache.transaction() as conn:  # (also when the model is unavailable: words only)
            conn.execute("DELETE FROM dupes_backlog WHERE candidates = 0")
        ids = [
            int(r[0])
            for r in cache.query(
                "SELECT thread_id FROM dupes_backlog WHERE candidates = 1 ORDER BY thread_id"
            )
        ]
        for start in range(0, len(ids), SLICE):
            if stop():
                return done
            chunk = ids[start : start + SLICE]
            done.pairs += update_candidates(cache, chunk)
            with cache.transaction() as conn:
                conn.executemany(
                    "DELETE FROM dupes_backlog WHERE thread_id = ?", [(t,) for t in chunk]
                )
            done.refreshed += len(chunk)
            if progress is not None:
                progress(min(start + SLICE, len(ids)), len(ids))
    return done


def done_by_rebuild(cache: Cache) -> None:
    """`peerdesk dupes --rebuild` embedded every thread and computed every open thread's
    candidates: what it did waits no longer (a queued thread that is solved or closed but still
    in the Queue, e.g. flagged, keeps its row)."""
    with cache.transaction() as conn:
        conn.execute(
            "DELETE FROM dupes_backlog WHERE candidates = 0 OR thread_id IN (SELECT id FROM "
            "threads WHERE status IN ('open', 'answered') AND duplicate_of IS NULL)"
        )


def refresh_newest(
    cache: Cache,
    source_id: int,
    limit: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int, int]:
    """Queue the newest `limit` open threads of a source and catch up at once (the team demo).

    Returns (pairs stored, threads refreshed, open threads left without a refresh).
    """
    queued = queue_newest(cache, source_id, limit)
    done = catch_up(cache, progress=progress)
    return done.pairs, done.refreshed, queued.left
