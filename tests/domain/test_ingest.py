"""Ingest is idempotent and keeps the full-text indexes in step with the rows."""

from __future__ import annotations

import pytest

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


def matches(cache: Cache, table: str, word: str) -> list[int]:
    """The rowids of the full-text table `table` holding `word`, on either engine."""
    terms = cache.dialect.fts_terms([word], prefix_last=False)
    rows = cache.query(
        f"SELECT rowid FROM {table} WHERE {cache.dialect.fts_match(table)}", (terms,)
    )
    return [int(r[0]) for r in rows]


@pytest.mark.backends
def test_ingesting_twice_changes_nothing(cache: Cache) -> None:
    seed_community(cache)  # on the team database, the community is already there: a second time
    tables = {"threads": "id", "posts": "id", "members": "id", "thread_fts": "rowid"}
    tables["post_fts"] = "rowid"
    first = {t: cache.query(f"SELECT * FROM {t} ORDER BY {key}") for t, key in tables.items()}
    seed_community(cache)
    again = {t: cache.query(f"SELECT * FROM {t} ORDER BY {key}") for t, key in tables.items()}
    assert {t: [tuple(r) for r in rows] for t, rows in first.items()} == {
        t: [tuple(r) for r in rows] for t, rows in again.items()
    }


@pytest.mark.backends
def test_question_arriving_after_its_thread_is_indexed(cache: Cache) -> None:
    before = fts_counts(cache)
    source = ensure_source(cache, "jsonl", "file")
    ids = upsert_threads(cache, source, [ThreadRecord("a", "Porting", None, "open", T, T)], [])
    upsert_threads(
        cache, source, [], [PostRecord("p", "a", None, 0, "my PAC code expired", "x", T)]
    )
    assert matches(cache, "thread_fts", "expired") == [ids["a"]]
    assert fts_counts(cache) == (before[0] + 1, before[1] + 1)


@pytest.mark.backends
def test_edited_post_replaces_its_search_row(cache: Cache) -> None:
    before = fts_counts(cache)
    source = ensure_source(cache, "jsonl", "file")
    thread = [ThreadRecord("a", "Roaming", None, "open", T, T)]
    upsert_threads(cache, source, thread, [PostRecord("p", "a", None, 0, "old words", "x", T)])
    upsert_threads(
        cache, source, thread, [PostRecord("p", "a", None, 0, "replacement text", "x", T)]
    )
    assert matches(cache, "post_fts", "old") == []
    assert len(matches(cache, "post_fts", "replacement")) == 1
    assert len(matches(cache, "thread_fts", "replacement")) == 1
    assert fts_counts(cache) == (before[0] + 1, before[1] + 1)


@pytest.mark.backends
def test_accepted_answers_follow_the_source(cache: Cache) -> None:
    """A new thread naming its accepted answer gets it, one naming none has none; a thread
    synced again gets its answer changed or taken back (only new threads without one are
    skipped by the accepted-answer update)."""
    source = ensure_source(cache, "discourse", "accepts", "https://accepts.example")

    def sync(accepted: str | None) -> dict[str, int | None]:
        threads = [
            ThreadRecord(
                "a1", "Question", None, "answered", T, T, accepted_post_remote_id=accepted
            ),
            ThreadRecord("a2", "Other question", None, "open", T, T),
        ]
        posts = [
            PostRecord("a1-q", "a1", None, 0, "question", "question", T),
            PostRecord("a1-r", "a1", None, 1, "reply", "reply", T),
            PostRecord("a2-q", "a2", None, 0, "question", "question", T),
        ]
        upsert_threads(cache, source, threads, posts)
        rows = cache.query(
            "SELECT remote_id, accepted_post_id FROM threads WHERE source_id = ?", (source,)
        )
        return {r[0]: r[1] for r in rows}

    first = sync("a1-r")
    reply = cache.one("SELECT id FROM posts WHERE remote_id = 'a1-r'")[0]  # type: ignore[index]
    assert first == {"a1": reply, "a2": None}
    assert sync(None) == {"a1": None, "a2": None}
    assert sync("a1-r") == {"a1": reply, "a2": None}
    # an answer of another thread is never a thread's accepted answer (its preview would show
    # it, its status say solved): a platform, a proxy or a file can name any post
    assert sync("a2-q") == {"a1": None, "a2": None}
