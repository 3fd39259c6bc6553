"""An accrual run through the cache's ledger writer: every event of a demo paid in one run, each
accrual checked and priced by the Appender as it is written (console/rewards/pricing.py).
Prints one JSON line per run: CPU time (`time.process_time`, what the machine's load does not
inflate), wall time and the load average beside it.

    python -m bench.bench_accrue --threads 600 --runs 3

The demo is built once (in --work, reused) with its own accrual run left out, then each run
accrues on a fresh copy. For an A/B of two versions of the writer, run it alternately from two
checkouts on the same --work folder (README "Benchmarks": the writer's pricing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

from console.db import open_cache
from console.rewards.accrue import accrue
from console.rewards.schedule_store import active_schedule


def build(base: Path, threads: int) -> None:
    """The demo without its accrual run (console.rewards.demo.plant accrues last)."""
    import console.rewards.demo as rewards_demo
    from console.demo import build_demo

    names = vars(rewards_demo)
    accrue_later = names["accrue"]
    names["accrue"] = lambda *args, **kwargs: None
    try:
        cache = open_cache(base, create=True)
        build_demo(cache, threads=threads, candidate_limit=0)
        cache.close()
    finally:
        names["accrue"] = accrue_later


def run_once(base: Path, work: Path) -> dict[str, object]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copy(base, work)
    cache = open_cache(work)
    load = os.getloadavg()[0]
    cpu, wall = time.process_time(), time.perf_counter()
    report = accrue(cache, active_schedule(cache))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    row = cache.one("SELECT count(*) FROM ledger")
    entries = row[0] if row else 0
    cache.close()
    return {
        "accrued": report.accrued,
        "ledger_entries": int(entries),
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "load_1min": round(load, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/peerdesk-bench-accrue"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    base = args.work / f"demo-{args.threads}-unaccrued.sqlite3"
    if not base.exists():
        partial = base.with_name(f".{base.name}.partial")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        build(partial, args.threads)
        partial.replace(base)
    for _ in range(args.runs):
        print(json.dumps(run_once(base, args.work / "run.sqlite3")), flush=True)


if __name__ == "__main__":
    main()
