"""Speed of duplicate detection at scale: candidates for one new thread, index build, size, memory.

    .venv/bin/python -m bench.bench_dupes [--sizes 100000 1000000] [--new 200] [--work DIR] [--keep]

For each size, builds a cache of that many synthetic threads through `console.ingest` (words
drawn from a Zipf-distributed vocabulary, so term frequencies look like a forum's; one thread in
ten re-asks an earlier one with other words mixed in), then:

- ingest_threads_per_s: `upsert_threads` (rows + FTS5) in batches of 5,000;
- index_build_threads_per_s: `candidates.rebuild_index` (the `peerdesk dupes --rebuild` index);
- new_thread_ms p50/p95/max: `update_candidates(cache, [id])` for NEW fresh threads, each
  ingested first (not timed), i.e. term choice + FTS5 query + rerank + storing the links;
- where_ms: the mean split of that time (query terms, FTS5, fetching candidates, scoring, writing);
- index_bytes (dbstat: thread_fts shadow tables), file_bytes, peak RSS;
- semantic recall: every thread also gets a 384-dim int8 vector in `thread_vectors`. The
  synthetic threads are random words, and embedding a million of them would take hours, so their
  vectors are synthetic too (unit vectors around 5,000 random "topic" directions; a re-asked
  thread's vector is its original's plus noise), stored through `console.dupes.vectors.store`
  and clustered by `train_cells` exactly as real ones; each timed new thread's vector is stored
  before the timing (its embedding cost is measured apart: `embedding`).
- semantic_recall_at_10: for re-asked new threads, how often the ANN recall (PROBE cells) finds
  the thread's 10 exact nearest neighbours (brute force over every vector), i.e. what the cells
  cost in recall;
- embedding: `vectors.embed_threads` on real demo-like text (threads/s, one core).

Ground truths of retrieval from the whole cache (Recall@10, MRR of the true original among a
thread's candidates, as `find_candidates` ranks them):

    .venv/bin/python -m bench.bench_dupes --truth-demo 2000     # a fresh demo community
    .venv/bin/python -m bench.bench_dupes --truth-cache PATH    # an existing cache

- demo: the near-duplicates `console.demo` planted (meta `demo_planted_duplicates`, source "demo");
- closed: threads a platform closed as duplicates (threads.duplicate_of, e.g. Stack Exchange).

Built caches are kept in --work (default /tmp/peerdesk-bench-dupes) with --keep, and reused.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from console.db import Cache, open_cache
from console.dupes import ann, embed, vectors
from console.dupes import candidates as cands
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord

VOCABULARY = 40_000
NEARBY_THRESHOLDS = (0.4, 0.45, 0.5, 0.55, 0.6)  # precision/recall beside the shipped one
BATCH = 5_000
SEED = 20261123


class Words:
    """A fixed synthetic vocabulary with Zipf(1.0) frequencies."""

    def __init__(self, rng: random.Random) -> None:
        letters = "abcdefghijklmnopqrstuvwxyz"
        seen: set[str] = set()
        words: list[str] = []
        while len(words) < VOCABULARY:
            word = "".join(rng.choice(letters) for _ in range(rng.randint(3, 10)))
            if word not in seen:
                seen.add(word)
                words.append(word)
        self.words = words
        total = 0.0
        self.cum: list[float] = []
        for rank in range(1, VOCABULARY + 1):
            total += 1.0 / rank
            self.cum.append(total)
        self.rng = rng

    def draw(self, count: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cum, k=count)


class FakeEmbedder:
    """A stand-in for the model on random-word threads: a weighted sum of one fixed random
    vector per word (rarer words weigh more), normalised, as int8. Threads sharing words get
    near vectors, as real ones sharing meaning do."""

    def __init__(self, words: Words) -> None:
        rng = np.random.default_rng(SEED)
        self.table = rng.standard_normal((VOCABULARY, embed.DIMS), dtype=np.float32)
        self.index = {w: i for i, w in enumerate(words.words)}
        self.weight = (np.log1p(np.arange(VOCABULARY)) + 0.5).astype(np.float32)

    def vectors(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), embed.DIMS), dtype=np.float32)
        for i, text in enumerate(texts):
            idx = np.fromiter((self.index[w] for w in text.split() if w in self.index), int)
            if len(idx):
                out[i] = self.weight[idx] @ self.table[idx]
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return embed.to_int8(out)


def store_fake_vectors(
    cache: Cache,
    fake: FakeEmbedder,
    source: int,
    ids: dict[str, int],
    threads: list[ThreadRecord],
    texts: list[tuple[str, str]],
) -> None:
    rows = [
        (
            ids[t.remote_id],
            source,
            t.created_at,
            "",
            vectors._crc(embed.thread_text(title, body[: cands_fts_limit()])),
        )
        for t, (title, body) in zip(threads, texts, strict=True)
    ]
    vectors.store(cache, rows, fake.vectors([f"{a} {b}" for a, b in texts]))


def cands_fts_limit() -> int:
    from console.ingest import FTS_BODY_LIMIT

    return FTS_BODY_LIMIT


def _thread(words: Words, rng: random.Random, n: int, base: list[str] | None) -> tuple[str, str]:
    if base is not None and rng.random() < 0.1 and n > 10:
        title, body = base[rng.randrange(len(base))].split("\n", 1)
        t = title.split()
        b = body.split()
        rng.shuffle(t)
        b = b[: len(b) // 2] + words.draw(len(b) // 2)
        return " ".join(t[:-1] + words.draw(1)), " ".join(b)
    return " ".join(words.draw(rng.randint(5, 10))), " ".join(words.draw(rng.randint(25, 90)))


def _records(
    start: int, texts: list[tuple[str, str]]
) -> tuple[list[ThreadRecord], list[PostRecord]]:
    threads, posts = [], []
    for offset, (title, body) in enumerate(texts):
        number = start + offset
        stamp = f"2026-{1 + number % 12:02d}-{1 + number % 28:02d}T10:00:00Z"
        stamp = f"20{10 + number * 15 // 1_000_000:02d}" + stamp[4:]
        threads.append(
            ThreadRecord(
                remote_id=f"t{number}",
                title=title,
                author_remote_id=None,
                status="solved" if number % 3 == 0 else "open",
                created_at=stamp,
                last_activity_at=stamp,
                reply_count=number % 4,
            )
        )
        posts.append(PostRecord(f"p{number}", f"t{number}", None, 0, body, body, stamp))
    return threads, posts


def build(path: Path, size: int) -> dict[str, Any]:
    rng = random.Random(SEED)
    words = Words(rng)
    cache = open_cache(path, create=True)
    source = ensure_source(cache, "demo", "bench")
    fake = FakeEmbedder(words)
    recent: list[str] = []
    spent = 0.0
    vector_s = 0.0
    for start in range(0, size, BATCH):
        texts = []
        for number in range(start, min(size, start + BATCH)):
            title, body = _thread(words, rng, number, recent or None)
            texts.append((title, body))
            recent.append(f"{title}\n{body}")
        recent = recent[-2000:]
        threads, posts = _records(start, texts)
        began = time.perf_counter()
        ids = upsert_threads(cache, source, threads, posts)
        spent += time.perf_counter() - began
        began = time.perf_counter()
        store_fake_vectors(cache, fake, source, ids, threads, texts)
        vector_s += time.perf_counter() - began
    began = time.perf_counter()
    ann.extend(cache, source, force=True, threads=2)
    train_s = time.perf_counter() - began
    cache.set_meta("bench_size", str(size))
    cache.close()
    return {
        "ingest_threads_per_s": round(size / spent),
        "fake_vectors_s": round(vector_s, 1),
        "graph_build_s": round(train_s, 1),
    }


def _all_vectors(cache: Cache) -> tuple[np.ndarray, np.ndarray]:
    rows = cache.query("SELECT thread_id, vec FROM thread_vectors")
    ids = np.array([r[0] for r in rows])
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.int8).reshape(-1, embed.DIMS)
    return ids, matrix


def _table_bytes(cache: Cache, name: str) -> int:
    row = cache.one(
        "SELECT sum(pgsize) FROM dbstat WHERE name = ? OR name LIKE ?", (name, name + "_%")
    )
    return int(row[0] or 0) if row else 0


def _index_bytes(cache: Cache) -> int:
    row = cache.one("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'thread_fts%'")
    return int(row[0] or 0) if row else 0


def measure(path: Path, size: int, new: int, rebuild: bool = True) -> dict[str, Any]:
    cache = open_cache(path)
    began = time.perf_counter()
    if rebuild:
        indexed = cands.rebuild_index(cache)
    else:
        indexed = int(cache.one("SELECT count(*) FROM threads")[0])
    rebuild_s = time.perf_counter() - began
    cache.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rng = random.Random(SEED + 1)
    words = Words(random.Random(SEED))  # the same vocabulary as the cache
    words.rng = rng
    source = ensure_source(cache, "demo", "bench")
    pool = [
        f"{r[0]}\n{r[1]}"
        for r in cache.query(
            "SELECT title, body FROM thread_fts WHERE rowid IN "
            "(SELECT abs(random()) % (SELECT max(id) FROM threads) + 1 FROM threads LIMIT 500)"
        )
    ]
    fake = FakeEmbedder(words)
    everything = _all_vectors(cache)
    times: list[float] = []
    parts = {"terms": 0.0, "fts": 0.0, "semantic": 0.0, "fetch": 0.0, "score": 0.0}
    recalled = 0
    ann_hits = ann_total = 0
    for i in range(new):
        title, body = _thread(words, rng, 11, pool if i % 2 else None)
        threads, posts = _records(size + 10 + i, [(title, body)])
        threads = [dataclasses.replace(t, created_at="2099-01-01T00:00:00Z") for t in threads]
        ids = upsert_threads(cache, source, threads, posts)
        thread_id = next(iter(ids.values()))
        store_fake_vectors(cache, fake, source, ids, threads, [(title, body)])
        began = time.perf_counter()
        cands.update_candidates(cache, [thread_id])
        times.append((time.perf_counter() - began) * 1000)
        timing = cands.Timing()
        cands.find_candidates(cache, thread_id, timing=timing)
        parts["terms"] += timing.terms_ms
        parts["fts"] += timing.fts_ms
        parts["semantic"] += timing.semantic_ms
        parts["fetch"] += timing.fetch_ms
        parts["score"] += timing.score_ms
        recalled += timing.recalled
        if i % 2 and i < 100:
            own = vectors.vectors_of(cache, [thread_id])[thread_id][0]
            exact_ids, matrix = everything
            exact = set(
                exact_ids[np.argsort(-embed.cosine_int8(own, matrix), kind="stable")[:10]].tolist()
            )
            near = {t for t, _ in vectors.neighbours(cache, own, source, limit=10)}
            near.discard(thread_id)
            ann_hits += len(exact & near)
            ann_total += len(exact)
    times.sort()
    result = {
        "threads": indexed,
        "index_build_threads_per_s": round(indexed / rebuild_s) if rebuild else None,
        "index_build_s": round(rebuild_s, 2) if rebuild else None,
        "new_thread_ms": {
            "p50": round(statistics.median(times), 2),
            "p95": round(times[int(0.95 * (len(times) - 1))], 2),
            "max": round(times[-1], 2),
            "n": len(times),
        },
        "where_ms_mean": {k: round(v / new, 2) for k, v in parts.items()},
        "recalled_mean": round(recalled / new, 1),
        "semantic_recall_at_10_vs_exact": round(ann_hits / ann_total, 3) if ann_total else None,
        "vector_bytes": _table_bytes(cache, "thread_vectors"),
        "index_bytes": _index_bytes(cache),
        "file_bytes": path.stat().st_size,
    }
    cache.close()
    return result


def _retrieval(cache: Cache, pairs: list[tuple[int, int]], *, semantic: bool) -> dict[str, Any]:
    """Recall@10 and MRR of the true original; precision and recall of the proposals (pairs at
    PROPOSE or above) made for these threads."""
    stats = cands.VocabStats(cache.conn)
    hits = proposed = proposed_true = 0
    reciprocal = 0.0
    allowed = 0  # pairs the product's rules let it propose at all
    at: dict[float, list[int]] = {t: [0, 0] for t in NEARBY_THRESHOLDS}  # proposals, true ones
    for thread_id, original_id in pairs:
        found = cands.find_candidates(cache, thread_id, stats=stats, semantic=semantic)
        for t, counts in at.items():
            kept = [r[0] for r in found[: cands.KEEP] if r[1] >= t]
            counts[0] += len(kept)
            counts[1] += original_id in kept
        ranked = [r[0] for r in found]
        if original_id in ranked[:10]:
            hits += 1
            reciprocal += 1.0 / (ranked.index(original_id) + 1)
        chosen = [r[0] for r in found[: cands.KEEP] if r[1] >= cands.PROPOSE]
        proposed += len(chosen)
        proposed_true += original_id in chosen
        allowed += _may_propose(cache, thread_id, original_id)
    n = len(pairs)
    return {
        "pairs": n,
        # "never a solved/closed thread as the new duplicate of an unsolved original" (and never
        # an original that is itself a duplicate): pairs that rule forbids cannot be recalled
        "pairs_the_rules_allow": allowed,
        "recall_at_10_of_allowed": round(100 * hits / allowed, 2) if allowed else None,
        "recall_at_threshold_of_allowed": round(proposed_true / allowed, 3) if allowed else None,
        "recall_at_10": round(100 * hits / n, 2) if n else None,
        "mrr": round(100 * reciprocal / n, 2) if n else None,
        "threshold": cands.PROPOSE,
        "proposals": proposed,
        "precision_at_threshold": round(proposed_true / proposed, 3) if proposed else None,
        "recall_at_threshold": round(proposed_true / n, 3) if n else None,
        "nearby_thresholds": [
            {
                "threshold": t,
                "proposals": made,
                "precision": round(true / made, 3) if made else None,
                "recall": round(true / n, 3) if n else None,
            }
            for t, (made, true) in at.items()
        ],
    }


def _may_propose(cache: Cache, thread_id: int, original_id: int) -> bool:
    select = (
        "SELECT id, source_id, status, created_at, duplicate_of, accepted_post_id FROM threads "
        "WHERE id = ?"
    )
    new, original = cache.one(select, (thread_id,)), cache.one(select, (original_id,))
    if new is None or original is None:
        return False
    return cands._pool_row_ok(original, new, thread_id, any_source=False)


def _noise(cache: Cache, skip: set[int], *, semantic: bool) -> dict[str, Any]:
    """Threads with no planted original (or a platform one) that still get a proposal."""
    stats = cands.VocabStats(cache.conn)
    others = [
        r[0]
        for r in cache.query(
            "SELECT id FROM threads WHERE duplicate_of IS NULL AND status IN ('open', 'answered')"
        )
        if r[0] not in skip
    ]
    with_proposal = 0
    for thread_id in others:
        found = cands.find_candidates(cache, thread_id, stats=stats, semantic=semantic)
        with_proposal += bool(found and found[0][1] >= cands.PROPOSE)
    return {"open_threads": len(others), "with_a_proposal": with_proposal}


def truth(cache: Cache) -> dict[str, Any]:
    """Recall@10, MRR and precision at the threshold against the demo's planted duplicates and
    platform-closed duplicates, with the embeddings (`semantic`) and without (`lexical`)."""
    began = time.perf_counter()
    embedded, _ = vectors.embed_missing(cache)
    embed_s = time.perf_counter() - began
    cands.refresh_terms(cache)
    planted: list[tuple[int, int]] = []
    raw = cache.meta("demo_planted_duplicates")
    source = cache.one("SELECT id FROM sources WHERE name = 'demo'")
    if raw and source:
        local = {
            r[0]: r[1]
            for r in cache.query(
                "SELECT remote_id, id FROM threads WHERE source_id = ?", (source[0],)
            )
        }
        planted = [(local[d], local[o]) for d, o in json.loads(raw) if d in local and o in local]
    closed = [
        (int(r[0]), int(r[1]))
        for r in cache.query(
            "SELECT id, duplicate_of FROM threads WHERE duplicate_of IS NOT NULL ORDER BY id"
        )
    ]
    planted_set = set(planted)
    skip = {d for d, _ in planted} | {d for d, _ in closed}
    report: dict[str, Any] = {
        "semantic_model": embed.unavailable_reason() or embed.MODEL_NAME,
        "embedded": embedded,
        "embedding_threads_per_s": round(embedded / embed_s, 1) if embedded else None,
    }
    for name, semantic in (("semantic", True), ("lexical", False)):
        report[name] = {
            "demo_planted": _retrieval(cache, planted, semantic=semantic),
            "platform_closed": _retrieval(
                cache, [p for p in closed if p not in planted_set], semantic=semantic
            ),
            "other_threads": _noise(cache, skip, semantic=semantic),
        }
    return report


def semantic_only(path: Path, size: int, queries: int = 200) -> dict[str, Any]:
    """The semantic recall stage alone at `size` vectors: clustered synthetic unit vectors (5,000
    Gaussian "topics", each vector its topic plus noise, cosine ~0.6 to the topic; a query is a
    stored vector plus a little noise, like a re-asked question), stored and clustered exactly
    as real ones. Times `vectors.neighbours` (what a new thread pays for semantic recall),
    compares its top 10 with the exact top 10 (`recall_at_10_vs_exact`; beyond a query's own
    topic the exact ranking is a near-tie between random vectors), says how often the stored
    vector the query was made from is in its top 10 (`finds_the_near_copy`), and times a
    brute-force numpy scan of every vector for comparison."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    cache = open_cache(path, create=True)
    source = ensure_source(cache, "demo", "bench")
    rng = np.random.default_rng(SEED)
    topics = rng.standard_normal((5_000, embed.DIMS), dtype=np.float32)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    began = time.perf_counter()
    cache.conn.execute("PRAGMA foreign_keys = OFF")  # vectors without thread rows: stage only
    all_ids = np.arange(1, size + 1)
    matrix = np.empty((size, embed.DIMS), dtype=np.int8)
    for start in range(0, size, 50_000):
        n = min(50_000, size - start)
        v = topics[rng.integers(0, len(topics), n)] + 0.068 * rng.standard_normal(
            (n, embed.DIMS), dtype=np.float32
        )
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        q = embed.to_int8(v)
        matrix[start : start + n] = q
        rows = [(start + i + 1, source, f"{2000 + (start + i) // 50_000}", "", 0) for i in range(n)]
        vectors.store(cache, rows, q)
    store_s = time.perf_counter() - began
    began = time.perf_counter()
    ann.extend(cache, source, force=True, threads=2)
    train_s = time.perf_counter() - began
    times, brute, hits, found = [], [], 0, 0
    for _ in range(queries):
        origin = int(rng.integers(0, size))
        base = matrix[origin].astype(np.float32) / embed.SCALE
        noisy = base + 0.03 * rng.standard_normal(embed.DIMS, dtype=np.float32)
        query = embed.to_int8((noisy / np.linalg.norm(noisy))[None, :])[0]
        t0 = time.perf_counter()
        near = vectors.neighbours(cache, query, source, limit=10)
        times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        exact = all_ids[np.argsort(-embed.cosine_int8(query, matrix), kind="stable")[:10]]
        brute.append((time.perf_counter() - t0) * 1000)
        hits += len(set(exact.tolist()) & {t for t, _ in near})
        found += origin + 1 in {t for t, _ in near}
    times.sort()
    brute.sort()
    cache.close()
    return {
        "vectors": size,
        "store_s": round(store_s, 1),
        "graph_build_s": round(train_s, 1),
        "neighbours_ms": {
            "p50": round(statistics.median(times), 2),
            "p95": round(times[int(0.95 * (len(times) - 1))], 2),
        },
        "recall_at_10_vs_exact": round(hits / (10 * queries), 3),
        "finds_the_near_copy": round(found / queries, 3),
        "brute_force_numpy_ms": {
            "p50": round(statistics.median(brute), 2),
            "p95": round(brute[int(0.95 * (len(brute) - 1))], 2),
        },
        "file_bytes": path.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--new", type=int, default=200, help="new threads timed per size")
    parser.add_argument("--work", type=Path, default=Path("/tmp/peerdesk-bench-dupes"))
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the built caches")
    parser.add_argument(
        "--no-rebuild", action="store_true", help="reuse a kept cache's index (no build timing)"
    )
    parser.add_argument("--truth-demo", type=int, metavar="THREADS", help="ground truth: demo")
    parser.add_argument("--truth-cache", type=Path, metavar="PATH", help="ground truth: a cache")
    parser.add_argument(
        "--semantic-only", type=int, nargs="+", metavar="N", help="the semantic recall stage alone"
    )
    parser.add_argument(
        "--threads", type=int, metavar="N", help="candidates at demo scale (bench/dupes_scale.py)"
    )
    parser.add_argument("--from", dest="source", type=Path, help="with --threads: copy this cache")
    parser.add_argument("--queries", type=int, default=200, help="with --threads: threads timed")
    parser.add_argument("--rounds", type=int, default=2, help="with --threads: times each")
    parser.add_argument(
        "--planted",
        type=int,
        default=300,
        metavar="N",
        help="with --threads: recall@10 of N of the demo's planted pairs in the whole cache",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help="with --threads: which threads are searched (another seed: threads no run with "
        "the default one searched, their pages never read by a search)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        from bench import dupes_scale

        result = dupes_scale.run(
            args.threads, args.work, args.source, args.queries, args.rounds, args.seed, args.planted
        )
        print(json.dumps(result, indent=1))
        return 0
    if args.semantic_only:
        args.work.mkdir(parents=True, exist_ok=True)
        result = {
            "benchmark": "dupes-semantic-recall",
            "sizes": {
                str(n): semantic_only(args.work / f"vectors-{n}.sqlite3", n)
                for n in args.semantic_only
            },
        }
        print(json.dumps(result, indent=1))
        return 0
    if args.truth_demo or args.truth_cache:
        if args.truth_cache:
            cache = open_cache(args.truth_cache)
        else:
            from console.demo import build_demo

            args.work.mkdir(parents=True, exist_ok=True)
            path = args.work / f"demo-{args.truth_demo}.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            cache = open_cache(path, create=True)
            build_demo(cache, args.truth_demo, candidate_limit=0)
        result = {"benchmark": "dupes-retrieval", **truth(cache)}
        cache.close()
        print(json.dumps(result, indent=1))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"benchmark": "dupes-speed", "sizes": {}}
    for size in args.sizes:
        path = args.work / f"dupes-{size}.sqlite3"
        row: dict[str, Any] = {}
        fresh = not path.exists()
        if not fresh:
            cache = open_cache(path)
            fresh = cache.meta("bench_size") != str(size)
            cache.close()
            if fresh:
                path.unlink()
        if fresh:
            row.update(build(path, size))
        row.update(measure(path, size, args.new, rebuild=not args.no_rebuild))
        if not args.keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        report["sizes"][str(size)] = row
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
