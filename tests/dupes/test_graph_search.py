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


@pytest.mark.parametrize("times", ["saved beside the graph", "read from SQLite"])
@pytest.mark.parametrize("count", [3, 12, 40])
def test_older_neighbours_from_the_graph_are_the_exact_older_neighbours(
    graph: tuple[Cache, int, dict[int, np.ndarray]], count: int, times: str
) -> None:
    cache, source, stored = graph
    saved = ann.Saved.read(cache, source)
    assert saved is not None and saved.times_base is not None
    sidecar = ann.folder(cache) / saved.times_file
    assert sidecar.is_file() and sidecar.stat().st_mode & 0o777 == 0o600
    if times == "read from SQLite":  # a graph saved before the times were kept
        sidecar.unlink()
        ann.forget()
    created = {r[0]: r[1] for r in cache.query("SELECT id, created_at FROM threads")}
    order = sorted(stored, key=lambda t: created[t])
    for position in (5, 30, 60, 150, 258, 299):  # few older threads, then more and more
        tid = order[position]
        before = created[tid]
        found = ann.nearest(cache, stored[tid], source, count, before=before)
        assert all(created[t] <= before for t, _ in found)
        exact = _exact(stored, created, stored[tid], before, count)
        assert [t for t, _ in found] == exact, position
    view = ann._view(cache, source)
    assert (view.times is not None) == (times == "saved beside the graph")


def test_a_graph_saved_without_times_gets_them_and_they_go_with_it(
    graph: tuple[Cache, int, dict[int, np.ndarray]],
) -> None:
    cache, source, stored = graph
    saved = ann.Saved.read(cache, source)
    assert saved is not None
    (ann.folder(cache) / saved.times_file).unlink()
    with cache.transaction():  # the meta as an older peerdesk wrote it
        cache.set_meta(f"ann:{source}", ann.Saved(saved.file, saved.seq, saved.count).dump())
    assert ann.extend(cache, source) is False  # nothing to add to the graph...
    again = ann.Saved.read(cache, source)
    assert again is not None and again.file == saved.file  # ...but its times are saved
    assert again.times_base == min(stored) and (ann.folder(cache) / again.times_file).is_file()
    ann.forget()
    tid = max(stored)
    created = cache.one("SELECT created_at FROM threads WHERE id = ?", (tid,))[0]
    older = ann.nearest(cache, stored[tid], source, 5, before=created)
    assert ann._view(cache, source).times is not None and len(older) == 5
    # a new graph replaces the file; the old times go with the old graph
    assert ann.extend(cache, source, force=True) is False  # nothing newer than the graph
    cache.conn.execute("UPDATE thread_vectors SET seq = seq + 1000 WHERE thread_id = ?", (tid,))
    cache.set_meta("vector_seq", str(int(cache.meta("vector_seq") or 0) + 1000))
    assert ann.extend(cache, source, force=True) is True
    newest = ann.Saved.read(cache, source)
    assert newest is not None and newest.file != saved.file
    names = {p.name for p in ann.folder(cache).iterdir()}
    assert names == {newest.file, newest.times_file}


def test_times_that_cannot_be_written_leave_the_search_on_sqlite(
    graph: tuple[Cache, int, dict[int, np.ndarray]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, source, stored = graph
    saved = ann.Saved.read(cache, source)
    assert saved is not None
    (ann.folder(cache) / saved.times_file).unlink()

    def refused(*_: object) -> int:
        raise PermissionError("read-only folder")

    monkeypatch.setattr(ann, "write_times", refused)
    assert ann.add_missing_times(cache, source) is False
    assert ann.extend(cache, source) is False  # storing vectors goes on
    ann.forget()
    tid = max(stored)
    created = cache.one("SELECT created_at FROM threads WHERE id = ?", (tid,))[0]
    assert len(ann.nearest(cache, stored[tid], source, 5, before=created)) == 5
    assert ann._view(cache, source).times is None


@pytest.mark.parametrize("count", [0, 1, 5, 16, 99, 100, 150])
def test_the_best_of_the_delta_are_those_a_full_stable_sort_puts_first(count: int) -> None:
    """`ann.best` (a partition, then a sort of what is left) picks and orders exactly as
    the full stable sort did: ties (many here: values drawn from a few dozen) by position,
    older threads' -inf kept last, every count from none to more than there are."""
    rng = np.random.default_rng(11)
    for _ in range(50):
        values = (rng.integers(-20, 20, 100) / 20).astype(np.float32)
        values[rng.random(100) < 0.3] = -np.inf
        expected = np.argsort(-values, kind="stable")[:count]
        assert ann.best(values, count).tolist() == expected.tolist()
