"""Concurrent moderators on one team database: claims, decisions and outbox sending, timed.

    python -m bench.bench_team --moderators 20 [--threads 2000]

A throwaway PostgreSQL cluster (tests/team/cluster.py: a Unix socket, fsync off) gets a team
database with THREADS open threads and one login role per moderator. MODERATORS real processes
(one connection each, each its own role) work like people at their Queue until no open thread
is left: pick one of the first twenty open threads nobody holds, claim it (the domain's
`Desk.claim`, on the server's clock; two moderators picking the same one race, one loses), and
for every claim won, close the thread by the domain's own decide (`Desk.close`: one server
transaction with the change, the server-chained audit entry and the outbox item, as the
console and `peerdesk --db postgresql://... close` do) and then, every few decisions, send
outbox items (work.take_outbox / finish_outbox, as the team's senders do). Prints JSON:
decisions/s over the whole run, p50/p95/max latency of claim+decide (each won thread) and of a
lost claim, and asserts what must never happen: a thread claimed by two moderators, a thread
decided twice, an outbox item sent twice or not at all. The load average is printed with the
numbers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from collections import Counter
from typing import Any

import psycopg

from console.desk import Desk
from console.errors import ClaimConflict, InvalidDecision
from console.team import schema, work
from tests.team.cluster import Cluster, start_cluster

SEND_EVERY = 5  # decisions between two rounds of outbox sending
QUEUE_TOP = 20  # a moderator picks one of the first QUEUE_TOP unclaimed open threads


def _seed(cluster: Cluster, threads: int, moderators: int) -> list[str]:
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE bench")
    with psycopg.connect(cluster.conninfo("bench"), autocommit=True) as conn:
        schema.install(conn)
        conn.execute(
            "SET search_path = peerdesk; "
            "INSERT INTO sources (kind, name, created_at) VALUES ('discourse', 'forum', 'now'); "
            "INSERT INTO threads (source_id, remote_id, title, created_at, last_activity_at) "
            f"SELECT 1, 't' || n, 'question ' || n, 'now', 'now' FROM generate_series(1, {threads})"
            " n"
        )
        roles = [f"pd-bench-mod{n:02d}" for n in range(moderators)]
        for role in roles:
            conn.execute(f'CREATE ROLE "{role}" LOGIN IN ROLE peerdesk_moderator')
    for role in roles:
        cluster.allow(role)
    return roles


def _moderator(job: tuple[str, str, int, int]) -> dict[str, Any]:
    url, role, _threads, seed = job
    won: list[int] = []
    conflicts: list[str] = []
    sent: list[int] = []
    decide_ms: list[float] = []
    lost_ms: list[float] = []

    def send(conn: psycopg.Connection[tuple[object, ...]]) -> int:
        tasks = work.take_outbox(conn, role, limit=10)
        for task in tasks:
            if work.finish_outbox(conn, task.id, role):
                sent.append(task.id)  # "the platform received it"
        return len(tasks)

    rng = random.Random(seed)
    desk = Desk.open_team(url)
    conn = desk.cache.conn.raw  # the same session, for the sender's primitives
    try:
        started = time.perf_counter()
        while True:
            # what the Queue shows: open threads nobody holds; each moderator takes one of the
            # first QUEUE_TOP, as people pick from the top of their queue (and sometimes collide)
            row = conn.execute(
                "SELECT t.id FROM threads t WHERE t.status = 'open' AND NOT EXISTS (SELECT 1 "
                "FROM claims c WHERE c.thread_id = t.id AND c.expires_at > peerdesk_time()) "
                "ORDER BY t.id LIMIT 1 OFFSET %s",
                (rng.randrange(QUEUE_TOP),),
            ).fetchone()
            if row is None:
                row = conn.execute(
                    "SELECT t.id FROM threads t WHERE t.status = 'open' AND NOT EXISTS (SELECT "
                    "1 FROM claims c WHERE c.thread_id = t.id AND c.expires_at > peerdesk_time())"
                    " ORDER BY t.id LIMIT 1"
                ).fetchone()
                if row is None:
                    break
            thread = int(str(row[0]))
            began = time.perf_counter()
            try:
                desk.claim(thread)
            except ClaimConflict:
                lost_ms.append((time.perf_counter() - began) * 1000)
                continue
            try:
                desk.close([thread])
            except (ClaimConflict, InvalidDecision) as refused:
                conflicts.append(str(refused))
            decide_ms.append((time.perf_counter() - began) * 1000)
            won.append(thread)
            if len(won) % SEND_EVERY == 0:
                send(conn)
        finished = time.perf_counter()
        while send(conn):
            pass
    finally:
        desk.close_cache()
    return {
        "role": role,
        "won": won,
        "conflicts": conflicts,
        "sent": sent,
        "decide_ms": decide_ms,
        "lost_ms": lost_ms,
        "started": started,
        "finished": finished,
    }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_team",
        description="MODERATORS processes claim and decide on one team database (a throwaway "
        "PostgreSQL cluster); prints decisions/s, latency and the checks as JSON.",
    )
    parser.add_argument("--moderators", type=int, default=20, help="processes (default 20)")
    parser.add_argument("--threads", type=int, default=2000, help="threads to decide on")
    args = parser.parse_args(argv)
    cluster = start_cluster()
    try:
        roles = _seed(cluster, args.threads, args.moderators)
        jobs = [(cluster.url("bench", role), role, args.threads, n) for n, role in enumerate(roles)]
        with multiprocessing.get_context("fork").Pool(args.moderators) as pool:
            wall = time.perf_counter()
            results = pool.map(_moderator, jobs, chunksize=1)
            wall = time.perf_counter() - wall
        with psycopg.connect(cluster.conninfo("bench"), autocommit=True) as conn:
            closes = conn.execute(
                "SELECT target_id, count(*) FROM peerdesk.audit WHERE action = 'close' "
                "GROUP BY target_id HAVING count(*) > 1"
            ).fetchall()
            states = dict(
                conn.execute("SELECT state, count(*) FROM peerdesk.outbox GROUP BY state")
            )
            closed = conn.execute(
                "SELECT count(*) FROM peerdesk.threads WHERE status = 'closed'"
            ).fetchone()
            holders = dict(conn.execute("SELECT thread_id, holder FROM peerdesk.claims"))
    finally:
        cluster.stop()

    winners = Counter(t for r in results for t in r["won"])
    sent = Counter(i for r in results for i in r["sent"])
    decide_ms = [ms for r in results for ms in r["decide_ms"]]
    lost_ms = [ms for r in results for ms in r["lost_ms"]]
    decisions = len(decide_ms)
    span = max(r["finished"] for r in results) - min(r["started"] for r in results)
    checks = {
        "threads_claimed_twice": sum(1 for n in winners.values() if n > 1),
        "claims_held_by_someone_else": sum(
            1 for r in results for t in r["won"] if holders.get(t) != r["role"]
        ),
        "threads_decided_twice": len(closes),
        "conflicts": sum(len(r["conflicts"]) for r in results),
        "outbox_items_sent_twice": sum(1 for n in sent.values() if n > 1),
        "outbox_items_not_sent": decisions - len(sent),
    }
    out = {
        "moderators": args.moderators,
        "threads": args.threads,
        "decisions": decisions,
        "threads_closed": int(str(closed[0])) if closed else 0,
        "seconds": round(span, 2),
        "wall_seconds_with_start": round(wall, 2),
        "decisions_per_s": round(decisions / span, 1) if span else None,
        "claim_and_decide_ms": {
            "p50": _pct(decide_ms, 0.50),
            "p95": _pct(decide_ms, 0.95),
            "max": round(max(decide_ms), 1) if decide_ms else 0.0,
            "mean": round(statistics.fmean(decide_ms), 1) if decide_ms else 0.0,
        },
        "claims_lost": len(lost_ms),  # two moderators picked the same thread at once
        "lost_claim_ms": {"p50": _pct(lost_ms, 0.50), "p95": _pct(lost_ms, 0.95)},
        "per_moderator_decisions": sorted(len(r["won"]) for r in results),
        "outbox_states": states,
        "checks": checks,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=1))
    bad = {k: v for k, v in checks.items() if v}
    if bad or decisions != args.threads:
        print(f"FAILED: {bad or 'not every thread was decided'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
