"""After imports in many small chunks, a re-import and an import of edited posts, full-text search
finds exactly what a search index built from scratch over the stored posts finds; also when the
imports leave their rows to the search index's catch-up (console/search_index.py) and syncs,
edits and deletions come in between, before the catch-up ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console import ingest, search_index
from console.db import Cache
from console.models import PostRecord, ThreadRecord
from console.storage.dialect import tsvector_of
from console.team.dialect import FTS_CHARS
from sync import jsonl
from tests.backends import pytest_generate_tests

__all__ = ["pytest_generate_tests"]

WORDS = ["roaming", "esim", "porting", "refund", "voicemail", "apn", "outage", "tariff", "café"]


def _body(n: int, edited: bool) -> str:
    words = [WORDS[(n * 3 + k) % len(WORDS)] for k in range(3 + n % 4)]
    if n % 11 == 0:
        words.append("nul\u0000after")  # a NUL must not cut what is searchable
    if n % 17 == 0:  # longer than what is indexed: the tail is kept, not searchable
        words.append("filler " * 3000 + "beyondthelimit")
    if edited and n % 5 == 0:
        words = ["edited", *words[1:]]
    return " ".join(words)


def _file(path: Path, edited: bool = False) -> Path:
    head = {"type": "header", "format": "peerdesk-jsonl", "version": 1, "source": {"name": "s"}}
    lines: list[dict[str, object]] = [head]
    for t in range(12):
        lines.append(
            {
                "type": "thread",
                "remote_id": f"t{t}",
                "title": f"{WORDS[t % len(WORDS)]} question {t}",
                "created_at": "2026-01-01T00:00:00Z",
                "tags": ["a", "b", "c"],
            }
        )
        for i in range(5):
            n = t * 5 + i
            lines.append(
                {
                    "type": "post",
                    "remote_id": f"p{n}",
                    "thread": f"t{t}",
                    "position": i,
                    "body_text": _body(n, edited),
                    "created_at": "2026-01-01T00:00:00Z",
                }
            )
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    return path


SCRATCH = {"scratch_posts": ("body",), "scratch_threads": ("title", "body")}


def _scratch_tables(cache: Cache) -> None:
    """Empty search tables of the test's own, indexed as the engine indexes: FTS5 tables on the
    cache; on the team database plain temporary tables, searched through the same tsvector
    (words split as on the cache) the migrations' full-text tables generate."""
    for name, columns in SCRATCH.items():
        if cache.dialect.is_sqlite:
            cache.conn.execute(
                f"CREATE VIRTUAL TABLE temp.{name} USING fts5 ({', '.join(columns)})"
            )
        else:
            texts = ", ".join(f"{c} TEXT" for c in columns)
            cache.conn.execute(f"CREATE TEMP TABLE {name} (rowid BIGINT PRIMARY KEY, {texts})")


def _hits(cache: Cache, table: str, query: str) -> list[int]:
    words = [query.rstrip("*")]
    terms = cache.dialect.fts_terms(words, prefix_last=query.endswith("*"))
    if cache.dialect.is_sqlite or table not in SCRATCH:
        match = cache.dialect.fts_match(table)
    else:
        text = " || ' ' || ".join(f"left(coalesce({c}, ''), {FTS_CHARS})" for c in SCRATCH[table])
        match = f"{tsvector_of(text)} @@ to_tsquery('simple', ?)"
    rows = cache.conn.execute(f"SELECT rowid FROM {table} WHERE {match} ORDER BY rowid", (terms,))
    return [int(r[0]) for r in rows]


def _searches(cache: Cache) -> dict[str, tuple[list[int], list[int], list[int], list[int]]]:
    """Per query: (post_fts hits, scratch-index hits, thread_fts hits, scratch thread hits)."""
    conn = cache.conn
    _scratch_tables(cache)

    def searchable(text: str) -> str:  # the team database stores a NUL as U+FFFD: a space too
        return ingest.fts_text(text if cache.dialect.is_sqlite else text.replace("\ufffd", "\0"))

    for post_id, text in conn.execute("SELECT id, body_text FROM posts").fetchall():
        conn.execute(
            "INSERT INTO scratch_posts (rowid, body) VALUES (?, ?)", (post_id, searchable(text))
        )
    for thread_id, title, first in conn.execute(
        "SELECT t.id, t.title, (SELECT body_text FROM posts p WHERE p.thread_id = t.id "
        "AND p.position = 0 ORDER BY p.id LIMIT 1) FROM threads t"
    ).fetchall():
        conn.execute(
            "INSERT INTO scratch_threads (rowid, title, body) VALUES (?, ?, ?)",
            (thread_id, title, searchable(first or "")),
        )
    found = {}
    queries = [*WORDS, "edited", "after", "nul", "beyondthelimit", "filler", "rom*", "question"]
    for query in [*queries, "synced", "reused", "brand"]:
        found[query] = (
            _hits(cache, "post_fts", query),
            _hits(cache, "scratch_posts", query),
            _hits(cache, "thread_fts", query),
            _hits(cache, "scratch_threads", query),
        )
    return found


@pytest.mark.backends
def test_search_after_chunked_imports_reimports_and_edits_matches_a_fresh_index(
    cache: Cache, tmp_path: Path
) -> None:
    first = _file(tmp_path / "first.jsonl")
    assert jsonl.import_file(cache, first, chunk_posts=7).posts == 60
    jsonl.import_file(cache, _file(tmp_path / "again.jsonl"), chunk_posts=9)  # same records
    jsonl.import_file(cache, _file(tmp_path / "edited.jsonl", edited=True), chunk_posts=4)
    found = _searches(cache)
    for query, (posts, scratch_posts, threads, scratch_threads) in found.items():
        assert posts == scratch_posts, query
        assert threads == scratch_threads, query
    assert len(found["edited"][0]) == 12  # every fifth of the 60 posts was edited
    assert found["after"][0] and found["beyondthelimit"][0] == []
    assert len(found["roaming"][0]) > 10


def _assert_same_as_scratch(cache: Cache) -> dict[str, tuple[list[int], ...]]:
    found = _searches(cache)
    for query, (posts, scratch_posts, threads, scratch_threads) in found.items():
        assert posts == scratch_posts, query
        assert threads == scratch_threads, query
    return found


def _post(n: int, thread: str, text: str, position: int = 1) -> PostRecord:
    return PostRecord(
        f"p{n}", thread, None, position, text, text, "2026-01-02T00:00:00Z", None, 0, 0, False
    )


# SQLite only: the catch-up is the cache's; the team database indexes as it writes, no backlog
def test_search_after_a_catch_up_interrupted_by_syncs_edits_and_deletions_matches(
    cache: Cache, tmp_path: Path
) -> None:
    first = _file(tmp_path / "first.jsonl")
    jsonl.import_file(cache, first, chunk_posts=7, index_search=False)
    waiting = search_index.backlog(cache)
    assert (waiting.posts, waiting.threads) == (60, 12)
    assert cache.one("SELECT count(*) FROM post_fts")[0] == 0  # nothing indexed yet
    assert "60 posts and 12 threads" in waiting.describe()
    # two batches only, then stopped (as a console closing mid-way)
    batches: list[search_index.Backlog] = []
    search_index.catch_up(
        cache,
        batch=5,
        progress=lambda _done, left: batches.append(left),
        should_stop=lambda: len(batches) >= 2,
    )
    # threads first: t10 and t11 wait, and every post
    assert search_index.backlog(cache) == search_index.Backlog(posts=60, threads=2)
    # a sync page while the backlog waits: edits an indexed post and a waiting one, adds posts
    # and a thread, moves a question; its new rows join the backlog
    source_id = int(cache.one("SELECT id FROM sources")[0])
    sync_thread = ThreadRecord(
        remote_id="t99", title="outage question synced", author_remote_id=None, status="open",
        created_at="2026-01-02T00:00:00Z", last_activity_at="2026-01-02T00:00:00Z",
        reply_count=0, flag_count=0, report_count=0, tags=(),
    )  # fmt: skip
    ingest.upsert_threads(
        cache,
        source_id,
        [sync_thread],
        [
            _post(0, "t0", "synced roaming edit of an indexed question", position=0),
            _post(59, "t11", "synced esim edit of a waiting post", position=4),
            _post(55, "t11", "synced apn edit of a waiting question", position=0),
            _post(500, "t99", "brand new synced tariff post", position=0),
            _post(501, "t3", "brand new synced reply voicemail"),
        ],
    )
    # older rows wait, so the page's new ones join them
    assert search_index.backlog(cache) == search_index.Backlog(posts=62, threads=3)
    search_index.catch_up(cache, batch=4, should_stop=lambda: len(batches) >= 2)  # stops at once
    assert search_index.backlog(cache).posts == 62
    more: list[search_index.Backlog] = []
    search_index.catch_up(  # the three threads, then a first batch of 50 posts
        cache,
        batch=50,
        progress=lambda _done, left: more.append(left),
        should_stop=lambda: len(more) >= 2,
    )
    assert search_index.backlog(cache) == search_index.Backlog(posts=12, threads=0)
    ingest.upsert_threads(cache, source_id, [], [_post(3, "t0", "synced again roaming", 3)])
    ingest.remove_posts(cache, source_id, ["p1", "p58"])  # one indexed, one waiting
    jsonl.import_file(cache, _file(tmp_path / "edited.jsonl", edited=True), chunk_posts=4)
    assert search_index.backlog(cache).empty  # the import caught up
    found = _assert_same_as_scratch(cache)
    assert found["synced"][0] and found["synced"][2]
    assert len(found["edited"][0]) == 12


# SQLite only: it reuses the row ids of deleted rows (PostgreSQL's identity columns never do)
def test_search_after_the_newest_rows_were_deleted_and_ids_reused_matches(
    cache: Cache, tmp_path: Path
) -> None:
    """Row ids are not AUTOINCREMENT: the ids of deleted newest posts come back for new posts,
    which must not count as indexed."""
    jsonl.import_file(cache, _file(tmp_path / "first.jsonl"), chunk_posts=50)
    source_id = int(cache.one("SELECT id FROM sources")[0])
    newest = cache.one("SELECT max(id) FROM posts")[0]
    ingest.remove_posts(cache, source_id, ["p59", "p58"])
    jsonl.import_file(cache, _file(tmp_path / "again.jsonl", edited=True), index_search=False)
    assert cache.one("SELECT max(id) FROM posts")[0] == newest  # the two ids came back
    assert search_index.backlog(cache).posts == 2
    search_index.catch_up(cache)
    found = _assert_same_as_scratch(cache)
    assert 59 * 5 + 4 - 5 * 59 == 4 and found["edited"][0]  # p55 (edited) among them
