"""Candidate generation over a real cache or team database: recall, storage, incremental
updates, rejections."""

from __future__ import annotations

import pytest

from console.db import Cache
from console.dupes import candidates as cands
from console.ingest import ensure_source
from tests.backends import pytest_generate_tests
from tests.dupes.conftest import asked, store_asked

pytestmark = pytest.mark.backends  # recall is the engine's own: FTS5 or tsvector + pg_trgm
__all__ = ["pytest_generate_tests"]


def test_strong_candidates_filter_the_queue(cache: Cache, ids: dict[str, int]) -> None:
    from console.store import QueueFilter, queue

    cands.update_candidates(cache, list(ids.values()))
    rows = queue(cache, QueueFilter(strong_duplicates=True, everything=True))
    assert {r.thread_id for r in rows} == {ids["d1"], ids["d2"]}
    assert all(r.strong_duplicate for r in rows)


def test_rejected_pair_is_never_proposed_again(cache: Cache, ids: dict[str, int]) -> None:
    cands.update_candidates(cache, [ids["d1"]])
    cache.conn.execute(
        "UPDATE duplicate_links SET decision = 'rejected' WHERE thread_id = ? AND original_id = ?",
        (ids["d1"], ids["o1"]),
    )
    cands.update_candidates(cache, [ids["d1"]])
    pending = cands.candidates(cache, ids["d1"])
    assert ids["o1"] not in {c.original_id for c in pending}
    decided = cands.candidates(cache, ids["d1"], include_decided=True)
    assert [c.decision for c in decided if c.original_id == ids["o1"]] == ["rejected"]


def test_only_proposals_are_explained_when_stored(cache: Cache, ids: dict[str, int]) -> None:
    """A pair stored below PROPOSE has no explanation until one is asked for; then it reads as
    the search's own (the pool's) explanation, in `candidates` and in the Duplicates panel."""
    from console.dupes import panel

    new = [ids["d1"], ids["d2"]]
    pool = {(t, original): why for t in new for original, _, why in cands.find_candidates(cache, t)}
    cands.update_candidates(cache, new)
    rows = cache.query("SELECT thread_id, original_id, score, explanation FROM duplicate_links")
    proposed = [r for r in rows if r[2] >= cands.PROPOSE]
    weaker = [r for r in rows if r[2] < cands.PROPOSE]
    assert {r[0] for r in proposed} == set(new) and weaker
    assert all(r[3] == pool[(r[0], r[1])] for r in proposed)
    assert all(r[3] == "" for r in weaker)
    for t in new:
        shown = cands.candidates(cache, t, weaker=True)
        assert len(shown) == sum(1 for r in rows if r[0] == t)
        assert all(c.explanation == pool[(t, c.original_id)] for c in shown)
    thread, original = weaker[0][0], weaker[0][1]
    assert panel.pair(cache, thread, original).explanation == pool[(thread, original)]
    assert panel.pair(cache, thread, original).explanation.startswith("meaning ")
    # written on request, never stored: the next search's pairs replace these anyway
    assert (
        cache.one(
            "SELECT explanation FROM duplicate_links WHERE thread_id = ? AND original_id = ?",
            (thread, original),
        )[0]
        == ""
    )  # type: ignore[index]


def test_incremental_update_touches_only_given_threads(cache: Cache, ids: dict[str, int]) -> None:
    cands.update_candidates(cache, [ids["d1"]])
    before = cache.query("SELECT thread_id, original_id, created_at FROM duplicate_links")
    source = ensure_source(cache, "discourse", "forum")
    new = store_asked(
        cache,
        source,
        [
            asked(
                "d3",
                "Roaming charges in France far too high",
                "Charged for roaming in France, plan has EU roaming",
                "2026-03-01T10:00:00Z",
                raw="x",
            )
        ],
    )
    cands.update_candidates(cache, new.values())
    after = cache.query("SELECT thread_id, original_id, created_at FROM duplicate_links")
    assert {tuple(r) for r in before} <= {tuple(r) for r in after}
    assert cands.candidates(cache, new["d3"])[0].original_id == ids["o3"]
    threads_with_links = {r[0] for r in after}
    assert threads_with_links == {ids["d1"], new["d3"]}


def test_rebuild_index_restores_search(cache: Cache, ids: dict[str, int]) -> None:
    cache.conn.execute("DELETE FROM thread_fts")
    assert cands.find_candidates(cache, ids["d1"]) == []
    assert cands.rebuild_index(cache) == len(ids)
    assert cands.find_candidates(cache, ids["d1"])[0][0] == ids["o1"]
