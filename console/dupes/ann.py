"""Nearest embeddings among a source's threads, at any cache size: a saved graph plus a delta.

`thread_vectors` (SQLite) is the truth. Each vector gets a sequence number (`seq`) when it is
stored. For each source there is, at most, one *saved graph*: an HNSW index (usearch, int8
cosine) holding every vector of the source up to some `seq`, written to a file beside the cache
(`<cache>.ann/`, private like the cache) and named in the cache's meta
(`ann:<source id>` -> {"file", "seq", "count"}). A search reads:

- the saved graph, memory-mapped (shared by every process on the machine through the page
  cache; nothing is loaded): ~1 ms whatever the size;
- beside the graph, its threads' creation times (`<graph file>.times.npy`, memory-mapped, one
  fixed-width byte string per thread id), so a search among older threads checks its hits' ages
  without SQL; a graph saved without them (an older peerdesk) gets them from the next `extend`
  call, and until then the ages are read from SQLite;
- the *delta*: vectors stored after the graph's `seq`, read from SQLite once and kept in process
  memory as they are stored (int8, 384 bytes a vector, with its creation time in 32 bytes).
  A small source (fewer than GRAPH_MIN vectors) is all delta. The delta has a graph of its own
  (`DeltaSaved`, meta `ann:<source id>:delta`, a small file beside the saved graph's) holding
  all of it up to some `seq` but its newest vectors, the *tail*: fewer than TAIL_MAX, searched
  exactly (`_cosines`: a block at a time in float32, whose sums of int8 products are exact).
  With 18,080 delta vectors searched exactly (a used 100k cache) the semantic stage took CPU
  p50 3.3-3.9 ms; with them in the delta's graph 1.4-2.2 ms (docs/duplicates.md, "Semantic
  recall at any size").

When the delta of a source reaches DELTA_MAX vectors (or the source first passes GRAPH_MIN),
the process that stored them (`extend`, called by `vectors.embed_threads`: sync, import, the
demo, `dupes --rebuild`) adds the delta to a copy of the graph and saves a new file; the meta
then names it, other processes see the new name on their next search and map it. Before that,
each time the tail reaches TAIL_MAX, the same call adds the tail to a copy of the delta's graph
(`extend_delta`: a few MB loaded and saved, where the saved graph at a million threads is half
a gigabyte, whose mapped pages every process would have to read again); a delta graph that
does not continue the saved graph of the meta (it took the delta in) counts for nothing. Two
processes extending at once both write a correct file; the one that commits second keeps its
own only if it holds more (`seq`), so readers always see a graph consistent with the meta.

A team database (PostgreSQL, shared by many machines) keeps the vectors and nothing beside
them: its sources are searched exactly, every vector of the source as the delta (read once per
process, then only what was stored since, by `seq`; the views are keyed by the database's
address). A graph file on one machine could not be shared honestly with the others. At about
430 bytes a thread in memory (it was 1.7 KB with float32 vectors and text times), a million
threads cost a process about 430 MB.

Deleted threads are left in the graph (their hits are dropped by the caller, which reads the
threads); a re-embedded thread's new vector is in the delta and wins over its old one.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from console.db import Cache
from console.dupes import embed

if TYPE_CHECKING:
    from usearch.index import Index

GRAPH_MIN = 20_000  # below this many vectors a source is searched exactly (in memory)
DELTA_MAX = 20_000  # vectors kept beside the graph (the delta) before it is extended
TAIL_MAX = 2_000  # delta vectors searched exactly before the delta's own graph takes them in
CONNECTIVITY = 16  # HNSW links per node (usearch's default)
EXPANSION_ADD = 128  # candidates kept while linking a new vector (recall of the graph)
EXPANSION_SEARCH = 96  # candidates kept while searching
STALE_FILE_S = 3_600  # unreferenced graph files older than this are removed when extending
GRAPH_WIDEST = 2_048  # graph hits looked at, at most, for the older threads of an old thread
ADD_SLICE = 50_000  # vectors read from SQLite and added to the graph at a time
PREFETCH_STEP = 8 << 20  # bytes asked ahead at a time (Linux reads at most its read-ahead a call)
TIMES_SUFFIX = ".times.npy"  # the graph's creation times (see `write_times`)

FloatMatrix = npt.NDArray[np.float32]
IdArray = npt.NDArray[np.int64]
TIME_WIDTH = "S32"  # a creation time in the delta: ISO-8601 text as bytes (as the graph's times)
BLOCK = 1_024  # delta vectors made float32 at a time by a search: 1.5 MB, kept in the CPU's
# cache for the product (blocks of 8,192 made a search 4-10 times slower than 1,024 here, and
# than the float32 matrix it replaces: at 2,048 rows and more, OpenBLAS also starts threads)
PAGE = 50_000  # delta vectors read from the store at a time


@dataclass(frozen=True)
class Saved:
    """The meta record of a source's saved graph; `times_base` is set when the graph's creation
    times are saved beside it (`times_file`), for the thread id `times_base` onwards."""

    file: str
    seq: int
    count: int
    times_base: int | None = None

    @classmethod
    def read(cls, cache: Cache, source_id: int) -> Saved | None:
        if not cache.dialect.is_sqlite:
            return None  # a team database has no graph file beside it: searched exactly
        raw = cache.meta(f"ann:{source_id}")
        if not raw:
            return None
        try:
            value = json.loads(raw)
            base = value.get("times_base")
            return cls(
                str(value["file"]),
                int(value["seq"]),
                int(value["count"]),
                None if base is None else int(base),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def dump(self) -> str:
        record: dict[str, object] = {"file": self.file, "seq": self.seq, "count": self.count}
        if self.times_base is not None:
            record["times_base"] = self.times_base
        return json.dumps(record)

    @property
    def times_file(self) -> str:
        return times_name(self.file)


@dataclass(frozen=True)
class DeltaSaved:
    """The meta record of a source's delta graph: an HNSW index of the vectors stored after
    the saved graph's `seq` (`after`; 0 when the source has no saved graph) up to `seq`. It
    counts only while `after` is the saved graph's seq: once the saved graph takes the delta
    in, the record names nothing."""

    file: str
    after: int
    seq: int
    count: int

    @classmethod
    def read(cls, cache: Cache, source_id: int) -> DeltaSaved | None:
        if not cache.dialect.is_sqlite:
            return None
        raw = cache.meta(delta_key(source_id))
        if not raw:
            return None
        try:
            value = json.loads(raw)
            return cls(
                str(value["file"]), int(value["after"]), int(value["seq"]), int(value["count"])
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def dump(self) -> str:
        return json.dumps(
            {"file": self.file, "after": self.after, "seq": self.seq, "count": self.count}
        )


def delta_key(source_id: int) -> str:
    """The meta key of a source's delta graph (under `ann:`, so what drops the saved graphs'
    records drops it too)."""
    return f"ann:{source_id}:delta"


def times_name(graph_file: str) -> str:
    """The file of a graph's creation times: beside it, named after it."""
    return graph_file + TIMES_SUFFIX


def folder_of(path: Path) -> Path:
    """The folder of a cache file's saved graphs."""
    return path.with_name(path.name + ".ann")


def folder(cache: Cache) -> Path:
    return folder_of(cache.path)


def _usearch() -> type[Index]:
    """usearch's Index class. onnxruntime is imported first when installed: loaded after
    usearch's compiled module, its own initialisation crashes the process (a clash of their
    bundled C++ runtimes, seen with usearch 2.26 and onnxruntime 1.32); before it, both work."""
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401
    from usearch.index import Index

    return Index


def _new_index() -> Index:
    return _usearch()(
        ndim=embed.DIMS,
        metric="cos",
        dtype="i8",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


@dataclass
class SourceIndex:
    """One process's view of one source: the mapped graph, the delta after it (in memory) and
    the delta's own graph (mapped), which holds all of the delta but its newest `tail`."""

    source_id: int
    saved: Saved | None = None
    graph: Index | None = None
    delta_seq: int = 0  # highest seq read into the delta
    delta_ids: IdArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    delta: embed.Int8Matrix = field(default_factory=lambda: np.zeros((0, embed.DIMS), np.int8))
    delta_created: npt.NDArray[np.bytes_] = field(
        default_factory=lambda: np.zeros(0, dtype=TIME_WIDTH)
    )
    delta_seqs: IdArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # ascending
    # the graph's creation times (memory-mapped), indexed by thread id - times_base; None when
    # the graph has none saved beside it (its hits' ages are then read from SQLite)
    times: npt.NDArray[np.bytes_] | None = None
    times_base: int = 0
    tier: DeltaSaved | None = None  # the delta graph's record, when it is mapped
    tier_graph: Index | None = None
    # sorted: the delta's ids (graph hits it supersedes), and the ids the delta graph holds
    # with their creation times (its hits' ages); made on first use after the delta changes
    _sorted_delta: IdArray | None = None
    _covered: tuple[IdArray, npt.NDArray[np.bytes_]] | None = None

    def refresh(self, cache: Cache) -> None:
        """Follow the cache: map a newer saved graph, read vectors stored since, map the delta's
        newer graph."""
        saved = Saved.read(cache, self.source_id)
        for _ in range(3):  # replaced between reading the meta and opening it: read it again
            if saved is None or (folder(cache) / saved.file).is_file():
                break
            time.sleep(0.01)
            saved = Saved.read(cache, self.source_id)
        if saved is not None and not (folder(cache) / saved.file).is_file():
            saved = None  # the file is gone (copied cache, cleaned folder): exact search
        if saved != self.saved:
            self.saved = saved
            self.graph = None
            self.times = None
            if saved is not None:
                read_ahead(folder(cache) / saved.file, again=False)
                read_ahead(folder(cache) / saved.times_file, again=False)
                self.graph = _restore(folder(cache) / saved.file)
                if self.graph is not None:
                    self.times = _map_times(folder(cache), saved)
                    self.times_base = saved.times_base or 0
            self._clear(saved.seq if saved is not None and self.graph is not None else 0)
        newest = newest_seq(cache, self.source_id)
        if newest < self.delta_seq:  # the cache was replaced under the same path
            self.saved, self.graph = None, None
            self._clear(0)  # (a source without a graph too: it recursed until Python stopped it)
            self.refresh(cache)
            return
        if newest > self.delta_seq:
            self._read_delta(cache, newest)
        self._follow_tier(cache)

    def _read_delta(self, cache: Cache, newest: int) -> None:
        """Read the vectors stored after the delta's highest seq into it."""
        pages: list[tuple[IdArray, embed.Int8Matrix, npt.NDArray[np.bytes_], IdArray]] = []
        after = self.delta_seq
        while True:  # a page at a time: a million rows are never all in hand at once
            rows = cache.query(
                "SELECT thread_id, vec, seq, created_at FROM thread_vectors "
                "WHERE source_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (self.source_id, after, PAGE),
            )
            if rows:
                ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.int8)
                created = np.array([str(r[3]).encode() for r in rows], dtype=TIME_WIDTH)
                seqs = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
                pages.append((ids, matrix.reshape(-1, embed.DIMS), created, seqs))
                after = int(rows[-1][2])
            if len(rows) < PAGE:
                break
        if pages:
            ids = np.concatenate([p[0] for p in pages])
            keep = ~np.isin(self.delta_ids, ids)  # a re-embedded thread: its new vector only
            self.delta_ids = np.concatenate([self.delta_ids[keep], ids])
            self.delta = np.concatenate([self.delta[keep], *(p[1] for p in pages)])
            self.delta_created = np.concatenate([self.delta_created[keep], *(p[2] for p in pages)])
            self.delta_seqs = np.concatenate([self.delta_seqs[keep], *(p[3] for p in pages)])
            self.delta_seq = after
            self._changed()
        self.delta_seq = max(self.delta_seq, newest)

    def _follow_tier(self, cache: Cache) -> None:
        """Map the delta's graph the meta names, if it continues the mapped saved graph and
        holds nothing this view has not read (else the whole delta is searched exactly)."""
        tier = DeltaSaved.read(cache, self.source_id)
        after = self.saved.seq if self.saved is not None and self.graph is not None else 0
        if (
            tier is None
            or tier.after != after
            or tier.seq > self.delta_seq
            or not (folder(cache) / tier.file).is_file()
        ):
            tier = None
        if tier == self.tier:
            return
        self.tier = tier
        if tier is not None:
            read_ahead(folder(cache) / tier.file, again=False)
        self.tier_graph = None if tier is None else _restore(folder(cache) / tier.file)
        if self.tier_graph is None:
            self.tier = None
        self._changed()

    def _clear(self, seq: int) -> None:
        """An empty delta after `seq`, without the delta's graph."""
        self.delta_seq = seq
        self.delta_ids = np.zeros(0, dtype=np.int64)
        self.delta = np.zeros((0, embed.DIMS), np.int8)
        self.delta_created = np.zeros(0, dtype=TIME_WIDTH)
        self.delta_seqs = np.zeros(0, dtype=np.int64)
        self.tier, self.tier_graph = None, None
        self._changed()

    def _changed(self) -> None:
        self._sorted_delta = None
        self._covered = None

    def tail(self) -> int:
        """Where the delta's exact part starts: after the vectors its graph holds."""
        if self.tier is None or self.tier_graph is None:
            return 0
        return int(np.searchsorted(self.delta_seqs, self.tier.seq, side="right"))

    def search(
        self, cache: Cache, vector: npt.NDArray[np.int8], count: int, before: str | None
    ) -> list[tuple[int, float]]:
        """The `count` nearest threads created at or before `before` (any time if None):
        [(id, cosine)], best first."""
        found: dict[int, float] = {}
        tail = self.tail()
        if len(self.delta_ids) > tail:
            cosines = _cosines(self.delta[tail:], vector)
            if before is not None:
                cosines = np.where(self.delta_created[tail:] <= before.encode(), cosines, -np.inf)
            top = best(cosines, count)
            found = {
                int(self.delta_ids[tail + i]): float(cosines[i]) for i in top if cosines[i] > -2
            }
        if self.tier_graph is not None and len(self.tier_graph):
            newer = np.sort(self.delta_ids[tail:])
            found.update(
                self._graph_search(
                    self.tier_graph,
                    vector,
                    count,
                    before,
                    found,
                    newer,
                    lambda ranked: self._older_in_delta(ranked, before or "", tail),
                )
            )
        if self.graph is not None and len(self.graph):
            if self._sorted_delta is None:
                self._sorted_delta = np.sort(self.delta_ids)
            memo: dict[int, bool] = {}  # created at or before `before`, for the hits checked

            def older(ranked: list[tuple[int, float]]) -> dict[int, float]:
                assert before is not None
                if self.times is not None:
                    return self._older_by_times(ranked, before)
                return self._older(cache, ranked, count, before, memo)

            found.update(
                self._graph_search(
                    self.graph, vector, count, before, found, self._sorted_delta, older
                )
            )
        ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))
        return ranked[:count]

    @staticmethod
    def _graph_search(
        graph: Index,
        vector: npt.NDArray[np.int8],
        count: int,
        before: str | None,
        found: dict[int, float],
        newer: IdArray,
        older: Callable[[list[tuple[int, float]]], dict[int, float]],
    ) -> dict[int, float]:
        """Hits of a graph (the saved one or the delta's) that no newer vector of their thread
        supersedes (`newer`: sorted ids searched after it); when only older threads count
        (`older` keeps them), the search widens (x4 at a time) until it has `count` of them or
        has looked at GRAPH_WIDEST.

        It starts with EXPANSION_SEARCH hits when only older threads count: the graph keeps
        that many candidates while searching whatever it is asked for, so asking for them costs
        the same as asking for `count` (0.67 ms at a million vectors either way), and a new
        thread, whose nearest are often newer, rarely needs a second, wider search."""
        ask = count if before is None else max(count, EXPANSION_SEARCH)
        while True:
            matches = graph.search(vector, ask, threads=1)
            keys = np.asarray(matches.keys, dtype=np.int64)
            fresh = ~_within(keys, newer)
            ranked = [
                (k, c)
                for k, c in zip(
                    keys[fresh].tolist(),
                    (1.0 - np.asarray(matches.distances, dtype=np.float64)[fresh]).tolist(),
                    strict=True,
                )
                if k not in found
            ]
            if before is None:
                return dict(ranked)
            hits = older(ranked)
            if len(hits) >= count or len(keys) < ask or ask >= GRAPH_WIDEST:
                return hits
            ask = min(GRAPH_WIDEST, ask * 4)

    def _older_in_delta(
        self, ranked: list[tuple[int, float]], before: str, tail: int
    ) -> dict[int, float]:
        """The delta graph's hits (nearest first) created at or before `before`, by the
        creation times read with the delta (no SQL)."""
        if not ranked:
            return {}
        if self._covered is None:
            order = np.argsort(self.delta_ids[:tail], kind="stable")
            self._covered = (self.delta_ids[:tail][order], self.delta_created[:tail][order])
        ids, created = self._covered
        keys = np.fromiter((k for k, _ in ranked), dtype=np.int64, count=len(ranked))
        at = np.minimum(np.searchsorted(ids, keys), max(len(ids) - 1, 0))
        if not len(ids):
            return {}
        older = (ids[at] == keys) & (created[at] <= before.encode("utf-8"))
        return {k: c for (k, c), keep in zip(ranked, older.tolist(), strict=True) if keep}

    def _older_by_times(self, ranked: list[tuple[int, float]], before: str) -> dict[int, float]:
        """The hits (nearest first) created at or before `before`, by the creation times saved
        with the graph: no SQL. A thread the times do not know (deleted since) is left out."""
        assert self.times is not None
        if not ranked:
            return {}
        keys = np.fromiter((k for k, _ in ranked), dtype=np.int64, count=len(ranked))
        at = keys - self.times_base
        known = (at >= 0) & (at < len(self.times))
        created = np.zeros(len(keys), dtype=self.times.dtype)
        created[known] = self.times[at[known]]
        older = known & (created != b"") & (created <= before.encode("utf-8"))
        return {k: c for (k, c), keep in zip(ranked, older.tolist(), strict=True) if keep}

    @staticmethod
    def _older(
        cache: Cache,
        ranked: list[tuple[int, float]],
        count: int,
        before: str,
        older: dict[int, bool],
    ) -> dict[int, float]:
        """The hits (nearest first) created at or before `before`, read a slice at a time until
        `count` of them are found and no later hit could rank with them (its cosine is lower
        than the count-th's): most of a new thread's nearest are older, so one short read."""
        hits: dict[int, float] = {}
        step = max(2 * count, 16)
        for start in range(0, len(ranked), step):
            part = ranked[start : start + step]
            unknown = [k for k, _ in part if k not in older]
            if unknown:
                older.update(dict.fromkeys(unknown, False))
                marks = ",".join("?" * len(unknown))
                for r in cache.query(
                    f"SELECT id FROM threads WHERE id IN ({marks}) AND created_at <= ?",
                    [*unknown, before],
                ):
                    older[int(r[0])] = True
            hits.update((k, c) for k, c in part if older[k])
            rest = start + step
            if len(hits) >= count and (
                rest >= len(ranked) or ranked[rest][1] < list(hits.values())[count - 1]
            ):
                break
        return hits


def _restore(path: Path) -> Index | None:
    """A saved graph file, memory-mapped (nothing loaded), set to search as wide as we ask."""
    graph = _usearch().restore(str(path), view=True)
    if graph is not None:
        graph.expansion_search = EXPANSION_SEARCH  # type: ignore[misc]  # (a setter mypy misses)
    return graph


def _within(keys: IdArray, ordered: IdArray) -> npt.NDArray[np.bool_]:
    """Which keys are in `ordered` (sorted ids): a binary search each, where `np.isin` would
    sort the thousands of delta ids again for the hundred keys of every search."""
    if not len(ordered):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(ordered, keys), len(ordered) - 1)
    return np.asarray(ordered[at] == keys)


def best(values: FloatMatrix, count: int) -> npt.NDArray[np.intp]:
    """The positions of the `count` largest values, largest first, ties in position order:
    `np.argsort(-values, kind="stable")[:count]` without sorting them all. Only the values at
    or above the count-th largest are sorted (a partition finds it): with a delta of 18,000
    vectors the full stable sort was ~2 ms of a search, this ~0.2 ms."""
    if count <= 0:
        return np.zeros(0, dtype=np.intp)
    if count >= len(values):
        return np.argsort(-values, kind="stable")
    negated = -values
    cut = np.partition(negated, count - 1)[count - 1]  # the count-th largest value, negated
    within = np.flatnonzero(negated <= cut)  # every value as large, ties included (in order)
    return within[np.argsort(negated[within], kind="stable")][:count]


def _cosines(matrix: embed.Int8Matrix, vector: npt.NDArray[np.int8]) -> FloatMatrix:
    """The cosine of `vector` with each row of `matrix` (int8 vectors stored from unit
    vectors: dot / 127², as embed.cosine_int8). Each block of rows is made float32 for the
    product (BLAS); its sums of int8 products stay below 2**24, so they are exact."""
    query = vector.astype(np.float32)
    out = np.empty(len(matrix), dtype=np.float32)
    buffer = np.empty((min(BLOCK, len(matrix)), matrix.shape[1]), dtype=np.float32)
    for start in range(0, len(matrix), BLOCK):
        rows = matrix[start : start + BLOCK]
        block = buffer[: len(rows)]
        np.copyto(block, rows, casting="unsafe")
        np.matmul(block, query, out=out[start : start + BLOCK])
    out /= embed.SCALE * embed.SCALE
    return out


def newest_seq(cache: Cache, source_id: int) -> int:
    """The highest `seq` given to a vector (the meta counter; before the first vector stored
    since migration 11, the source's highest)."""
    counter = cache.meta("vector_seq")
    if counter is not None:
        return int(counter)
    row = cache.one("SELECT max(seq) FROM thread_vectors WHERE source_id = ?", (source_id,))
    return int(row[0]) if row and row[0] is not None else 0


_lock = threading.Lock()
_views: dict[tuple[str, int], SourceIndex] = {}


def _view(cache: Cache, source_id: int) -> SourceIndex:
    key = (str(cache.path), source_id)
    with _lock:
        view = _views.get(key)
        if view is None:
            view = _views[key] = SourceIndex(source_id)
    return view


def nearest(
    cache: Cache,
    vector: npt.NDArray[np.int8],
    source_id: int,
    count: int,
    *,
    before: str | None = None,
) -> list[tuple[int, float]]:
    """The `count` nearest threads of the source to `vector` created at or before `before`:
    [(thread id, cosine)], best first.

    Approximate beyond the delta (the graph's recall is measured by `bench.bench_dupes`)."""
    view = _view(cache, source_id)
    with _lock:
        view.refresh(cache)
        return view.search(cache, vector, count, before)


asked_ahead: set[Path] = set()  # the files `read_ahead` was called for in this process


def read_ahead(path: Path, *, again: bool = True) -> int:
    """Queue the whole file for reading into the OS page cache, in order (POSIX_FADV_WILLNEED
    a step at a time: Linux reads at most its read-ahead, 8 MB here, per call); returns its
    size (0 if it cannot be read).

    Why: a first search at a million threads read the whole 508 MB graph file anyway, but
    piecemeal: usearch's view walks every node's links when it maps the file (146 MB), and the
    search's first hops fault the vectors in 8 MB read-arounds, 362 MB more, with the whole
    19 MB times file: 1.6 s + 0.65 s wall, cold, load 7.7. Read in order first: 0.57 s for
    all of it (0.33 s in these calls), then the mapping 0.45 s and the first search 0.11 s.

    With `again=False` (the mapping's own call) a file already asked for in this process (by
    `console.dupes.warm`'s read-ahead) is not asked for twice: on cached pages the calls still
    cost tens of ms of CPU at a million threads, for nothing."""
    if not again and path in asked_ahead:
        return 0
    asked_ahead.add(path)
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return 0
    try:
        size = os.fstat(handle).st_size
        if hasattr(os, "posix_fadvise"):  # not on macOS: its own read-ahead is left to it
            for start in range(0, size, PREFETCH_STEP):
                os.posix_fadvise(handle, start, PREFETCH_STEP, os.POSIX_FADV_WILLNEED)
        return size
    except OSError:
        return 0
    finally:
        os.close(handle)


def forget() -> None:
    """Drop every process-local view (tests; a replaced cache is also noticed by itself)."""
    with _lock:
        _views.clear()


def _pending(cache: Cache, source_id: int, after: int, limit: int) -> int:
    """How many of the source's vectors were stored after `after` (counted up to `limit`)."""
    row = cache.one(
        "SELECT count(*) FROM (SELECT 1 FROM thread_vectors WHERE source_id = ? AND seq > ? "
        "LIMIT ?)",
        (source_id, after, limit),
    )
    return int(row[0]) if row else 0


def _saved_graph(cache: Cache, source_id: int) -> Saved | None:
    """The source's saved graph, if its file is there."""
    saved = Saved.read(cache, source_id)
    if saved is not None and not (folder(cache) / saved.file).is_file():
        return None
    return saved


def needs_extending(cache: Cache, source_id: int) -> bool:
    saved = _saved_graph(cache, source_id)
    pending = _pending(cache, source_id, saved.seq if saved else 0, max(GRAPH_MIN, DELTA_MAX))
    if saved is None:
        return pending >= GRAPH_MIN
    return pending >= DELTA_MAX


def _add(cache: Cache, graph: Index, source_id: int, after: int, seq: int, threads: int) -> None:
    """Add the source's vectors stored after `after` up to `seq` to `graph`, replacing an
    older vector of the same thread. Streamed in slices: a first build at a million vectors
    never holds them all as rows. A thread has one row (thread_vectors_thread is unique), so
    keys never repeat within the rows read."""
    cursor = cache.conn.execute(
        "SELECT thread_id, vec FROM thread_vectors WHERE source_id = ? AND seq > ? AND seq <= ?",
        (source_id, after, seq),
    )
    while rows := cursor.fetchmany(ADD_SLICE):
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.int8)
        if len(graph):
            present = ids[graph.contains(ids)]
            if len(present):
                graph.remove(present)
        graph.add(ids, matrix.reshape(-1, embed.DIMS), threads=threads)


def _save(graph: Index, where: Path, name: str) -> None:
    """Write the graph to `where/name`, private, whole or not at all (written, then renamed)."""
    partial = where / f".{name}.tmp"
    try:
        graph.save(str(partial))
        partial.chmod(0o600)
        partial.replace(where / name)
    finally:
        partial.unlink(missing_ok=True)


def _loaded(where: Path, file: str | None) -> Index:
    """A graph to add to: a saved file loaded into memory, or a new one."""
    graph = _new_index()
    if file is not None:
        graph.load(str(where / file))
        graph.expansion_add = EXPANSION_ADD  # type: ignore[misc]
    return graph


def _build(
    cache: Cache, source_id: int, base: str | None, after: int, kind: str, threads: int = 1
) -> tuple[str, int, int] | None:
    """A copy of the graph file `base` (or a new graph) with the source's vectors stored after
    `after` added, saved as a new file (`kind`: "" a saved graph, ".delta" a delta graph):
    (its name, the highest seq it holds, its count); None when there is nothing to add."""
    last = cache.one(
        "SELECT max(seq) FROM thread_vectors WHERE source_id = ? AND seq > ?", (source_id, after)
    )
    if last is None or last[0] is None:
        return None
    seq = int(last[0])
    where = folder(cache)
    where.mkdir(mode=0o700, exist_ok=True)
    graph = _loaded(where, base)
    _add(cache, graph, source_id, after, seq, threads)
    name = f"source-{source_id}-{seq}-{os.getpid()}{kind}.usearch"
    _save(graph, where, name)
    return name, seq, len(graph)


def extend(cache: Cache, source_id: int, *, force: bool = False, threads: int = 1) -> bool:
    """Add the source's delta to its saved graph (a new file) when it is big enough (or `force`
    and there is one). Returns True if a new graph was saved. Otherwise the delta's own graph
    takes in its newest vectors when there are enough of them (`extend_delta`)."""
    if cache.path.name in ("", ":memory:") or not cache.dialect.is_sqlite:
        return False
    if not force and not needs_extending(cache, source_id):
        add_missing_times(cache, source_id)
        extend_delta(cache, source_id, threads=threads)
        return False
    saved = _saved_graph(cache, source_id)
    where = folder(cache)
    made = _build(
        cache, source_id, saved.file if saved else None, saved.seq if saved else 0, "", threads
    )
    if made is None:
        return False
    name, seq, count = made
    base = write_times(cache, source_id, name)
    mine = Saved(name, seq, count, base)
    with cache.transaction():
        current = Saved.read(cache, source_id)
        if current is not None and current.seq >= mine.seq and (where / current.file).is_file():
            kept = current  # another process saved as much or more meanwhile
        else:
            cache.set_meta(f"ann:{source_id}", mine.dump())
            kept = mine
    if kept is not mine:
        (where / name).unlink(missing_ok=True)
    _clean(where, keep={kept.file})
    return kept is mine


def extend_delta(cache: Cache, source_id: int, *, threads: int = 1) -> bool:
    """Add the delta's newest vectors to the delta's own graph (a new file) once TAIL_MAX of
    them are outside it, so a search never compares more than TAIL_MAX vectors one by one
    whatever the saved graph lags. The file is small (the delta stays under DELTA_MAX vectors):
    loaded, added to, saved whole, where extending the saved graph at a million vectors would
    rewrite half a gigabyte and leave every process's mapped pages cold. True if saved."""
    if cache.path.name in ("", ":memory:") or not cache.dialect.is_sqlite:
        return False
    where = folder(cache)
    saved = _saved_graph(cache, source_id)
    after = saved.seq if saved else 0
    current = _delta_graph(cache, source_id, after)
    start = current.seq if current else after
    if _pending(cache, source_id, start, TAIL_MAX) < TAIL_MAX:
        return False
    made = _build(cache, source_id, current.file if current else None, start, ".delta", threads)
    if made is None:
        return False
    name, seq, count = made
    mine = DeltaSaved(name, after, seq, count)
    kept: DeltaSaved | None = mine
    with cache.transaction():
        now = _saved_graph(cache, source_id)
        if (now.seq if now else 0) != after:
            kept = None  # the saved graph took the delta in meanwhile: this one continues nothing
        else:
            other = _delta_graph(cache, source_id, after)
            if other is not None and other.seq >= seq:
                kept = other  # another process saved as much or more meanwhile
            else:
                cache.set_meta(delta_key(source_id), mine.dump())
    if kept is not mine:
        (where / name).unlink(missing_ok=True)
    _clean(where, keep={f for f in (saved.file if saved else None, kept and kept.file) if f})
    return kept is mine


def _delta_graph(cache: Cache, source_id: int, after: int) -> DeltaSaved | None:
    """The source's delta graph if it continues the saved graph of seq `after` and its file is
    there."""
    found = DeltaSaved.read(cache, source_id)
    if found is None or found.after != after or not (folder(cache) / found.file).is_file():
        return None
    return found


def write_times(cache: Cache, source_id: int, graph_file: str) -> int | None:
    """Save the creation times of the source's vectors beside its graph file, so a search among
    older threads checks its hits' ages without SQL: one fixed-width byte string per thread id
    from the lowest to the highest of the source (b"" where no vector of the source is), the
    text as stored (compared as SQL compares it: byte by byte, UTF-8). Returns the lowest id
    (the array's base), or None for a source without vectors. Written whole, then renamed."""
    row = cache.one(
        "SELECT min(thread_id), max(thread_id), max(length(CAST(created_at AS BLOB))) "
        "FROM thread_vectors WHERE source_id = ?",
        (source_id,),
    )
    if row is None or row[0] is None:
        return None
    base, top, width = int(row[0]), int(row[1]), max(1, int(row[2] or 1))
    times = np.zeros(top - base + 1, dtype=f"S{width}")
    cursor = cache.conn.execute(
        "SELECT thread_id, created_at FROM thread_vectors WHERE source_id = ?", (source_id,)
    )
    while rows := cursor.fetchmany(ADD_SLICE):
        at = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)) - base
        times[at] = [str(r[1]).encode("utf-8") for r in rows]
    where = folder(cache)
    name = times_name(graph_file)
    partial = where / f".{name}.tmp"
    try:
        with partial.open("wb") as handle:
            np.save(handle, times, allow_pickle=False)
        partial.chmod(0o600)
        partial.replace(where / name)
    finally:
        partial.unlink(missing_ok=True)
    return base


def add_missing_times(cache: Cache, source_id: int) -> bool:
    """Save the creation times beside a saved graph that has none (one saved before they were
    kept); True if written. The meta names them only if it still names the same graph."""
    saved = Saved.read(cache, source_id)
    if saved is None or not (folder(cache) / saved.file).is_file():
        return False
    if saved.times_base is not None and (folder(cache) / saved.times_file).is_file():
        return False
    try:
        base = write_times(cache, source_id, saved.file)
    except OSError:  # a folder this account cannot write: the ages stay read from SQLite
        return False
    if base is None:
        return False
    with cache.transaction():
        current = Saved.read(cache, source_id)
        if current is None or current.file != saved.file:
            (folder(cache) / saved.times_file).unlink(missing_ok=True)
            return False
        cache.set_meta(f"ann:{source_id}", replace(current, times_base=base).dump())
    return True


def _map_times(where: Path, saved: Saved) -> npt.NDArray[np.bytes_] | None:
    """The saved graph's creation times, memory-mapped, or None if it has none (or they cannot
    be read: its hits' ages are then read from SQLite)."""
    if saved.times_base is None:
        return None
    try:
        times = np.load(where / saved.times_file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    return times if times.dtype.kind == "S" and times.ndim == 1 else None


def _clean(where: Path, keep: set[str]) -> None:
    """Remove graph files nobody names any more (old enough that no extend is still writing
    them; a process that still maps one keeps its pages until it lets go)."""
    now = time.time()
    for path in where.glob("*.usearch"):
        if path.name in keep:
            continue
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > STALE_FILE_S or _superseded(path, keep):
                path.unlink()
    for path in where.glob("*" + TIMES_SUFFIX):  # creation times whose graph is gone
        graph = path.name[: -len(TIMES_SUFFIX)]
        if graph not in keep and not (where / graph).exists():
            with contextlib.suppress(OSError):
                path.unlink()


def _superseded(path: Path, keep: set[str]) -> bool:
    """A file of the same source as a kept one that holds less: a saved graph of a lower seq
    than the kept saved graph; a delta graph of a seq no higher than a kept file's (a kept
    saved graph of that seq holds it all)."""
    mine = _file_of(path.name)
    if mine is None:
        return False
    source, seq, delta = mine
    kept = [p for p in map(_file_of, keep) if p is not None and p[0] == source]
    if delta:
        return any(seq <= other for _, other, _ in kept)
    return any(seq < other for _, other, is_delta in kept if not is_delta)


def _file_of(name: str) -> tuple[str, int, bool] | None:
    """(source, seq, is a delta graph) of a graph file's name, None if not one of ours."""
    stem = name.removesuffix(".usearch")
    delta = stem.endswith(".delta")
    parts = stem.removesuffix(".delta").split("-")
    if len(parts) != 4 or parts[0] != "source" or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2]), delta
