"""A search's last word typed past the prefix indexes (five letters and more) finds exactly the
threads a prefix match finds, on both engines; on the cache file it is matched as the words it
stands for (console.search_terms), listed once and narrowed as the word grows, listed again once
the full-text index changed, and matched as a prefix when it stands for too many words or is not
plain ASCII (the SQLite-only tests: the team database matches prefixes with its GIN index)."""

from __future__ import annotations

import re

import pytest

from console import search_terms, store
from console.db import Cache
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord
from console.storage import SQLITE
from console.store import QueueFilter, fts_query

WORDS = {  # title, question, reply
    "a": ("Roaming in Spain", "Data roaming is on, still nothing", "Turn it off and on"),
    "b": ("Road trip, no signal", "I roamed the Highlands", "roamig typo here"),
    "c": ("Refund after roaming", "Charged twice", "refunded in the end"),
    "d": ("Activation stuck", "My SIM will not activate", "activated now"),
    "e": ("Roamer plans", "Is there a roamer bundle?", "Look at roamingfree"),
    "f": ("Café wifi", "The café near me", "roam roams"),
}
TYPED = ["roami", "roamin", "roaming", "roame", "roamx", "refund roami", "activ", "activa"]


def _seed(cache: Cache) -> None:
    source = ensure_source(cache, "discourse", "terms", "https://terms.example")
    threads, posts = [], []
    for n, (key, (title, question, reply)) in enumerate(WORDS.items()):
        at = f"2026-11-{10 + n:02d}T12:00:00Z"
        threads.append(ThreadRecord(key, title, "u1", "open", at, at, reply_count=1))
        posts.append(PostRecord(f"{key}.0", key, "u1", 0, question, question, at))
        posts.append(PostRecord(f"{key}.1", key, "u1", 1, reply, reply, at))
    upsert_threads(cache, source, threads, posts)


def _expected(cache: Cache, text: str) -> list[int]:
    """Threads with every word of `text` in their title or posts, the last as a prefix, by
    reading every title and post (newest thread first, as search lists them)."""
    *whole, last = text.split()
    found = []
    for row in cache.query("SELECT id, title FROM threads ORDER BY id DESC"):
        texts = [str(row[1])] + [
            str(p[0])
            for p in cache.query("SELECT body_text FROM posts WHERE thread_id = ?", (row[0],))
        ]
        words = {w for t in texts for w in re.findall(r"[^\W_]+", t.lower())}
        if all(w in words for w in whole) and any(w.startswith(last) for w in words):
            found.append(int(row[0]))
    return found


@pytest.mark.backends
def test_long_prefixes_find_what_a_prefix_match_finds(cache: Cache) -> None:
    _seed(cache)
    for text in TYPED:
        got = [i.thread_id for i in store.queue(cache, QueueFilter(text=text, everything=True))]
        assert got == _expected(cache, text), text
        if text != "roamx":
            assert got, text
        assert store.queue_count(cache, QueueFilter(text=text, everything=True)) == len(got)


def test_a_long_prefix_is_matched_as_its_words_and_narrowed_as_typed(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:  # SQLite only: FTS5's vocabulary
    _seed(cache)
    assert fts_query("roami", SQLITE, cache) == '("roamig" OR "roaming" OR "roamingfree")'
    assert fts_query("refund roamin", SQLITE, cache) == '"refund" AND ("roaming" OR "roamingfree")'
    assert fts_query("roamx", SQLITE, cache) == '"roamx"'  # no such word: nothing matches
    assert fts_query("roa", SQLITE, cache) == '"roa"*'  # the prefix indexes' own lengths
    assert fts_query("roam", SQLITE, cache) == '"roam"*'
    assert fts_query("cafés", SQLITE, cache) == '"cafés"*'  # folded by FTS5: left to it
    # the longer prefixes typed next are found among the words listed for "roami"
    listed: list[str] = []
    original = search_terms._list

    def counted(cache: Cache, prefix: str) -> tuple[str, ...] | None:
        listed.append(prefix)
        return original(cache, prefix)

    monkeypatch.setattr(search_terms, "_list", counted)
    assert fts_query("roamin", SQLITE, cache) == '("roaming" OR "roamingfree")'
    assert fts_query("roaming", SQLITE, cache) == '("roaming" OR "roamingfree")'
    assert listed == []
    # a new word in the index: listed again
    source = ensure_source(cache, "discourse", "terms", "https://terms.example")
    at = "2026-11-20T12:00:00Z"
    upsert_threads(
        cache,
        source,
        [ThreadRecord("g", "Roamings", "u1", "open", at, at)],
        [PostRecord("g.0", "g", "u1", 0, "roamingly yours", "roamingly yours", at)],
    )
    assert fts_query("roaming", SQLITE, cache) == (
        '("roaming" OR "roamingfree" OR "roamingly" OR "roamings")'
    )
    assert listed == ["roaming"]


def test_a_prefix_of_too_many_words_is_matched_as_a_prefix(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:  # SQLite only: FTS5's vocabulary
    _seed(cache)
    monkeypatch.setattr(search_terms, "MOST_WORDS", 2)
    assert fts_query("roami", SQLITE, cache) == '"roami"*'
    got = [i.thread_id for i in store.queue(cache, QueueFilter(text="roami", everything=True))]
    assert got == _expected(cache, "roami")
