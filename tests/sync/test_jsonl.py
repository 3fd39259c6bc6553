"""JSONL import/export: a round trip, bad lines recorded and skipped, versions checked."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from sync import jsonl, runner
from tests.backends import pytest_generate_tests
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import community

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]


def _lines(path: Path, records: list[dict[str, object]], version: int = 1) -> Path:
    head = {
        "type": "header",
        "format": "peerdesk-jsonl",
        "version": version,
        "source": {"kind": "discourse", "name": "copy", "base_url": "https://f.example"},
    }
    path.write_text("\n".join(json.dumps(r) for r in [head, *records]) + "\n")
    return path


def test_export_then_import_gives_the_same_cache(
    cache: Cache, creds_env: None, tmp_path: Path
) -> None:
    server = community(n_topics=4, posts_per_topic=3).start()
    try:
        server.state.topics[2].posts[2].accepted = True
        add_source(cache, "forum", "discourse", server.url)
        assert runner.sync_source(cache, runner.source(cache, "forum")).result == "ok"
    finally:
        server.stop()
    out = io.StringIO()
    count = jsonl.export(cache, "forum", out)
    assert count == 1 + 4 + 4 + 12  # header, members, threads, posts
    path = tmp_path / "forum.jsonl"
    path.write_text(out.getvalue())
    other = open_cache(tmp_path / "other.sqlite3", create=True)
    report = jsonl.import_file(other, path, chunk_posts=5)  # several chunks
    assert (report.members, report.threads, report.posts, report.skipped) == (4, 4, 12, 0)
    again = io.StringIO()
    jsonl.export(other, "forum", again)
    strip = lambda text: [x for x in text.splitlines() if '"header"' not in x]  # noqa: E731
    assert strip(again.getvalue()) == strip(out.getvalue())
    solved = other.one(
        "SELECT t.status, p.remote_id FROM threads t JOIN posts p ON p.id = t.accepted_post_id"
    )
    assert solved[0] == "solved"
    assert other.one("SELECT kind FROM sources")[0] == "jsonl"  # an offline copy: nothing to push
    # importing again changes nothing and duplicates nothing
    jsonl.import_file(other, path)
    assert other.one("SELECT count(*) FROM posts")[0] == 12
    other.close()


def test_bad_lines_are_recorded_and_skipped(cache: Cache, tmp_path: Path) -> None:
    path = _lines(
        tmp_path / "bad.jsonl",
        [
            {
                "type": "thread",
                "remote_id": "t1",
                "title": "APN",
                "status": "open",
                "created_at": "2026-10-01T08:00:00Z",
            },
            {
                "type": "post",
                "remote_id": "p1",
                "thread": "t1",
                "position": 0,
                "body_text": "hi",
                "created_at": "2026-10-01T08:00:00+02:00",
            },
            {
                "type": "post",
                "remote_id": "p2",
                "thread": "t1",
                "position": "first",
                "body_text": "x",
                "created_at": "2026-10-01T08:00:00Z",
            },
            {
                "type": "thread",
                "remote_id": "t2",
                "title": "x",
                "status": "pending",
                "created_at": "2026-10-01T08:00:00Z",
            },
            {
                "type": "post",
                "remote_id": "p3",
                "thread": "nowhere",
                "position": 0,
                "body_text": "x",
                "created_at": "2026-10-01T08:00:00Z",
            },
            {"type": "vote"},
        ],
    )
    with path.open("a") as f:
        f.write("{not json\n")
    report = jsonl.import_file(cache, path)
    assert (report.threads, report.posts) == (1, 1)
    errors = {(r["endpoint"], r["field"]) for r in cache.query("SELECT * FROM sync_errors")}
    assert errors == {
        ("bad.jsonl:4", "position"),
        ("bad.jsonl:5", "status"),
        ("bad.jsonl:0", "thread"),
        ("bad.jsonl:7", "type"),
        ("bad.jsonl:8", None),
    }
    assert cache.one("SELECT created_at FROM posts")[0] == "2026-10-01T06:00:00Z"


def test_wrong_version_and_non_jsonl_are_refused(cache: Cache, tmp_path: Path) -> None:
    with pytest.raises(jsonl.ImportFailed, match="version 2"):
        jsonl.import_file(cache, _lines(tmp_path / "v2.jsonl", [], version=2))
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(jsonl.ImportFailed, match="not JSON"):
        jsonl.import_file(cache, csv)
    assert cache.one("SELECT count(*) FROM sources")[0] == 0
