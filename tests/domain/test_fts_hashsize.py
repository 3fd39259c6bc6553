"""The migration that lets the full-text tables gather 16 MB of new entries before writing a
segment (FTS5's `hashsize`) sets it on both tables, for a new cache and for one migrated from
before it, and searches find the same rows written before and after it
(console.migrations; the catch-up's cost is measured in bench/HISTORY.md)."""

from __future__ import annotations

# SQLite only: FTS5's hashsize and the migration that sets it (the team database has no FTS5
# tables: the migration renders as nothing there)
import sqlite3
from pathlib import Path

from console.db import migrate, open_cache
from console.migrations import MIGRATIONS

NUMBER = next(
    index + 1
    for index, statements in enumerate(MIGRATIONS)
    if any("'hashsize'" in statement for statement in statements)
)
HASHSIZE = 16 * 1024 * 1024


def _settings(conn: sqlite3.Connection, table: str) -> dict[str, int]:
    return {str(r[0]): int(r[1]) for r in conn.execute(f"SELECT k, v FROM {table}_config")}


def test_a_new_cache_has_it(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "new.sqlite3", create=True)
    try:
        for table in ("post_fts", "thread_fts"):
            assert _settings(cache.sqlite, table)["hashsize"] == HASHSIZE
    finally:
        cache.close()


def test_an_older_cache_gets_it_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, 0, NUMBER - 1)
    assert "hashsize" not in _settings(conn, "post_fts")
    conn.execute("INSERT INTO post_fts (rowid, body) VALUES (1, 'roaming in Spain')")
    conn.execute("INSERT INTO thread_fts (rowid, title, body) VALUES (7, 'Roaming', 'abroad')")
    conn.close()
    cache = open_cache(path)
    try:
        for table in ("post_fts", "thread_fts"):
            assert _settings(cache.sqlite, table)["hashsize"] == HASHSIZE
        cache.sqlite.execute("INSERT INTO post_fts (rowid, body) VALUES (2, 'roamed far')")
        found = cache.query(
            "SELECT rowid FROM post_fts WHERE post_fts MATCH 'roam*' ORDER BY rowid"
        )
        assert [r[0] for r in found] == [1, 2]
        titles = cache.query("SELECT rowid FROM thread_fts WHERE thread_fts MATCH 'abroad'")
        assert [r[0] for r in titles] == [7]
    finally:
        cache.close()
