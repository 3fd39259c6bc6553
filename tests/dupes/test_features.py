"""`dupe_features` (migration 30): one row per thread holding what a recalled candidate is scored
from. On the cache its triggers keep it equal to the join of `threads`, `thread_vectors` and
`thread_analysis` whoever writes them; an older cache gets it filled when it is opened; a
candidate search reads its pool from it alone (one row per candidate instead of three)."""

from __future__ import annotations

# SQLite only: on the team database `dupe_features` is a view of the same join (nothing to keep
# equal); its reads are covered by the `backends` runs of tests/dupes/test_candidates.py.
import sqlite3
from pathlib import Path

import numpy as np

from console.db import Cache, open_cache
from console.dupes import analysis, embed, features, language, vectors
from console.dupes import candidates as cands
from console.ingest import upsert_threads
from console.migrations import MIGRATIONS
from console.models import PostRecord, ThreadRecord

from .conftest import seed

NUMBER = next(
    index + 1
    for index, statements in enumerate(MIGRATIONS)
    if any("CREATE TABLE dupe_features" in statement for statement in statements)
)

JOINED = (
    "SELECT t.id, t.source_id, t.created_at, t.title, t.status, t.tags, t.duplicate_of, "
    "t.accepted_post_id, v.lang, v.vec, a.version, a.data FROM threads t "
    "LEFT JOIN thread_vectors v ON v.thread_id = t.id "
    "LEFT JOIN thread_analysis a ON a.thread_id = t.id ORDER BY t.id"
)
KEPT = (
    "SELECT thread_id, source_id, created_at, title, status, tags, duplicate_of, "
    "accepted_post_id, lang, vec, analysis_version, analysis FROM dupe_features "
    "ORDER BY thread_id"
)


def _same(cache: Cache) -> list[tuple[object, ...]]:
    """The join; `dupe_features` holds exactly its rows with a vector or an analysis (and rows
    of threads that had one, each still equal to its thread's)."""
    joined = [tuple(r) for r in cache.query(JOINED)]
    kept = [tuple(r) for r in cache.query(KEPT)]
    assert [r for r in kept if r[9] is not None or r[11] is not None] == [
        r for r in joined if r[9] is not None or r[11] is not None
    ]
    assert set(kept) <= set(joined)
    return joined


def _vectors(cache: Cache, thread_ids: list[int], seed_value: int) -> None:
    """Fixed vectors (the model may be missing): stored as sync pages store theirs."""
    rows = cache.query(
        f"SELECT id, source_id, created_at FROM threads WHERE id IN "
        f"({','.join('?' * len(thread_ids))}) ORDER BY id",
        thread_ids,
    )
    unit = np.random.default_rng(seed_value).standard_normal((len(rows), embed.DIMS))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    vectors.store(
        cache,
        [(r[0], r[1], r[2], language.guess("hello"), seed_value + r[0]) for r in rows],
        embed.to_int8(unit.astype(np.float32)),
    )


def _record(remote: str, title: str, status: str, accepted: str | None = None) -> ThreadRecord:
    created = "2026-03-01T10:00:00Z"
    return ThreadRecord(
        remote_id=remote,
        title=title,
        author_remote_id=None,
        status=status,
        created_at=created,
        last_activity_at=created,
        reply_count=1,
        remote_updated_at=created,
        accepted_post_remote_id=accepted,
    )


def test_the_table_follows_every_write_to_the_three_tables(cache: Cache) -> None:
    ids = seed(cache)
    everything = sorted(ids.values())
    assert len(_same(cache)) == len(everything)  # a row per thread as it is ingested
    _vectors(cache, everything, 1)
    analysis.backfill(cache)  # as `peerdesk dupes --rebuild` fills them
    rows = _same(cache)
    assert all(r[9] is not None and r[10] == analysis.VERSION for r in rows)

    # a re-sync that changes a thread's title, status and answer (upsert) drops its analysis
    source = int(cache.one("SELECT source_id FROM threads WHERE id = ?", (ids["d1"],))[0])  # type: ignore[index]
    ingested = upsert_threads(
        cache,
        source,
        [_record("d1", "iPhone 15 eSIM still stuck", "solved", "d1-b")],
        [
            PostRecord("d1-q", "d1", None, 0, "Still stuck, E-4012", "Still stuck, E-4012", "x"),
            PostRecord("d1-b", "d1", None, 1, "Fixed by reset", "Fixed by reset", "x"),
        ],
    )
    assert ingested["d1"] == ids["d1"]
    row = next(r for r in _same(cache) if r[0] == ids["d1"])
    assert row[3:5] == ("iPhone 15 eSIM still stuck", "solved") and row[7] is not None
    assert row[10] is None  # its analysis was made from the old text

    # a new thread, decisions' updates, a replaced vector, a deleted analysis and thread
    added = upsert_threads(cache, source, [_record("n1", "Brand new question", "open")], [])
    assert next(r for r in _same(cache) if r[0] == added["n1"])[8:] == (None,) * 4
    with cache.transaction() as conn:
        conn.execute("UPDATE threads SET duplicate_of = ? WHERE id = ?", (ids["o1"], ids["d2"]))
        conn.execute(
            "UPDATE threads SET tags = '[\"esim\"]', urgency = 3 WHERE id = ?", (ids["o2"],)
        )
    _vectors(cache, [ids["o3"], added["n1"]], 2)
    with cache.transaction() as conn:
        conn.execute("DELETE FROM thread_analysis WHERE thread_id = ?", (ids["o4"],))
        conn.execute("DELETE FROM thread_vectors WHERE thread_id = ?", (ids["o2"],))
        conn.execute("UPDATE thread_analysis SET data = x'00' WHERE thread_id = ?", (ids["o1"],))
        conn.execute("DELETE FROM posts WHERE thread_id = ?", (ids["f0"],))
        conn.execute(
            "DELETE FROM duplicate_links WHERE thread_id = ? OR original_id = ?", (ids["f0"],) * 2
        )
        conn.execute("DELETE FROM threads WHERE id = ?", (ids["f0"],))
    rows = _same(cache)
    assert ids["f0"] not in {r[0] for r in rows}
    assert next(r for r in rows if r[0] == ids["o1"])[11] == b"\x00"

    cands.rebuild_index(cache)  # every analysis dropped, to be redone
    assert all(r[10] is None for r in _same(cache))


def test_an_older_cache_gets_the_table_filled_when_opened(cache: Cache, cache_path: Path) -> None:
    ids = seed(cache)
    with cache.transaction() as conn:  # (seed embeds them where the model is installed)
        conn.execute("DELETE FROM thread_vectors")
    _vectors(cache, sorted(ids.values())[::2], 3)  # some threads without a vector
    cands.update_candidates(cache, [ids["d1"], ids["d2"]], semantic=False)
    expected = _same(cache)
    assert any(r[9] is None for r in expected) and any(r[11] is None for r in expected)
    assert any(r[11] is not None for r in expected)
    cache.close()
    # the same file as the previous version left it: no table, no triggers
    conn = sqlite3.connect(cache_path, isolation_level=None)
    triggers = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'dupe_features%'"
    ).fetchall()
    assert len(triggers) == 8
    for (name,) in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DROP TABLE dupe_features")
    conn.execute(f"PRAGMA user_version = {NUMBER - 1}")
    conn.close()
    reopened = open_cache(cache_path)
    try:
        assert reopened.one("PRAGMA user_version")[0] >= NUMBER  # type: ignore[index]
        assert _same(reopened) == expected
    finally:
        reopened.close()


def test_a_search_reads_its_pool_from_the_one_table(cache: Cache) -> None:
    ids = seed(cache)
    _vectors(cache, sorted(ids.values()), 4)
    analysis.backfill(cache)
    seen: list[str] = []
    cache.conn.set_trace_callback(seen.append)
    try:
        found = cands.find_candidates(cache, ids["d1"])
    finally:
        cache.conn.set_trace_callback(None)
    assert found and found[0][0] == ids["o1"]
    assert any("FROM dupe_features" in s for s in seen)
    assert not [s for s in seen if "thread_analysis" in s]  # every candidate had an analysis
    # the only vectors read by id are the searched thread's own (semantic recall reads the
    # vectors stored since the graph by their sequence, not the pool's)
    by_id = [s for s in seen if "FROM thread_vectors WHERE thread_id IN" in s]
    assert by_id == [
        f"SELECT thread_id, vec, lang FROM thread_vectors WHERE thread_id IN ({ids['d1']})"
    ]


def test_new_threads_get_a_row_with_their_first_vector_or_analysis(cache: Cache) -> None:
    ids = seed(cache)
    source = int(cache.one("SELECT source_id FROM threads WHERE id = ?", (ids["o1"],))[0])  # type: ignore[index]
    added = upsert_threads(
        cache,
        source,
        [_record("n1", "Roaming in Spain", "open"), _record("n2", "eSIM stuck", "open")],
        [],
    )
    new = sorted(added.values())
    marks = ",".join("?" * len(new))
    # an import's new threads: nothing written for them (a trigger per thread cost the import)
    assert not cache.query(f"SELECT 1 FROM dupe_features WHERE thread_id IN ({marks})", new)
    # recalled without a row, a thread is read from `threads` (with no vector, no analysis)
    pool = {int(r["id"]): r for r in features.rows(cache, [*new, ids["o1"]])}
    assert sorted(pool) == sorted([*new, ids["o1"]])
    assert pool[added["n1"]]["title"] == "Roaming in Spain" and pool[added["n1"]]["vec"] is None
    _vectors(cache, [added["n1"]], 5)
    analysis.backfill(cache)
    assert len(cache.query(f"SELECT 1 FROM dupe_features WHERE thread_id IN ({marks})", new)) == 2
    _same(cache)
