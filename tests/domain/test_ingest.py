"""Ingest is idempotent and keeps the full-text indexes in step with the rows."""

from __future__ import annotations

from console.db import Cache
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord

from .conftest import seed_community

T = "2026-11-01T00:00:00Z"


def fts_counts(cache: Cache) -> tuple[int, int]:
    return (
        cache.one("SELECT count(*) FROM thread_fts")[0],
        cache.one("SELECT count(*) FROM post_fts")[0],
    )


def test_ingesting_twice_changes_nothing(cache: Cache) -> None:
    seed_community(cache)
    tables = ("threads", "posts", "members", "thread_fts", "post_fts")
    first = {t: cache.query(f"SELECT * FROM {t} ORDER BY rowid") for t in tables}
    seed_community(cache)
    again = {t: cache.query(f"SELECT * FROM {t} ORDER BY rowid") for t in tables}
    assert {t: [tuple(r) for r in rows] for t, rows in first.items()} == {
        t: [tuple(r) for r in rows] for t, rows in again.items()
    }


def test_question_arriving_after_its_thread_is_indexed(cache: Cache) -> None:
    source = ensure_source(cache, "jsonl", "file")
    ids = upsert_threads(cache, source, [ThreadRecord("a", "Porting", None, "open", T, T)], [])
    upsert_threads(
        cache, source, [], [PostRecord("p", "a", None, 0, "my PAC code expired", "x", T)]
    )
    hits = cache.query("SELECT rowid FROM thread_fts WHERE thread_fts MATCH 'expired'")
    assert [r[0] for r in hits] == [ids["a"]]
    assert fts_counts(cache) == (1, 1)


def test_edited_post_replaces_its_search_row(cache: Cache) -> None:
    source = ensure_source(cache, "jsonl", "file")
    thread = [ThreadRecord("a", "Roaming", None, "open", T, T)]
    upsert_threads(cache, source, thread, [PostRecord("p", "a", None, 0, "old words", "x", T)])
    upsert_threads(cache, source, thread, [PostRecord("p", "a", None, 0, "new text", "x", T)])
    assert cache.query("SELECT rowid FROM post_fts WHERE post_fts MATCH 'old'") == []
    assert len(cache.query("SELECT rowid FROM post_fts WHERE post_fts MATCH 'new'")) == 1
    assert len(cache.query("SELECT rowid FROM thread_fts WHERE thread_fts MATCH 'new'")) == 1
    assert fts_counts(cache) == (1, 1)
