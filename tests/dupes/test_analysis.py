"""Stored analyses (console.dupes.analysis): read back exactly as analysed, scored exactly as
from text, never stale."""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.db import Cache
from console.dupes import analysis
from console.dupes import candidates as cands
from console.dupes.scorer import (
    Analyzed,
    CountStats,
    Doc,
    Idf,
    Pool,
    analyze,
    chars,
    pool_scores,
    score,
    stem_code,
)
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord
from tests.backends import pytest_generate_tests, store_copied_from
from tests.conftest import BuiltOnce, demo_file

__all__ = ["pytest_generate_tests"]

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"

HOSTILE = [
    Doc("a b c e x", "1 2 3 a e i o u " * 5),  # one-letter words: 3-character n-grams
    Doc("Ça ne marche pas: l'écran reste noir", "Résumé: naïve café, Ærø, ß straße"),
    Doc("Телефон не включается", "После обновления телефон не включается. Что делать?"),
    Doc("手机无法开机", "更新后手机无法开机，怎么办？"),
    Doc("Emoji 📱📱 broken 🤷‍♀️", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 letters 𝔞𝔫𝔡 😀 faces"),
    Doc(
        "Error E-4012 `adb devices` fails",
        "ValueError: bad thing\nerrno EACCES see https://x.example/a?b=1.",
    ),
    Doc("[bold]markup[/bold] [link=x]here[/link]", "\x1b[31mred\x1b[0m and NUL \x00 inside"),
    Doc("", ""),
    Doc("word " * 400, "long " * 20_000),  # counts past 255, text past MAX_CHARS
    Doc("pipe|in|title", "a|b || c"),
]


def _texts() -> list[Doc]:
    """Hostile texts, and the recorded platform posts when ../shared is there."""
    docs = list(HOSTILE)
    if FIXTURES.is_dir():
        for path in sorted(FIXTURES.rglob("*.json"))[:40]:
            text = path.read_text(encoding="utf-8", errors="replace")
            docs.append(Doc(path.stem, text[:8000]))
    return docs


def _same(a: object, b: object) -> None:
    assert dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b)
    for f in dataclasses.fields(a):
        if f.name in ("doc", "memo", "gram_codes", "gram_weights"):
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x == y, f.name
        if isinstance(x, dict):  # the order too: sums over them run in it
            assert list(x) == list(y), f.name
    assert a.gram_codes.tobytes() == b.gram_codes.tobytes()  # type: ignore[attr-defined]
    assert a.gram_weights.tobytes() == b.gram_weights.tobytes()  # type: ignore[attr-defined]


@pytest.mark.parametrize("doc", _texts(), ids=lambda d: d.title[:20] or "empty")
def test_stored_analysis_reads_back_as_the_analysis_of_the_text(doc: Doc) -> None:
    analysed = analyze(doc)
    back = analysis.decode(analysis.encode(analysed), Doc(doc.title, "", doc.tags, doc.solved))
    _same(back, analysed)


def test_scores_from_stored_analyses_equal_scores_from_text() -> None:
    docs = _texts()
    stats = CountStats.from_texts(f"{d.title} {d.body}" for d in docs)
    idf = Idf(stats)
    for new in docs:
        query = analyze(new)
        for other in docs:
            from_text = score(query, analyze(other), idf)
            blob = analysis.encode(analyze(other))
            assert score(query, analysis.decode(blob, other), idf) == from_text
            lean = analysis.decode(blob, other, complete=False)  # as candidates are read
            assert score(query, lean, idf) == from_text


@pytest.fixture(scope="module")
def demo_150(tmp_path_factory: pytest.TempPathFactory, built_once: BuiltOnce) -> Path:
    """A 150-thread demo without embeddings, built once per run (test_catch_up's too)."""
    path = tmp_path_factory.mktemp("analysis") / "demo.sqlite3"
    return demo_file(built_once, path, 150, embeddings=False)


@pytest.fixture
def demo(
    demo_150: Path, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Cache]:
    """The test's own copy of the demo: a cache file, or a team database (alice) copied from it
    (the analyses, the full-text rows and the candidates are read and written by the engine's
    SQL: bytea and tsvector tables on PostgreSQL)."""
    with store_copied_from(
        demo_150, "analysis-demo", backend, tmp_path / "demo.sqlite3", request
    ) as store:
        yield store


@pytest.mark.backends
def test_candidates_from_stored_analyses_equal_candidates_from_text(demo: Cache) -> None:
    threads = cands.open_thread_ids(demo)[-60:]
    with demo.transaction() as conn:
        conn.execute("DELETE FROM thread_analysis")
    cands.forget_analysed()
    stats = cands.VocabStats(demo.conn)
    from_text = {}
    for t in threads:
        timing = cands.Timing()
        from_text[t] = cands.find_candidates(demo, t, stats=stats, timing=timing, semantic=False)
        assert timing.from_text == timing.recalled
    assert sum(bool(r) for r in from_text.values()) > 30
    assert analysis.backfill(demo) == demo.one("SELECT count(*) FROM threads")[0]
    cands.forget_analysed()
    for t in threads:
        timing = cands.Timing()
        found = cands.find_candidates(demo, t, stats=stats, timing=timing, semantic=False)
        assert timing.from_text == 0
        assert found == from_text[t]  # ids, probabilities and explanations, exactly


@pytest.mark.backends
def test_update_candidates_keeps_the_analyses_it_made(demo: Cache) -> None:
    with demo.transaction() as conn:
        conn.execute("DELETE FROM thread_analysis")
    thread = cands.open_thread_ids(demo)[-1]
    cands.update_candidates(demo, [thread], semantic=False)
    kept = analysis.load(demo, [r[0] for r in demo.query("SELECT id FROM threads")])
    assert thread in kept  # the thread's own, and those of its recalled candidates
    timing = cands.Timing()
    cands.find_candidates(demo, thread, timing=timing, semantic=False)
    assert timing.recalled and timing.from_text == 0
    title, body = demo.one("SELECT title, body FROM thread_fts WHERE rowid = ?", (thread,))  # type: ignore[misc]
    _same(analysis.decode(kept[thread], Doc(title)), analyze(Doc(title, body)))


@pytest.mark.backends
def test_a_rewritten_thread_loses_its_stale_analysis(demo: Cache) -> None:
    source = ensure_source(demo, "demo", "demo")
    row = demo.one(
        "SELECT id, remote_id, created_at FROM threads WHERE source_id = ? ORDER BY id DESC",
        (source,),
    )
    assert row is not None
    analysis.backfill(demo)
    assert analysis.stored_ids(demo, [row[0]]) == {row[0]}
    thread = ThreadRecord(
        row[1], "Completely new title about a broken router", None, "open", row[2], row[2]
    )
    post = PostRecord(
        f"{row[1]}-edited",
        row[1],
        None,
        0,
        "The router light blinks red.",
        "The router light blinks red.",
        row[2],
    )
    upsert_threads(demo, source, [thread], [post])
    assert analysis.stored_ids(demo, [row[0]]) == set()
    cands.update_candidates(demo, [row[0]], semantic=False)
    kept = analysis.load(demo, [row[0]])[row[0]]
    fresh = analysis.decode(kept, Doc(thread.title))
    assert "router" in fresh.terms and fresh.title_terms["router"] == 1
    assert json.loads(json.dumps(sorted(fresh.terms))) == sorted(fresh.terms)


def _resync(
    demo: Cache, thread_id: int, *, title: str | None = None, body: str | None = None
) -> None:
    """The thread and its question written again as a sync re-reads them (`title`/`body`
    changed when given), so ingest rewrites its full-text row."""
    t = demo.one(
        "SELECT source_id, remote_id, title, status, created_at, last_activity_at FROM threads "
        "WHERE id = ?",
        (thread_id,),
    )
    p = demo.one(
        "SELECT remote_id, body_text, body_raw, created_at FROM posts "
        "WHERE thread_id = ? AND position = 0 ORDER BY id LIMIT 1",
        (thread_id,),
    )
    assert t is not None and p is not None
    thread = ThreadRecord(t[1], title or t[2], None, t[3], t[4], t[5])
    text = body or p[1]
    post = PostRecord(p[0], t[1], None, 0, text, text if body else p[2], p[3])
    upsert_threads(demo, t[0], [thread], [post])


@pytest.mark.backends
def test_a_resynced_thread_with_the_same_text_keeps_its_analysis(demo: Cache) -> None:
    ids = [r[0] for r in demo.query("SELECT id FROM threads ORDER BY id DESC LIMIT 4")]
    analysis.backfill(demo)
    before = analysis.load(demo, ids)
    assert set(before) == set(ids)
    same, new_body, new_title, legacy = ids
    with demo.transaction() as conn:  # a row stored before the text's CRC was kept
        conn.execute("UPDATE thread_analysis SET text_crc = NULL WHERE thread_id = ?", (legacy,))
    fts_before = demo.one("SELECT title, body FROM thread_fts WHERE rowid = ?", (same,))
    for thread_id in ids:
        _resync(demo, thread_id)  # the rotating re-check: nothing changed
    _resync(demo, new_body, body="The router light blinks red since the storm.")
    _resync(demo, new_title, title="Completely new title about a broken router")
    after = analysis.load(demo, ids)
    assert set(after) == {same}  # the others' text changed, or their row could not tell
    assert after[same] == before[same]
    assert demo.one("SELECT title, body FROM thread_fts WHERE rowid = ?", (same,)) == fts_before
    cands.update_candidates(demo, ids, semantic=False)  # redone from the new text
    redone = analysis.load(demo, ids)
    assert set(redone) == set(ids) and redone[same] == before[same]
    body = demo.one("SELECT body FROM thread_fts WHERE rowid = ?", (new_body,))[0]  # type: ignore[index]
    assert "storm" in body
    _same(
        analysis.decode(redone[new_body], Doc("")),
        analyze(
            Doc(
                demo.one("SELECT title FROM threads WHERE id = ?", (new_body,))[0],
                body,  # type: ignore[index]
            )
        ),
    )
    analysis.forget(demo.conn, ids)  # the text is as analysed: nothing to drop
    assert set(analysis.load(demo, ids)) == set(ids)


def test_a_pool_scored_without_explanations_scores_the_same() -> None:
    docs = _texts()
    stats = CountStats.from_texts(f"{d.title} {d.body}" for d in docs)
    idf = Idf(stats)
    for new in docs:
        query = analyze(new)
        for other in docs:
            cand = analysis.decode(analysis.encode(analyze(other)), other, complete=False)
            full = score(query, cand, idf)
            bare = score(query, cand, idf, explain=False)
            assert bare.score == full.score and bare.explanation == ""
            assert {k: full.signals[k] for k in bare.signals} == bare.signals


@pytest.mark.backends
def test_candidates_kept_are_the_best_undecided_proposals_explained(demo: Cache) -> None:
    """What is stored: the best KEEP undecided pairs; those at PROPOSE or more with their
    explanation, the weaker ones with none, which `explain` then writes as the pool did."""
    threads = cands.open_thread_ids(demo)[-40:]
    stats = cands.VocabStats(demo.conn)
    checked = weaker = 0
    for t in threads:
        every = cands.find_candidates(demo, t, stats=stats, semantic=False)
        if len(every) < 2:
            continue
        decided = every[0][0]  # a moderator rejected the best one
        with demo.transaction() as conn:
            conn.execute(
                "INSERT INTO duplicate_links (thread_id, original_id, score, method, explanation, "
                "decision, created_at) VALUES (?, ?, 0.9, 'fts5+rerank', '', 'rejected', "
                "'2026-11-20T12:00:00Z') ON CONFLICT (thread_id, original_id) DO UPDATE SET "
                "decision = 'rejected'",
                (t, decided),
            )
        kept = cands.find_candidates(demo, t, stats=stats, semantic=False, keep=cands.KEEP)
        expected = [r for r in every if r[1] >= cands.MIN_SCORE and r[0] != decided]
        assert [r[:2] for r in kept] == [r[:2] for r in expected[: cands.KEEP]]
        for (original, chance, why), (_, _, full) in zip(kept, expected, strict=False):
            assert full and why == (full if chance >= cands.PROPOSE else "")
            assert cands.explain(demo, t, original, semantic=False) == full
            weaker += chance < cands.PROPOSE
        checked += 1
    assert checked > 10 and weaker > 10  # (proposals: test_candidates)


def test_a_pool_scored_in_one_pass_scores_as_one_by_one() -> None:
    """`scorer.pool_scores` (BM25 for the whole pool in numpy, candidates read from their stored
    analysis or made from text) gives `score(...).score` of each pair, bit for bit."""
    docs = _texts()
    stats = CountStats.from_texts(f"{d.title} {d.body}" for d in docs)
    idf = Idf(stats)
    stored = [analysis.piece(analysis.encode(analyze(d)), d) for d in docs]
    made = [analyze(d).piece() for d in docs]
    for new in docs:
        query = analyze(new)
        one_by_one = [score(query, analyze(other), idf).score for other in docs]
        for pieces in (stored, made):
            pool = Pool(pieces)
            assert pool_scores(query, pool, idf, chars(query, pool)) == one_by_one
        # a pool of one, and the pool in another order, score each candidate the same
        alone = Pool(stored[:1])
        assert pool_scores(query, alone, idf, chars(query, alone)) == one_by_one[:1]
        backwards = Pool(stored[::-1])
        assert pool_scores(query, backwards, idf, chars(query, backwards)) == one_by_one[::-1]


def test_a_pool_holds_the_numbers_of_its_analyses() -> None:
    docs = _texts()
    made = [analyze(d) for d in docs]
    pool = Pool([analysis.piece(analysis.encode(a), d) for a, d in zip(made, docs, strict=True)])
    assert pool.term_codes.tolist() == [stem_code(s) for a in made for s in a.terms]
    assert pool.term_counts.tolist() == [c for a in made for c in a.terms.values()]
    assert pool.lengths.tolist() == [a.length for a in made]
    assert pool.gram_codes.tobytes() == b"".join(a.gram_codes.tobytes() for a in made)
    assert pool.gram_weights.tobytes() == b"".join(a.gram_weights.tobytes() for a in made)
    assert pool.grams_norm == [a.grams_norm for a in made]
    assert pool.details == [a.details for a in made]


def _version_1(a: Analyzed) -> bytes:
    """A row as version 1 stored it (lines of text only): the format caches analysed before
    version 2 still hold."""
    stems = list(a.terms)
    in_body = [s for s in stems if s in a.body_terms]
    order = ""
    if list(a.body_terms) != in_body:
        position = {s: i for i, s in enumerate(stems)}
        order = " ".join(str(position[s]) for s in a.body_terms)
    details = ""
    if any(a.details.values()):
        details = json.dumps({k: sorted(v) for k, v in a.details.items()}, ensure_ascii=False)
    forms = ["" if a.forms[s] == (a.raw[s],) else ",".join(a.forms[s]) for s in stems]
    lines = [
        " ".join(stems),
        " ".join(str(a.title_terms.get(s, 0)) for s in stems),
        " ".join(str(a.body_terms.get(s, 0)) for s in stems),
        " ".join(a.raw[s] for s in stems),
        " ".join(forms),
        a.title_norm,
        a.grams,
        " ".join(map(str, a.gram_counts)),
        repr(a.grams_norm),
        details,
        order,
    ]
    return zlib.compress("\n".join(lines).encode("utf-8"), 1)


def test_rows_of_version_1_are_still_read_and_score_the_same(demo: Cache) -> None:
    """A cache analysed before version 2 keeps using its rows (no candidate is analysed from
    text again) and gets the same candidates; `backfill` redoes them as version 2."""
    threads = cands.open_thread_ids(demo)[-40:]
    stats = cands.VocabStats(demo.conn)
    cands.forget_analysed()
    before = {t: cands.find_candidates(demo, t, stats=stats, semantic=False) for t in threads}
    rows = demo.query(
        "SELECT t.id, t.title, f.body FROM threads t JOIN thread_fts f ON f.rowid = t.id"
    )
    with demo.transaction() as conn:
        conn.executemany(
            "UPDATE thread_analysis SET version = 1, data = ? WHERE thread_id = ?",
            [(_version_1(analyze(Doc(r[1], r[2] or ""))), r[0]) for r in rows],
        )
    cands.forget_analysed()
    for t in threads:
        timing = cands.Timing()
        assert (
            cands.find_candidates(demo, t, stats=stats, timing=timing, semantic=False) == before[t]
        )
        assert timing.from_text == 0
    assert analysis.load(demo, [r[0] for r in rows]) == {}  # not of this version
    assert analysis.backfill(demo) == len(rows)
    assert {r[0] for r in demo.query("SELECT DISTINCT version FROM thread_analysis")} == {
        analysis.VERSION
    }
