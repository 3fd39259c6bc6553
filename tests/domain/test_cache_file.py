"""Opening the cache: every bad file gives a clear message naming it, and is left unchanged."""

from __future__ import annotations

# SQLite only: the cache FILE itself (WAL, corruption, a foreign or read-only file, locks).
import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from console.db import APPLICATION_ID, open_cache
from console.errors import CacheError
from console.migrations import LATEST_VERSION, MIGRATIONS


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_cache_has_wal_foreign_keys_and_latest_schema(cache_path: Path) -> None:
    cache = open_cache(cache_path, create=True)
    assert cache.one("PRAGMA journal_mode")[0] == "wal"
    assert cache.one("PRAGMA foreign_keys")[0] == 1
    assert cache.one("PRAGMA busy_timeout")[0] >= 1000
    assert cache.one("PRAGMA user_version")[0] == LATEST_VERSION
    tables = {r[0] for r in cache.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "sources",
        "threads",
        "posts",
        "members",
        "claims",
        "audit",
        "outbox",
        "thread_fts",
        "post_fts",
        "duplicate_links",
    } <= tables


def test_missing_file_is_not_created_without_asking(cache_path: Path) -> None:
    with pytest.raises(CacheError, match="no cache at .*peerdesk demo"):
        open_cache(cache_path)
    assert not cache_path.exists()


def test_corrupt_file_is_named_and_untouched(cache_path: Path) -> None:
    cache_path.write_bytes(b"this is not sqlite at all" * 100)
    before = digest(cache_path)
    with pytest.raises(CacheError) as caught:
        open_cache(cache_path)
    assert str(cache_path) in str(caught.value)
    assert "damaged" in str(caught.value)
    assert digest(cache_path) == before


def test_damaged_pages_are_reported_not_raised_raw(cache_path: Path) -> None:
    cache = open_cache(cache_path, create=True)
    cache.close()
    data = bytearray(cache_path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the schema page, keep the header
    cache_path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match="damaged|not a database"):
        open_cache(cache_path)


def test_newer_schema_is_refused_and_untouched(cache_path: Path) -> None:
    cache = open_cache(cache_path, create=True)
    cache.conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    cache.close()
    before = digest(cache_path)
    with pytest.raises(CacheError, match="newer peerdesk"):
        open_cache(cache_path)
    assert digest(cache_path) == before


def test_foreign_sqlite_file_is_refused(cache_path: Path) -> None:
    conn = sqlite3.connect(cache_path)
    conn.execute("CREATE TABLE mine (x)")
    conn.commit()
    conn.close()
    with pytest.raises(CacheError, match="not a peerdesk cache"):
        open_cache(cache_path)
    assert sqlite3.connect(cache_path).execute("PRAGMA user_version").fetchone()[0] == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file_is_explained(cache_path: Path) -> None:
    open_cache(cache_path, create=True).close()
    cache_path.chmod(0o444)
    cache = open_cache(cache_path)
    with pytest.raises(CacheError, match="read-only"), cache.transaction() as conn:
        conn.execute("INSERT INTO meta VALUES ('k', 'v')")


def test_read_only_database_is_explained_even_as_root(cache_path: Path) -> None:
    open_cache(cache_path, create=True).close()
    cache = open_cache(cache_path)
    cache.conn.execute("PRAGMA query_only = ON")  # what a read-only file does to writers
    with pytest.raises(CacheError, match="read-only"), cache.transaction() as conn:
        conn.execute("INSERT INTO meta VALUES ('k', 'v')")


def test_locked_file_is_explained(cache_path: Path) -> None:
    open_cache(cache_path, create=True).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(cache_path)!r}, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        cache = open_cache(cache_path)
        cache.conn.execute("PRAGMA busy_timeout = 200")
        with pytest.raises(CacheError, match="locked by another process"):
            with cache.transaction() as conn:
                conn.execute("INSERT INTO meta VALUES ('k', 'v')")
    finally:
        holder.kill()
        holder.wait()


def test_cli_names_the_file_without_traceback(cache_path: Path) -> None:
    cache_path.write_bytes(b"garbage" * 50)
    result = subprocess.run(
        [sys.executable, "-m", "console", "--db", str(cache_path), "queue"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert str(cache_path) in result.stderr
    assert "Traceback" not in result.stderr


def test_older_schema_is_upgraded_in_place_keeping_data(cache_path: Path) -> None:
    """A file written at schema 1 (before duplicate_links existed) opens and keeps its rows."""
    conn = sqlite3.connect(cache_path, isolation_level=None)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO sources (kind, name, created_at) VALUES ('discourse', 'old', '2026-01-01')"
    )
    conn.execute(
        "INSERT INTO threads (source_id, remote_id, title, created_at, last_activity_at) "
        "VALUES (1, '7', 'kept', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
    )
    conn.close()
    cache = open_cache(cache_path)
    assert cache.one("PRAGMA user_version")[0] == LATEST_VERSION
    assert cache.one("SELECT title FROM threads WHERE remote_id = '7'")[0] == "kept"
    assert cache.one("SELECT count(*) FROM duplicate_links")[0] == 0


def test_a_decision_on_damaged_pages_says_what_to_do(
    cache_path: Path,
    grant_roles: Callable[[dict[str, list[str]]], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The file opens (its schema is whole) but a decision reads a wrecked page: the same
    message as a damaged file on opening, naming the file and the way out, never only the
    SQLite error."""
    from console.cli import main
    from console.identity import os_user
    from console.ingest import ensure_source, upsert_threads
    from console.models import ThreadRecord

    grant_roles({os_user(): ["moderator"], "alice": ["moderator"]})  # (the tests act as alice)
    cache = open_cache(cache_path, create=True)
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    at = "2026-11-20T11:00:00Z"
    records = [ThreadRecord(f"t{i}", f"Thread {i} " * 20, None, "open", at, at) for i in range(300)]
    ids = upsert_threads(cache, source, records, [])
    page = cache.one("SELECT rootpage FROM sqlite_master WHERE name = 'threads'")[0]
    size = cache.one("PRAGMA page_size")[0]
    cache.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cache.close()
    with cache_path.open("r+b") as file:  # the threads table's root page: interior, wrecked
        file.seek((page - 1) * size)
        file.write(b"\xde\xad" * (size // 2))
    assert main(["--db", str(cache_path), "close", str(ids["t5"])]) == 1
    said = capsys.readouterr().err
    assert f"The cache {cache_path} is damaged" in said and "Move it aside" in said
