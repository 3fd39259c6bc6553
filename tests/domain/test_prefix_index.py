"""The migration that gives the full-text tables their prefix indexes keeps every row and every
search result, and leaves the tables with the indexes (console.migrations: `prefix = '3 4'`)."""

from __future__ import annotations

# SQLite only: FTS5's prefix indexes and the migration that adds them; on the team database the
# migration renders as nothing (tsvector + GIN answer prefixes, e.g. `rom*` in
# tests/sync/test_import_search_unchanged.py, on both backends)
import sqlite3
from pathlib import Path

from console.db import migrate, open_cache
from console.migrations import LATEST_VERSION, MIGRATIONS

NUMBER = next(
    index + 1
    for index, statements in enumerate(MIGRATIONS)
    if any("thread_fts_prefixed" in statement for statement in statements)
)

TITLES = {
    11: ("Roaming in Spain not working", "Data roaming is on, still nothing"),
    12: ("Road trip, no signal", "On the road to Leeds my phone lost signal"),
    40: ("PAC code never arrived", "Asked for my PAC twice"),
    41: ("Charges after roaming", "Charged £12 for roaming in France"),
}
POSTS = {
    101: "Turn roaming on in settings",
    102: "The roadside mast is down",
    250: "Check the charges page",
    251: "roam roams roamed roaming",
}
QUERIES = ["roa*", "roam*", "roami*", "cha*", "char*", "ro", "road", "pac", "th*", "roaming"]


def searched(conn: sqlite3.Connection) -> dict[str, tuple[list[int], list[int]]]:
    found = {}
    for query in QUERIES:
        titles = conn.execute(
            "SELECT rowid FROM thread_fts WHERE thread_fts MATCH ? ORDER BY rowid DESC", (query,)
        ).fetchall()
        posts = conn.execute(
            "SELECT rowid FROM post_fts WHERE post_fts MATCH ? ORDER BY rowid DESC", (query,)
        ).fetchall()
        found[query] = ([r[0] for r in titles], [r[0] for r in posts])
    return found


def test_the_prefix_index_migration_keeps_rows_and_results(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, 0, NUMBER - 1)
    for rowid, (title, body) in TITLES.items():
        conn.execute(
            "INSERT INTO thread_fts (rowid, title, body) VALUES (?, ?, ?)", (rowid, title, body)
        )
    for rowid, body in POSTS.items():
        conn.execute("INSERT INTO post_fts (rowid, body) VALUES (?, ?)", (rowid, body))
    before = searched(conn)
    assert before["roa*"] == ([41, 12, 11], [251, 102, 101])  # the test's own data is searchable
    conn.close()

    cache = open_cache(path)  # migrates to the latest version
    try:
        assert cache.one("PRAGMA user_version")[0] == LATEST_VERSION
        assert searched(cache.conn) == before
        stored = dict(cache.query("SELECT rowid, title FROM thread_fts"))
        assert stored == {rowid: title for rowid, (title, _) in TITLES.items()}
        made = {
            r[0]: r[1]
            for r in cache.query(
                "SELECT name, sql FROM sqlite_master WHERE name IN ('thread_fts', 'post_fts')"
            )
        }
        assert all("prefix = '3 4'" in sql for sql in made.values()), made
        left = cache.query("SELECT name FROM sqlite_master WHERE name LIKE '%prefixed%'")
        assert left == []
        # new rows are indexed as before (the search index's catch-up writes them so)
        cache.conn.execute("INSERT INTO post_fts (rowid, body) VALUES (300, 'roadworks')")
        assert [
            r[0] for r in cache.query("SELECT rowid FROM post_fts WHERE post_fts MATCH 'roa*'")
        ] == [
            101,
            102,
            251,
            300,
        ]
    finally:
        cache.close()
