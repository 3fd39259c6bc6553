"""Memory of the console with a huge post: opening it and moving around must stay bounded.

    .venv/bin/python -m bench.bench_memory [--mb 50] [--work DIR]

Builds a small demo cache (500 threads) plus one thread whose question is `--mb` MB of text,
starts the real `peerdesk` in an 80x24 pty (read by pyte, as bench_terminal does), opens that
thread, moves between posts, pages through the long post with `m`, goes back and opens it again,
and reports the process's resident memory after each step and its peak (VmHWM). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.bench_terminal import COMMAND, KEYS, Terminal, env_for, queue_ready
from console.db import open_cache
from console.demo import build_demo
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord

LINE = "Pasted log line {:09d}: modem reset, retrying attach to the network in 5 s.\n"


def build(path: Path, megabytes: int) -> None:
    cache = open_cache(path, create=True)
    try:
        build_demo(cache, 500, candidate_limit=0)
        source = ensure_source(cache, "discourse", "huge", "https://huge.example")
        size = megabytes * 1_000_000
        body = "".join(LINE.format(n) for n in range(size // len(LINE.format(0)) + 1))[:size]
        thread = ThreadRecord(
            "huge",
            "A pasted modem log (huge)",
            None,
            "open",
            "2026-11-20T11:59:00Z",
            "2026-11-20T11:59:00Z",
            flag_count=9,
            report_count=9,
        )
        posts = [
            PostRecord("huge.0", "huge", None, 0, body, body, "2026-11-20T11:59:00Z"),
            PostRecord(
                "huge.1", "huge", None, 1, "Please attach less.", "", "2026-11-20T12:00:00Z"
            ),
        ]
        upsert_threads(cache, source, [thread], posts)
    finally:
        cache.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="size of the huge post in MB")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "peerdesk-mem")
    parser.add_argument("--command", default=None, help="the console command (as bench_terminal)")
    args = parser.parse_args()
    if args.command:
        COMMAND[:] = args.command.split()
    path = args.work / f"huge-{args.mb}mb.sqlite3"
    if not path.exists():
        args.work.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".building")
        partial.unlink(missing_ok=True)
        build(partial, args.mb)
        partial.rename(path)
    term = Terminal(COMMAND, env_for(path))
    steps: list[dict[str, object]] = []
    try:
        term.wait_until(lambda ln: queue_ready(ln, "all"), 60, "the Queue")
        term.drain(0.5)
        steps.append({"step": "queue", "rss_mb": round(term.rss_mb(), 1)})
        for data in (b"/", b"huge", KEYS["enter"]):  # search finds it (newest first)
            term.send(data)
            term.drain(0.5, most=20)
        assert "(huge)" in "\n".join(term.screen.display[2:4]), term.text()
        script = [("enter", KEYS["enter"])] + [(k, k.encode()) for k in "jkGg"]
        script += [("m", b"m")] * 5 + [("pagedown", KEYS["pagedown"]), ("escape", KEYS["escape"])]
        script += [("enter", KEYS["enter"]), ("m", b"m"), ("escape", KEYS["escape"])]
        for name, data in script:
            term.send(data)
            time.sleep(0.3)
            term.drain(0.5, most=20)
            steps.append({"step": name, "rss_mb": round(term.rss_mb(), 1)})
        peak = term.peak_mb()
        end = term.rss_mb()
    finally:
        term.close()
    print(
        json.dumps(
            {
                "benchmark": "memory",
                "huge_post_mb": args.mb,
                "peak_mb": round(peak, 1),
                "rss_end_mb": round(end, 1),
                "steps": steps,
                "target_peak_mb": 200,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
