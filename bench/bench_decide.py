"""Decision latency through the Desk: close one thread, then undo it, on a real cache file.

    python -m bench.bench_decide [--threads 2000] [--rounds 300]

Prints JSON with p50/p95 in ms for close and undo. Runs against older checkouts too (before the
trust work roles were passed in a Config), so before/after can be compared on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from console.db import open_cache
from console.desk import Desk
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord


def _desk(cache: Any, folder: Path) -> Desk:
    try:  # since the trust work: roles from a roles file, identity from the OS
        from console.identity import establish  # noqa: F401

        roles = folder / "roles.toml"
        roles.write_text('[roles]\nbench = ["moderator"]\n')
        roles.chmod(0o600)
        os.environ["PEERDESK_ROLES_FILE"] = str(roles)
        return Desk.for_cache(cache, actor="bench")
    except ImportError:  # before: roles passed in
        from console.config import Config
        from console.models import Role

        config = Config(roles={"bench": frozenset({Role.MODERATOR})})
        return Desk.for_cache(cache, config=config, actor="bench")  # type: ignore[call-arg]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("PEERDESK_NOW", "2026-11-20T12:00:00Z")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cache = open_cache(folder / "bench.sqlite3", create=True)
        source = ensure_source(cache, "discourse", "forum", "https://forum.example")
        stamp = "2026-11-01T00:00:00Z"
        threads = [
            ThreadRecord(f"t{i}", f"Thread {i}", None, "open", stamp, stamp)
            for i in range(args.threads)
        ]
        posts = [
            PostRecord(f"p{i}", f"t{i}", None, 0, "body", "body", stamp)
            for i in range(args.threads)
        ]
        ids = upsert_threads(cache, source, threads, posts)
        desk = _desk(cache, folder)
        targets = list(ids.values())
        close_ms, undo_ms = [], []
        for n in range(args.rounds):
            started = time.perf_counter()
            desk.close([targets[n % len(targets)]])
            close_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            desk.undo()
            undo_ms.append((time.perf_counter() - started) * 1000)
        cache.close()

    def stats(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "p50_ms": round(statistics.median(ordered), 3),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
        }

    print(json.dumps({"rounds": args.rounds, "close": stats(close_ms), "undo": stats(undo_ms)}))


if __name__ == "__main__":
    main()
