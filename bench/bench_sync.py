"""Sync benchmark, headless, JSON on stdout.

    python -m bench.bench_sync [--posts 1000000] [--topics 10000]

1. JSONL import throughput (posts/s) of a generated file (10 posts per thread).
2. A first sync from a local fake Discourse server (a real HTTP server on 127.0.0.1, the test
   suite's): topics/s and requests per topic.
3. A no-change re-sync of the same server: requests made and seconds.
4. The rotating re-check's price: plain re-syncs when every topic counts as recently active
   (the worst case: each sync re-reads 1/recheck_every of them), as requests per sync.
5. A `--full` reconciliation of the unchanged server (every topic read again).

Targets: JSONL import >= 200,000 posts/s on 1,000,000 realistic posts (real forum texts, several
tags, some long posts: see write_jsonl); no-change re-sync of 10,000 topics in <= 5 requests per
1,000 topics. `--only jsonl` runs the import alone; `--into CACHE` imports into a copy of an
existing cache (e.g. /work/bench-cache/demo-1000000.sqlite3) instead of an empty one; `--file`
reuses a file written before (see bench.bench_import_floor for SQLite's own rate); `--profile`
adds where the import's time went (cProfile, so slower).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

os.environ.setdefault("PEERDESK_NOW", "2026-11-20T12:00:00Z")
os.environ["PEERDESK_NO_KEYRING"] = "1"

from console import search_index  # noqa: E402
from console.bulk_sqlite import sqlite_bulk_load  # noqa: E402
from console.db import open_cache  # noqa: E402
from sync import jsonl, runner  # noqa: E402
from sync.http import FAST_RETRIES  # noqa: E402

SHARED = REPO.parent / "shared" / "bench" / "semeval2016-qa"
TAGS = (
    "roaming", "billing", "sim", "esim", "porting", "5g", "data", "unlock", "contract",
    "outage", "wifi-calling", "voicemail", "top-up", "refund", "international", "apn",
)  # fmt: skip
FALLBACK_WORDS = (
    "phone", "network", "signal", "data", "roaming", "abroad", "bill", "charge", "refund", "sim",
    "card", "esim", "activate", "port", "number", "pac", "code", "contract", "upgrade", "unlock",
    "handset", "outage", "postcode", "mast", "coverage", "voicemail", "settings", "apn",
    "restart", "support", "chat", "account", "app", "login", "payment", "direct", "debit",
    "credit", "balance", "bundle", "allowance", "text", "call", "minutes", "international",
    "tariff",
)  # fmt: skip


def forum_texts() -> list[str]:
    """Real forum post texts: the SemEval-2016 comments and questions when ../shared is there
    (lengths: median ~140 characters, mean ~185, 90th percentile ~390, longest ~1,000); without
    it, generated texts with a similar spread of lengths."""
    texts: list[str] = []
    for name, field in (("comments.jsonl", "text"), ("threads.jsonl", "body")):
        path = SHARED / name
        if path.exists():
            with path.open(encoding="utf-8") as lines:
                texts += [t for t in (json.loads(x).get(field) for x in lines) if t]
    if texts:
        return texts
    import random

    rng = random.Random(7)
    for _ in range(4000):
        words = max(3, int(rng.lognormvariate(3.2, 0.8)))
        texts.append(" ".join(rng.choice(FALLBACK_WORDS) for _ in range(words)) + ".")
    return texts


def write_jsonl(path: Path, posts: int, per_thread: int = 10) -> dict[str, float]:
    """A realistic export: real forum texts (see forum_texts) as bodies, each with its
    Markdown-ish raw form; 3-5 tags a thread; one post in 200 is long (5-20 kB, several texts
    joined); dates spread over two years up to the frozen now, so about 4% are recent enough
    for the escalation rules (30 days). Returns the mean body length and the share of long
    posts."""
    texts = forum_texts()
    threads = posts // per_thread
    members = max(1, threads // 10)
    total_chars = long_posts = 0
    base_day = 730  # days before 2026-11-20
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
            day = base_day - (t * base_day) // max(1, threads)  # oldest first, like an export
            stamp = time.gmtime(time.mktime((2026, 11, 20, 0, 0, 0, 0, 0, 0)) - day * 86400)
            date = time.strftime("%Y-%m-%d", stamp)
            question = texts[(t * 7) % len(texts)]
            out.write(
                json.dumps(
                    {
                        "type": "thread",
                        "remote_id": f"t{t}",
                        "title": question[:80].split(".")[0] or f"Question {t}",
                        "author": f"u{t % members}",
                        "status": "answered",
                        "created_at": f"{date}T08:00:00Z",
                        "last_activity_at": f"{date}T09:00:00Z",
                        "reply_count": per_thread - 1,
                        "tags": [TAGS[(t + k * 5) % len(TAGS)] for k in range(3 + t % 3)],
                        "accepted_post": f"p{t * per_thread + 1}",
                    }
                )
                + "\n"
            )
            for i in range(per_thread):
                n = t * per_thread + i
                if n % 200 == 199:  # a long post: several texts one after another
                    parts, size = [], 5_000 + (n * 7919) % 15_000
                    k = n
                    while sum(len(x) for x in parts) < size:
                        parts.append(texts[k % len(texts)])
                        k += 13
                    body = "\n\n".join(parts)
                    long_posts += 1
                else:
                    body = question if i == 0 else texts[(n * 31 + 5) % len(texts)]
                total_chars += len(body)
                out.write(
                    json.dumps(
                        {
                            "type": "post",
                            "remote_id": f"p{n}",
                            "thread": f"t{t}",
                            "author": f"u{(t + i) % members}",
                            "position": i,
                            "body_text": body,
                            "body_raw": body.replace("\n\n", "\n\n> ", 1) if i % 3 == 2 else body,
                            "created_at": f"{date}T08:{i % 60:02d}:00Z",
                            "score": i % 3,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
    written = max(1, threads * per_thread)
    return {
        "mean_body_chars": round(total_chars / written, 1),
        "long_posts_share": round(long_posts / written, 4),
        "texts": "semeval2016-qa" if SHARED.exists() else "generated",
    }


def copy_cache(cache_file: Path, target: Path) -> None:
    """A copy of a cache (and its WAL) to import into; the original is never opened."""
    shutil.copyfile(cache_file, target)
    wal = cache_file.with_name(cache_file.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + "-wal"))


PROFILE_PARTS = {
    # share of the import's profiled time: (function, called from) -> part; None = any caller
    "rows (threads, posts: executemany)": [("executemany", "upsert_threads")],
    "FTS5 (thread_fts, post_fts)": [("_reindex", None)],
    "commits": [("execute", "transaction")],
    "escalation rules": [("on_ingest", None)],
    "parsing and checking lines": [
        ("typed_record", None),
        ("_checked_record", None),
        ("_first_time", None),
    ],
}


def profile_shares(profile: cProfile.Profile) -> dict[str, float]:
    """Where the import's time went, as shares of the profiled total (PROFILE_PARTS; the rest is
    the import's own loop, building rows, look-ups of ids, the held decisions)."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, name), (_, _, _, ct, _) in stats.items() if name == "_import")
    shares: dict[str, float] = {}
    for part, wanted in PROFILE_PARTS.items():
        spent = 0.0
        for (_, _, name), (_, _, _, ct, callers) in stats.items():
            for function, caller in wanted:
                if name.endswith(function) and caller is None:
                    spent += ct
                elif name == f"<method '{function}' of 'sqlite3.Connection' objects>" and caller:
                    spent += sum(c[2] for (_, _, who), c in callers.items() if who == caller)
        shares[part] = round(spent / total, 3)
    shares["everything else (Python)"] = round(1 - sum(shares.values()), 3)
    return shares


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_jsonl(
    posts: int,
    tmp: Path,
    into: Path | None = None,
    source: Path | None = None,
    profile: bool = False,
) -> dict[str, object]:
    """Import a generated file into an empty cache, or into a copy of `into` (migrated, and its
    posts counted, before the clock starts). CPU seconds are reported beside wall seconds: on the
    shared machine the wall time is mostly other people's work."""
    shape: dict[str, object] = {}
    if source is None:
        source = tmp / "bench.jsonl"
        shape = dict(write_jsonl(source, posts))
    target = tmp / "jsonl.sqlite3"
    if into is not None:
        copy_cache(into, target)
    cache = open_cache(target, create=True)
    before = cache.one("SELECT count(*) FROM posts")[0]
    threads_before = cache.one("SELECT count(*) FROM threads")[0]
    profiler = cProfile.Profile() if profile else None
    children_before = _children_cpu()
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    report = jsonl.import_file(cache, source, index_search=False)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    reader_cpu = _children_cpu() - children_before  # the process reading the file, if any
    stored = cache.one("SELECT count(*) FROM posts")[0] - before
    waiting = search_index.backlog(cache)
    index_started, index_cpu_started = time.perf_counter(), time.process_time()
    with sqlite_bulk_load(cache):  # as jsonl.import_file runs it
        search_index.catch_up(cache)
    index_seconds = time.perf_counter() - index_started
    index_cpu = time.process_time() - index_cpu_started
    assert search_index.backlog(cache).empty
    cache.close()
    return {
        "into": str(into) if into else "an empty cache",
        "cache_threads_before": threads_before,
        "posts": report.posts,
        "posts_stored": stored,
        "threads": report.threads,
        "seconds": round(seconds, 2),
        "posts_per_s": round(report.posts / seconds),
        "cpu_seconds": round(cpu, 2),
        "posts_per_cpu_s": round(report.posts / cpu),
        "reader_process_cpu_seconds": round(reader_cpu, 2),
        "posts_per_cpu_s_of_the_busier_process": round(report.posts / max(cpu, reader_cpu)),
        "load_average": os.getloadavg(),
        "target_posts_per_s": 200_000,
        "search_backlog_after_import": {"posts": waiting.posts, "threads": waiting.threads},
        "search_index_seconds": round(index_seconds, 2),
        "search_index_cpu_seconds": round(index_cpu, 2),
        "searchable_posts_per_s": round(report.posts / (seconds + index_seconds)),
        "searchable_posts_per_cpu_s": round(report.posts / (cpu + index_cpu)),
        **({"profile_shares": profile_shares(profiler)} if profiler else {}),
        "file_mb": round(source.stat().st_size / 1e6, 1),
        **shape,
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
    parser.add_argument("--only", choices=("jsonl", "discourse"), default=None)
    parser.add_argument(
        "--into", type=Path, default=None, help="import into a copy of this cache (not changed)"
    )
    parser.add_argument(
        "--file", type=Path, default=None, help="import this JSONL file instead of a generated one"
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile the import: shares of its time by part"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result: dict[str, object] = {"benchmark": "sync", "load_average": os.getloadavg()}
        if args.only != "discourse":
            result["jsonl_import"] = bench_jsonl(
                args.posts, Path(tmp), args.into, args.file, args.profile
            )
        if args.only != "jsonl":
            result["discourse"] = bench_discourse(args.topics, Path(tmp))
        result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
