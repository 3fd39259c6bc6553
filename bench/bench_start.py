"""What a `peerdesk` command costs before its work: CPU and wall time of everyday commands, each
in a fresh process, on a demo cache; with --base, against another checkout in alternating pairs.

    python -m bench.bench_start [--db CACHE | --threads 2000] [--pairs 5] [--base DIR]
                                [--commands A,B] [--fresh-copy]

Every command runs as `python -m console --db CACHE ...` with this venv's Python, from this
checkout or from DIR (a checkout of another commit: `git worktree add --detach DIR COMMIT`, then
`python -m compileall -q console widgets sync` in it). Its CPU time (user + system of the process,
os.wait4) and wall time are recorded. With --base the two run in pairs, the base first in odd
pairs and this checkout first in even ones, so the shared machine's load falls on both alike.
The commands only read (or, `demo --if-missing`, leave the demo cache as it is); with --fresh-copy
each run has a copy of the cache of its own (for commands that write). Prints one JSON
object: per command and checkout the medians and every run, and the 1-minute load average before
and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_terminal import REPO, compile_console, ensure_cache, env_for

COMMANDS = (
    "--help",
    "whoami",
    "queue",
    "audit verify",
    "dupes 1",
    "dupes --pending",  # no import waiting: SQL only, no numpy or model
    "dupes --catch-up --background",  # a caught-up cache: nothing started, no numpy
    "demo --if-missing",  # each `make demo`
)


def run_once(checkout: Path, db: Path, command: str, *, fresh: bool = False) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `peerdesk` process run from `checkout`; `fresh`: on
    a copy of `db` of its own, made before the clock starts and removed after (a command that
    writes, e.g. `import FILE`, then starts from the same cache every time)."""
    if fresh:
        with tempfile.TemporaryDirectory(dir=db.parent) as folder:
            copy = Path(folder) / db.name
            shutil.copyfile(db, copy)
            return run_once(checkout, copy, command)
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "console", "--db", str(db), *command.split()],
        cwd=checkout,
        env=env_for(db),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    errors = child.stderr.read().decode() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"`peerdesk {command}` from {checkout} failed: {errors.strip()}")
    return usage.ru_utime + usage.ru_stime, wall


def summary(runs: list[tuple[float, float]]) -> dict[str, Any]:
    cpu, wall = [r[0] for r in runs], [r[1] for r in runs]
    return {
        "cpu_median_s": round(statistics.median(cpu), 3),
        "wall_median_s": round(statistics.median(wall), 3),
        "cpu_s": [round(x, 3) for x in cpu],
        "wall_s": [round(x, 3) for x in wall],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2000, help="the demo built when no --db")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(
            os.environ.get("PEERDESK_BENCH_CACHE") or Path(tempfile.gettempdir()) / "peerdesk-bench"
        ),
        help="where the demo is built and reused (default: as bench_terminal's)",
    )
    parser.add_argument("--db", type=Path, default=None, help="use this cache file as it is")
    parser.add_argument("--pairs", type=int, default=5, help="runs of each command (pairs)")
    parser.add_argument("--base", type=Path, default=None, help="another checkout to compare")
    parser.add_argument(
        "--commands", default=",".join(COMMANDS), help="comma-separated (default: %(default)s)"
    )
    parser.add_argument(
        "--fresh-copy",
        action="store_true",
        help="run each command on a copy of the cache of its own (commands that write: "
        "`import FILE --dupes later`)",
    )
    args = parser.parse_args()
    db, _ = ensure_cache(args.threads, args.cache_dir, args.db)
    assert isinstance(db, Path), "a cache file, not a team database"
    compile_console()
    checkouts = {"this": REPO} if args.base is None else {"base": args.base, "this": REPO}
    commands = [c.strip() for c in args.commands.split(",") if c.strip()]
    load_before = os.getloadavg()
    runs: dict[str, dict[str, list[tuple[float, float]]]] = {
        c: {name: [] for name in checkouts} for c in commands
    }
    for pair in range(args.pairs):
        order = list(checkouts) if pair % 2 == 0 else list(reversed(checkouts))
        for command in commands:
            for name in order:
                runs[command][name].append(
                    run_once(checkouts[name], db, command, fresh=args.fresh_copy)
                )
    result = {
        "benchmark": "start",
        "cache": str(db),
        "checkouts": {name: str(path) for name, path in checkouts.items()},
        "pairs": args.pairs,
        "how": "`python -m console --db CACHE COMMAND` in a fresh process; CPU = user + system "
        "(os.wait4); medians",
        "commands": {
            command: {name: summary(by[name]) for name in checkouts} for command, by in runs.items()
        },
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
