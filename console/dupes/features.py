"""What a recalled candidate is scored from, read in one row per thread (`dupe_features`).

A candidate search recalls ~36 possible originals; for each it needs the columns that decide
whether the thread can be an original (source, creation time, status, duplicate_of, the
accepted answer; the title and tags its explanation and score read), its vector and its stored
analysis. Kept in three tables, that was three b-tree descents per candidate: at a million
threads ~85 of a cold search's ~100 page reads (pool rows 26, vectors 33, analyses 26).
Migration 30 keeps all of it in one row per thread, keyed by the thread's id, so each
candidate is one descent (since migration 31 only for threads with a vector or an analysis:
a thread's row is made when the first of them is stored, so an import's new threads cost
nothing more to write; the few recalled threads without one are read from `threads`). The
cache's triggers write the row in the same transaction as whatever writes `threads`,
`thread_vectors` or `thread_analysis` (no writer has to know); on the team database
`dupe_features` is a view of the same join (its reads are those of the three tables, as
before).
"""

from __future__ import annotations

from collections.abc import Sequence

from console.db import Cache
from console.dupes import analysis, embed
from console.dupes.embed import Int8Matrix
from console.storage import Row

SELECT = (
    "SELECT thread_id AS id, source_id, title, status, created_at, tags, duplicate_of, "
    "accepted_post_id, lang, vec, analysis_version, analysis FROM dupe_features "
    "WHERE thread_id IN "
)
"""A pool row: the columns of `threads` a candidate is checked and scored with (named as
there), then its vector (`lang`, `vec`) and its analysis (`analysis_version`, `analysis`)."""


WITHOUT = (
    "SELECT id, source_id, title, status, created_at, tags, duplicate_of, accepted_post_id, "
    "NULL AS lang, NULL AS vec, NULL AS analysis_version, NULL AS analysis FROM threads "
    "WHERE id IN "
)
"""The same columns for threads with no `dupe_features` row (neither a vector nor an analysis
stored: a row is made when the first of them is, migration 31), read from `threads`."""


def rows(cache: Cache, thread_ids: Sequence[int]) -> list[Row]:
    """The pool rows of these threads (order not kept): one query, and a second one for those
    without a `dupe_features` row, if any."""
    if not thread_ids:
        return []
    found = cache.query(SELECT + f"({','.join('?' * len(thread_ids))})", list(thread_ids))
    if len(found) < len(set(thread_ids)):
        have = {int(r["id"]) for r in found}
        rest = [t for t in dict.fromkeys(thread_ids) if t not in have]
        found += cache.query(WITHOUT + f"({','.join('?' * len(rest))})", rest)
    return found


def vector(row: Row) -> tuple[Int8Matrix, str] | None:
    """The thread's (vector, language), as `vectors.vectors_of` gives it; None if it has none."""
    if row["vec"] is None:
        return None
    return embed.from_blob(row["vec"]), str(row["lang"])


def stored_analysis(row: Row) -> tuple[int, bytes] | None:
    """The thread's stored analysis as `analysis.load_any` gives it, (version, data); None if it
    has none of a version still read (this one or 1)."""
    version = row["analysis_version"]
    if version is None or int(version) not in (1, analysis.VERSION):
        return None
    return int(version), bytes(row["analysis"])
