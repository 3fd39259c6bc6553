"""Duplicate candidates on the team database against the cache: recall@10 on the demo's planted
pairs, the same community on both engines.

    python -m bench.bench_team_dupes [--threads 2000] [--seed 7]

Builds the demo community (console.demo, embeddings included) into a cache file, copies it
with migrate-to into a throwaway PostgreSQL cluster (tests/team/cluster.py: a Unix socket, fsync
off), retakes the team database's word counts from its own documents (ts_stat), then runs
`bench.bench_dupes.truth` on each: recall@10 and MRR of the planted originals, precision and
recall at the proposal threshold, with the embeddings and without, and how long a thread's
candidates took (find_candidates, p50/p95 ms). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.bench_dupes import truth
from bench.team_store import reported_cluster
from console.db import Cache, open_cache
from console.demo import build_demo
from console.desk import Desk
from console.dupes import ann
from console.dupes import candidates as cands
from console.team import schema
from console.team.copy import migrate_to


def _timed(cache: Cache, sample: list[int]) -> dict[str, float]:
    """find_candidates for `sample` threads (warm: the memo of analyses is cleared first)."""
    cands.forget_analysed()
    stats = cands.VocabStats(cache.conn)
    times = []
    for thread_id in sample:
        began = time.perf_counter()
        cands.find_candidates(cache, thread_id, stats=stats)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {
        "threads": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
    }


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("semantic", "lexical"):
        planted = report[name]["demo_planted"]
        out[name] = {
            key: planted[key]
            for key in (
                "pairs",
                "recall_at_10",
                "recall_at_10_of_allowed",
                "mrr",
                "precision_at_threshold",
                "recall_at_threshold",
            )
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_team_dupes",
        description="recall@10 of the demo's planted duplicates on a cache file and on a team "
        "database holding the same community; prints JSON.",
    )
    parser.add_argument("--threads", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample", type=int, default=100, help="threads timed on each engine")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"benchmark": "team-dupes", "threads": args.threads}
    with tempfile.TemporaryDirectory(prefix="peerdesk-bench-") as folder:
        path = Path(folder) / "demo.sqlite3"
        cache = open_cache(path, create=True)
        began = time.perf_counter()
        build_demo(cache, args.threads, seed=args.seed, candidate_limit=0)
        result["demo_build_s"] = round(time.perf_counter() - began, 1)
        sqlite_report = truth(cache)  # embeds every thread first (the copy then carries them)
        sample = [
            r[0]
            for r in cache.query("SELECT id FROM threads ORDER BY id DESC LIMIT ?", (args.sample,))
        ]
        result["sqlite"] = {**_summary(sqlite_report), "find_candidates": _timed(cache, sample)}
        cache.close()
        with reported_cluster(result, every_average=True) as cluster:
            with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            with psycopg.connect(cluster.conninfo("bench"), autocommit=True) as conn:
                schema.install(conn)
            url = cluster.url("bench", "postgres")
            began = time.perf_counter()
            migrate_to(Desk.open(path).door, url)
            result["migrate_to_s"] = round(time.perf_counter() - began, 1)
            desk = Desk.open_team(url)
            team = desk.cache
            began = time.perf_counter()
            cands.refresh_terms(team, force=True)  # the server's own word counts (ts_stat)
            result["postgresql_word_counts_s"] = round(time.perf_counter() - began, 2)
            ann.forget()
            team_report = truth(team)
            result["postgresql"] = {
                **_summary(team_report),
                "find_candidates": _timed(team, sample),
            }
            team.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
