"""What a recalled candidate is scored from, read in one row per thread (`dupe_features`).

A candidate search recalls ~36 possible originals; for each it needs the columns that decide
whether the thread can be an original (source, creation time, status, duplicate_of, the
accepted answer; the title and tags its explanation and score read), its vector and its stored
analysis. Kept in three tables, that was three b-tree descents per candidate: at a million
threads ~85 of a cold search's ~100 page reads (pool rows 26, vectors 33, analyses 26).
Migration 30 keeps all of it in one row per thread, keyed by the thread's id, so each
candidate is one descent. The cache's triggers write the row in the same transaction as
whatever writes `threads`, `thread_vectors` or `thread_analysis` (no writer has to know); on the
team database `dupe_features` is a view of the same join (its reads are those of the three
tables, as before).
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


def rows(cache: Cache, thread_ids: Sequence[int]) -> list[Row]:
    """The `dupe_features` rows of these threads (one query; order not kept)."""
    if not thread_ids:
        return []
    return cache.query(SELECT + f"({','.join('?' * len(thread_ids))})", list(thread_ids))


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
