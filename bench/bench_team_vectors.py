"""Duplicate recall's vectors in a process's memory on a team database (or a cache file):

    python -m bench.bench_team_vectors DB [--searches 200]

DB is a cache file or a team database's postgresql:// URL (bench.team_store builds one from a
cache). On a team database every vector of a source is kept in memory and searched exactly
(console.dupes.ann); this reads them (the first search of each source), then runs `--searches`
searches for the vectors of random threads among their older threads, as recall does. JSON on
stdout: the process's resident memory before and after (VmRSS, and its peak VmHWM, from
/proc/self/status), the bytes the views hold, the time of the first read, each search's time
p50/p95, a checksum of the neighbours found (equal checksums: equal results), and the load
average (the machine is shared; run it more than once).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from console.db import open_cache  # noqa: E402
from console.dupes import ann, embed  # noqa: E402
from console.team.location import is_team_url  # noqa: E402


def memory() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in MB."""
    found: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) // 1024
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if is_team_url(args.db):
        from console.storage.postgres import open_team

        cache = open_team(args.db)
    else:
        cache = open_cache(Path(args.db))
    out: dict[str, object] = {"db": "team database" if is_team_url(args.db) else "cache file"}
    try:
        sources = [int(r[0]) for r in cache.query("SELECT DISTINCT source_id FROM thread_vectors")]
        out["memory_before_mb"] = memory()
        started = time.perf_counter()
        for source in sources:
            ann.nearest(cache, np.zeros(embed.DIMS, np.int8), source, 1)
        out["first_read_s"] = round(time.perf_counter() - started, 2)
        views = [ann._view(cache, s) for s in sources]
        out["vectors_held"] = sum(len(v.delta_ids) for v in views)
        out["view_mb"] = round(
            sum(v.delta.nbytes + v.delta_created.nbytes + v.delta_ids.nbytes for v in views) / 1e6,
            1,
        )
        out["memory_after_mb"] = memory()
        every = sorted(int(r[0]) for r in cache.query("SELECT thread_id FROM thread_vectors"))
        picks = random.Random(args.seed).sample(every, min(args.searches, len(every)))
        rows = [
            cache.one(
                "SELECT thread_id, source_id, vec, created_at FROM thread_vectors "
                "WHERE thread_id = ?",
                (pick,),
            )
            for pick in picks
        ]
        times: list[float] = []
        digest = hashlib.sha256()
        for row in rows:
            began = time.perf_counter()
            found = ann.nearest(cache, embed.from_blob(row[2]), int(row[1]), 10, before=str(row[3]))
            times.append((time.perf_counter() - began) * 1000)
            digest.update(repr([(tid, round(c, 5)) for tid, c in found]).encode())
        times.sort()
        out["searches"] = len(times)
        out["search_ms_p50"] = round(statistics.median(times), 1)
        out["search_ms_p95"] = round(times[int(0.95 * (len(times) - 1))], 1)
        out["neighbours_sha256"] = digest.hexdigest()[:16]
        out["memory_end_mb"] = memory()
    finally:
        cache.close()
    out["load_average"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
