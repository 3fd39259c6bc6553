"""Time to build the demo community at benchmark size.

    .venv/bin/python -m bench.bench_demo [--threads 100000] [--seed S] [--candidates 2000]
                                         [--work DIR] [--keep]

Phase 1 builds `--threads` threads into a fresh cache with `console.demo.build_demo` (generation
plus `console.ingest` upserts, in chunks of 2,000 threads) and no duplicate search:
threads_per_s, posts_per_s, the split between generating rows and ingesting them, file size,
peak RSS.

Phase 2 runs the duplicate finder (`console.dupes.candidates.update_candidates`, as the demo
builder does) on the newest `--candidates` threads of that cache, and reports its speed and how
many of the near-duplicates planted among them have their true original in their candidates.

With `--make-demo`, instead: what the first `make demo` costs before the console opens,
through the real commands (`python -m console`, as the Makefile runs `peerdesk`) on a fresh
cache of `--threads` threads (default 2,000 there, as `make demo`):

- before: `peerdesk demo` (embeddings computed during the build, as until 2026-11-27);
- after: `peerdesk demo --embed-later` then `peerdesk dupes --catch-up --background` (what the
  Makefile runs now): seconds until the console can open, then seconds until the background
  catch-up has finished (embeddings and semantic candidates in the cache);
- with `--cold-model`, each run starts without the int8 model in the user cache dir (the very
  first run on a machine, which also builds the model).

Runs the pair `--repeat` times (alternating, so load changes hit both) and reports the load
average around each run.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from console.db import open_cache
from console.demo import CANDIDATE_SLICE, DEFAULT_SEED, build_demo


def build(path: Path, threads: int, seed: int) -> dict[str, Any]:
    cache = open_cache(path, create=True)
    try:
        started = time.perf_counter()
        summary = build_demo(cache, threads, seed, candidate_limit=0)
        seconds = time.perf_counter() - started
    finally:
        cache.close()
    return {
        "threads": summary.threads,
        "posts": summary.posts,
        "members": summary.members,
        "planted_duplicates": summary.planted_duplicates,
        "hostile_posts": summary.hostile_posts,
        "seconds": round(seconds, 2),
        "generate_seconds": round(seconds - summary.ingest_seconds, 2),
        "ingest_seconds": round(summary.ingest_seconds, 2),
        "threads_per_s": round(summary.threads / seconds),
        "posts_per_s": round(summary.posts / seconds),
        "file_bytes": path.stat().st_size,
        "status_counts": summary.status_counts,
    }


def candidates(path: Path, newest: int) -> dict[str, Any]:
    from console.dupes.candidates import update_candidates

    cache = open_cache(path)
    try:
        ids = [
            r[0] for r in cache.query("SELECT id FROM threads ORDER BY id DESC LIMIT ?", (newest,))
        ]
        ids.sort()
        started = time.perf_counter()
        pairs = 0
        for start in range(0, len(ids), CANDIDATE_SLICE):
            pairs += update_candidates(cache, ids[start : start + CANDIDATE_SLICE])
        seconds = time.perf_counter() - started
        local = {r[0]: r[1] for r in cache.query("SELECT remote_id, id FROM threads")}
        chosen = set(ids)
        planted = [
            (local[d], local[o])
            for d, o in json.loads(cache.meta("demo_planted_duplicates") or "[]")
            if local[d] in chosen
        ]
        open_planted = [
            (d, o)
            for d, o in planted
            if cache.one("SELECT status FROM threads WHERE id = ?", (d,))[0] != "duplicate"
        ]
        found = sum(
            1
            for d, o in open_planted
            if cache.one(
                "SELECT 1 FROM duplicate_links WHERE thread_id = ? AND original_id = ?", (d, o)
            )
        )
    finally:
        cache.close()
    return {
        "threads": len(ids),
        "seconds": round(seconds, 2),
        "ms_per_thread": round(1000 * seconds / max(1, len(ids)), 2),
        "pairs_stored": pairs,
        "planted_pairs_searched": len(open_planted),
        "planted_original_in_candidates": found,
        "planted_recall": round(found / len(open_planted), 3) if open_planted else None,
    }


def _peerdesk(db: Path, *args: str, env: dict[str, str]) -> float:
    import subprocess

    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db), *args],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - began


def _caught_up(db: Path) -> bool:
    from console.dupes.catch_up import pending

    cache = open_cache(db)
    try:
        return not pending(cache)
    finally:
        cache.close()


def make_demo(threads: int, repeat: int, cold_model: bool, work: Path) -> dict[str, Any]:
    import os

    runs: list[dict[str, Any]] = []
    for i in range(repeat):
        for mode in ("before", "after"):
            env = {**os.environ, "PEERDESK_EMBED_THREADS": "1"}
            if cold_model:
                env["PEERDESK_MODEL_CACHE"] = str(work / f"model-{mode}-{i}")
            db = work / f"make-demo-{mode}-{i}.sqlite3"
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            row: dict[str, Any] = {"mode": mode, "load_average": load}
            if mode == "before":
                row["console_opens_after_s"] = round(
                    _peerdesk(db, "demo", "--threads", str(threads), env=env), 1
                )
            else:
                built = _peerdesk(db, "demo", "--threads", str(threads), "--embed-later", env=env)
                started = _peerdesk(db, "dupes", "--catch-up", "--background", env=env)
                row["console_opens_after_s"] = round(built + started, 1)
                began = time.perf_counter()
                while not _caught_up(db):
                    time.sleep(1.0)
                row["embeddings_done_after_s"] = round(
                    built + started + time.perf_counter() - began, 1
                )
            runs.append(row)
    return {"benchmark": "first_make_demo", "threads": threads, "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--make-demo", action="store_true", help="the first `make demo`")
    parser.add_argument("--repeat", type=int, default=2, help="with --make-demo: pairs of runs")
    parser.add_argument("--cold-model", action="store_true", help="with --make-demo: no model")
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--candidates", type=int, default=2000, help="0 skips phase 2")
    parser.add_argument("--work", type=Path, default=None, help="folder for the cache")
    parser.add_argument("--keep", action="store_true", help="keep the built cache")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="peerdesk-bench-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.make_demo:
        threads = 2000 if args.threads == 100_000 else args.threads
        result = make_demo(threads, args.repeat, args.cold_model, work)
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
        json.dump(result, sys.stdout, indent=2)
        print()
        return 0
    path = work / f"demo-{args.threads}-{args.seed}.sqlite3"
    for stale in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    result: dict[str, Any] = {
        "benchmark": "demo_build",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "build": build(path, args.threads, args.seed),
    }
    if args.candidates:
        result["candidates"] = candidates(path, args.candidates)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if args.keep:
        result["cache"] = str(path)
    elif args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
