"""The last word of a search, typed as a prefix longer than FTS5's prefix indexes (3 and 4
letters, migration 21), matched through the words it stands for.

A prefix with no prefix index of its length makes FTS5 read and merge the whole posting list of
every word that starts so before it can give the newest few matches: 38-100 ms at a million
threads for "roami" or "activ", on every key typed after the fourth letter. Here the words are
listed once (FTS5's own vocabulary, fts5vocab, of both full-text tables) and the query names them
("roaming" OR "roamig" …), which FTS5 reads from the newest end like any word: 0.3-1 ms.

Listing the words reads their postings too (fts5vocab counts them), so the first long prefix
costs about what it did; the words are remembered for the cache and the longer prefixes typed
next are found among them without reading anything, while neither full-text index changed (its
FTS5 structure record is compared: any write to the index changes it). More than MOST_WORDS
words, or a word FTS5's tokenizer would fold or split differently (not plain ASCII letters and
digits), is matched as a prefix as before. The team database (PostgreSQL) needs none of this.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from console.db import Cache

EXPAND_FROM = 5  # longer than the longest prefix index (migration 21)
MOST_WORDS = 64  # a prefix standing for more words is matched as a prefix
TABLES = ("post_fts", "thread_fts")
_PLAIN = re.compile(r"[a-z0-9]+")  # unicode61 keeps these as they are (no folding, no split)


@dataclass(frozen=True)
class _Listed:
    state: tuple[bytes, ...]  # the FTS5 structure records when the words were listed
    prefix: str
    words: tuple[str, ...]


REMEMBERED = 16  # listings kept per cache file (the newest)
_listed: dict[str, list[_Listed]] = {}  # by cache file, newest last
_lock = threading.Lock()


def _state(cache: Cache) -> tuple[bytes, ...]:
    """The full-text indexes' structure records (FTS5 rewrites them on every write)."""
    found = []
    for table in TABLES:
        row = cache.one(f"SELECT block FROM {table}_data WHERE id = 10")  # FTS5's structure
        found.append(bytes(row[0]) if row else b"")
    return tuple(found)


def _vocabulary(cache: Cache, table: str) -> str:
    """FTS5's vocabulary of `table` on this connection (a temporary table: nothing is stored)."""
    name = f"peerdesk_{table}_words"
    cache.query(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{name} USING fts5vocab(main, '{table}', 'row')"
    )
    return f"temp.{name}"


def _list(cache: Cache, prefix: str) -> tuple[str, ...] | None:
    """Every word of either index starting with `prefix`, or None if more than MOST_WORDS."""
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    words: set[str] = set()
    for table in TABLES:
        rows = cache.query(
            f"SELECT term FROM {_vocabulary(cache, table)} WHERE term >= ? AND term < ? LIMIT ?",
            (prefix, end, MOST_WORDS + 1),
        )
        words.update(str(r[0]) for r in rows)
        if len(words) > MOST_WORDS:
            return None
    return tuple(sorted(words))


def words_for(cache: Cache, prefix: str) -> tuple[str, ...] | None:
    """The indexed words that start with `prefix` (a lowercase word of EXPAND_FROM or more
    characters), or None: match it as a prefix (too many words, or not plain letters/digits)."""
    if len(prefix) < EXPAND_FROM or not _PLAIN.fullmatch(prefix):
        return None
    path = str(cache.path)
    state = _state(cache)
    with _lock:
        known = [k for k in _listed.get(path, []) if k.state == state]
    wider = [k for k in known if prefix.startswith(k.prefix)]
    if wider:  # the words of a shorter prefix listed since the index last changed
        return tuple(
            w for w in max(wider, key=lambda k: len(k.prefix)).words if w.startswith(prefix)
        )
    words = _list(cache, prefix)
    if words is None:
        return None
    with _lock:
        _listed[path] = [*known, _Listed(state, prefix, words)][-REMEMBERED:]
    return words


def match_text(words: list[str], last: tuple[str, ...]) -> str:
    """FTS5's query: every word but the last as it is, the last as any of `last` (no word at
    all: the last word itself, which then matches nothing, as its prefix did)."""
    quoted = [f'"{w}"' for w in words[:-1]]
    if not last:
        return " ".join([*quoted, f'"{words[-1]}"'])
    # (FTS5 takes no implicit AND before a bracket: every AND is written)
    return " AND ".join([*quoted, "(" + " OR ".join(f'"{w}"' for w in last) + ")"])
