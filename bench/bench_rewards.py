"""Rewards benchmark: a ledger of 10,000,000 entries, a balance query, preparing a batch for
100,000 members, `ledger verify`, and the fraud checks' run time with precision and recall on the
demo's planted fraud. Prints JSON.

    python -m bench.bench_rewards                    # 10M entries, 100k members, demo 2000 threads
    python -m bench.bench_rewards --quick            # 200k entries, 20k members, demo 600 threads
    python -m bench.bench_rewards --entries 1000000 --members 100000 --keep /tmp/ledger.sqlite3

The ledger is written with the real hash chain (console.rewards.ledger.digest), in chunks; its
indexes are built after the rows, as a bulk import would do. Its entries are accruals of rules no
event source of this cache produces (as if imported from an earlier system): the accrual step
that `prepare` runs first scans the sources' own rules only. The accrual step over the demo's
real events is timed separately (`fraud.accrue_s`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from console.db import open_cache
from console.desk import Desk
from console.rewards import fraud, ledger
from console.rewards.accrue import accrue
from console.rewards.schedule import parse_schedule
from console.rewards.schedule_store import active_schedule, install_schedule

SCHEDULE = """\
version = "bench-1"
currency = "GBP"
point_value = "0.01"
[points]
accepted_answer = 50
helpful_vote = 2
[caps]
per_day = 100000
per_thread = 100000
[payouts]
threshold_points = 100
second_approver_over = "1000000.00"
"""

CHUNK = 500_000  # rows per executemany and per transaction


def _rows(
    first: int, last: int, members: int, rng: random.Random, prev: str
) -> tuple[list[tuple[Any, ...]], str]:
    """Ledger rows first..last (ids), hash-chained from `prev` with the real digest."""
    base = 1_767_225_600  # 2026-01-01
    span = 300 * 86_400
    recorded = "2026-11-01T00:00:00Z"
    days = [time.strftime("%Y-%m-%dT", time.gmtime(base + d * 86_400)) for d in range(301)]
    rows = []
    row: dict[str, Any] = {
        "thread_id": None,
        "kind": "accrual",
        "currency": "GBP",
        "schedule_version": "bench-1",
        "recorded_at": recorded,
        "reverses": None,
        "line_id": None,
        "detail": "{}",
    }
    for i in range(first, last + 1):
        vote = rng.random() < 0.8
        at = rng.randrange(span)
        day, rest = divmod(at, 86_400)
        hour, rest = divmod(rest, 3600)
        minute, second = divmod(rest, 60)
        points = 2 if vote else 50
        row["id"] = i
        row["member_id"] = rng.randrange(1, members + 1)
        row["rule"] = "imported_vote" if vote else "imported_answer"
        row["event_key"] = f"{'vote' if vote else 'post'}:{i}"
        row["points"] = row["amount_minor"] = points
        row["occurred_at"] = f"{days[day]}{hour:02d}:{minute:02d}:{second:02d}Z"
        digest = ledger.digest(prev, row)
        rows.append(
            (
                i,
                row["member_id"],
                row["rule"],
                row["event_key"],
                points,
                points,
                row["occurred_at"],
                prev,
                digest,
            )
        )
        prev = digest
    return rows, prev


def build_ledger(path: Path, entries: int, members: int, seed: int = 7) -> dict[str, Any]:
    """A cache with `members` members (each with a payout address) and a ledger of `entries`
    hash-chained accruals: executemany in transactions of CHUNK rows, indexes built after."""
    cache = open_cache(path, create=True)
    rng = random.Random(seed)
    started = time.perf_counter()
    conn = cache.conn
    with cache.transaction():
        install_schedule(conn, parse_schedule(SCHEDULE), loaded_by="bench")
        # what the schedule's terms pay for the imported rules, so `ledger verify` prices the
        # imported entries as it prices every accrual (a TOML schedule names peerdesk's rules)
        conn.execute(
            "INSERT INTO reward_schedule_points (version, rule, points) VALUES "
            "('bench-1', 'imported_vote', 2), ('bench-1', 'imported_answer', 50)"
        )
        # the bench's cache is a demo cache: its owner has every role, so `prepare` below runs
        # through the Desk's door like the console's, as a named preparer
        cache.set_meta("demo", "1")
        conn.execute(
            "INSERT INTO sources (kind, name, created_at) VALUES ('demo', 'bench', '2026-01-01')"
        )
        conn.executemany(
            "INSERT INTO members (id, source_id, remote_id, username, joined_at) "
            "VALUES (?, 1, ?, ?, '2025-01-01T00:00:00Z')",
            ((m, str(m), f"member{m}") for m in range(1, members + 1)),
        )
        conn.executemany(
            "INSERT INTO reward_payees (member_id, recipient_type, receiver) "
            "VALUES (?, 'EMAIL', ?)",
            ((m, f"member{m}@example.com") for m in range(1, members + 1)),
        )
    conn.execute("DROP INDEX ledger_once")
    conn.execute("DROP INDEX ledger_member")
    conn.execute("DROP INDEX ledger_accruals_by_time")
    prev = ledger.GENESIS
    written = 0
    hashing = 0.0
    while written < entries:
        mark = time.perf_counter()
        rows, prev = _rows(written + 1, min(entries, written + CHUNK), members, rng, prev)
        hashing += time.perf_counter() - mark
        with cache.transaction():
            conn.executemany(
                "INSERT INTO ledger (id, member_id, kind, rule, event_key, thread_id, points, "
                "amount_minor, currency, schedule_version, occurred_at, recorded_at, reverses, "
                "line_id, detail, prev_hash, hash) VALUES (?, ?, 'accrual', ?, ?, NULL, ?, ?, "
                "'GBP', 'bench-1', ?, '2026-11-01T00:00:00Z', NULL, NULL, '{}', ?, ?)",
                rows,
            )
        written += len(rows)
    insert_s = time.perf_counter() - started
    mark = time.perf_counter()
    with cache.transaction():
        conn.execute("CREATE UNIQUE INDEX ledger_once ON ledger (kind, rule, event_key)")
        conn.execute(
            "CREATE INDEX ledger_member ON ledger (member_id, occurred_at, kind, amount_minor, "
            "points)"
        )
        conn.execute(
            "CREATE INDEX ledger_accruals_by_time ON ledger (occurred_at, rule, member_id, kind) "
            "WHERE kind = 'accrual'"
        )
        cache.set_meta(ledger.HEAD_KEY, f"{entries}:{prev}")
    index_s = time.perf_counter() - mark
    cache.close()
    return {
        "entries": entries,
        "members": members,
        "write_seconds": round(insert_s, 1),
        "of_which_hashing_seconds": round(hashing, 1),
        "index_seconds": round(index_s, 1),
        "file_mb": round(path.stat().st_size / 1e6),
    }


def bench_ledger(path: Path, members: int, verify: bool) -> dict[str, Any]:
    cache = open_cache(path)
    rng = random.Random(11)
    times = []
    for _ in range(1000):
        member = rng.randrange(1, members + 1)
        began = time.perf_counter()
        ledger.balance(cache, member)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    result: dict[str, Any] = {
        "balance_ms_p50": round(statistics.median(times), 3),
        "balance_ms_p95": round(times[int(len(times) * 0.95)], 3),
    }
    began = time.perf_counter()
    top = ledger.balances(cache, limit=100)
    result["top_100_balances_s"] = round(time.perf_counter() - began, 2)
    assert top
    schedule = active_schedule(cache)
    began = time.perf_counter()
    accrue(cache, schedule)
    result["accrue_no_news_s"] = round(time.perf_counter() - began, 2)
    began = time.perf_counter()
    run = fraud.run_checks(cache.conn, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
    result["fraud_checks_s"] = round(time.perf_counter() - began, 2)
    result["fraud_checks_each_s"] = run.seconds
    began = time.perf_counter()
    view = Desk.for_cache(cache, actor="bench-preparer").rewards.prepare("2026-10")
    result["prepare_batch_s"] = round(time.perf_counter() - began, 2)
    result["batch_lines"] = view.lines
    result["batch_total_minor"] = view.ready_minor + view.held_minor
    if verify:
        began = time.perf_counter()
        report = ledger.verify(cache)
        result["verify_s"] = round(time.perf_counter() - began, 1)
        result["verify_ok"] = report.ok
    cache.close()
    return result


def bench_fraud(threads: int) -> dict[str, Any]:
    from console.demo import build_demo

    folder = Path(tempfile.mkdtemp(prefix="peerdesk-rewards-bench-"))
    cache = open_cache(folder / "demo.sqlite3", create=True)
    began = time.perf_counter()
    build_demo(cache, threads=threads, candidate_limit=0)
    build_s = time.perf_counter() - began
    began = time.perf_counter()
    accrue(cache, active_schedule(cache))
    accrue_s = time.perf_counter() - began
    truth = json.loads(cache.meta("demo_planted_fraud") or "{}")
    names = {int(r[0]): str(r[1]) for r in cache.query("SELECT id, username FROM members")}
    began = time.perf_counter()
    run = fraud.run_checks(cache.conn, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
    total_s = time.perf_counter() - began
    checks: dict[str, Any] = {}
    for name in fraud.CHECKS:
        flagged = {names[f.member_id] for f in run.flags if f.check == name}
        planted = set(truth.get(name, []))
        if name in run.skipped:
            checks[name] = {"skipped": run.skipped[name]}
            continue
        hit = len(flagged & planted)
        checks[name] = {
            "seconds": run.seconds.get(name),
            "planted": len(planted),
            "flagged": len(flagged),
            "precision": round(hit / len(flagged), 3) if flagged else None,
            "recall": round(hit / len(planted), 3) if planted else None,
        }
    entries = cache.one("SELECT count(*) FROM ledger")[0]
    cache.close()
    return {
        "demo_threads": threads,
        "demo_build_s": round(build_s, 1),
        "accrue_no_news_s": round(accrue_s, 2),
        "ledger_entries": entries,
        "checks_total_s": round(total_s, 2),
        "checks": checks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--demo-threads", type=int, default=2000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--verify", action="store_true", help="also time `ledger verify`")
    parser.add_argument("--keep", type=Path, help="keep the ledger file here (reused if present)")
    parser.add_argument("--skip-fraud", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.members, args.demo_threads = 200_000, 20_000, 600
    os.environ.setdefault("PEERDESK_NOW", "2026-11-20T12:00:00Z")
    out: dict[str, Any] = {"benchmark": "rewards"}
    path = args.keep or Path(tempfile.mkdtemp(prefix="peerdesk-ledger-")) / "ledger.sqlite3"
    if not path.exists():
        out["build"] = build_ledger(path, args.entries, args.members)
    if args.keep:  # benchmark a copy: the kept ledger stays as built, without a batch
        work = path.with_name(path.name + ".work")
        shutil.copyfile(path, work)
        path = work
    out["ledger"] = bench_ledger(path, args.members, args.verify)
    if args.keep and path.name.endswith(".work"):
        path.unlink()
    if not args.skip_fraud:
        out["fraud"] = bench_fraud(args.demo_threads)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
