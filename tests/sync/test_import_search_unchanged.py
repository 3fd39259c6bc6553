"""After imports in many small chunks, a re-import and an import of edited posts, full-text search
finds exactly what a search index built from scratch over the stored posts finds."""

from __future__ import annotations

import json
from pathlib import Path

from console import ingest
from console.db import Cache
from sync import jsonl

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


def _searches(cache: Cache) -> dict[str, tuple[list[int], list[int], list[int], list[int]]]:
    """Per query: (post_fts hits, scratch-index hits, thread_fts hits, scratch thread hits)."""
    conn = cache.conn
    conn.execute("CREATE VIRTUAL TABLE temp.scratch_posts USING fts5 (body)")
    conn.execute("CREATE VIRTUAL TABLE temp.scratch_threads USING fts5 (title, body)")
    for post_id, text in conn.execute("SELECT id, body_text FROM posts").fetchall():
        conn.execute(
            "INSERT INTO scratch_posts (rowid, body) VALUES (?, ?)",
            (post_id, ingest.fts_text(text)),
        )
    for thread_id, title, first in conn.execute(
        "SELECT t.id, t.title, (SELECT body_text FROM posts p WHERE p.thread_id = t.id "
        "AND p.position = 0 ORDER BY p.id LIMIT 1) FROM threads t"
    ).fetchall():
        conn.execute(
            "INSERT INTO scratch_threads (rowid, title, body) VALUES (?, ?, ?)",
            (thread_id, title, ingest.fts_text(first or "")),
        )
    found = {}
    for query in [*WORDS, "edited", "after", "nul", "beyondthelimit", "filler", "rom*", "question"]:
        quoted = query if query.endswith("*") else f'"{query}"'

        def hits(table: str, q: str = quoted) -> list[int]:
            rows = conn.execute(
                f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid", (q,)
            )
            return [r[0] for r in rows]

        found[query] = (
            hits("post_fts"),
            hits("scratch_posts"),
            hits("thread_fts"),
            hits("scratch_threads"),
        )
    return found


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
