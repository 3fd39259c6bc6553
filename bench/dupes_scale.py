"""Duplicate candidates at demo scale: `python -m bench.bench_dupes --threads N`.

On a demo community of N threads (built with `console.demo.build_demo`, or copied from
`--from PATH`; opening it migrates an older schema), measures:

- candidates_ms p50/p95/max: what one thread's candidate search costs, as sync pages pay it
  once the thread's vector exists: choosing its query words, the FTS5 query, semantic recall
  (`console.dupes.ann`: the saved HNSW graph plus the vectors stored since), reading the kept
  candidates, scoring and fusing them, and writing its `duplicate_links` (one transaction).
  The threads are drawn at random from the newest fifth of the cache (not duplicates
  themselves), each searched among the threads older than itself. Every query thread is
  searched `--rounds` times, each round starting with an empty memo of analysed candidates
  (the first round also with a cold page cache for the graph); the lexical path alone
  (`semantic=False`) is timed beside it. cpu_ms is the same calls' CPU time (the thread's own,
  so it does not grow with the machine's load the way wall time does), also per round
  (`cpu_per_round`: the first round is the cold one); reads_per_round: the pages each search
  read from outside SQLite's page cache (read calls, Linux), per round; faults_per_round: the
  page faults each search took (a mapped page, the graph's or its times', touched for the first
  time in the process: minor if the OS had it cached), per round; first_search: the very
  first search after opening, alone, after `warm_up` (the library imports the console makes in
  its warm-up worker; before 2026-11-28 first_search included them);
- where_ms_mean / where_ms_p95: the split of that time (mean, and each part's own p95);
  explained_mean: explanations written per search (only kept pairs at the proposal threshold);
  cold_slowest: the first round's searches at or above its CPU p95, each with its query words,
  their postings, pages read and parts, and their mean beside the other searches' mean;
- analysis: the stored analyses (`console.dupes.analysis`) made for threads without one before
  timing (as `peerdesk dupes --rebuild` does), their size; analysed_from_text_mean says how many
  recalled candidates per search still had to be analysed from their text (0 once filled);
- graph_recall_at_10: how many of a thread's 10 exact nearest vectors (brute force over every
  vector of the source) the graph search returns;
- planted / planted_loss: recall@10 of the demo's planted pairs, and where the missed ones are
  lost (rules, never recalled, ranked below 10; the original's exact cosine rank among older
  threads by how many there are);
- embedding_threads_per_s: both int8 models (MiniLM and e5: a thread gets both vectors) on
  real demo threads (one onnxruntime thread, as sync pages embed), each model's rate beside;
  `embedding`: that and the bulk encoders (two threads that sleep between operators: the
  catch-up, `--rebuild`, the demo), per wall and CPU second, whether both gave the same bytes;
  embedding_all_threads_h: every thread of the cache at the bulk rate.

e5 (the third signal) gets a stand-in too: each thread's MiniLM vector copied (`fill_e5`).

Vectors: embedding a million threads at ~25-100 threads/s would take hours on this machine, so
threads without a real vector get a *stand-in*: the normalised, idf-weighted sum of one fixed
random vector per word (threads sharing rare words are near, as real ones sharing meaning are).
They are stored through `console.dupes.vectors.store` and indexed by `console.dupes.ann` exactly
as real ones; the output says how many vectors are real. Latency depends on the number of
vectors, not on what they mean; the quality of real vectors is measured by
`--truth-demo` and `bench.semeval`.
"""

from __future__ import annotations

import math
import os
import random
import resource
import shutil
import statistics
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from console.db import Cache, open_cache
from console.dupes import analysis, ann, embed, language, vectors
from console.dupes import candidates as cands
from console.dupes.scorer import STOP_WORDS, tokens

SLICE = 10_000


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} {five:.1f} {fifteen:.1f}"


def prepare(work: Path, threads: int, source: Path | None) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"demo-{threads}.sqlite3"
    if path.exists():
        return path
    if source is not None:
        shutil.copyfile(source, path)
        wal = Path(f"{source}-wal")
        if wal.exists():
            shutil.copyfile(wal, Path(f"{path}-wal"))
        return path
    from console.demo import build_demo

    cache = open_cache(path, create=True)
    try:
        # no rewards: nothing here reads them, and at a million threads their accrual run (22
        # million votes) takes longer than everything else put together
        build_demo(cache, threads, candidate_limit=0, rewards=False)
    finally:
        cache.close()
    return path


class StandIn:
    """Stand-in vectors: the idf-weighted sum of one fixed random vector per word."""

    def __init__(self, cache: Cache) -> None:
        cands.refresh_terms(cache)
        self.stats = cands.VocabStats(cache.conn)
        self.n = max(1, self.stats.n_docs)
        self.words: dict[str, tuple[np.ndarray, float]] = {}

    def _word(self, word: str) -> tuple[np.ndarray, float]:
        found = self.words.get(word)
        if found is None:
            rng = np.random.default_rng(zlib.crc32(word.encode()))
            df = self.stats.df(word)
            found = (
                rng.standard_normal(embed.DIMS).astype(np.float32),
                math.log(1.0 + self.n / (1.0 + df)),
            )
            self.words[word] = found
        return found

    def vectors(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), embed.DIMS), dtype=np.float32)
        for i, text in enumerate(texts):
            words = [w for w in dict.fromkeys(tokens(text)) if w not in STOP_WORDS][:64]
            self.stats.prefetch(w for w in words if w not in self.words)
            for word in words:
                vec, weight = self._word(word)
                out[i] += weight * vec
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return embed.to_int8(out)


def fill_vectors(cache: Cache) -> dict[str, Any]:
    """Stand-in vectors for every thread without one; then the graph. Returns counts, times."""
    real = int(cache.one("SELECT count(*) FROM thread_vectors")[0])  # type: ignore[index]
    began = time.perf_counter()
    stand_in: StandIn | None = None
    added = 0
    missing = [
        r[0]
        for r in cache.query(
            "SELECT t.id FROM threads t WHERE NOT EXISTS "
            "(SELECT 1 FROM thread_vectors v WHERE v.thread_id = t.id) ORDER BY t.id"
        )
    ]
    for start in range(0, len(missing), SLICE):
        chunk = missing[start : start + SLICE]
        part = cache.query(
            "SELECT t.id, t.source_id, t.created_at, t.title, coalesce(f.body, '') FROM threads t "
            "LEFT JOIN thread_fts f ON f.rowid = t.id WHERE t.id BETWEEN ? AND ? ORDER BY t.id",
            (chunk[0], chunk[-1]),
        )
        wanted = set(chunk)
        part = [r for r in part if r[0] in wanted]
        stand_in = stand_in or StandIn(cache)
        texts = [embed.thread_text(r[3], r[4]) for r in part]
        rows = [
            (r[0], r[1], r[2], language.guess(t), vectors._crc(t))
            for r, t in zip(part, texts, strict=True)
        ]
        vectors.store(cache, rows, stand_in.vectors(texts))
        added += len(part)
    stored_s = time.perf_counter() - began
    began = time.perf_counter()
    sources = [r[0] for r in cache.query("SELECT DISTINCT source_id FROM thread_vectors")]
    tiers = [ann.DeltaSaved.read(cache, s) for s in sources]
    built = [ann.extend(cache, s, force=added > 0, threads=2) for s in sources]
    tiered = tiers != [ann.DeltaSaved.read(cache, s) for s in sources]
    spent = round(time.perf_counter() - began, 1)
    # what a search compares one by one: the delta (vectors stored after the saved graph) less
    # what the delta's own graph holds (`ann.extend` saves it when the tail reaches TAIL_MAX)
    delta: dict[str, Any] = {}
    for s in sources:
        saved = ann.Saved.read(cache, s)
        tier = ann.DeltaSaved.read(cache, s)
        after = saved.seq if saved else 0
        delta[str(s)] = {
            "delta": ann._pending(cache, s, after, 10**9),
            "in_delta_graph": tier.count if tier and tier.after == after else 0,
            "exact": ann._pending(
                cache, s, tier.seq if tier and tier.after == after else after, 10**9
            ),
        }
    return {
        "real_vectors": real,
        "stand_in_vectors": added,
        "stand_in_store_s": round(stored_s, 1),
        "stand_in_e5_vectors": fill_e5(cache),
        "graph_build_s": spent if any(built) else None,
        "delta_graph_build_s": spent if tiered and not any(built) else None,
        "delta_by_source": delta,
    }


def fill_e5(cache: Cache) -> int:
    """Stand-in e5 vectors (`console.dupes.e5_vectors`) for every thread with a vector and no
    e5 one: a copy of its MiniLM vector (real or stand-in), named as today's e5 identity. Only
    for timing: a pool reads and compares them as real ones (one indexed read, one integer
    product), and a pool meeting a thread without one would embed it then (~19 ms each), which
    a caught-up cache never does. Their meaning is not e5's: the planted pairs' recall of a
    cache filled so is not e5's either (`--truth-demo` embeds for real)."""
    from console.dupes import e5, e5_vectors

    with cache.transaction() as conn:
        if not e5_vectors.current(cache):
            conn.execute("DELETE FROM thread_vectors_e5")
        cache.set_meta(e5_vectors.MODEL_KEY, e5.VECTORS)
        added = conn.execute(
            "INSERT INTO thread_vectors_e5 (thread_id, text_crc, vec) "
            "SELECT v.thread_id, v.text_crc, v.vec FROM thread_vectors v WHERE NOT EXISTS "
            "(SELECT 1 FROM thread_vectors_e5 e WHERE e.thread_id = v.thread_id)"
        ).rowcount
    return int(added)


def fill_analysis(cache: Cache) -> dict[str, Any]:
    """Stored analyses (`console.dupes.analysis`) for every thread without one, as `peerdesk
    dupes --rebuild` makes them; the time it took and what they weigh."""
    began = time.perf_counter()
    cpu = time.process_time()
    added = analysis.backfill(cache)
    spent = time.perf_counter() - began
    row = cache.one("SELECT count(*), coalesce(sum(length(data)), 0) FROM thread_analysis")
    count, size = (int(row[0]), int(row[1])) if row else (0, 0)
    return {
        "analysed": added,
        "analyse_s": round(spent, 1),
        "analyse_threads_per_cpu_s": round(added / (time.process_time() - cpu)) if added else None,
        "stored": count,
        "bytes_per_thread": round(size / count) if count else None,
    }


def sample(cache: Cache, count: int, seed: int) -> list[int]:
    top = int(cache.one("SELECT max(id) FROM threads")[0])  # type: ignore[index]
    rows = cache.query(
        "SELECT id FROM threads WHERE id > ? AND status != 'duplicate' AND duplicate_of IS NULL",
        (int(top * 0.8),),
    )
    ids = [r[0] for r in rows]
    return sorted(random.Random(seed).sample(ids, min(count, len(ids))))


def _reads() -> int | None:
    """read(2)/pread(2) calls of this process so far (Linux's /proc/self/io `syscr`): SQLite
    reads one page a call, so a difference is the pages read outside its own page cache,
    whatever the machine's load (None where there is no /proc)."""
    try:
        with open("/proc/self/io", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("syscr:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _faults() -> tuple[int, int]:
    """(minor, major) page faults of the calling thread so far: a memory-mapped page (the
    graph, its times) touched for the first time by this process is a fault, minor when the OS
    has the page cached, major when it must read it from disk."""
    use = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
    return int(use.ru_minflt), int(use.ru_majflt)


def _quantiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50": round(statistics.median(times), 2),
        "p95": round(times[int(0.95 * (len(times) - 1))], 2),
        "max": round(times[-1], 2),
        "n": len(times),
    }


def warm_up() -> dict[str, Any]:
    """The libraries a semantic search imports, loaded ahead of it (`console.dupes.warm`, what
    the console's warm-up worker does after its first rows): what that moved off the first
    search. One sample."""
    from console.dupes import warm

    cpu = time.thread_time()
    began = time.perf_counter()
    loaded = warm.libraries()
    return {
        "loaded": loaded,
        "wall_ms": round((time.perf_counter() - began) * 1000, 2),
        "cpu_ms": round((time.thread_time() - cpu) * 1000, 2),
    }


def first_search(cache: Cache, thread_id: int) -> dict[str, float]:
    """The very first search after opening the cache (the graph mapped, the libraries loaded,
    no page read yet): one sample, not a percentile."""
    cpu = time.thread_time()
    began = time.perf_counter()
    cands.find_candidates(cache, thread_id, keep=cands.KEEP)
    return {
        "wall_ms": round((time.perf_counter() - began) * 1000, 2),
        "cpu_ms": round((time.thread_time() - cpu) * 1000, 2),
    }


def time_candidates(cache: Cache, ids: list[int], rounds: int, *, semantic: bool) -> dict[str, Any]:
    stats = cands.VocabStats(cache.conn)
    per_round: list[dict[str, float]] = []
    cpu_per_round: list[dict[str, float]] = []
    reads_per_round: list[dict[str, float] | None] = []
    faults_per_round: list[dict[str, Any]] = []
    every: list[float] = []
    parts = {"terms": 0.0, "fts": 0.0, "semantic": 0.0, "fetch": 0.0, "score": 0.0, "write": 0.0}
    each: dict[str, list[float]] = {k: [] for k in parts}
    recalled = from_text = explained = 0
    cpu: list[float] = []
    searches: list[dict[str, Any]] = []  # the first (cold) round, one record per search
    for round_no in range(rounds):
        cands.forget_analysed()  # each round starts cold
        times = []
        round_cpu: list[float] = []
        round_reads: list[float] = []
        round_minor: list[float] = []
        round_major: list[float] = []
        for thread_id in ids:
            timing = cands.Timing()
            faults_began = _faults()
            reads_began = _reads()
            cpu_began = time.thread_time()
            began = time.perf_counter()
            found = cands.find_candidates(
                cache, thread_id, stats=stats, timing=timing, semantic=semantic, keep=cands.KEEP
            )
            mark = time.perf_counter()
            with cache.transaction() as conn:
                cands._store(conn, thread_id, found, cands.METHOD)
            end = time.perf_counter()
            round_cpu.append((time.thread_time() - cpu_began) * 1000)
            faults_ended = _faults()
            round_minor.append(float(faults_ended[0] - faults_began[0]))
            round_major.append(float(faults_ended[1] - faults_began[1]))
            reads_ended = _reads()
            if reads_began is not None and reads_ended is not None:
                round_reads.append(float(reads_ended - reads_began))
            times.append((end - began) * 1000)
            parts["terms"] += timing.terms_ms
            parts["fts"] += timing.fts_ms
            parts["semantic"] += timing.semantic_ms
            parts["fetch"] += timing.fetch_ms
            parts["score"] += timing.score_ms
            parts["write"] += (end - mark) * 1000
            for key, value in (
                ("terms", timing.terms_ms),
                ("fts", timing.fts_ms),
                ("semantic", timing.semantic_ms),
                ("fetch", timing.fetch_ms),
                ("score", timing.score_ms),
                ("write", (end - mark) * 1000),
            ):
                each[key].append(value)
            recalled += timing.recalled
            from_text += timing.from_text
            explained += timing.explained
            if round_no == 0:
                searches.append(
                    {
                        "thread": thread_id,
                        "cpu_ms": round(round_cpu[-1], 2),
                        "reads": round_reads[-1] if round_reads else None,
                        "faults": round_minor[-1] + round_major[-1],
                        "query_terms": len(timing.query_terms),
                        "postings": sum(stats.df(t) for t in timing.query_terms),
                        "recalled": timing.recalled,
                        "explained": timing.explained,
                        "where_ms": {k: round(each[k][-1], 2) for k in each},
                    }
                )
        per_round.append(_quantiles(times))
        cpu_per_round.append(_quantiles(round_cpu))
        reads_per_round.append(_quantiles(round_reads) if round_reads else None)
        faults_per_round.append(
            {"minor": _quantiles(round_minor), "major_total": int(sum(round_major))}
        )
        every.extend(times)
        cpu.extend(round_cpu)
    n = len(every)
    return {
        "candidates_ms": _quantiles(every),
        "cpu_ms": _quantiles(cpu),
        "per_round": per_round,  # the first round is cold: nothing read yet since opening
        "cpu_per_round": cpu_per_round,
        # pages read per search from outside SQLite's page cache (both rounds: the first cold)
        "reads_per_round": reads_per_round,
        # page faults per search (memory-mapped pages touched first by this process), per round
        "faults_per_round": faults_per_round,
        "where_ms_mean": {k: round(v / n, 2) for k, v in parts.items()},
        "where_ms_p95": {k: _quantiles(v)["p95"] for k, v in each.items()},
        "recalled_mean": round(recalled / n, 1),
        "explained_mean": round(explained / n, 2),
        "analysed_from_text_mean": round(from_text / n, 2),
        "cold_slowest": _slowest(searches),
        "load_average": _load(),
    }


def _slowest(searches: list[dict[str, Any]]) -> dict[str, Any]:
    """What the cold round's slowest searches (CPU at or above its p95) spent their time on,
    beside the means of the others: query words, their postings (the sum of the words'
    document frequencies: what FTS5 reads and bm25 ranks), pages read, each part's wall ms."""
    if not searches:
        return {}
    ordered = sorted(searches, key=lambda r: r["cpu_ms"])
    cut = ordered[int(0.95 * (len(ordered) - 1))]["cpu_ms"]
    slow = [r for r in ordered if r["cpu_ms"] >= cut]
    rest = [r for r in ordered if r["cpu_ms"] < cut]

    def means(rows: list[dict[str, Any]]) -> dict[str, Any]:
        if not rows:
            return {}
        keys = ("cpu_ms", "reads", "faults", "query_terms", "postings", "recalled", "explained")
        found: dict[str, Any] = {
            k: round(statistics.mean(r[k] or 0 for r in rows), 2) for k in keys
        }
        found["where_ms"] = {
            k: round(statistics.mean(r["where_ms"][k] for r in rows), 2)
            for k in rows[0]["where_ms"]
        }
        return found

    return {
        "cpu_ms_from": cut,
        "searches": slow,
        "their_mean": means(slow),
        "others_mean": means(rest),
    }


def graph_recall(cache: Cache, ids: list[int]) -> dict[str, Any]:
    """Recall@10 of `ann.nearest` against brute force over every vector of the source."""
    own = vectors.vectors_of(cache, ids)
    ids = [t for t in ids if t in own]
    source = {
        r[0]: r[1]
        for r in cache.query(
            f"SELECT id, source_id FROM threads WHERE id IN ({','.join('?' * len(ids))})", ids
        )
    }
    queries = np.stack([own[t][0] for t in ids]).astype(np.float32)
    best: list[list[tuple[float, int]]] = [[] for _ in ids]
    cursor = cache.conn.execute("SELECT thread_id, vec, source_id FROM thread_vectors")
    while rows := cursor.fetchmany(100_000):
        keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        srcs = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.int8)
        sims = matrix.reshape(-1, embed.DIMS).astype(np.float32) @ queries.T
        for q, thread_id in enumerate(ids):
            col = np.where((srcs == source[thread_id]) & (keys != thread_id), sims[:, q], -1e9)
            top = np.argpartition(-col, 10)[:10]
            best[q] = sorted(best[q] + [(float(col[i]), int(keys[i])) for i in top])[-10:]
    hits = 0
    times = []
    for q, thread_id in enumerate(ids):
        exact = {k for _, k in best[q]}
        began = time.perf_counter()
        near = vectors.neighbours(
            cache, own[thread_id][0], source[thread_id], limit=10, exclude=thread_id
        )
        times.append((time.perf_counter() - began) * 1000)
        hits += len(exact & {t for t, _ in near})
    return {
        "graph_recall_at_10": round(hits / (10 * len(ids)), 3),
        "queries": len(ids),
        "nearest_ms": _quantiles(times),
    }


def embedding_rate(cache: Cache, count: int = 256) -> dict[str, Any]:
    """Threads embedded per second (wall, and per CPU second of the process) by the encoders
    every process shares (one onnxruntime thread: sync pages, a search's own thread) and by
    the bulk encoders (`load_encoder(bulk=True)`, `load_e5(bulk=True)`: the catch-up,
    `--rebuild`, the demo), on the cache's newest `count` threads: each model alone, and both
    (what ingest pays: a thread gets both vectors); whether one thread and bulk give the same
    bytes."""
    from console.dupes import e5

    if embed.load_encoder() is None:
        return {"embedding": embed.unavailable_reason()}
    rows = cache.query(
        "SELECT t.title, coalesce(f.body, '') FROM threads t JOIN thread_fts f ON f.rowid = t.id "
        "ORDER BY t.id DESC LIMIT ?",
        (count,),
    )
    texts = [embed.thread_text(r[0], r[1]) for r in rows]
    total = int(cache.one("SELECT count(*) FROM threads")[0])  # type: ignore[index]
    found: dict[str, Any] = {}
    made: dict[str, bytes] = {}
    for name, bulk in (("one_thread", False), ("bulk", True)):
        models: dict[str, Any] = {"minilm": embed.load_encoder(bulk=bulk)}
        if (second := e5.load_e5(bulk=bulk)) is not None:
            models["e5"] = second
        spent: dict[str, tuple[float, float]] = {}
        for model, encoder in models.items():
            encoder.encode(texts[:8])  # warm up
            cpu = time.process_time()
            began = time.perf_counter()
            made[f"{name}:{model}"] = embed.to_int8(encoder.encode(texts)).tobytes()
            spent[model] = (time.perf_counter() - began, time.process_time() - cpu)
        wall = sum(w for w, _ in spent.values())
        cpu_s = sum(c for _, c in spent.values())
        found[name] = {
            "threads": embed._threads(bulk=bulk),
            "models": list(models),
            "threads_per_s": round(len(texts) / wall, 1),
            "threads_per_cpu_s": round(len(texts) / max(cpu_s, 1e-9), 1),
            **{f"{m}_threads_per_s": round(len(texts) / w, 1) for m, (w, _) in spent.items()},
        }
    same = all(made[f"one_thread:{m}"] == made[f"bulk:{m}"] for m in found["bulk"]["models"])
    return {
        "embedding_threads_per_s": found["one_thread"]["threads_per_s"],
        "embedding_all_threads_h": round(total / found["bulk"]["threads_per_s"] / 3600, 2),
        "embedding": {**found, "same_bytes": same, "texts": count},
    }


def planted_pairs(cache: Cache, count: int, seed: int) -> list[tuple[int, int]]:
    """`count` of the demo's planted duplicate pairs (new thread, original) drawn at random
    (meta `demo_planted_duplicates`, remote ids of the demo source)."""
    import json

    raw = cache.meta("demo_planted_duplicates")
    source = cache.one("SELECT id FROM sources WHERE name = 'demo'")
    if not raw or not source or count <= 0:
        return []
    pairs = json.loads(raw)
    chosen = random.Random(seed).sample(pairs, min(count, len(pairs)))
    wanted = sorted({r for pair in chosen for r in pair})
    local: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        local.update(
            cache.query(
                f"SELECT remote_id, id FROM threads WHERE source_id = ? AND remote_id IN "
                f"({','.join('?' * len(part))})",
                [source[0], *part],
            )
        )
    return [(local[d], local[o]) for d, o in chosen if d in local and o in local]


def planted_recall(cache: Cache, pairs: list[tuple[int, int]], seed: int) -> dict[str, Any]:
    """Recall@10 of the original (and precision at the proposal threshold) for a sample of the
    planted pairs, searched in the whole cache (`bench_dupes._retrieval`), with the vectors
    (stand-ins where the cache had none: then only `lexical` says anything about words) and
    words only. At this size the query words' bounds bind, unlike in the 2,000-thread
    `--truth-demo`."""
    from bench.bench_dupes import _retrieval

    if not pairs:
        return {}
    keys = ("pairs", "recall_at_10", "mrr", "proposals", "precision_at_threshold")
    found: dict[str, Any] = {}
    for name, semantic in (("semantic", True), ("lexical", False)):
        result = _retrieval(cache, pairs, semantic=semantic)
        found[name] = {k: result[k] for k in keys}
    return found


def planted_loss(cache: Cache, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    """Where the planted pairs that recall@10 misses are lost: pairs the rules never let be
    proposed (counted in recall@10's denominator), originals never recalled (among neither
    FTS5's hits nor the embeddings the search asked for), recalled but ranked below 10; for
    those never recalled, whether the graph missed an original the exact search would have
    returned; and the original's exact rank by cosine among the older threads of its source
    (brute force over every vector), by how many older threads the new one has: the more
    threads, the more of them nearer than the original, whatever the graph does."""
    from bench.bench_dupes import _may_propose

    if not pairs:
        return {}
    stats = cands.VocabStats(cache.conn)
    news = [n for n, _ in pairs]
    own = vectors.vectors_of(cache, [t for p in pairs for t in p])
    pairs = [(n, o) for n, o in pairs if n in own and o in own]
    row_of = {
        r[0]: r
        for r in cache.query(
            "SELECT id, source_id, created_at FROM threads WHERE id IN "
            f"({','.join('?' * len(news))})",
            news,
        )
    }
    queries = np.stack([own[n][0] for n, _ in pairs]).astype(np.float32)
    target = np.array(
        [float(own[n][0].astype(np.float32) @ own[o][0].astype(np.float32)) for n, o in pairs]
    )
    nearer = np.zeros(len(pairs), dtype=np.int64)
    older = np.zeros(len(pairs), dtype=np.int64)
    before = np.array([str(row_of[n][2]).encode() for n, _ in pairs])
    source = np.array([row_of[n][1] for n, _ in pairs])
    cursor = cache.conn.execute("SELECT thread_id, vec, source_id, created_at FROM thread_vectors")
    while rows := cursor.fetchmany(50_000):
        keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        srcs = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
        made = np.array([str(r[3]).encode() for r in rows])
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.int8)
        sims = matrix.reshape(-1, embed.DIMS).astype(np.float32) @ queries.T
        for q, (new, _) in enumerate(pairs):
            mask = (srcs == source[q]) & (made <= before[q]) & (keys != new)
            older[q] += int(mask.sum())
            nearer[q] += int((sims[mask, q] > target[q]).sum())
    asked = cands.SEMANTIC_RECALL + 4
    counts = dict.fromkeys(
        (
            "rules_forbid",
            "found_at_10",
            "recalled_ranked_below_10",
            "never_recalled",
            "never_recalled_though_exactly_near",
            "never_recalled_graph_missed_it",
        ),
        0,
    )
    by_older: dict[str, list[int]] = {"under 10k": [], "10k-40k": [], "40k+": []}
    for q, (new, original) in enumerate(pairs):
        rank = int(nearer[q]) + 1
        band = "under 10k" if older[q] < 10_000 else "10k-40k" if older[q] < 40_000 else "40k+"
        by_older[band].append(rank)
        if not _may_propose(cache, new, original):
            counts["rules_forbid"] += 1
            continue
        ranked = [r[0] for r in cands.find_candidates(cache, new, stats=stats)]
        if original in ranked[:10]:
            counts["found_at_10"] += 1
        elif original in ranked:
            counts["recalled_ranked_below_10"] += 1
        else:
            counts["never_recalled"] += 1
            near = vectors.neighbours(
                cache,
                own[new][0],
                int(source[q]),
                limit=asked,
                before=before[q].decode(),
                exclude=new,
            )
            if rank <= asked:
                counts["never_recalled_though_exactly_near"] += 1
                if original not in {t for t, _ in near}:
                    counts["never_recalled_graph_missed_it"] += 1
    return {
        "pairs": len(pairs),
        **counts,
        "original_exact_cosine_rank_median_by_older_threads": {
            band: {
                "pairs": len(ranks),
                "median": statistics.median(ranks) if ranks else None,
                f"within_{asked}": sum(r <= asked for r in ranks),
            }
            for band, ranks in by_older.items()
        },
    }


def run(
    threads: int,
    work: Path,
    source: Path | None,
    queries: int,
    rounds: int,
    seed: int,
    planted_count: int = 0,
) -> dict[str, Any]:
    path = prepare(work, threads, source)
    report: dict[str, Any] = {"benchmark": "dupes-demo-scale", "threads": threads}
    report["load_average_start"] = _load()
    began = time.perf_counter()
    cache = open_cache(path)
    report["open_s"] = round(time.perf_counter() - began, 1)
    try:
        report["vectors"] = fill_vectors(cache)
        report["analysis"] = fill_analysis(cache)
        cands.refresh_terms(cache)
        ids = sample(cache, queries, seed)
        planted = planted_pairs(cache, planted_count, seed)
        # open it again, as a console would: nothing read yet (the graph mapped again too)
        cache.close()
        ann.forget()
        cache = open_cache(path)
        report["warm_up"] = warm_up()  # as the console does after its first rows
        report["first_search"] = first_search(cache, ids[0])
        report["semantic"] = time_candidates(cache, ids, rounds, semantic=True)
        report["lexical"] = time_candidates(cache, ids, rounds, semantic=False)
        report["graph"] = graph_recall(cache, ids[:100])
        report["planted"] = planted_recall(cache, planted, seed)
        report["planted_loss"] = planted_loss(cache, planted)
        report.update(embedding_rate(cache))
    finally:
        cache.close()
    report["load_average_end"] = _load()
    report["file_bytes"] = path.stat().st_size
    graphs = list(ann.folder_of(path).glob("*.usearch")) if ann.folder_of(path).exists() else []
    report["graph_bytes"] = sum(g.stat().st_size for g in graphs)
    return report


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.dupes_scale ...` is `python -m bench.bench_dupes --threads N ...`."""
    import sys

    from bench.bench_dupes import main as dupes_main

    args = sys.argv[1:] if argv is None else argv
    if not {"-h", "--help"} & set(args) and not any(a.startswith("--threads") for a in args):
        args = ["--threads", "100000", *args]
    return dupes_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
