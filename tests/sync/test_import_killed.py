"""Kill -9 a real import process while it stores chunks, and again while it indexes them for
search (console/search_index.py); the next `peerdesk import` of the same file finishes both:
nothing lost, nothing twice, and search finds what an index built from scratch finds."""

from __future__ import annotations

# SQLite only: the cache file's search-index catch-up after a kill; a team database indexes as
# it writes (console/search_index.py).
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from console import search_index
from console.db import Cache, open_cache
from sync import jsonl
from tests.sync.conftest import REPO
from tests.sync.test_import_search_unchanged import _assert_same_as_scratch

WORDS = ["roaming", "esim", "porting", "refund", "voicemail", "apn", "outage", "tariff", "café"]
THREADS, PER_THREAD = 40, 5

# The child imports in chunks of 50 posts and catch-up batches of 50 rows, and stops to be
# killed after its second chunk (stage "import") or its second batch of posts ("index").
CHILD = """
import sys, time
from pathlib import Path
from console import search_index
from console.db import open_cache
from sync import jsonl

db, source, stage = sys.argv[1:4]
search_index.CATCH_UP_BATCH = 50
cache = open_cache(Path(db), create=True)
chunks = []

def wait_to_be_killed():
    Path(db + ".held").write_text(stage)
    time.sleep(120)

def stored(report):
    chunks.append(report.posts)
    if stage == "import" and len(chunks) == 2:
        wait_to_be_killed()

def indexed(done, left):
    if stage == "index" and done.posts >= 100:
        wait_to_be_killed()

jsonl.import_file(cache, Path(source), chunk_posts=50, progress=stored, index_progress=indexed)
"""


def _file(path: Path) -> Path:
    head = {"type": "header", "format": "peerdesk-jsonl", "version": 1, "source": {"name": "s"}}
    lines: list[dict[str, object]] = [head]
    for t in range(THREADS):
        lines.append(
            {
                "type": "thread",
                "remote_id": f"t{t}",
                "title": f"{WORDS[t % len(WORDS)]} question {t}",
                "created_at": "2026-01-01T00:00:00Z",
                "tags": ["a", "b"],
            }
        )
        for i in range(PER_THREAD):
            n = t * PER_THREAD + i
            words = [WORDS[(n * 5 + k) % len(WORDS)] for k in range(2 + n % 5)]
            lines.append(
                {
                    "type": "post",
                    "remote_id": f"p{n}",
                    "thread": f"t{t}",
                    "position": i,
                    "body_text": " ".join(words) + (" nul\u0000after" if n % 13 == 0 else ""),
                    "created_at": "2026-01-01T00:00:00Z",
                }
            )
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    return path


def _killed_at(db: Path, source: Path, stage: str) -> None:
    held = Path(f"{db}.held")
    held.unlink(missing_ok=True)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(source), stage],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not held.exists():
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        assert time.monotonic() < deadline, "the child never reached the chosen point"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL


def _stored(cache: Cache) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in cache.query(
            "SELECT p.remote_id, t.remote_id, p.position, p.body_text FROM posts p "
            "JOIN threads t ON t.id = p.thread_id ORDER BY p.remote_id"
        )
    ]


def test_an_import_killed_while_storing_and_while_indexing_is_finished_by_the_next(
    tmp_path: Path,
) -> None:
    source = _file(tmp_path / "community.jsonl")
    db = tmp_path / "cache.sqlite3"

    _killed_at(db, source, "import")
    cache = open_cache(db)
    try:  # two chunks stored, none of them indexed yet: the search says so
        assert cache.one("SELECT count(*) FROM posts")[0] == 100
        assert search_index.backlog(cache).posts == 100
        assert cache.one("SELECT count(*) FROM post_fts")[0] == 0
    finally:
        cache.close()

    _killed_at(db, source, "index")  # resumes the import, then is killed indexing it
    cache = open_cache(db)
    try:
        assert cache.one("SELECT count(*) FROM posts")[0] == THREADS * PER_THREAD
        waiting = search_index.backlog(cache)
        assert waiting.threads == 0 and waiting.posts == THREADS * PER_THREAD - 100
        assert cache.one("SELECT count(*) FROM post_fts")[0] == 100
    finally:
        cache.close()

    finished = subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db), "import", str(source)],
        cwd=REPO,
        env={**os.environ, "PEERDESK_NO_KEYRING": "1"},
        capture_output=True,
        timeout=120,
    )
    assert finished.returncode == 0, (finished.stdout + finished.stderr).decode()

    reference = open_cache(tmp_path / "reference.sqlite3", create=True)
    cache = open_cache(db)
    try:
        jsonl.import_file(reference, source)
        assert search_index.backlog(cache).empty
        assert _stored(cache) == _stored(reference)
        found = _assert_same_as_scratch(cache)
        assert found["after"][0] and found["roaming"][2]  # past a NUL; titles
    finally:
        cache.close()
        reference.close()
