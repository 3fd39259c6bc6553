"""migrate-to's copy of a long ledger (and audit log) into a team database, timed; then live
appends through the server's `peerdesk_ledger_append`, as a payout role's accruals do.

    python -m bench.bench_team_ledger --entries 1000000 [--audit 100000] [--live 2000]

Builds a cache whose ledger holds ENTRIES chained entries (and AUDIT chained audit entries),
written by peerdesk's own ledger and audit code, then migrates it into a new team database of a
throwaway cluster (tests/team/cluster.py: a Unix socket, fsync off) and prints JSON: the ledger's
and the audit log's copy (seconds, entries/s), the whole copy, and the load average. The server
checks every entry's hash and chaining on arrival either way; this measures how fast.

The copied entries are accruals of helpful votes the cache holds (its ledger pays only events
that are true in it), as `accrue` writes them. `--live N` then appends N accruals on top of the
copied ledger (for N more helpful votes, the events the server checks each accrual against) as
a login role of peerdesk_payout_preparer, through console.rewards.ledger's Appender (the server
numbers, checks and chains each one under the ledger's lock), in transactions of 50 (an accrual
run) and of one (a ban, a return): entries/s and each transaction's p50/p95 latency.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.team_store import reported_cluster
from console import audit
from console.db import open_cache
from console.desk import Desk
from console.rewards.ledger import Appender, Entry
from console.rewards.schedule import parse_schedule
from console.rewards.schedule_store import install_schedule
from console.storage import Connection
from console.storage.postgres import open_team
from console.team import schema
from console.team.copy import migrate_to
from tests.team.cluster import Cluster

CHUNK = 50_000


SCHEDULE = """\
version = "v1"
currency = "GBP"
point_value = "0.25"

[points]
accepted_answer = 10
helpful_vote = 1

[caps]
per_day = 1000000
per_thread = 1000000
"""
"""What the entries below pay (the server checks every live accrual against its terms)."""


MEMBERS = 5000
VOTED_AT = "2026-11-20T12:00:00Z"


def _votes(conn: Connection, count: int) -> None:
    """`count` helpful votes for the live appends to pay (the server pays only an event that is
    true on it): vote n is for answer n (post n, in thread n) by member n % 5000 + 1, from the
    next member, so the accruals spread over 5,000 members as the copied ones do."""
    conn.execute("INSERT INTO sources (kind, name, created_at) VALUES ('discourse', 'b', 'now')")
    source = int(conn.execute("SELECT id FROM sources WHERE name = 'b'").fetchone()[0])
    conn.executemany(
        "INSERT INTO members (id, source_id, remote_id, username) VALUES (?, ?, ?, ?)",
        [(m, source, f"m{m}", f"member{m}") for m in range(1, MEMBERS + 1)],
    )
    _answers(conn, source, range(1, count + 1))
    conn.executemany(
        "INSERT INTO votes (id, source_id, post_id, voter_id, created_at) VALUES (?, ?, ?, ?, ?)",
        [(n, source, n, _author(n + 1), VOTED_AT) for n in range(1, count + 1)],
    )


def _answers(conn: Connection, source: int, numbers: range) -> None:
    """Answer n (post n, by member n % 5000 + 1) in thread n, for each n of `numbers`."""
    conn.executemany(
        "INSERT INTO threads (id, source_id, remote_id, title, created_at, last_activity_at) "
        "VALUES (?, ?, ?, 'Roaming', ?, ?)",
        [(n, source, f"t{n}", VOTED_AT, VOTED_AT) for n in numbers],
    )
    conn.executemany(
        "INSERT INTO posts (id, thread_id, source_id, remote_id, author_id, position, "
        "body_text, body_raw, created_at) VALUES (?, ?, ?, ?, ?, 1, 'Restart', '', ?)",
        [(n, n, source, f"p{n}", _author(n), VOTED_AT) for n in numbers],
    )


VOTERS = MEMBERS - 1
"""Votes on one answer of the copied ledger: one from every member but its author."""


def _copied_votes(conn: Connection, live: int, entries: int) -> list[Entry]:
    """`entries` helpful votes after the live ones, and their accruals as `accrue` writes
    them (the Appender pays only events true in the cache): answers live+1... take up to
    4,999 votes each, from every member but their author, so the accruals spread over the
    5,000 members."""
    source = int(conn.execute("SELECT id FROM sources WHERE name = 'b'").fetchone()[0])
    answers = range(live + 1, live + 1 + -(-entries // VOTERS))
    _answers(conn, source, answers)
    votes = []
    for k in range(entries):
        post = answers[k // VOTERS]
        author = _author(post)
        voter = (author + k % VOTERS) % MEMBERS + 1  # every member after the author, in turn
        votes.append((live + 1 + k, source, post, voter, VOTED_AT))
    conn.executemany(
        "INSERT INTO votes (id, source_id, post_id, voter_id, created_at) VALUES (?, ?, ?, ?, ?)",
        votes,
    )
    return [
        # a non-ASCII detail: is it hashed alike on both engines?
        _helpful_vote(vote_id, post, {"voter_id": voter, "why": "helpful ✓"})
        for vote_id, _, post, voter, _ in votes
    ]


def _author(n: int) -> int:
    return n % MEMBERS + 1


def _vote_accrual(n: int) -> Entry:
    """The accrual of vote n + 1 (see _votes), as `accrue` writes it."""
    return _helpful_vote(n + 1, n + 1, {"voter_id": _author(n + 2)})


def _helpful_vote(vote_id: int, post: int, detail: dict[str, Any]) -> Entry:
    """The accrual a helpful vote on `post` pays its author, as `accrue` writes it."""
    return Entry(
        member_id=_author(post),
        kind="accrual",
        rule="helpful_vote",
        event_key=f"vote:{vote_id}",
        points=1,
        amount_minor=25,
        currency="GBP",
        schedule_version="v1",
        occurred_at=VOTED_AT,
        thread_id=post,
        detail=detail,
    )


def build(path: Path, entries: int, audit_entries: int, live: int = 0) -> None:
    cache = open_cache(path, create=True)
    cache.set_meta("demo", "1")  # its owner acts with every role (migrate-to is an admin's)
    with cache.transaction() as conn:
        install_schedule(conn, parse_schedule(SCHEDULE), loaded_by="bench")
        _votes(conn, live)
        accruals = _copied_votes(conn, live, entries)
    for start in range(0, entries, CHUNK):
        with cache.transaction() as conn:
            Appender(conn).append_new(accruals[start : start + CHUNK])
    with cache.transaction() as conn:
        for n in range(audit_entries):
            audit.append(
                conn,
                actor="ann",
                action="close",
                target_kind="thread",
                target_id=n,
                detail={"why": "spam", "n": n},
            )
    cache.close()


def live_appends(cluster: Cluster, dbname: str, count: int) -> dict[str, object]:
    """`count` accruals appended by the server, half in transactions of 50, half one by one."""
    role = "bench_priya"
    with psycopg.connect(cluster.conninfo(dbname), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN IN ROLE peerdesk_payout_preparer")
    cluster.allow(role)
    team = open_team(cluster.url(dbname, role))
    out: dict[str, object] = {}
    try:
        n = 0
        for label, size in (("in_50s", 50), ("one_by_one", 1)):
            latencies: list[float] = []
            started = time.perf_counter()
            for _ in range(max(1, count // 2 // size)):
                began = time.perf_counter()
                with team.transaction() as conn:
                    appender = Appender(conn)
                    for _ in range(size):
                        assert appender.append(_vote_accrual(n)) is not None
                        n += 1
                latencies.append((time.perf_counter() - began) * 1000)
            seconds = time.perf_counter() - started
            latencies.sort()
            out[label] = {
                "entries": len(latencies) * size,
                "entries_per_s": round(len(latencies) * size / seconds),
                "transaction_ms_p50": round(latencies[len(latencies) // 2], 1),
                "transaction_ms_p95": round(latencies[int(len(latencies) * 0.95)], 1),
            }
    finally:
        team.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_team_ledger",
        description="Time migrate-to's copy of a long ledger into a throwaway PostgreSQL; JSON.",
    )
    parser.add_argument("--entries", type=int, default=100_000, help="ledger entries")
    parser.add_argument("--audit", type=int, default=10_000, help="audit entries")
    parser.add_argument(
        "--live", type=int, default=2000, help="accruals appended live afterwards (0: none)"
    )
    args = parser.parse_args(argv)
    out: dict[str, object] = {"ledger_entries": args.entries, "audit_entries": args.audit}
    os.environ.setdefault("PEERDESK_SEMANTIC", "off")
    with tempfile.TemporaryDirectory(prefix="peerdesk-bench-") as folder:
        path = Path(folder) / "cache.sqlite3"
        started = time.perf_counter()
        build(path, args.entries, args.audit, args.live)
        out["build_s"] = round(time.perf_counter() - started, 1)
        with reported_cluster(out, every_average=True) as cluster:
            with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            with psycopg.connect(cluster.conninfo("bench"), autocommit=True) as conn:
                schema.install(conn)
            desk = Desk.open(path)
            times: dict[str, float] = {}
            last = [time.perf_counter()]

            def progress(table: str, rows: int) -> None:
                now = time.perf_counter()
                times[table] = now - last[0]
                last[0] = now

            started = time.perf_counter()
            report = migrate_to(desk.door, cluster.url("bench", "postgres"), progress=progress)
            out["copy_s"] = round(time.perf_counter() - started, 2)
            for table, count in (("ledger", args.entries), ("audit", args.audit)):
                seconds = times.get(table, 0.0)
                out[table] = {
                    "entries": report.tables.get(table),
                    "seconds": round(seconds, 2),
                    "entries_per_s": round(count / seconds) if seconds and count else None,
                }
            desk.cache.close()
            if args.live:
                out["live_appends"] = live_appends(cluster, "bench", args.live)
    return 0


if __name__ == "__main__":
    sys.exit(main())
