"""The saved graph's search among older threads (console.dupes.ann): what an exact search over
the older vectors finds, ties broken by id, however many of the nearest are newer."""

from __future__ import annotations

# SQLite only: the graph file saved beside a cache (the team database searches its vectors
# exactly: tests/dupes/test_team_recall.py).
import numpy as np
import pytest

from console.db import Cache
from console.dupes import ann, embed, vectors
from console.ingest import ensure_source, upsert_threads
from console.models import ThreadRecord

THREADS = 300


def _stamp(i: int) -> str:
    return f"2026-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"


@pytest.fixture
def graph(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> tuple[Cache, int, dict[int, np.ndarray]]:
    monkeypatch.setattr(ann, "GRAPH_MIN", 50)
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    records = [
        ThreadRecord(f"t{i}", f"Thread {i}", None, "open", _stamp(i), _stamp(i))
        for i in range(THREADS)
    ]
    upsert_threads(cache, source, records, [])
    ids = {r[0]: r[1] for r in cache.query("SELECT remote_id, id FROM threads")}
    rng = np.random.default_rng(7)
    # a few tight clusters, so a thread's nearest are of every age, and some exact copies (ties)
    centres = rng.standard_normal((6, embed.DIMS)).astype(np.float32)
    raw = centres[rng.integers(0, 6, THREADS)] + 0.35 * rng.standard_normal((THREADS, embed.DIMS))
    raw[50:60] = raw[10]
    raw[200:260:2] = raw[100]  # 31 copies of one thread: ties past the first slice read
    unit = (raw / np.linalg.norm(raw, axis=1, keepdims=True)).astype(np.float32)
    rows = [(ids[f"t{i}"], source, _stamp(i), "en", i) for i in range(THREADS)]
    int8 = embed.to_int8(unit)
    vectors.store(cache, rows, int8)
    ann.forget()
    assert ann.extend(cache, source, force=True)
    return cache, source, {ids[f"t{i}"]: int8[i] for i in range(THREADS)}


def _exact(
    stored: dict[int, np.ndarray],
    created: dict[int, str],
    query: np.ndarray,
    before: str,
    count: int,
) -> list[int]:
    def cosine(a: np.ndarray, b: np.ndarray) -> float:  # as the graph measures int8 vectors
        x, y = a.astype(np.float64), b.astype(np.float64)
        return float(x @ y / np.sqrt((x @ x) * (y @ y)))

    scored = [(cosine(query, vec), tid) for tid, vec in stored.items() if created[tid] <= before]
    return [tid for _, tid in sorted(scored, key=lambda p: (-p[0], p[1]))[:count]]


@pytest.mark.parametrize("count", [3, 12, 40])
def test_older_neighbours_from_the_graph_are_the_exact_older_neighbours(
    graph: tuple[Cache, int, dict[int, np.ndarray]], count: int
) -> None:
    cache, source, stored = graph
    created = {r[0]: r[1] for r in cache.query("SELECT id, created_at FROM threads")}
    order = sorted(stored, key=lambda t: created[t])
    for position in (5, 30, 60, 150, 258, 299):  # few older threads, then more and more
        tid = order[position]
        before = created[tid]
        found = ann.nearest(cache, stored[tid], source, count, before=before)
        assert all(created[t] <= before for t, _ in found)
        exact = _exact(stored, created, stored[tid], before, count)
        assert [t for t, _ in found] == exact, position
