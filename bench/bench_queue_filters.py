"""Typed Queue filters on a cache as it is: each filter's first page, its bounded count and the
page after it, in CPU milliseconds, JSON on stdout.

    python -m bench.bench_queue_filters CACHE [FILTER ...] [--runs 3] [--at-most 400]

FILTER is what a moderator types on the search line (`age<1d`, `tag:esim`, `status:answered`,
`source:demo`); without any, a set that covers the Queue's kinds of term. Each run reads the
first page (100 rows, as the Queue's first screenful read), the count the header shows (stopped
at --at-most, as the count worker does) and the page after the first (keyset, after its last
row), through the same functions the console uses (console.store). CPU time
(`time.process_time`) is what the machine's load does not inflate; the median and the slowest
run are reported. `ids` is a digest of the ids both pages returned, so two checkouts run on the
same cache (an A/B) can be seen to agree. Set PEERDESK_NOW to pin "now" for `age<` bounds.

The cache is opened read-only: nothing is written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from console.db import Cache, open_read_only
from console.filters import parse_filter
from console.models import QueueItem
from console.store import QueueFilter, QueueReader, queue

DEFAULT_FILTERS = (
    "age<2h",
    "age<1d",
    "age<7d",
    "age<30d",
    "status:answered",
    "source:demo",
    "tag:esim",
    "tag:nosuch",
)
PAGE = 100
T = TypeVar("T")


def _cpu_ms(read: Callable[[], T]) -> tuple[float, T]:
    start = time.process_time()
    result = read()
    return (time.process_time() - start) * 1000, result


def _page_after(cache: Cache, flt: QueueFilter, rows: list[QueueItem]) -> list[QueueItem]:
    if not rows:
        return []
    return queue(cache, flt, offset=PAGE, limit=PAGE, after=rows[-1].thread_id)


def measure(path: Path, text: str, runs: int, at_most: int) -> dict[str, Any]:
    cache = open_read_only(path)
    reader = QueueReader(path)
    flt = parse_filter(text).to_filter("bench")
    times: dict[str, list[float]] = {"first_page_ms": [], "count_ms": [], "page_after_ms": []}
    digest, shown, counted = "", 0, None
    try:
        for _ in range(runs):
            first_ms, rows = _cpu_ms(lambda: queue(cache, flt, limit=PAGE))
            count_ms, count = _cpu_ms(lambda: reader.count_at_most(flt, at_most))
            next_ms, more = _cpu_ms(partial(_page_after, cache, flt, rows))
            times["first_page_ms"].append(first_ms)
            times["count_ms"].append(count_ms)
            times["page_after_ms"].append(next_ms)
            ids = [r.thread_id for r in [*rows, *more]]
            digest = hashlib.sha1(repr(ids).encode()).hexdigest()[:12]
            shown, counted = len(ids), count
    finally:
        reader.close()
        cache.close()
    out: dict[str, Any] = {"filter": text, "rows": shown, "count": counted, "ids": digest}
    for name, values in times.items():
        out[name] = {
            "median": round(statistics.median(values), 2),
            "max": round(max(values), 2),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache", type=Path, help="a peerdesk cache file (opened read-only)")
    parser.add_argument("filters", nargs="*", help=f"default: {' '.join(DEFAULT_FILTERS)}")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--at-most", type=int, default=400, help="the count's bound")
    args = parser.parse_args(argv)
    results = [
        measure(args.cache, text, args.runs, args.at_most)
        for text in (args.filters or DEFAULT_FILTERS)
    ]
    print(
        json.dumps(
            {
                "benchmark": "queue_filters",
                "cache": str(args.cache),
                "now": os.environ.get("PEERDESK_NOW"),
                "load_average": list(os.getloadavg()),
                "filters": results,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
