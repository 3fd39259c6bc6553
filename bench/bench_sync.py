"""Sync benchmark, headless, JSON on stdout.

    python -m bench.bench_sync [--posts 1000000] [--topics 10000]

1. JSONL import throughput (posts/s) of a generated file (10 posts per thread).
2. A first sync from a local fake Discourse server (a real HTTP server on 127.0.0.1, the test
   suite's): topics/s and requests per topic.
3. A no-change re-sync of the same server: requests made and seconds.
4. The rotating re-check's price: plain re-syncs when every topic counts as recently active
   (the worst case: each sync re-reads 1/recheck_every of them), as requests per sync.
5. A `--full` reconciliation of the unchanged server (every topic read again).

Targets: JSONL import >= 50,000 posts/s on 1,000,000 posts; no-change re-sync of 10,000 topics in
<= 5 requests per 1,000 topics.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

os.environ.setdefault("PEERDESK_NOW", "2026-11-20T12:00:00Z")
os.environ["PEERDESK_NO_KEYRING"] = "1"

from console.db import open_cache  # noqa: E402
from sync import jsonl, runner  # noqa: E402
from sync.http import FAST_RETRIES  # noqa: E402


def write_jsonl(path: Path, posts: int, per_thread: int = 10) -> None:
    threads = posts // per_thread
    members = max(1, threads // 10)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            json.dumps(
                {
                    "type": "header",
                    "format": "peerdesk-jsonl",
                    "version": 1,
                    "source": {
                        "kind": "discourse",
                        "name": "bench",
                        "base_url": "https://forum.example",
                    },
                }
            )
            + "\n"
        )
        for m in range(members):
            out.write(
                json.dumps(
                    {
                        "type": "member",
                        "remote_id": f"u{m}",
                        "username": f"user{m}",
                        "reputation": m % 500,
                    }
                )
                + "\n"
            )
        for t in range(threads):
            day = 1 + t % 28
            out.write(
                json.dumps(
                    {
                        "type": "thread",
                        "remote_id": f"t{t}",
                        "title": f"Roaming data stops {t}",
                        "author": f"u{t % members}",
                        "status": "answered",
                        "created_at": f"2026-10-{day:02d}T08:00:00Z",
                        "last_activity_at": f"2026-10-{day:02d}T09:00:00Z",
                        "reply_count": per_thread - 1,
                        "tags": ["roaming"],
                        "accepted_post": f"p{t * per_thread + 1}",
                    }
                )
                + "\n"
            )
            for i in range(per_thread):
                n = t * per_thread + i
                out.write(
                    json.dumps(
                        {
                            "type": "post",
                            "remote_id": f"p{n}",
                            "thread": f"t{t}",
                            "author": f"u{(t + i) % members}",
                            "position": i,
                            "body_text": f"No data when abroad, post {n}; APN reset helps",
                            "created_at": f"2026-10-{day:02d}T08:{i:02d}:00Z",
                            "score": i % 3,
                        }
                    )
                    + "\n"
                )


def bench_jsonl(posts: int, tmp: Path) -> dict[str, object]:
    source = tmp / "bench.jsonl"
    write_jsonl(source, posts)
    cache = open_cache(tmp / "jsonl.sqlite3", create=True)
    started = time.perf_counter()
    report = jsonl.import_file(cache, source)
    seconds = time.perf_counter() - started
    stored = cache.one("SELECT count(*) FROM posts")[0]
    cache.close()
    return {
        "posts": report.posts,
        "posts_stored": stored,
        "threads": report.threads,
        "seconds": round(seconds, 2),
        "posts_per_s": round(report.posts / seconds),
        "target_posts_per_s": 50_000,
    }


def bench_discourse(topics: int, tmp: Path, rotation_syncs: int = 3) -> dict[str, object]:
    from tests.sync.fake_discourse import API_KEY, API_USER, community

    os.environ["PEERDESK_BENCH_API_KEY"] = API_KEY
    os.environ["PEERDESK_BENCH_API_USERNAME"] = API_USER
    server = community(n_topics=topics, posts_per_topic=2).start()
    try:
        cache = open_cache(tmp / "discourse.sqlite3", create=True)
        with cache.transaction() as conn:
            conn.execute(
                "INSERT INTO sources (kind, name, base_url, options, created_at) VALUES "
                "('discourse', 'bench', ?, ?, '2026-11-20T12:00:00Z')",
                (server.url, json.dumps({"retry": FAST_RETRIES.__dict__})),
            )
        started = time.perf_counter()
        first = runner.sync_source(cache, runner.source(cache, "bench"))
        first_s = time.perf_counter() - started
        stored = cache.one("SELECT count(*) FROM threads")[0]
        before = len(server.state.requests)
        started = time.perf_counter()
        again = runner.sync_source(cache, runner.source(cache, "bench"))
        again_s = time.perf_counter() - started
        again_requests = len(server.state.requests) - before
        # every topic active: the rotation re-reads 1/recheck_every of them on each sync
        with cache.transaction() as conn:
            conn.execute(
                "UPDATE sources SET options = ? WHERE name = 'bench'",
                (json.dumps({"retry": FAST_RETRIES.__dict__, "recheck_days": 100_000}),),
            )
        rotation = []
        for _ in range(rotation_syncs):
            before = len(server.state.requests)
            started = time.perf_counter()
            runner.sync_source(cache, runner.source(cache, "bench"))
            rotation.append((len(server.state.requests) - before, time.perf_counter() - started))
        before = len(server.state.requests)
        started = time.perf_counter()
        full = runner.sync_source(cache, runner.source(cache, "bench"), full=True)
        full_s = time.perf_counter() - started
        full_requests = len(server.state.requests) - before
        cache.close()
    finally:
        server.stop()
    every = 24  # DiscourseOptions.recheck_every
    per_sync = [r for r, _ in rotation]
    return {
        "topics": topics,
        "first_sync": {
            "result": first.result,
            "topics_stored": stored,
            "seconds": round(first_s, 2),
            "topics_per_s": round(stored / first_s, 1),
            "requests": first.requests,
            "requests_per_topic": round(first.requests / max(1, stored), 3),
        },
        "no_change_resync": {
            "result": again.result,
            "requests": again_requests,
            "requests_per_1000_topics": round(again_requests * 1000 / topics, 2),
            "seconds": round(again_s, 3),
            "target_requests_per_1000_topics": 5,
        },
        "resync_every_topic_active": {
            "recheck_every_syncs": every,
            "syncs": len(rotation),
            "requests_per_sync": per_sync,
            "extra_requests_per_sync": round(sum(per_sync) / max(1, len(per_sync)) - 3, 1),
            "seconds_per_sync": [round(t, 3) for _, t in rotation],
        },
        "full_reconcile": {
            "result": full.result,
            "requests": full_requests,
            "seconds": round(full_s, 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--topics", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "benchmark": "sync",
            "jsonl_import": bench_jsonl(args.posts, Path(tmp)),
            "discourse": bench_discourse(args.topics, Path(tmp)),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
