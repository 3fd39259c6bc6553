"""`source`, `sync`, `import` and `dupes` end to end on either backend (in process, `--db` a cache
file or a team database's postgresql:// URL; a real fake Discourse server on 127.0.0.1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from console.cli import main
from console.db import Cache
from tests.backends import location, pytest_generate_tests
from tests.sync.conftest import SYNC_ADMIN
from tests.sync.fake_discourse import community

pytestmark = pytest.mark.backends
__all__ = ["pytest_generate_tests"]

RETRY = json.dumps({"retry": {"attempts": 2, "wait_initial": 0.01, "wait_max": 0.02}})


def _jsonl(path: Path) -> Path:
    """Two threads asking the same thing in other words, and two on other subjects (one older:
    a pool of one candidate has no spread to rank by, so its probability rests on the cosines
    alone, and the second model's calibration leans on the ranking key)."""
    records: list[dict[str, object]] = [
        {"type": "member", "remote_id": "m1", "username": "zed"},
    ]
    texts = {
        "q0": ("Roaming charges in France", "Charged for data while I was in Paris."),
        "q1": ("Voicemail stopped working after the update", "Voicemail no longer answers."),
        "q2": ("Voicemail broken since the software update", "Since updating, no voicemail."),
        "q3": ("Bill higher than my plan price", "Charged 20 pounds more this month."),
    }
    for n, (remote, (title, body)) in enumerate(texts.items()):
        created = f"2026-11-0{n + 1}T10:00:00Z"
        records.append(
            {
                "type": "thread",
                "remote_id": remote,
                "title": title,
                "author": "m1",
                "status": "open",
                "created_at": created,
                "last_activity_at": created,
            }
        )
        records.append(
            {
                "type": "post",
                "remote_id": f"{remote}-p",
                "thread": remote,
                "author": "m1",
                "position": 0,
                "body_text": body,
                "created_at": created,
            }
        )
    head = {
        "type": "header",
        "format": "peerdesk-jsonl",
        "version": 1,
        "source": {"kind": "discourse", "name": "import", "base_url": "https://i.example"},
    }
    path.write_text("\n".join(json.dumps(r) for r in [head, *records]) + "\n", encoding="utf-8")
    return path


def _thread(cache: Cache, source: str, remote: str) -> int:
    row = cache.one(
        "SELECT t.id FROM threads t JOIN sources s ON s.id = t.source_id "
        "WHERE s.name = ? AND t.remote_id = ?",
        (source, remote),
    )
    assert row is not None
    return int(row[0])


def test_source_sync_import_and_dupes_on_either_backend(
    cache: Cache,
    cache_path: Path,
    backend: str,
    tmp_path: Path,
    creds_env: None,
    admin_of: Callable[[Cache], Cache],
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = location(cache, tmp_path / "cache.sqlite3")
    admin_of(cache)  # the team database's admin role exists (a file: alice administers it)
    admin = [] if backend == "sqlite" else ["--as", SYNC_ADMIN]
    server = community(n_topics=3, posts_per_topic=2).start()
    try:
        add = ["source", "add", "forum", "--kind", "discourse", "--url", server.url]
        assert main(["--db", db, *admin, *add, "--options", RETRY]) == 0
        assert main(["--db", db, "sync", "forum", "-q"]) == 0
        assert "forum: ok: 3 threads" in capsys.readouterr().out
        assert main(["--db", db, "sync", "forum", "-q"]) == 0  # again: nothing new, no error
        capsys.readouterr()
        assert main(["--db", db, "source", "list"]) == 0
        assert "forum" in capsys.readouterr().out
    finally:
        server.stop()
    count = cache.one("SELECT count(*) FROM threads")
    assert count is not None and count[0] == 3
    # search finds the synced posts on either engine (post_fts / its tsvector)
    assert main(["--db", db, "queue", "--search", "topic", "--json"]) == 0
    assert capsys.readouterr().out.strip()

    imported = ["import", str(_jsonl(tmp_path / "in.jsonl")), "-q", "--dupes", "wait"]
    assert main(["--db", db, *admin, *imported]) == 0
    out = capsys.readouterr().out
    assert "import: imported 1 members, 4 threads, 4 posts; 0 lines skipped" in out
    q1, q2 = _thread(cache, "import", "q1"), _thread(cache, "import", "q2")
    # the import's queued candidates were computed (--dupes wait): q2 re-asks q1, either engine
    assert main(["--db", db, "dupes", str(q2), "--weaker", "--json"]) == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert found and found[0]["original_id"] == q1
    assert main(["--db", db, "dupes", str(q2), "--refresh", "--weaker", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["original_id"] == q1
    assert main(["--db", db, "dupes", "--rebuild", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["indexed_threads"] == 7 and summary["open_threads"] >= 4
    assert main(["--db", db, "dupes", str(q2), "--reject", str(q1)]) == 0
    capsys.readouterr()
    assert main(["--db", db, "dupes", "--evaluate", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rejected"] == 1
    decided = cache.one(
        "SELECT decision FROM duplicate_links WHERE thread_id = ? AND original_id = ?", (q2, q1)
    )
    assert decided is not None and decided[0] == "rejected"
