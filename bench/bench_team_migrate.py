"""migrate-to and the server's audit check, timed: a cache copied into a throwaway PostgreSQL.

    python -m bench.bench_team_migrate CACHE.sqlite3

The cache is first copied aside with SQLite's backup API (the original is never written), then
migrated into a new team database of a throwaway cluster (tests/team/cluster.py: initdb +
pg_ctl, a Unix socket, fsync off like the tests, so these are upper bounds for a real server's
disk). Prints one JSON object: cluster start, schema install, the copy (rows, seconds, rows/s,
the slowest tables) and `audit verify` on the server.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.team_store import reported_cluster
from console.desk import Desk
from console.team import audit as team_audit
from console.team import schema
from console.team.connect import connect
from console.team.copy import migrate_to


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_team_migrate",
        description="Time migrate-to (and the server's audit check) of a copy of CACHE into a "
        "throwaway PostgreSQL cluster; prints JSON.",
    )
    parser.add_argument("cache", type=Path, help="a peerdesk cache (never written)")
    source = parser.parse_args(argv).cache
    out: dict[str, object] = {"cache": str(source), "cache_bytes": source.stat().st_size}
    with tempfile.TemporaryDirectory(prefix="peerdesk-bench-") as folder:
        copy = Path(folder) / "cache.sqlite3"
        started = time.perf_counter()
        with (
            sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src,
            sqlite3.connect(copy) as dst,
        ):
            src.backup(dst)
        out["backup_s"] = round(time.perf_counter() - started, 2)
        os.environ.setdefault("PEERDESK_SEMANTIC", "off")
        started = time.perf_counter()
        with reported_cluster(out) as cluster:
            out["cluster_start_s"] = round(time.perf_counter() - started, 2)
            with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            url = cluster.url("bench", "postgres")
            started = time.perf_counter()
            with psycopg.connect(cluster.conninfo("bench"), autocommit=True) as conn:
                schema.install(conn)
            out["install_s"] = round(time.perf_counter() - started, 2)
            desk = Desk.open(copy)
            times: dict[str, float] = {}
            last = [time.perf_counter()]

            def progress(table: str, rows: int) -> None:
                now = time.perf_counter()
                times[table] = round(now - last[0], 2)
                last[0] = now

            started = time.perf_counter()
            report = migrate_to(desk.door, url, progress=progress)
            seconds = time.perf_counter() - started
            rows = sum(report.tables.values())
            out["copy"] = {
                "rows": rows,
                "seconds": round(seconds, 1),
                "rows_per_s": round(rows / seconds),
                "slowest_tables_s": dict(sorted(times.items(), key=lambda kv: -kv[1])[:6]),
                "rows_by_table": {k: v for k, v in report.tables.items() if v > 10000},
                "nul_replaced": report.nul_replaced,
            }
            started = time.perf_counter()
            with connect(url) as conn:
                problems = team_audit.verify(conn)
                entries = team_audit.count(conn)
            out["server_audit_verify"] = {
                "entries": entries,
                "problems": len(problems),
                "seconds": round(time.perf_counter() - started, 2),
            }
            desk.cache.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
