"""Candidate generation over a real cache: recall, storage, incremental updates, rejections."""

from __future__ import annotations

from console.db import Cache
from console.dupes import candidates as cands
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord


def test_planted_duplicates_are_found_first_with_explanations(
    cache: Cache, ids: dict[str, int]
) -> None:
    stored = cands.update_candidates(cache, [ids["d1"], ids["d2"]])
    assert stored >= 2
    first = cands.candidates(cache, ids["d1"])
    assert first[0].original_id == ids["o1"]
    assert first[0].score >= cands.STRONG_SCORE
    assert "esim" in first[0].explanation and "original is solved" in first[0].explanation
    assert cands.candidates(cache, ids["d2"])[0].original_id == ids["o2"]
    # originals are older than the thread: o1 gets no candidate among later threads
    cands.update_candidates(cache, [ids["o1"]])
    assert all(c.original_id != ids["d1"] for c in cands.candidates(cache, ids["o1"]))


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


def test_incremental_update_touches_only_given_threads(cache: Cache, ids: dict[str, int]) -> None:
    cands.update_candidates(cache, [ids["d1"]])
    before = cache.query("SELECT thread_id, original_id, created_at FROM duplicate_links")
    source = ensure_source(cache, "discourse", "forum")
    new = upsert_threads(
        cache,
        source,
        [
            ThreadRecord(
                "d3",
                "Roaming charges in France far too high",
                None,
                "open",
                "2026-03-01T10:00:00Z",
                "2026-03-01T10:00:00Z",
            )
        ],
        [
            PostRecord(
                "d3-q",
                "d3",
                None,
                0,
                "Charged for roaming in France, plan has EU roaming",
                "x",
                "2026-03-01T10:00:00Z",
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


def test_hostile_threads_get_candidates_without_errors(cache: Cache, ids: dict[str, int]) -> None:
    source = ensure_source(cache, "discourse", "forum")
    texts = {
        "h-empty": ("", ""),
        "h-huge": ("eSIM stuck " * 20, "eSIM activation iPhone stuck " * 7000),
        "h-cjk": ("携帯の料金が高い", '料金 "quoted" OR NEAR( * ^'),
        "h-rich": ("[bold]eSIM[/bold] stuck [link=x]", "[red]iPhone 15[/] activating"),
    }
    new = upsert_threads(
        cache,
        source,
        [
            ThreadRecord(k, t, None, "open", "2026-04-01T10:00:00Z", "2026-04-01T10:00:00Z")
            for k, (t, _) in texts.items()
        ],
        [
            PostRecord(f"{k}-q", k, None, 0, b, b, "2026-04-01T10:00:00Z")
            for k, (_, b) in texts.items()
        ],
    )
    cands.update_candidates(cache, new.values())
    assert cands.candidates(cache, new["h-empty"]) == []
    # its best candidate (0.49-0.50 probability: on either side of the proposal threshold as
    # the int8 embeddings' rounding goes)
    assert cands.candidates(cache, new["h-huge"], weaker=True)[0].original_id == ids["o1"]
    assert cands.candidates(cache, new["h-rich"], weaker=True)[0].original_id in {
        ids["o1"],
        ids["d1"],
        new["h-huge"],
    }
