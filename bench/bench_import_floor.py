"""The floor under the JSONL import: SQLite's own write rate for the same rows, JSON on stdout.

    python -m bench.bench_import_floor [--posts 100000] [--file F.jsonl] [--runs 2]

The benchmark file of `bench.bench_sync` (realistic posts: see its write_jsonl) is read and its
posts turned into rows before the clock starts; each variant then writes the same rows into a
fresh cache made by peerdesk's migrations (same tables, indexes, FTS5 tables), one transaction
per 20,000 posts, as the import does, with no Python per row beyond the sqlite3 module's
binding. What is left is what SQLite costs on this machine:

- `posts_upsert`: the posts' INSERT ... ON CONFLICT DO UPDATE (three indexes), 64 MB page cache;
- `posts_upsert_small_cache`: the same with SQLite's default 2 MB page cache;
- `posts_upsert_in_savepoint`: the same inside a savepoint (what a nested `cache.transaction()`
  does) -- the statement journal's price;
- `posts_and_fts`: the upsert and the posts' FTS5 rows (INSERT ... SELECT, as the import does);
- `posts_and_fts_without_raw`: the same when body_raw is NULL where it equals body_text;
- `posts_and_external_fts`: the FTS5 table reading its text from a view of `posts` instead of
  keeping its own copy;
- `posts_and_fts_checkpoint_at_end`: `posts_and_fts` with WAL checkpoints left to the end (one
  passive checkpoint, timed) instead of after each commit;
- `posts_insert`: a plain INSERT (rows known new: no conflict clause);
- `posts_insert_indexes_after`: the plain INSERT with `posts_thread` and `posts_author` dropped
  first and built again after the last chunk (timed, in `commit_s`), as a first import into an
  empty table could.

Each variant reports posts/s (wall and CPU: on the shared machine the wall time is mostly other
people's work) and its seconds split into insert, FTS and commit. The import's own
rate (bench_sync) divided by `posts_and_fts` says how far the import is from the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

os.environ.setdefault("PEERDESK_NOW", "2026-11-20T12:00:00Z")
os.environ["PEERDESK_NO_KEYRING"] = "1"

import orjson  # noqa: E402

from bench.bench_sync import write_jsonl  # noqa: E402
from console.db import open_cache  # noqa: E402

CHUNK = 20_000
POSTS_SQL = """INSERT INTO posts (thread_id, source_id, remote_id, author_id, position,
        body_text, body_raw, created_at, updated_at, score, flag_count, hidden)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (source_id, remote_id) DO UPDATE SET
      thread_id = excluded.thread_id, author_id = excluded.author_id,
      position = excluded.position, body_text = excluded.body_text,
      body_raw = excluded.body_raw, created_at = excluded.created_at,
      updated_at = excluded.updated_at, score = excluded.score,
      flag_count = excluded.flag_count, hidden = excluded.hidden"""
VARIANTS = (
    "posts_upsert",
    "posts_upsert_small_cache",
    "posts_upsert_in_savepoint",
    "posts_and_fts",
    "posts_and_fts_without_raw",
    "posts_and_external_fts",
    "posts_and_fts_checkpoint_at_end",
    "posts_insert",
    "posts_insert_indexes_after",
)
PLAIN_SQL = POSTS_SQL[: POSTS_SQL.index("ON CONFLICT")]


def read_rows(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[Any]]:
    """(members, threads, posts) rows of the file, with the local ids an import would give."""
    members: list[tuple[Any, ...]] = []
    threads: list[tuple[Any, ...]] = []
    posts: list[dict[str, Any]] = []
    with path.open("rb") as lines:
        next(lines)
        for line in lines:
            rec = orjson.loads(line)
            kind = rec.get("type")
            if kind == "post":
                posts.append(rec)
            elif kind == "thread":
                threads.append(
                    (len(threads) + 1, rec["remote_id"], rec["title"], rec["created_at"])
                )
            elif kind == "member":
                members.append((len(members) + 1, rec["remote_id"], rec["username"]))
    thread_ids = {t[1]: t[0] for t in threads}
    member_ids = {m[1]: m[0] for m in members}
    rows = [
        (
            thread_ids[p["thread"]],
            1,
            p["remote_id"],
            member_ids.get(p.get("author")),
            p["position"],
            p["body_text"],
            p["body_raw"],
            p["created_at"],
            None,
            p.get("score", 0),
            0,
            0,
        )
        for p in posts
    ]
    return members, threads, rows


def run_variant(
    variant: str, folder: Path, members: list[Any], threads: list[Any], rows: list[Any]
) -> dict[str, Any]:
    path = folder / f"{variant}.sqlite3"
    cache = open_cache(path, create=True)
    conn = cache.conn
    conn.execute("PRAGMA foreign_keys = OFF")
    if variant != "posts_upsert_small_cache":
        conn.execute("PRAGMA cache_size = -65536")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO sources (id, kind, name, created_at) VALUES (1, 'jsonl', 'b', 'x')")
    conn.executemany(
        "INSERT INTO members (id, source_id, remote_id, username) VALUES (?, 1, ?, ?)", members
    )
    conn.executemany(
        "INSERT INTO threads (id, source_id, remote_id, title, created_at, last_activity_at) "
        "VALUES (?, 1, ?, ?, ?, ?)",
        [(*t, t[3]) for t in threads],
    )
    if variant == "posts_and_fts_without_raw":
        conn.execute("DROP TABLE posts")
        conn.execute(
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, thread_id INTEGER NOT NULL, "
            "source_id INTEGER NOT NULL, remote_id TEXT NOT NULL, author_id INTEGER, "
            "position INTEGER NOT NULL, body_text TEXT NOT NULL, body_raw TEXT, "
            "created_at TEXT NOT NULL, updated_at TEXT, score INTEGER NOT NULL DEFAULT 0, "
            "flag_count INTEGER NOT NULL DEFAULT 0, hidden INTEGER NOT NULL DEFAULT 0, "
            "hidden_reason TEXT, UNIQUE (source_id, remote_id))"
        )
        conn.execute("CREATE INDEX posts_thread ON posts (thread_id, position)")
        conn.execute("CREATE INDEX posts_author ON posts (author_id)")
        rows = [(*r[:6], None if r[6] == r[5] else r[6], *r[7:]) for r in rows]
    if variant == "posts_and_external_fts":
        conn.execute("DROP TABLE post_fts")
        conn.execute(
            "CREATE VIEW floor_post_text AS SELECT id, substr(body_text, 1, 20000) AS body "
            "FROM posts"
        )
        conn.execute(
            "CREATE VIRTUAL TABLE post_fts USING fts5 (body, content = 'floor_post_text', "
            "content_rowid = 'id', tokenize = 'unicode61')"
        )
    if variant == "posts_insert_indexes_after":
        conn.execute("DROP INDEX posts_thread")
        conn.execute("DROP INDEX posts_author")
    conn.execute("COMMIT")
    if variant == "posts_and_fts_checkpoint_at_end":
        conn.execute("PRAGMA wal_autocheckpoint = 0")
    sql = PLAIN_SQL if variant.startswith("posts_insert") else POSTS_SQL
    fts = variant.startswith("posts_and")
    insert = index = commit = 0.0
    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, len(rows), CHUNK):
        a = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        if variant == "posts_upsert_in_savepoint":
            conn.execute("SAVEPOINT floor")
        conn.executemany(sql, rows[start : start + CHUNK])
        if variant == "posts_upsert_in_savepoint":
            conn.execute("RELEASE floor")
        b = time.perf_counter()
        if fts:
            conn.execute(
                "INSERT INTO post_fts (rowid, body) SELECT id, substr(body_text, 1, 20000) "
                "FROM posts WHERE id > ?",
                (start,),
            )
        c = time.perf_counter()
        conn.execute("COMMIT")
        d = time.perf_counter()
        insert, index, commit = insert + b - a, index + c - b, commit + d - c
    if variant == "posts_and_fts_checkpoint_at_end":
        a = time.perf_counter()
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        commit += time.perf_counter() - a
    if variant == "posts_insert_indexes_after":
        a = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE INDEX posts_thread ON posts (thread_id, position)")
        conn.execute("CREATE INDEX posts_author ON posts (author_id)")
        conn.execute("COMMIT")
        commit += time.perf_counter() - a
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    size = path.stat().st_size + path.with_name(path.name + "-wal").stat().st_size
    cache.close()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return {
        "posts_per_s": round(len(rows) / seconds),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "posts_per_cpu_s": round(len(rows) / cpu),
        "insert_s": round(insert, 3),
        "fts_s": round(index, 3),
        "commit_s": round(commit, 3),
        "file_mb": round(size / 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--file", type=Path, default=None, help="a bench_sync file to reuse")
    parser.add_argument("--runs", type=int, default=2, help="runs of each variant (best kept)")
    parser.add_argument("--only", choices=VARIANTS, action="append", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = args.file or folder / "bench.jsonl"
        if args.file is None:
            write_jsonl(source, args.posts)
        members, threads, rows = read_rows(source)
        result: dict[str, Any] = {
            "benchmark": "import_floor",
            "posts": len(rows),
            "load_average": os.getloadavg(),
        }
        for variant in args.only or VARIANTS:
            runs = [run_variant(variant, folder, members, threads, rows) for _ in range(args.runs)]
            result[variant] = max(runs, key=lambda r: float(r["posts_per_s"]))
        result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
