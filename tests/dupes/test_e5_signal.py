"""e5 as the third ranking signal: each thread's e5 vector is stored beside its MiniLM one, a
pool is ranked by three equal z-scores, a cache from before e5 catches up, and without e5 the
ranking is what it was (words and MiniLM)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from console.db import Cache
from console.dupes import candidates as cands
from console.dupes import catch_up, e5, e5_vectors, fusion, vector_names, vectors
from tests.backends import pytest_generate_tests
from tests.dupes.test_semantic import add_threads, community

__all__ = ["pytest_generate_tests"]

NEW = [
    (
        "o",
        "eSIM stuck on activating",
        "My eSIM has said activating for two days, code E-4012.",
        "open",
    ),
    ("r", "Roaming charges in Spain", "I was charged for data in Spain on an EU plan.", "open"),
]
LATER = [
    ("d", "eSIM will not activate", "Stuck on 'activating' since Monday, error E-4012.", "open")
]


@pytest.fixture
def loaded() -> e5.E5Encoder:
    found = e5.load_e5()
    if found is None:
        pytest.fail(f"e5 must load offline in tests: {e5.unavailable_reason()}")
    return found


@pytest.fixture
def without_e5(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process where e5 does not load (its package missing, say)."""
    monkeypatch.setattr(e5, "load_e5", lambda *, bulk=False: None)
    monkeypatch.setattr(vector_names, "e5_may_load", lambda: False)
    yield


def _e5_rows(cache: Cache) -> dict[int, int]:
    return {
        int(r[0]): int(r[1])
        for r in cache.query("SELECT thread_id, text_crc FROM thread_vectors_e5")
    }


def _methods(cache: Cache, thread_id: int) -> set[str]:
    return {
        str(r[0])
        for r in cache.query(
            "SELECT method FROM duplicate_links WHERE thread_id = ? AND decision = 'pending'",
            (thread_id,),
        )
    }


@pytest.mark.backends
def test_embedding_a_thread_stores_its_e5_vector_once(cache: Cache, loaded: e5.E5Encoder) -> None:
    ids = community(cache, NEW)
    assert vectors.embed_threads(cache, ids.values()) == len(ids)
    stored = _e5_rows(cache)
    texts = {tid: crc for tid, _, crc in vectors.text_rows(cache, list(ids.values()))}
    assert stored == texts  # every thread, keyed by the same text CRC as its MiniLM vector
    assert cache.meta(e5_vectors.MODEL_KEY) == e5.VECTORS
    assert e5_vectors.embed_threads(cache, ids.values()) == 0  # unchanged texts: nothing redone
    mine = e5_vectors.vectors_of(cache, [ids["o"]])[ids["o"]]
    fresh = e5.load_e5()
    assert fresh is not None
    text = next(t for tid, t, _ in vectors.text_rows(cache, [ids["o"]]) if tid == ids["o"])
    assert mine.tobytes() == vectors.embed.to_int8(fresh.encode([text]))[0].tobytes()


@pytest.mark.backends
def test_a_pool_is_ranked_by_words_minilm_and_e5_with_equal_weights(
    cache: Cache, loaded: e5.E5Encoder
) -> None:
    ids = community(cache, NEW)
    ids.update(add_threads(cache, LATER, start=20))
    cands.update_candidates(cache, list(ids.values()))
    pool = cands.scored_pool(cache, ids["d"])
    assert pool and all(i.e5 is not None and i.cosine is not None for i in pool)
    lexical = [i.lexical for i in pool]
    cosines = [i.cosine or 0.0 for i in pool]
    second = [i.e5 or 0.0 for i in pool]
    assert [i.fused for i in pool] == pytest.approx(fusion.fuse(lexical, cosines, second))
    assert [i.fused for i in pool] != pytest.approx(fusion.fuse(lexical, cosines))
    best = max(pool, key=lambda i: i.probability)
    assert best.original_id == ids["o"]
    assert best.probability == fusion.logistic(
        fusion.E5_MODEL, (best.lexical, best.cosine, best.e5, best.fused)
    )
    assert _methods(cache, ids["d"]) == {cands.METHOD}


@pytest.mark.backends
def test_without_e5_the_pool_is_ranked_as_before(cache: Cache, without_e5: None) -> None:
    ids = community(cache, NEW)
    ids.update(add_threads(cache, LATER, start=20))
    cands.update_candidates(cache, list(ids.values()))
    assert not _e5_rows(cache)
    pool = cands.scored_pool(cache, ids["d"])
    assert pool and all(i.e5 is None for i in pool)
    lexical, cosines = [i.lexical for i in pool], [i.cosine or 0.0 for i in pool]
    assert [i.fused for i in pool] == pytest.approx(fusion.fuse(lexical, cosines))
    assert _methods(cache, ids["d"]) == {cands.MINILM_METHOD}


@pytest.mark.backends
def test_a_cache_from_before_e5_catches_up(
    cache: Cache, monkeypatch: pytest.MonkeyPatch, loaded: e5.E5Encoder
) -> None:
    with monkeypatch.context() as before:
        before.setattr(e5, "load_e5", lambda *, bulk=False: None)
        before.setattr(vector_names, "e5_may_load", lambda: False)
        ids = community(cache, NEW)
        ids.update(add_threads(cache, LATER, start=20))
        cands.update_candidates(cache, list(ids.values()))
        assert _methods(cache, ids["d"]) == {cands.MINILM_METHOD}
        assert not catch_up.pending(cache)  # without e5 there is nothing to catch up on
    assert catch_up.pending(cache)
    done = catch_up.catch_up(cache)
    assert done.skipped is None and done.refreshed >= 1
    assert set(_e5_rows(cache)) == {
        int(r[0]) for r in cache.query("SELECT thread_id FROM thread_vectors")
    }
    assert _methods(cache, ids["d"]) == {cands.METHOD}
    assert not catch_up.pending(cache)


@pytest.mark.backends
def test_e5_vectors_of_another_identity_are_never_compared(
    cache: Cache, loaded: e5.E5Encoder
) -> None:
    ids = community(cache, NEW)
    vectors.embed_threads(cache, ids.values())
    with cache.transaction():
        cache.set_meta(e5_vectors.MODEL_KEY, "another-e5/fp32/512")
    assert e5_vectors.vectors_of(cache, list(ids.values())) == {}
    assert vector_names.e5_missing_any(cache)
    assert e5_vectors.embed_missing(cache) == len(ids)
    assert cache.meta(e5_vectors.MODEL_KEY) == e5.VECTORS
    assert set(e5_vectors.vectors_of(cache, list(ids.values()))) == set(ids.values())


@pytest.mark.backends
def test_a_removed_thread_takes_its_e5_vector_with_it(cache: Cache, loaded: e5.E5Encoder) -> None:
    ids = community(cache, NEW)
    vectors.embed_threads(cache, ids.values())
    with cache.transaction() as conn:
        conn.execute("DELETE FROM threads WHERE id = ?", (ids["r"],))
    assert ids["r"] not in _e5_rows(cache) and ids["o"] in _e5_rows(cache)


def test_the_e5_name_read_without_numpy_is_the_models() -> None:
    assert (
        f"{e5.MODEL_NAME}/{e5.PACKAGE}-{e5.WEIGHTS_VERSION}/query/int8-per-channel/x127/"
        f"{e5.MAX_TOKENS}"
    ) == vector_names.E5_VECTORS
    assert vector_names.E5_PACKAGE == e5.PACKAGE and vector_names.e5_may_load()


def test_the_dupes_command_says_in_one_line_when_e5_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from console.cli import dupes_cmd

    monkeypatch.setattr(e5, "load_e5", lambda *, bulk=False: None)
    monkeypatch.setattr(e5, "unavailable_reason", lambda: "e5 vectors unavailable: a test")
    dupes_cmd._note_lexical(argparse.Namespace(json=False))
    assert capsys.readouterr().err == (
        "note: e5 vectors unavailable: a test; ranking by words and MiniLM\n"
    )
    dupes_cmd._note_lexical(argparse.Namespace(json=True))  # JSON output stays machine-readable
    assert capsys.readouterr().err == ""


@pytest.mark.backends
def test_a_pool_meeting_a_thread_without_its_e5_vector_waits_for_the_catch_up(
    cache: Cache, loaded: e5.E5Encoder
) -> None:
    """Embedding every candidate a pool lacks would cost ~19 ms each during a sync page (a
    cache from before e5 has none); the pool is ranked as before e5 and the catch-up redoes it."""
    ids = community(cache, NEW)
    ids.update(add_threads(cache, LATER, start=20))
    vectors.embed_threads(cache, ids.values())
    with cache.transaction() as conn:
        conn.execute("DELETE FROM thread_vectors_e5 WHERE thread_id = ?", (ids["o"],))
    cands.update_candidates(cache, [ids["d"]])
    assert ids["o"] not in _e5_rows(cache)  # not embedded by the search
    assert _methods(cache, ids["d"]) == {cands.MINILM_METHOD}
    pool = cands.scored_pool(cache, ids["d"])
    assert all(i.e5 is None for i in pool)
    assert catch_up.pending(cache)
    catch_up.catch_up(cache)
    assert ids["o"] in _e5_rows(cache) and _methods(cache, ids["d"]) == {cands.METHOD}
