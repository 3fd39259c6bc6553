"""Escalation rules benchmark, headless, JSON on stdout.

    python -m bench.bench_escalate [--posts 1000000] [--distinct 200000] [--pages 400]

1. Rules over posts: the shipped example rule set (console/escalate/kestrel-mobile.toml)
   scanning `--posts` post bodies, taken from the demo community's generator (real-looking
   posts with complaints, legal threats, phone numbers, emails, hostile text; `--distinct`
   different bodies, cycled). Target: no slower than JSONL import itself (~50,000 posts/s).
Times are CPU seconds of this process (time.process_time), so a busy machine slows the run but
not the figures much; wall seconds are printed beside them.

2. The incremental cost on sync: `--pages` pages of 50 new posts (a sync page) stored through
   console.ingest into a cache, with the rules hook on and off; the difference per post is what
   the rules add to every synced post.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

os.environ.setdefault("PEERDESK_NOW", "2026-11-20T12:00:00Z")

from console import ingest  # noqa: E402
from console.db import open_cache  # noqa: E402
from console.demo import generate_demo  # noqa: E402
from console.escalate.detect import PostMatcher  # noqa: E402
from console.escalate.rules import example_rules  # noqa: E402
from console.models import PostRecord, ThreadRecord  # noqa: E402


def demo_posts(wanted: int) -> tuple[list[ThreadRecord], list[PostRecord], list]:
    threads: list[ThreadRecord] = []
    posts: list[PostRecord] = []
    members = []
    for chunk in generate_demo(max(1, wanted // 4), seed=7):
        threads.extend(chunk.threads)
        posts.extend(chunk.posts)
        members.extend(chunk.members)
        if len(posts) >= wanted:
            break
    return threads, posts, members


def rules_over_posts(
    bodies: list[tuple[str, bool]], total: int, *, everyone_asks: bool = False
) -> dict[str, object]:
    """Scan `total` posts (cycling `bodies`: (text, written by the asker)); CPU seconds."""
    matcher = PostMatcher(example_rules().rules)
    hits = 0
    started = time.process_time()
    wall = time.perf_counter()
    done = 0
    while done < total:
        for body, by_asker in bodies[: total - done]:
            if matcher.scan(body, everyone_asks or by_asker):
                hits += 1
        done += min(len(bodies), total - done)
    seconds = time.process_time() - started
    chars = sum(len(b) for b, _ in bodies) / max(1, len(bodies))
    return {
        "posts": total,
        "distinct_bodies": len(bodies),
        "mean_body_chars": round(chars),
        "cpu_seconds": round(seconds, 2),
        "wall_seconds": round(time.perf_counter() - wall, 2),
        "posts_per_s": round(total / seconds),
        "posts_with_a_hit_percent": round(100 * hits / total, 2),
    }


def incremental(
    threads: list[ThreadRecord], posts: list[PostRecord], members: list, pages: int
) -> dict[str, object]:
    by_thread: dict[str, list[PostRecord]] = {}
    for p in posts:
        by_thread.setdefault(p.thread_remote_id, []).append(p)
    page_items: list[tuple[list[ThreadRecord], list[PostRecord]]] = []
    current_t: list[ThreadRecord] = []
    current_p: list[PostRecord] = []
    # the newest threads: older ones are past the rules' ignore_older_than, as on a real sync
    for t in reversed(threads):
        current_t.append(t)
        current_p.extend(by_thread.get(t.remote_id, []))
        if len(current_p) >= 50:
            page_items.append((current_t, current_p))
            current_t, current_p = [], []
        if len(page_items) >= pages:
            break
    results = {}
    original = ingest.raise_escalations
    for label, hook in (("rules_off", lambda *a, **k: 0), ("rules_on", original)):
        ingest.raise_escalations = hook
        with tempfile.TemporaryDirectory() as tmp:
            cache = open_cache(Path(tmp) / "bench.sqlite3", create=True)
            source = ingest.ensure_source(cache, "discourse", "bench", "https://forum.example")
            ingest.upsert_members(cache, source, members)
            times = []
            stored = 0
            for page_threads, page_posts in page_items:
                started = time.process_time()  # CPU time: the machine may be shared
                ingest.upsert_threads(cache, source, page_threads, page_posts)
                times.append(time.process_time() - started)
                stored += len(page_posts)
            raised = cache.one("SELECT count(*) FROM escalations")[0]
            cache.close()
        results[label] = {
            "pages": len(times),
            "posts": stored,
            "cpu_ms_per_page_median": round(1000 * statistics.median(times), 3),
            "cpu_us_per_post": round(1e6 * sum(times) / stored, 1),
            "escalations_raised": raised,
        }
    ingest.raise_escalations = original
    on, off = results["rules_on"], results["rules_off"]
    results["rules_cost_cpu_us_per_synced_post"] = round(
        on["cpu_us_per_post"] - off["cpu_us_per_post"], 1
    )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=200_000)
    parser.add_argument("--pages", type=int, default=400)
    args = parser.parse_args()
    threads, posts, members = demo_posts(max(args.distinct, args.pages * 60))
    askers = {t.remote_id: t.author_remote_id for t in threads}
    bodies = [
        (p.body_text, askers.get(p.thread_remote_id) == p.author_remote_id)
        for p in posts[: args.distinct]
    ]
    out = {
        "rules_over_posts": rules_over_posts(bodies, args.posts),
        "rules_over_posts_every_post_read_as_the_askers": rules_over_posts(
            bodies, args.posts, everyone_asks=True
        ),
        "incremental_on_sync": incremental(threads, posts, members, args.pages),
        "target_posts_per_s": 50_000,
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
