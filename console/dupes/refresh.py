"""Candidates after a bulk arrival (JSONL import): the newest Queue threads first, bounded.

Sync pages refresh their own threads as they arrive; an import of a whole community would take
minutes at ~20 ms a thread, so it refreshes the newest `limit` open threads and says how many
are left for `peerdesk dupes --rebuild`. Before that, the source's newest EMBED_FACTOR x `limit`
threads are embedded (semantic recall needs the older threads' vectors too); the rest are
embedded by `peerdesk dupes --rebuild`.
"""

from __future__ import annotations

from collections.abc import Callable

from console.db import Cache
from console.dupes.candidates import update_candidates
from console.dupes.vectors import embed_missing

SLICE = 200
EMBED_FACTOR = 5


def refresh_newest(
    cache: Cache,
    source_id: int,
    limit: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int, int]:
    """Candidates for the newest `limit` open threads of a source.

    Returns (pairs stored, threads refreshed, open threads left without a refresh).
    """
    rows = cache.query(
        "SELECT id FROM threads WHERE source_id = ? AND in_queue = 1 AND status <> 'duplicate' "
        "ORDER BY created_at DESC, id DESC",
        (source_id,),
    )
    chosen = sorted(r[0] for r in rows[: max(0, limit)])
    if chosen:
        embed_missing(cache, source_id=source_id, limit=EMBED_FACTOR * len(chosen))
    pairs = 0
    for start in range(0, len(chosen), SLICE):
        pairs += update_candidates(cache, chosen[start : start + SLICE])
        if progress:
            progress(min(start + SLICE, len(chosen)), len(chosen))
    return pairs, len(chosen), len(rows) - len(chosen)
