"""A connection that runs candidate searches keeps a page cache of SEARCH_CACHE_KIB (SQLite's
default 2 MB held nothing from one search to the next at scale), and a larger one is kept."""

from __future__ import annotations

# SQLite only: the page cache is a PRAGMA of the cache file's connection.
from console.db import Cache
from console.dupes import candidates as cands


def _kib(cache: Cache) -> int:
    return -int(cache.conn.execute("PRAGMA cache_size").fetchone()[0])


def test_a_search_raises_the_page_cache_and_finds_the_same(
    cache: Cache, ids: dict[str, int]
) -> None:
    cache.conn.execute("PRAGMA cache_size = -2000")  # SQLite's default
    assert cands.find_candidates(cache, ids["d1"])[0][0] == ids["o1"]
    assert _kib(cache) == cands.SEARCH_CACHE_KIB


def test_a_larger_page_cache_is_left_alone(cache: Cache, ids: dict[str, int]) -> None:
    cache.conn.execute(f"PRAGMA cache_size = -{2 * cands.SEARCH_CACHE_KIB}")
    cands.find_candidates(cache, ids["d1"])
    assert _kib(cache) == 2 * cands.SEARCH_CACHE_KIB
    cache.conn.execute("PRAGMA cache_size = 20000")  # in pages: 20,000 x 4 KiB = 80,000 KiB
    cands.find_candidates(cache, ids["d1"])
    assert int(cache.conn.execute("PRAGMA cache_size").fetchone()[0]) == 20000
