"""The import's write path: bulk-load settings come back, joined transactions roll back whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console import ingest
from console.bulk_sqlite import sqlite_bulk_load
from console.db import Cache
from console.models import PostRecord, ThreadRecord
from sync import jsonl
from tests.backends import pytest_generate_tests

__all__ = ["pytest_generate_tests"]


def _file(path: Path, posts: int) -> Path:
    head = {"type": "header", "format": "peerdesk-jsonl", "version": 1, "source": {"name": "f"}}
    lines = [head, {"type": "member", "remote_id": "u1", "username": "ann"}]
    lines.append(
        {"type": "thread", "remote_id": "t1", "title": "SIM", "created_at": "2026-01-01T00:00:00Z"}
    )
    for n in range(posts):
        lines.append(
            {
                "type": "post",
                "remote_id": f"p{n}",
                "thread": "t1",
                "author": "u1",
                "position": n,
                "body_text": f"roaming answer number {n}",
                "created_at": "2026-01-01T00:00:00Z",
            }
        )
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


# SQLite only: its PRAGMAs (the bulk-load settings of the cache's connection)
def test_an_import_gives_the_connection_its_own_settings_back(cache: Cache, tmp_path: Path) -> None:
    before = (
        cache.one("PRAGMA foreign_keys")[0],
        cache.one("PRAGMA cache_size")[0],
        cache.one("PRAGMA journal_mode")[0],
        cache.one("PRAGMA synchronous")[0],
        cache.one("PRAGMA temp_store")[0],
    )
    report = jsonl.import_file(cache, _file(tmp_path / "a.jsonl", 30), chunk_posts=7)
    assert report.posts == 30
    after = (
        cache.one("PRAGMA foreign_keys")[0],
        cache.one("PRAGMA cache_size")[0],
        cache.one("PRAGMA journal_mode")[0],
        cache.one("PRAGMA synchronous")[0],
        cache.one("PRAGMA temp_store")[0],
    )
    assert after == before
    assert before[0] == 1 and before[2] == "wal"


# SQLite only: its PRAGMAs (the bulk-load settings of the cache's connection)
def test_bulk_settings_leave_durability_alone_and_come_back_after_an_error(cache: Cache) -> None:
    journal = cache.one("PRAGMA journal_mode")[0]
    sync_level = cache.one("PRAGMA synchronous")[0]
    size = cache.one("PRAGMA cache_size")[0]
    temp = cache.one("PRAGMA temp_store")[0]
    assert temp != 2
    with pytest.raises(RuntimeError), sqlite_bulk_load(cache):
        assert cache.one("PRAGMA foreign_keys")[0] == 0
        assert cache.one("PRAGMA journal_mode")[0] == journal
        assert cache.one("PRAGMA synchronous")[0] == sync_level
        assert cache.one("PRAGMA cache_size")[0] < 0  # in KiB
        assert cache.one("PRAGMA temp_store")[0] == 2  # statement journals in memory
        raise RuntimeError("stop")
    assert cache.one("PRAGMA foreign_keys")[0] == 1
    assert cache.one("PRAGMA cache_size")[0] == size
    assert cache.one("PRAGMA temp_store")[0] == temp


@pytest.mark.backends
def test_an_upsert_inside_the_callers_transaction_rolls_back_with_it(cache: Cache) -> None:
    source = ingest.ensure_source(cache, "jsonl", "f")
    thread = ThreadRecord(
        remote_id="t1",
        title="eSIM",
        author_remote_id=None,
        status="open",
        created_at="2026-01-01T00:00:00Z",
        last_activity_at="2026-01-01T00:00:00Z",
    )
    post = PostRecord("p1", "t1", None, 0, "eSIM help", "eSIM help", "2026-01-01T00:00:00Z")
    with pytest.raises(RuntimeError), cache.transaction():
        ingest.upsert_threads(cache, source, [thread], [post])
        assert cache.one("SELECT count(*) FROM posts")[0] == 1
        raise RuntimeError("the caller fails after the upsert")
    counts = [cache.one(f"SELECT count(*) FROM {t}")[0] for t in ("threads", "posts", "post_fts")]
    assert counts == [0, 0, 0]
    ingest.upsert_threads(cache, source, [thread], [post])  # on its own: its own transaction
    assert cache.one("SELECT count(*) FROM posts")[0] == 1
    assert not cache.conn.in_transaction


@pytest.mark.backends
def test_a_number_too_large_for_the_cache_is_a_bad_line_not_a_failed_import(
    cache: Cache, tmp_path: Path
) -> None:
    head = {"type": "header", "format": "peerdesk-jsonl", "version": 1, "source": {"name": "n"}}
    post = {
        "type": "post",
        "thread": "t1",
        "body_text": "fine",
        "created_at": "2026-01-01T00:00:00Z",
    }
    lines = [
        head,
        {"type": "member", "remote_id": "u1", "username": "ann", "trust_level": 2**70},
        {"type": "thread", "remote_id": "t1", "title": "T", "created_at": "2026-01-01T00:00:00Z"},
        {
            "type": "thread",
            "remote_id": "t2",
            "title": "T",
            "created_at": "2026-01-01T00:00:00Z",
            "reply_count": 1e30,
        },
        {**post, "remote_id": "p0", "position": 0},
        {**post, "remote_id": "p1", "position": 10**30},
        {**post, "remote_id": "p2", "position": 2, "score": -(2**64)},
        {**post, "remote_id": "p3", "position": 3, "score": 2**63 - 1},
    ]
    path = tmp_path / "numbers.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    report = jsonl.import_file(cache, path)
    assert (report.members, report.threads, report.posts, report.skipped) == (1, 1, 2, 3)
    assert [p.split(": ", 1)[1] for p in report.problems] == [
        "number out of range: 1e+30",
        "number out of range: 1e+30",  # orjson reads a number this large as a float
        "number out of range: -1.8446744073709552e+19",
    ]
    stored = cache.query("SELECT remote_id, score FROM posts ORDER BY remote_id")
    assert [tuple(r) for r in stored] == [("p0", 0), ("p3", 2**63 - 1)]
    assert cache.one("SELECT trust_level FROM members")[0] is None
