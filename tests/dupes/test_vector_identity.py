"""What a stored vector is (`embed.VECTORS`): a cache names it, vectors of two identities are
never stored side by side, and a cache of an older identity is moved to today's re-embedding
only what differs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from console.db import Cache
from console.dupes import catch_up, embed, vector_names, vectors
from tests.backends import pytest_generate_tests
from tests.dupes.test_semantic import add_threads, encoder

__all__ = ["encoder", "pytest_generate_tests"]

LONG = "My phone drops every call after ten seconds when I am on the train to work. " * 30
ROWS = [
    ("s1", "Voicemail not working", "Voicemail does not pick up since the update.", "open"),
    ("s2", "Roaming in France", "Charged for roaming data in France.", "open"),
    ("l1", "Calls drop on the train", LONG, "open"),
]


def _vectors(cache: Cache) -> dict[int, tuple[bytes, int]]:
    return {
        int(r[0]): (bytes(r[1]), int(r[2]))
        for r in cache.query("SELECT thread_id, vec, seq FROM thread_vectors")
    }


def _make_legacy(cache: Cache, ids: list[int], encoder: embed.Encoder) -> None:
    """The cache as an older peerdesk left it: 128 word pieces, no name in the meta."""
    with cache.transaction() as conn:
        conn.execute("DELETE FROM thread_vectors")
        cache.set_meta(vectors.MODEL_KEY, vector_names.LEGACY_VECTORS)
    rows = vectors._texts(cache, ids)
    texts = [embed.thread_text(r["title"], r["body"]) for r in rows]
    made = embed.to_int8(encoder.encode(texts, limit=vector_names.LEGACY_TOKENS))
    assert vectors.store(
        cache,
        [
            (r["id"], r["source_id"], r["created_at"], "en", vectors._crc(t))
            for r, t in zip(rows, texts, strict=True)
        ],
        made,
        vector_names.LEGACY_VECTORS,
    )
    with cache.transaction() as conn:  # an older peerdesk wrote no name
        conn.execute("DELETE FROM meta WHERE key = ?", (vectors.MODEL_KEY,))


def test_the_limit_is_the_models_own_and_a_cut_equals_the_tokenizers(
    encoder: embed.Encoder,
) -> None:
    from tokenizers import Tokenizer

    assert embed.MAX_TOKENS == 256 and vector_names.LEGACY_TOKENS == 128
    folder = embed.model_dir()
    assert folder is not None
    old = Tokenizer.from_file(str(folder / "tokenizer.json"))
    old.enable_truncation(128)
    old.no_padding()
    pieces = encoder.tokenizer.encode(LONG).ids
    assert len(pieces) == 256 and len(old.encode(LONG).ids) == 128
    assert encoder.encode([LONG], limit=128)[0].tobytes() != encoder.encode([LONG])[0].tobytes()
    short = "Voicemail not working"
    assert encoder.encode([short], limit=128)[0].tobytes() == encoder.encode([short])[0].tobytes()
    assert embed.reaching(encoder.tokenizer, [short, LONG], 128) == [False, True]


def test_what_differs_between_identities() -> None:
    assert embed.differ_from(embed.VECTORS) is None
    assert embed.differ_from(vector_names.LEGACY_VECTORS) == 128
    assert embed.differ_from("other-model/fp32/float/256") == 0


@pytest.mark.backends
def test_a_new_cache_names_todays_vectors(cache: Cache, encoder: embed.Encoder) -> None:
    assert vectors.identity(cache) == embed.VECTORS  # no vector yet
    ids = add_threads(cache, ROWS)
    vectors.embed_threads(cache, ids.values())
    assert cache.meta(vectors.MODEL_KEY) == embed.VECTORS
    assert not vector_names.stale(cache) and vectors.stale_note(cache) is None


@pytest.mark.backends
def test_a_legacy_cache_keeps_its_identity_until_moved_then_only_long_texts_are_redone(
    cache: Cache, encoder: embed.Encoder
) -> None:
    ids = add_threads(cache, ROWS)
    _make_legacy(cache, list(ids.values()), encoder)
    assert vectors.identity(cache) == vector_names.LEGACY_VECTORS and vector_names.stale(cache)
    assert "--catch-up" in (vectors.stale_note(cache) or "")
    assert catch_up.pending(cache)  # `make demo`'s background step starts
    before = _vectors(cache)
    # a new thread stored before the move is embedded as the cache's vectors were
    more = add_threads(
        cache, [("l2", "Calls drop on the bus", LONG.replace("train", "bus"), "open")], start=5
    )
    vectors.embed_threads(cache, more.values())
    l2 = _vectors(cache)[more["l2"]][0]
    assert (
        l2
        == embed.to_int8(
            encoder.encode(
                [embed.thread_text("Calls drop on the bus", LONG.replace("train", "bus"))],
                limit=128,
            )
        )[0].tobytes()
    )
    assert vectors.identity(cache) == vector_names.LEGACY_VECTORS
    # the move: only the long texts are embedded again, the short ones keep their rows
    embedded, left = vectors.embed_missing(cache)
    assert (embedded, left) == (2, 0)
    after = _vectors(cache)
    assert vectors.identity(cache) == embed.VECTORS and not catch_up.pending(cache)
    for key in ("s1", "s2"):
        assert after[ids[key]] == before[ids[key]]  # same bytes, same seq: not redone
    for tid in (ids["l1"], more["l2"]):
        rows = vectors._texts(cache, [tid])
        text = embed.thread_text(rows[0]["title"], rows[0]["body"])
        assert after[tid][0] == embed.to_int8(encoder.encode([text]))[0].tobytes()
    assert vectors.redo_stale(cache) == 0  # nothing left


@pytest.mark.backends
def test_vectors_made_as_an_identity_the_cache_left_are_refused(
    cache: Cache, encoder: embed.Encoder
) -> None:
    ids = add_threads(cache, ROWS)
    vectors.embed_threads(cache, [ids["s1"]])
    row = (ids["s2"], 1, "2026-01-02T10:00:00Z", "en", 1)
    made = embed.to_int8(encoder.encode(["Roaming in France"], limit=128))
    assert not vectors.store(cache, [row], made, vector_names.LEGACY_VECTORS)
    assert ids["s2"] not in _vectors(cache)
    # the benchmarks' stand-in vectors (not the model's) are stored whatever the identity
    assert vectors.store(cache, [row], made)
    assert ids["s2"] in _vectors(cache) and cache.meta(vectors.MODEL_KEY) == embed.VECTORS


@pytest.mark.backends
def test_another_model_drops_every_vector_and_embeds_all_again(
    cache: Cache, encoder: embed.Encoder
) -> None:
    ids = add_threads(cache, ROWS)
    vectors.embed_threads(cache, ids.values())
    with cache.transaction():
        cache.set_meta(vectors.MODEL_KEY, "another-model/fp32/float/256")
        cache.set_meta("ann:1", '{"file": "gone.usearch", "seq": 3, "count": 3}')
    assert vector_names.stale(cache)
    assert vectors.redo_stale(cache) == 3
    assert cache.meta(vectors.MODEL_KEY) == embed.VECTORS and cache.meta("ann:1") is None
    assert set(_vectors(cache)) == set(ids.values())


@pytest.mark.backends
def test_the_catch_up_says_it_moves_the_vectors(
    cache: Cache,
    encoder: embed.Encoder,
    capsys: pytest.CaptureFixture[str],
    grant_roles: Callable[[dict[str, list[str]]], object],
) -> None:
    from console.cli import main
    from tests.backends import location

    grant_roles({"alice": ["moderator"]})
    ids = add_threads(cache, ROWS)
    _make_legacy(cache, list(ids.values()), encoder)
    assert main(["--db", location(cache, cache.path), "dupes", "--catch-up"]) == 0
    err = capsys.readouterr().err
    assert f"the stored sentence vectors are {vector_names.LEGACY_VECTORS}" in err
    assert "re-embedding those that differ" in err
    assert not vector_names.stale(cache)
