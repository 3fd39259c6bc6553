"""Run every benchmark headless, one after another, and print one JSON object of their outputs.

    python -m bench.run_all [--quick]

--quick uses small sizes (a smoke run); without it each benchmark runs at the sizes the README
reports. Each benchmark is its own process, so peak memory figures do not mix.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FULL: list[list[str]] = [
    ["bench.semeval"],
    ["bench.bench_demo", "--threads", "100000"],
    ["bench.bench_terminal", "--threads", "100000"],
    ["bench.bench_terminal", "--threads", "1000000"],
    ["bench.bench_memory"],
    ["bench.bench_console"],
    ["bench.bench_start"],
    ["bench.bench_sync"],
    ["bench.bench_dupes"],
    ["bench.bench_escalate"],
]
QUICK: list[list[str]] = [
    ["bench.semeval"],
    ["bench.bench_demo", "--threads", "5000"],
    ["bench.bench_terminal", "--threads", "5000", "--rounds", "1", "--starts", "1"],
    ["bench.bench_memory", "--mb", "5"],
    ["bench.bench_start", "--threads", "5000", "--pairs", "1"],
    ["bench.bench_sync", "--posts", "50000", "--topics", "500"],
    ["bench.bench_dupes", "--sizes", "20000", "--new", "50"],
    ["bench.bench_escalate", "--posts", "50000", "--distinct", "10000", "--pages", "50"],
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args()
    results: dict[str, object] = {}
    failed = False
    for command in QUICK if args.quick else FULL:
        name = command[0].removeprefix("bench.")
        run = subprocess.run(
            [sys.executable, "-m", *command],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        )
        try:
            results[name] = json.loads(run.stdout)
        except json.JSONDecodeError:
            failed = True
            results[name] = {"error": run.stderr.strip().splitlines()[-5:], "exit": run.returncode}
    print(json.dumps(results, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
