"""SQLite-only settings for a bulk load (a JSONL import; its page cache also for the first
accrual run of a big community): the one place they are set.

Nothing here trades safety for speed: journal mode, synchronous and the transaction per chunk
stay as the cache opened them (WAL, NORMAL), so a killed import loses nothing it committed and
resumes. What changes for the length of the load, and is put back after:

- `cache_size`: SQLite's page cache, 2 MB by default, holds too few pages of the posts' and
  threads' indexes for an upsert (it looks up the unique key before it writes the row); with
  64 MB the posts' insert took half the time (bench/bench_import_floor.py measures it).
- `foreign_keys`: checking them costs half the insert time of a bulk import; every id an import
  writes is resolved from the cache itself (threads, members, the source), so they hold by
  construction. The pragma changes only outside a transaction.
- `temp_store`: MEMORY, so statement journals and temporary b-trees stay in memory instead of
  temp files. A thread's upsert fires the Queue counts' triggers (migration 32,
  console/queue_counts.py), and a statement that writes a second table keeps a statement journal:
  in a temp file that cost the import's writer 24% more CPU (100,000 posts, 10,000 threads:
  1.82 -> 2.25 s); in memory ~2% (1.69 without the triggers, 1.67 with: noise), and the import
  as a whole is faster too. Changed, like foreign keys, only outside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from console.db import Cache
from console.storage import Connection, dialect_of

BULK_CACHE_KIB = 65_536  # page cache during a bulk load (KiB); the default is 2,000
TEMP_IN_MEMORY = 2  # PRAGMA temp_store: 0 the build's default (files), 1 files, 2 memory


@contextmanager
def sqlite_bulk_load(cache: Cache) -> Iterator[None]:
    """Run a bulk load with the settings above; the connection's own come back afterwards.
    A team database (PostgreSQL) has none of them: its server sizes its own memory, and its
    foreign keys stay checked."""
    if not cache.dialect.is_sqlite:
        yield
        return
    conn = cache.conn
    fk_row = conn.execute("PRAGMA foreign_keys").fetchone()
    temp_row = conn.execute("PRAGMA temp_store").fetchone()
    fk_was_on = bool(fk_row and fk_row[0])
    temp_was = int(temp_row[0]) if temp_row else 0
    outside = not conn.in_transaction
    if fk_was_on and outside:
        conn.execute("PRAGMA foreign_keys = OFF")
    if outside and temp_was != TEMP_IN_MEMORY:
        conn.execute(f"PRAGMA temp_store = {TEMP_IN_MEMORY}")
    try:
        with bulk_page_cache(conn):
            yield
    finally:
        if outside and not conn.in_transaction:
            if fk_was_on:
                conn.execute("PRAGMA foreign_keys = ON")
            if temp_was != TEMP_IN_MEMORY:
                conn.execute(f"PRAGMA temp_store = {temp_was}")


@contextmanager
def bulk_page_cache(conn: Connection) -> Iterator[None]:
    """The larger page cache alone, for a bulk write inside a transaction (the first accrual run
    of a big community writes millions of ledger rows into five indexes); a PostgreSQL
    connection is left as it is."""
    if not dialect_of(conn).is_sqlite:
        yield
        return
    size_row = conn.execute("PRAGMA cache_size").fetchone()
    size_was = int(size_row[0]) if size_row else -2000
    conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {size_was}")
