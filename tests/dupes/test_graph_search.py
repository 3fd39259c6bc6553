"""The saved graph's search among older threads (console.dupes.ann): what an exact search over
the older vectors finds, ties broken by id, however many of the nearest are newer."""

from __future__ import annotations

# SQLite only: the graph file saved beside a cache (the team database searches its vectors
# exactly: tests/dupes/test_team_recall.py).
from collections.abc import Sequence

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


def _cosine(a: np.ndarray, b: np.ndarray) -> float:  # as the graph measures int8 vectors
    x, y = a.astype(np.float64), b.astype(np.float64)
    return float(x @ y / np.sqrt((x @ x) * (y @ y)))


def _exact(
    stored: dict[int, np.ndarray],
    created: dict[int, str],
    query: np.ndarray,
    before: str,
    count: int,
) -> list[int]:
    scored = [(_cosine(query, vec), tid) for tid, vec in stored.items() if created[tid] <= before]
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


def _add(
    cache: Cache, source: int, first: int, unit: np.ndarray, stored: dict[int, np.ndarray]
) -> list[int]:
    """Ingest threads t<first>.. with these vectors, as a sync does (rows, then vectors, then
    `ann.extend`); returns their ids."""
    count = len(unit)
    numbers = range(first, first + count)
    upsert_threads(
        cache,
        source,
        [ThreadRecord(f"t{i}", f"Thread {i}", None, "open", _stamp(i), _stamp(i)) for i in numbers],
        [],
    )
    ids = {r[0]: r[1] for r in cache.query("SELECT remote_id, id FROM threads")}
    new = [ids[f"t{i}"] for i in numbers]
    int8 = embed.to_int8(unit)
    vectors.store(cache, [(ids[f"t{i}"], source, _stamp(i), "en", i) for i in numbers], int8)
    stored.update(zip(new, int8, strict=True))
    return new


def _units(seed: int, count: int) -> np.ndarray:
    """`count` random unit vectors."""
    raw = np.random.default_rng(seed).standard_normal((count, embed.DIMS)).astype(np.float32)
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def _again(
    cache: Cache, source: int, tid: int, vec: np.ndarray, stored: dict[int, np.ndarray]
) -> None:
    """Re-embed one thread: its old vector stays in whichever graph holds it."""
    created = cache.one("SELECT created_at FROM threads WHERE id = ?", (tid,))[0]
    vectors.store(cache, [(tid, source, created, "en", -tid)], vec[None, :])
    stored[tid] = vec


def _same_as_exact(
    cache: Cache, source: int, stored: dict[int, np.ndarray], extra: Sequence[np.ndarray] = ()
) -> None:
    """Searches among older threads and of any age find what an exact search of every
    thread's newest vector finds: the same cosines in the same order (to 0.02: the delta's
    exact cosines take int8 vectors as unit ones, dot / 127², where the graph and this test
    divide by their norms, so near-ties may swap), each the cosine of the thread's newest
    vector (never an older one of a re-embedded thread: `extra` queries are such old ones),
    once, of a thread old enough."""
    created = {r[0]: r[1] for r in cache.query("SELECT id, created_at FROM threads")}
    order = sorted(stored, key=lambda t: (created[t], t))
    positions = {5, min(150, len(order) // 3), len(order) // 2, len(order) - 20, len(order) - 1}
    queries = [(stored[order[p]], created[order[p]]) for p in sorted(positions)]
    for position, (query, when) in enumerate(queries + [(v, "9999") for v in extra]):
        for count in (3, 12):
            for before in (when, None):
                found = ann.nearest(cache, query, source, count, before=before)
                exact = _exact(stored, created, query, before or "9999", count)
                got = [_cosine(query, stored[t]) for t, _ in found]
                want = [_cosine(query, stored[t]) for t in exact]
                assert np.allclose(got, want, atol=0.02), (position, count, before)
                assert np.allclose([c for _, c in found], got, atol=0.02)
                assert len({t for t, _ in found}) == len(found)
                assert all(created[t] <= (before or "9999") for t, _ in found)


def test_after_every_sync_the_delta_searched_exactly_stays_small_and_answers_stay_exact(
    graph: tuple[Cache, int, dict[int, np.ndarray]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delta's own graph takes in its newest vectors once TAIL_MAX are outside it, so a
    search compares fewer than TAIL_MAX one by one however far the saved graph lags; what it
    finds (re-embedded threads' newest vectors only, ages, ties by id) is what an exact search
    of every vector finds, in this process and in a new one."""
    cache, source, stored = graph
    monkeypatch.setattr(ann, "TAIL_MAX", 10)
    saved = ann.Saved.read(cache, source)
    rng = np.random.default_rng(3)
    base = np.stack([stored[t] for t in sorted(stored)]).astype(np.float32)
    first = THREADS
    tiers = set()
    replaced: list[np.ndarray] = []  # the old vectors of threads embedded again
    for batch in range(14):
        near = base[rng.integers(0, len(base), 7)] / 6 + 0.35 * rng.standard_normal((7, 384))
        near[0] = base[batch]  # an exact copy of an older thread: a tie across the graphs
        unit = (near / np.linalg.norm(near, axis=1, keepdims=True)).astype(np.float32)
        new = _add(cache, source, first, unit, stored)
        first += len(new)
        if batch % 3 == 2:  # a thread of the saved graph and one of the delta, embedded again
            for tid, vec in ((min(stored) + batch, new[1]), (new[2] - 10, min(stored) + 40)):
                replaced.append(stored[tid])
                _again(cache, source, tid, stored[vec], stored)
        assert ann.extend(cache, source) is False  # the saved graph is not rewritten...
        assert ann.Saved.read(cache, source) == saved
        _same_as_exact(cache, source, stored, replaced)
        view = ann._view(cache, source)
        assert len(view.delta_ids) - view.tail() < 10  # ...and the exact part stays small
        if view.tier is not None:
            tiers.add(view.tier.file)
    assert len(tiers) >= 5  # the delta's graph followed, a file at a time
    assert len(view.delta_ids) > 90  # the delta itself is far past the bound
    ann.forget()  # another process: maps the same files
    _same_as_exact(cache, source, stored, replaced)
    delta = ann.DeltaSaved.read(cache, source)
    assert delta is not None and saved is not None
    names = {p.name for p in ann.folder(cache).iterdir()}
    assert names == {saved.file, saved.times_file, delta.file}  # older delta files removed


def test_when_the_saved_graph_takes_the_delta_in_its_graph_is_dropped(
    graph: tuple[Cache, int, dict[int, np.ndarray]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, source, stored = graph
    monkeypatch.setattr(ann, "TAIL_MAX", 10)
    monkeypatch.setattr(ann, "DELTA_MAX", 40)
    rng = np.random.default_rng(5)
    unit = rng.standard_normal((25, embed.DIMS)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    _add(cache, source, THREADS, unit, stored)
    assert ann.extend(cache, source) is False
    delta = ann.DeltaSaved.read(cache, source)
    assert delta is not None and delta.count == 25  # all 25: TAIL_MAX or more were outside
    _same_as_exact(cache, source, stored)
    more = rng.standard_normal((20, embed.DIMS)).astype(np.float32)
    _add(cache, source, THREADS + 25, more / np.linalg.norm(more, axis=1, keepdims=True), stored)
    assert ann.extend(cache, source) is True  # 45 past the saved graph: it takes them in
    saved = ann.Saved.read(cache, source)
    assert saved is not None and saved.count == len(stored)
    names = {p.name for p in ann.folder(cache).iterdir()}
    assert names == {saved.file, saved.times_file}  # the delta's graph went with its delta
    _same_as_exact(cache, source, stored)
    view = ann._view(cache, source)
    assert view.tier is None and len(view.delta_ids) == 0


def test_a_small_source_gets_a_delta_graph_before_its_saved_graph(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below GRAPH_MIN a source has no saved graph; its vectors past TAIL_MAX still get the
    delta's graph (continuing nothing), so it too is searched exactly only TAIL_MAX at a time."""
    monkeypatch.setattr(ann, "TAIL_MAX", 16)
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    unit = _units(9, 70)
    stored: dict[int, np.ndarray] = {}
    ann.forget()
    for start in range(0, 70, 10):
        _add(cache, source, start, unit[start : start + 10], stored)
        assert ann.extend(cache, source) is False
    assert ann.Saved.read(cache, source) is None
    delta = ann.DeltaSaved.read(cache, source)
    assert delta is not None and delta.after == 0 and delta.count == 60
    _same_as_exact(cache, source, stored)
    view = ann._view(cache, source)
    assert view.graph is None and len(view.delta_ids) - view.tail() == 10


def test_a_graph_file_is_read_ahead_in_order_before_it_is_mapped(
    graph: tuple[Cache, int, dict[int, np.ndarray]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first search maps the saved graph, its times and the delta's graph only after
    asking the OS to read each whole file ahead (a step at a time, in order)."""
    cache, source, stored = graph
    monkeypatch.setattr(ann, "TAIL_MAX", 5)
    monkeypatch.setattr(ann, "PREFETCH_STEP", 4096)
    _add(cache, source, THREADS, _units(1, 6), stored)
    ann.extend(cache, source)
    saved, delta = ann.Saved.read(cache, source), ann.DeltaSaved.read(cache, source)
    assert saved is not None and delta is not None
    asked: list[tuple[str, int, int]] = []
    real = ann.os.posix_fadvise

    def spy(handle: int, start: int, length: int, advice: int) -> None:
        asked.append((ann.os.readlink(f"/proc/self/fd/{handle}"), start, length))
        real(handle, start, length, advice)

    monkeypatch.setattr(ann.os, "posix_fadvise", spy)
    ann.forget()
    ann.nearest(cache, stored[min(stored)], source, 3)
    for name in (saved.file, saved.times_file, delta.file):
        size = (ann.folder(cache) / name).stat().st_size
        steps = [(start, length) for path, start, length in asked if path.endswith("/" + name)]
        assert steps == [(start, 4096) for start in range(0, size, 4096)], name
    assert ann.read_ahead(ann.folder(cache) / "gone.usearch") == 0


def test_a_cache_replaced_by_one_with_fewer_vectors_is_searched_as_it_now_is(
    cache: Cache,
) -> None:
    """A source without a saved graph whose cache was replaced under the same path by an older
    copy (fewer vectors, a lower counter): the view starts again from what is there (it used to
    recurse until Python stopped it)."""
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    unit = _units(4, 10)
    stored: dict[int, np.ndarray] = {}
    ann.forget()
    ids = _add(cache, source, 0, unit, stored)
    assert ann.nearest(cache, stored[ids[9]], source, 1)[0][0] == ids[9]
    with cache.transaction() as conn:  # the older copy: the first five vectors only
        conn.execute("DELETE FROM thread_vectors WHERE thread_id > ?", (ids[4],))
        cache.set_meta("vector_seq", "5")
    found = ann.nearest(cache, stored[ids[9]], source, 10)
    assert sorted(t for t, _ in found) == ids[:5]
