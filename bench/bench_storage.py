"""The same Desk calls on both backends: a copy of CACHE as a cache file, and the same data
copied by migrate-to into a team database of a throwaway PostgreSQL cluster (tests/team/
cluster.py: a Unix socket, fsync off).

    python -m bench.bench_storage CACHE [--rounds 50]

Per backend, p50/p95 in ms over the most urgent threads of the Queue: the first Queue page
(100 rows), a search for a common word, the Queue count, reading a whole thread, and one
decision cycle (claim, close, undo: three transactions with their audit entries). Prints JSON
with the load average (the machine is shared: run it twice).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.team_store import reported_cluster
from console.desk import Desk, QueueFilter
from console.team import schema
from console.team.copy import migrate_to

MODERATOR = "bench_moderator"


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return {"p50": round(statistics.median(ordered), 2), "p95": round(p95, 2), "n": len(ordered)}


def _timed(samples: list[float], call: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = call()
    samples.append((time.perf_counter() - started) * 1000)
    return result


def measure(desk: Desk, rounds: int, word: str) -> dict[str, Any]:
    queued = desk.queue(limit=rounds * 4)
    threads = [i.thread_id for i in queued if i.status in ("open", "answered")][:rounds]
    page: list[float] = []
    search: list[float] = []
    count: list[float] = []
    read: list[float] = []
    decide: list[float] = []
    for thread_id in threads:
        _timed(page, lambda: desk.queue(limit=100))
        _timed(search, lambda: desk.queue(QueueFilter(text=word), limit=100))
        _timed(count, desk.queue_count)
        _timed(read, lambda t=thread_id: desk.thread(t, window=20_000))

        def cycle(thread_id: int = thread_id) -> None:
            desk.claim(thread_id)
            desk.close([thread_id])
            desk.undo()

        _timed(decide, cycle)
    return {
        "queue_page_ms": _ms(page),
        f"search_{word}_ms": _ms(search),
        "queue_count_ms": _ms(count),
        "thread_read_ms": _ms(read),
        "claim_close_undo_ms": _ms(decide),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_storage",
        description="Desk calls on a cache file and on a team database holding the same data.",
    )
    parser.add_argument("cache", type=Path, help="a peerdesk cache (never written)")
    parser.add_argument("--rounds", type=int, default=50, help="threads measured per backend")
    parser.add_argument("--word", default="roaming", help="the word searched for")
    args = parser.parse_args(argv)
    os.environ.setdefault("PEERDESK_SEMANTIC", "off")
    out: dict[str, Any] = {"cache": str(args.cache), "rounds": args.rounds}
    with tempfile.TemporaryDirectory(prefix="peerdesk-bench-") as folder:
        copy = Path(folder) / "cache.sqlite3"
        with (
            sqlite3.connect(f"file:{args.cache}?mode=ro", uri=True) as src,
            sqlite3.connect(copy) as dst,
        ):
            src.backup(dst)
        with reported_cluster(out) as cluster:
            with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(MODERATOR)))
            with psycopg.connect(cluster.conninfo("bench"), autocommit=True) as conn:
                schema.install(conn)
                conn.execute(f"GRANT peerdesk_moderator TO {MODERATOR}")
            cluster.allow(MODERATOR)
            desk = Desk.open(copy)  # a demo cache: its owner has every role
            started = time.perf_counter()
            migrate_to(desk.door, cluster.url("bench", "postgres"))
            out["migrate_s"] = round(time.perf_counter() - started, 1)
            with psycopg.connect(cluster.conninfo("bench"), autocommit=True) as conn:
                conn.execute("ANALYZE")
            out["sqlite"] = measure(desk, args.rounds, args.word)
            desk.cache.close()
            os.environ.pop("PEERDESK_USER", None)
            team = Desk.open_team(cluster.url("bench", MODERATOR))
            out["postgresql"] = measure(team, args.rounds, args.word)
            team.cache.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
