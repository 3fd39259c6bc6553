"""The first `V` on a big cache or team database: scoring a batch of threads never scored.

    python -m bench.bench_verify_first DB [--threads 500] [--runs 3] [--as NAME]

DB is a cache file or a team database's postgresql:// URL (bench.team_store builds one from a
cache: `python -m bench.team_store CACHE FOLDER` prints its URL). Use a copy: each run scores
`--threads` threads that have no verification rows yet (the newest such threads, as the first
`V` on a fresh cache scores its newest), writing their candidates, as the panel's first queue
read does (console.verify.queue.refresh). JSON on stdout: wall seconds per run, candidates kept,
and the load average (the machine is shared; run it more than once).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from console.desk import Desk  # noqa: E402
from console.team.location import is_team_url  # noqa: E402
from console.verify.settings import VerifySettings  # noqa: E402


def unscored(desk: Desk, count: int) -> list[int]:
    """The newest `count` threads (not duplicates) without any verification row."""
    rows = desk.cache.query(
        "SELECT t.id FROM threads t WHERE t.status != 'duplicate' AND NOT EXISTS "
        "(SELECT 1 FROM verifications v WHERE v.thread_id = t.id) "
        "ORDER BY t.last_activity_at DESC LIMIT ?",
        (count,),
    )
    return [int(r[0]) for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("--threads", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--as", dest="actor", default=None)
    args = parser.parse_args(argv)
    desk = (
        Desk.open_team(args.db, actor=args.actor)
        if is_team_url(args.db)
        else Desk.open(Path(args.db), actor=args.actor)
    )
    verification = desk.verification
    verification.overrides = VerifySettings()
    runs = []
    try:
        for _ in range(args.runs):
            ids = unscored(desk, args.threads)
            started = time.perf_counter()
            cpu = time.process_time()
            kept = verification.refresh(ids)
            runs.append(
                {
                    "threads": len(ids),
                    "kept": kept,
                    "wall_s": round(time.perf_counter() - started, 3),
                    "cpu_s": round(time.process_time() - cpu, 3),
                }
            )
        total = desk.cache.one("SELECT count(*) FROM threads")
    finally:
        desk.close_cache()
    print(
        json.dumps(
            {
                "engine": "postgresql" if is_team_url(args.db) else "sqlite",
                "threads_in_store": int(total[0]) if total else 0,
                "runs": runs,
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
