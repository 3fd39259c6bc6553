"""A team database for the benchmarks: a throwaway PostgreSQL cluster holding a copy of a cache.

`build(cache, folder)` copies the cache file (SQLite's backup: the original is only read),
starts a throwaway cluster (tests/team/cluster.py: a Unix socket, fsync off), installs the team
schema, creates the login role `bench` holding every peerdesk role (as the demo cache's owner
has), copies the data in with `migrate-to` and runs ANALYZE. The console then opens
`team.url` as `bench`, as it opens the copy with PEERDESK_USER=bench.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from console.models import Role
from console.storage.placeholders import translate
from console.team.connect import OPTIONS
from console.team.location import is_team_url

if TYPE_CHECKING:
    from tests.team.cluster import Cluster

ROLE = "bench"
DATABASE = "bench"


@contextmanager
def reported_cluster(out: dict[str, Any], *, every_average: bool = False) -> Iterator[Cluster]:
    """A throwaway cluster for one benchmark run (tests/team/cluster.py), stopped when the
    block ends; when it ends normally, the machine's load average is added to `out` (the last
    minute's, or `every_average`: the 1, 5 and 15 minutes', rounded) and `out` is printed as
    JSON: how bench_storage, bench_team_migrate, bench_team_dupes and bench_team_ledger end."""
    from tests.team.cluster import start_cluster

    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
    averages = os.getloadavg()
    out["load_average"] = [round(x, 1) for x in averages] if every_average else averages[0]
    print(json.dumps(out, indent=1))


def cache_or_url(text: str) -> Path | str:
    """--db: a team database's postgresql:// URL as typed, else a cache file's path."""
    return text if is_team_url(text) else Path(text)


def threads_in(url: str) -> int:
    with psycopg.connect(url, options=OPTIONS) as conn:
        row = conn.execute("SELECT count(*) FROM threads").fetchone()
    return int(row[0]) if row else 0


def page_reads(url: str, page_sql: str) -> list[float]:
    """The seconds of a bare Queue page read on the team database (one round trip each)."""
    reads = []
    with psycopg.connect(url, options=OPTIONS, autocommit=True) as conn:
        for offset in (0, 100, 5000, 0, 100, 5000, 0, 100, 5000):
            started = time.perf_counter()
            conn.execute(translate(page_sql), (offset,)).fetchall()
            reads.append(time.perf_counter() - started)
    return reads


@dataclass
class TeamCopy:
    url: str
    copy: Path  # the cache file the team database was copied from (a copy of the original)
    copy_s: float
    migrate_s: float
    cluster: object  # tests.team.cluster.Cluster: stop() it when done

    def stop(self) -> None:
        self.cluster.stop()  # type: ignore[attr-defined]


def build(cache: Path, folder: Path) -> TeamCopy:
    """Copy `cache` into `folder`, then into a new team database (see the module's text)."""
    from console.desk import Desk
    from console.team import schema
    from console.team.copy import migrate_to
    from tests.team.cluster import start_cluster

    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / cache.name
    started = time.perf_counter()
    with (
        sqlite3.connect(f"file:{cache}?mode=ro", uri=True) as source,
        sqlite3.connect(copy) as target,
    ):
        source.backup(target)
    copied = time.perf_counter() - started
    cluster = start_cluster()
    try:
        with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(ROLE)))
        with psycopg.connect(cluster.conninfo(DATABASE), autocommit=True) as conn:
            schema.install(conn)
            for role in Role:
                conn.execute(
                    sql.SQL("GRANT {} TO {}").format(
                        sql.Identifier(f"peerdesk_{role.value}"), sql.Identifier(ROLE)
                    )
                )
        cluster.allow(ROLE)
        desk = Desk.open(copy, actor=ROLE)  # a demo cache: its owner has every role
        started = time.perf_counter()
        try:
            migrate_to(desk.door, cluster.url(DATABASE, "postgres"))
        finally:
            desk.close_cache()
        migrated = time.perf_counter() - started
        with psycopg.connect(cluster.conninfo(DATABASE), autocommit=True) as conn:
            conn.execute("ANALYZE")
    except BaseException:
        cluster.stop()
        raise
    return TeamCopy(cluster.url(DATABASE, ROLE), copy, copied, migrated, cluster)


def main() -> None:
    """Build one and keep it until interrupted (to run other benchmarks against its URL)."""
    parser = argparse.ArgumentParser(description=build.__doc__)
    parser.add_argument("cache", type=Path)
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    team = build(args.cache, args.folder)
    print(team.url, flush=True)

    def stop(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM (or SIGINT, ignored in a background job) stops it

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        team.stop()  # the cluster and its folder; the copy in `folder` stays


if __name__ == "__main__":
    main()
