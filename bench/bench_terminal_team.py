"""The console's keys on a team database against the same data in a cache file, in a real
terminal (bench.bench_terminal). Prints one JSON object.

    .venv/bin/python -m bench.bench_terminal_team CACHE [--work DIR] [--runs 2] [--rounds 4]
                                                 [--starts 3] [--keys all] [--no-floors]

CACHE is only read: it is copied into --work (SQLite's backup), the copy is copied into a
throwaway PostgreSQL cluster by `migrate-to` (bench.team_store: a Unix socket, fsync off, the
login role `bench` with every peerdesk role, as the demo cache's owner has), and then
`bench.bench_terminal --db` runs on the copy and on the team database in turn, `--runs` times
each, so both meet the same load on this shared machine. Per run and backend: start-up, every
key's first and settled p50/p95 (ms), peak memory of the console process (the server's is not
counted), failures, and the load average before and after. The full output of every run is
kept in --work. The cluster and the copy are removed at the end (--keep-copy keeps the copy).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import team_store

REPO = Path(__file__).resolve().parents[1]


def compact(run: dict[str, Any]) -> dict[str, Any]:
    """What the README needs of one bench_terminal run."""
    keys = {
        name: [values["first"]["p95_ms"], values["settled"]["p95_ms"]]
        for name, values in run["keys"].items()
    }
    return {
        "threads": run["threads"],
        "startup_s": run["startup_s"]["median"],
        "first": run["all"]["first"],
        "settled": run["all"]["settled"],
        "keys_p95_first_settled_ms": keys,
        "peak_mb": run["peak_mb"],
        "failures": run["failures"],
        "floors": run["floors"],
        "load_average": run["load_average"],
    }


def terminal(db: Path | str, extra: list[str], out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.bench_terminal", "--db", str(db), *extra]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    out.write_text(done.stdout + "\n" + done.stderr[-4000:], encoding="utf-8")
    if done.returncode:
        raise SystemExit(f"bench_terminal failed on {db}: {done.stderr.strip()[-500:]}")
    return compact(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", type=Path, help="a peerdesk cache file (only read)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/peerdesk-bench-team"))
    parser.add_argument("--runs", type=int, default=2, help="runs per backend, alternating")
    parser.add_argument("--rounds", type=int, default=4, help="bench_terminal's --rounds")
    parser.add_argument("--starts", type=int, default=3, help="bench_terminal's --starts")
    parser.add_argument("--keys", default="all", help="bench_terminal's --keys")
    parser.add_argument("--skip", default="", help="bench_terminal's --skip (D, Y, decisions…)")
    parser.add_argument("--no-floors", action="store_true")
    parser.add_argument("--keep-copy", action="store_true", help="keep the copy of CACHE")
    args = parser.parse_args()
    if not args.cache.exists():
        raise SystemExit(f"{args.cache}: no such cache")
    extra = ["--rounds", str(args.rounds), "--starts", str(args.starts), "--keys", args.keys]
    if args.no_floors:
        extra.append("--no-floors")
    if args.skip:
        extra += ["--skip", args.skip]
    load_before = os.getloadavg()
    team = team_store.build(args.cache, args.work)
    result: dict[str, Any] = {
        "benchmark": "terminal, team database against cache file",
        "cache": str(args.cache),
        "copy_s": round(team.copy_s, 1),
        "migrate_s": round(team.migrate_s, 1),
        "runs": [],
    }
    try:
        for number in range(1, args.runs + 1):
            run = {}
            for name, db in (("sqlite", team.copy), ("postgresql", team.url)):
                run[name] = terminal(db, extra, args.work / f"run{number}-{name}.json")
            result["runs"].append(run)
    finally:
        team.stop()
        if not args.keep_copy:
            for path in args.work.glob(f"{team.copy.name}*"):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
    result["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
