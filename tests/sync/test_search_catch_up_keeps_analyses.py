"""The search index's catch-up keeps a thread's stored duplicate analysis when it was made from
the text the index now holds (its CRC, migration 20), and drops it when it was not (made while
the thread had no full-text row: without its question)."""

from __future__ import annotations

# SQLite only: the cache's search-index catch-up; a team database indexes as it writes (its
# tsvector columns are generated), so it has no backlog and no catch-up (search_index.backlog)
import json
from pathlib import Path

from console import ingest, search_index
from console.db import Cache
from console.dupes import analysis
from console.dupes.scorer import Doc, analyze
from sync import jsonl

QUESTIONS = {
    "a": ("eSIM stuck activating", "My eSIM has been activating for a day, error E-4012."),
    "b": ("PAC code to switch", "Where do I get the PAC code to move my number?"),
    "c": ("Voicemail gone after update", ""),  # no question: the title is all there is
}


def _file(path: Path) -> Path:
    head = {"type": "header", "format": "peerdesk-jsonl", "version": 1, "source": {"name": "s"}}
    lines: list[dict[str, object]] = [head]
    for remote, (title, body) in QUESTIONS.items():
        created = "2026-01-01T00:00:00Z"
        lines.append({"type": "thread", "remote_id": remote, "title": title, "created_at": created})
        if body:
            lines.append(
                {
                    "type": "post",
                    "remote_id": f"{remote}-q",
                    "thread": remote,
                    "position": 0,
                    "body_text": body,
                    "created_at": created,
                }
            )
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


def _analyses(cache: Cache) -> dict[int, bytes]:
    return {
        int(r[0]): bytes(r[1]) for r in cache.query("SELECT thread_id, data FROM thread_analysis")
    }


def test_the_catch_up_keeps_analyses_of_unchanged_text_and_drops_the_others(
    cache: Cache, tmp_path: Path
) -> None:
    jsonl.import_file(cache, _file(tmp_path / "s.jsonl"), index_search=False)
    assert search_index.backlog(cache).threads == 3
    ids = {str(r[0]): int(r[1]) for r in cache.query("SELECT remote_id, id FROM threads")}
    a, b, c = ids["a"], ids["b"], ids["c"]
    with cache.transaction() as conn:
        analysis.store(
            conn,
            {
                # made from the whole text, as the index will hold it: kept
                a: analyze(Doc(QUESTIONS["a"][0], ingest.fts_text(QUESTIONS["a"][1]))),
                # made while the thread had no full-text row (title only): dropped
                b: analyze(Doc(QUESTIONS["b"][0], "")),
                # a thread without a question: the title was its whole text, kept
                c: analyze(Doc(QUESTIONS["c"][0], "")),
            },
        )
    before = _analyses(cache)

    done = search_index.catch_up(cache)

    assert done.threads == 3 and search_index.backlog(cache).empty
    after = _analyses(cache)
    assert sorted(after) == [a, c]
    assert after[a] == before[a] and after[c] == before[c]
