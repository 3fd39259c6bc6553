"""Duplicate recall on both backends: the same community written through the real ingest path
into a cache file or into a team database (PostgreSQL: tsvector under GIN ranked by ts_rank,
pg_trgm for alike titles, the vectors stored in the database and searched exactly), connected
as a moderator (alice), not the superuser."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.db import Cache
from console.dupes import ann, vectors
from console.dupes import candidates as cands
from console.ingest import ensure_source
from tests.backends import pytest_generate_tests
from tests.dupes.conftest import asked, seed, store_asked

__all__ = ["pytest_generate_tests"]

pytestmark = pytest.mark.backends


@pytest.fixture
def ids(cache: Cache) -> dict[str, int]:
    ann.forget()
    return seed(cache)  # upsert_threads, then embed_threads: what a sync page does


def _add(cache: Cache, remote: str, title: str, body: str, created: str) -> int:
    source = ensure_source(cache, "discourse", "forum")
    return store_asked(cache, source, [asked(remote, title, body, created)])[remote]


def test_planted_duplicates_are_proposed_first_on_both_backends(
    cache: Cache, ids: dict[str, int]
) -> None:
    assert cands.update_candidates(cache, [ids["d1"], ids["d2"]]) >= 2
    first = cands.candidates(cache, ids["d1"])
    assert first[0].original_id == ids["o1"]
    assert first[0].score >= cands.STRONG_SCORE
    assert first[0].method == cands.METHOD  # words and meaning: the vectors were found
    assert "esim" in first[0].explanation and "original is solved" in first[0].explanation
    assert cands.candidates(cache, ids["d2"])[0].original_id == ids["o2"]
    # originals are older than the thread: o1 gets no candidate among later threads
    cands.update_candidates(cache, [ids["o1"]])
    assert all(c.original_id != ids["d1"] for c in cands.candidates(cache, ids["o1"]))


def test_word_counts_are_a_real_table_and_follow_new_threads(
    cache: Cache, ids: dict[str, int]
) -> None:
    assert cands.refresh_terms(cache, force=True)
    snapshot = dict(cache.query("SELECT term, df FROM dupe_terms WHERE term IN ('esim', 'pac')"))
    assert snapshot == {"esim": 2, "pac": 2}  # o1, d1 / o2, d2: title and question together
    stats = cands.VocabStats(cache.conn)
    assert stats.df("voicemail") == 1
    _add(cache, "v2", "Voicemail greeting", "Voicemail greeting gone", "2026-03-02T10:00:00Z")
    # the snapshot is not retaken for one thread; rare words are counted live from the index
    assert cands.VocabStats(cache.conn).live_df(["voicemail", "nosuchword"]) == {
        "voicemail": 2,
        "nosuchword": 0,
    }


def test_lexical_recall_is_ranked_and_bounded(cache: Cache, ids: dict[str, int]) -> None:
    row = cache.one(
        "SELECT id, source_id, title, created_at FROM threads WHERE id = ?", (ids["d1"],)
    )
    hits = cands.lexical_recall(cache, row, ["esim", "iphone", "4012"])
    assert sorted(hits) == sorted([ids["o1"], ids["d1"]])  # only threads holding a word
    assert cands.lexical_recall(cache, row, []) in ([], [ids["o1"]])  # no words: titles only
    hits = cands.lexical_recall(cache, row, ["pac"])
    assert set(hits) >= {ids["o2"], ids["d2"]}


def test_a_typo_ridden_title_is_recalled_by_trigrams_on_postgresql(
    cache: Cache, ids: dict[str, int], backend: str
) -> None:
    new = _add(
        cache,
        "t1",
        "Voicemial not workng aftr th update",
        "Help plz, nothing I try fixes it.",
        "2026-03-03T10:00:00Z",
    )
    row = cache.one("SELECT id, source_id, title, created_at FROM threads WHERE id = ?", (new,))
    hits = cands.lexical_recall(cache, row, [])
    if backend == "postgresql":
        assert hits == [ids["o4"]]  # pg_trgm: the one older title alike enough
    else:
        assert hits == []  # the cache compares titles only in the scorer, after recall
        return
    pool = cands.scored_pool(cache, new, semantic=False)
    assert ids["o4"] in {p.original_id for p in pool}


def test_vectors_live_in_the_database_and_recall_follows_them(
    cache: Cache, ids: dict[str, int], backend: str, tmp_path: Path
) -> None:
    stored = cache.query("SELECT thread_id, seq FROM thread_vectors ORDER BY seq")
    assert len(stored) == len(ids)
    assert len({r[1] for r in stored}) == len(ids)  # one number each, in storage order
    assert int(cache.meta("vector_seq") or 0) == max(r[1] for r in stored)
    new = _add(
        cache,
        "m1",
        "Cannot get phone service to connect abroad",
        "In Paris my mobile shows no network, only emergency calls.",
        "2026-03-04T10:00:00Z",
    )
    cands.update_candidates(cache, [new])
    row = cache.one("SELECT seq FROM thread_vectors WHERE thread_id = ?", (new,))
    assert row is not None and row[0] == int(cache.meta("vector_seq") or 0)
    near = vectors.neighbours(
        cache,
        vectors.vectors_of(cache, [new])[new][0],
        int(cache.one("SELECT source_id FROM threads WHERE id = ?", (new,))[0]),
        limit=3,
        exclude=new,
    )
    assert len(near) == 3 and all(tid in ids.values() for tid, _ in near)
    if backend == "postgresql":
        # nothing beside a team database: no graph file, no saved-graph record
        assert not ann.extend(cache, 1, force=True)
        assert ann.Saved.read(cache, 1) is None
        assert not list(Path.cwd().glob("*.ann")) and not list(tmp_path.glob("*.ann"))


def test_hostile_threads_get_candidates_without_errors(cache: Cache, ids: dict[str, int]) -> None:
    source = ensure_source(cache, "discourse", "forum")
    texts = {
        "h-empty": ("", ""),
        "h-huge": ("eSIM stuck " * 20, "eSIM activation iPhone stuck " * 7000),
        "h-cjk": ("携帯の料金が高い", '料金 "quoted" OR NEAR( * ^ \' \\ :* & | !'),
        "h-rich": ("[bold]eSIM[/bold] stuck [link=x]", "[red]iPhone 15[/] activating"),
    }
    new = store_asked(
        cache, source, [asked(k, t, b, "2026-04-01T10:00:00Z") for k, (t, b) in texts.items()]
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
    assert cands.find_candidates(cache, new["h-cjk"]) is not None
    nul = _add(cache, "h-nul", "eSIM\0 stuck", "eSIM\0activation iPhone", "2026-04-02T10:00:00Z")
    cands.update_candidates(cache, [nul])
    assert ids["o1"] in {c.original_id for c in cands.candidates(cache, nul, weaker=True)}


def test_rebuild_index_restores_recall(cache: Cache, ids: dict[str, int]) -> None:
    cache.conn.execute("DELETE FROM thread_fts")
    assert cands.find_candidates(cache, ids["d1"], semantic=False) == []
    assert cands.rebuild_index(cache) == len(ids)
    assert cands.find_candidates(cache, ids["d1"])[0][0] == ids["o1"]
