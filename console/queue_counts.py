"""The Queue's three big counts, kept by the cache itself: every thread in the Queue, the flagged
ones and the unanswered ones.

Counting them walks every thread: `all` ~0.5 s, `flagged` ~3.1 s and `unanswered` ~2.7 s at a
million threads, redone on every start and every `f` (a core busy for seconds while the next
keys wait for it). Migration 32 keeps them in one row of `queue_counts`, counted once when the
migration runs and changed by triggers on `threads` whenever a thread enters or leaves the Queue
or its flags, reports or replies cross zero: reading one is a single-row lookup.

Kept on the SQLite cache only. The team database (PostgreSQL) has a view of the same name
that counts when read, and the Queue counts the threads there as before: its writers are several
processes at once, and one row every thread write updated would make each wait for the others'
commits.

Plain Python: nothing here imports Textual.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.store import QueueFilter

TABLE = "queue_counts"
KEPT = ("queued", "flagged", "unanswered")
"""The columns of `queue_counts`: the Queue under `all`, `flagged` and `unanswered`."""


def column_for(flt: QueueFilter) -> str | None:
    """The column that holds the count of `flt`, if it is one of the three kept; else None."""
    changed = {f.name for f in fields(flt) if getattr(flt, f.name) != f.default}
    if not changed:
        return "queued"
    if changed == {"flagged_only"} and flt.flagged_only:
        return "flagged"
    if changed == {"unanswered_only"} and flt.unanswered_only:
        return "unanswered"
    return None


def count_sql(flt: QueueFilter) -> str | None:
    """A statement that reads the kept count of `flt` (SQLite cache), or None if not kept."""
    column = column_for(flt)
    return None if column is None else f"SELECT {column} FROM {TABLE} WHERE id = 1"
