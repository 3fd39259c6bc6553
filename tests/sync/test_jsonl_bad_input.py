"""JSONL import against bad bytes and a full disk: one clear line naming the file and line, the
documented exit code, nothing half-applied or silently dropped, and an import that resumes.

"Disk full" is a real tmpfs of a few hundred kB (root only; see `small_disk` in tests/conftest).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from console.store import QueueFilter, queue
from sync import jsonl
from tests.backends import pytest_generate_tests
from tests.conftest import resize_disk

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]

HEAD = {
    "type": "header",
    "format": "peerdesk-jsonl",
    "version": 1,
    "source": {"kind": "discourse", "name": "copy", "base_url": "https://f.example"},
}
WHEN = "2026-10-01T08:00:00Z"


def thread(rid: str, title: str) -> dict[str, object]:
    return {
        "type": "thread",
        "remote_id": rid,
        "title": title,
        "status": "open",
        "created_at": WHEN,
    }


def post(rid: str, thread_id: str, body: str, position: int = 0) -> dict[str, object]:
    return {
        "type": "post",
        "remote_id": rid,
        "thread": thread_id,
        "position": position,
        "body_text": body,
        "created_at": WHEN,
    }


def write(path: Path, lines: list[bytes | dict[str, object]]) -> Path:
    """One line per item: dicts through Python's own json (ensure_ascii: "\\ud800" escapes),
    bytes exactly as given."""
    with path.open("wb") as out:
        for item in [HEAD, *lines]:
            out.write(item if isinstance(item, bytes) else json.dumps(item).encode("ascii"))
            out.write(b"\n")
    return path


def peerdesk(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def titles(cache: Cache) -> dict[str, str]:
    return {r[0]: r[1] for r in cache.query("SELECT remote_id, title FROM threads")}


def test_invalid_utf8_costs_one_named_line_and_nothing_else(cache: Cache, tmp_path: Path) -> None:
    bad = b'{"type": "thread", "remote_id": "t2", "title": "caf\xe9 \xff", "status": "open", '
    bad += b'"created_at": "2026-10-01T08:00:00Z"}'
    path = write(
        tmp_path / "mixed.jsonl",
        [thread("t1", "before"), bad, thread("t3", "after"), post("p3", "t3", "still here")],
    )
    report = jsonl.import_file(cache, path)
    assert titles(cache) == {"t1": "before", "t3": "after"}
    assert (report.threads, report.posts, report.skipped) == (2, 1, 1)
    assert report.problems == [
        "mixed.jsonl line 3: not valid UTF-8 (byte 0xe9 at byte 52 of the line)"
    ]
    error = cache.one("SELECT endpoint, message, excerpt FROM sync_errors")
    assert error["endpoint"] == "mixed.jsonl:3" and "not valid UTF-8" in error["message"]
    assert "caf\ufffd" in error["excerpt"]


def test_invalid_utf8_on_the_command_line_is_one_line_and_exit_4(tmp_path: Path) -> None:
    path = write(tmp_path / "bytes.jsonl", [thread("t1", "ok"), b'{"type": "th\xc3("}'])
    run = peerdesk(tmp_path / "c.sqlite3", "import", str(path), "--quiet")
    assert run.returncode == 4, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert "bytes.jsonl line 3: not valid UTF-8" in run.stdout


def test_lone_surrogates_written_by_python_keep_the_record(cache: Cache, tmp_path: Path) -> None:
    path = write(
        tmp_path / "surrogates.jsonl",
        [
            thread("t1", "half an emoji \ud83d here"),
            post("p1", "t1", "trailing \udc00 half; a whole one \U0001f600 stays"),
            thread("t2", "plain"),
        ],
    )
    assert "\\ud83d" in path.read_text()  # what Python's json writes, and orjson refuses
    report = jsonl.import_file(cache, path)
    assert (report.threads, report.posts, report.skipped, report.mended) == (2, 1, 0, 2)
    assert titles(cache)["t1"] == "half an emoji \ufffd here"
    body = cache.one("SELECT body_text FROM posts")[0]
    assert body == "trailing \ufffd half; a whole one \U0001f600 stays"
    assert report.notes == [
        "surrogates.jsonl line 2: lone UTF-16 surrogate in title kept as U+FFFD",
        "surrogates.jsonl line 3: lone UTF-16 surrogate in body_text kept as U+FFFD",
    ]


def test_a_time_past_the_calendar_once_in_utc_costs_its_line_only(
    cache: Cache, tmp_path: Path
) -> None:
    # valid as written, out of range once moved to UTC (year 0 and year 10000)
    early = {**thread("t2", "too early"), "created_at": "0001-01-01T00:00:00+01:00"}
    late = {**thread("t3", "too late"), "last_activity_at": "9999-12-31T23:30:00-01:00"}
    path = write(tmp_path / "times.jsonl", [thread("t1", "before"), early, late, thread("t4", "x")])
    report = jsonl.import_file(cache, path)
    assert titles(cache) == {"t1": "before", "t4": "x"}
    assert report.problems == [
        "times.jsonl line 3: not a timestamp: '0001-01-01T00:00:00+01:00'",
        "times.jsonl line 4: not a timestamp: '9999-12-31T23:30:00-01:00'",
    ]


def test_a_line_that_is_not_json_is_still_refused_by_the_fallback(
    cache: Cache, tmp_path: Path
) -> None:
    path = write(tmp_path / "nan.jsonl", [b'{"type": "thread", "title": "\\ud800", "x": NaN'])
    report = jsonl.import_file(cache, path)
    assert report.skipped == 1 and "not JSON" in report.problems[0]


def test_nul_bytes_in_titles_and_bodies_survive_search_show_and_export(
    cache: Cache, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "nul.jsonl",
        [thread("t1", "SIM\x00 swap tail"), post("p1", "t1", "body\x00 words after the nul")],
    )
    jsonl.import_file(cache, path)

    def stored(text: str) -> str:  # the team database stores a NUL as U+FFFD
        return text if cache.dialect.is_sqlite else text.replace("\0", "\ufffd")

    assert titles(cache) == {"t1": stored("SIM\x00 swap tail")}
    assert cache.one("SELECT body_text FROM posts")[0] == stored("body\x00 words after the nul")
    for word in ("tail", "after", "nul"):  # indexed past the NUL, in the title and the body
        found = queue(cache, QueueFilter(text=word, everything=True))
        assert [item.title for item in found] == [stored("SIM\x00 swap tail")], word

    from console.dupes.candidates import rebuild_index

    rebuild_index(cache)  # `peerdesk dupes --rebuild` indexes the same way
    assert queue(cache, QueueFilter(text="after", everything=True))

    out = tmp_path / "again.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        jsonl.export(cache, "copy", handle)
    exported = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    assert exported[0]["title"] == stored("SIM\x00 swap tail")
    assert exported[1]["body_text"] == stored("body\x00 words after the nul")


@pytest.mark.parametrize("chunk", [20_000, 1])
def test_the_same_id_twice_with_different_content_is_reported_and_the_first_kept(
    cache: Cache, tmp_path: Path, chunk: int
) -> None:
    path = write(
        tmp_path / "twice.jsonl",
        [
            thread("t1", "first title"),
            post("p1", "t1", "first body"),
            thread("t1", "first title"),  # the very same record again: harmless, not reported
            thread("t1", "second title"),
            post("p1", "t1", "second body"),
        ],
    )
    report = jsonl.import_file(cache, path, chunk_posts=chunk)
    assert titles(cache) == {"t1": "first title"}
    assert cache.one("SELECT body_text FROM posts")[0] == "first body"
    assert report.skipped == 2
    assert sorted(report.problems) == [
        "twice.jsonl line 5: thread 't1' came before at line 2 with different content: "
        "this line is skipped, the first kept",
        "twice.jsonl line 6: post 'p1' came before at line 3 with different content: "
        "this line is skipped, the first kept",
    ]
    fields = {r[0] for r in cache.query("SELECT field FROM sync_errors")}
    assert fields == {"remote_id"}
    # importing the same file again changes nothing (it was stored through its last line)
    jsonl.import_file(cache, path, chunk_posts=chunk)
    assert titles(cache) == {"t1": "first title"}


def many_posts(path: Path, count: int) -> Path:
    lines: list[bytes | dict[str, object]] = [thread("t1", "big thread")]
    body = "a long answer about APN settings " * 60  # ~2 kB
    lines += [post(f"p{i}", "t1", f"{i} {body}", position=i) for i in range(count)]
    return write(path, lines)


def test_import_on_a_full_disk_stops_with_one_line_and_resumes(
    small_disk: Callable[[int], Path], tmp_path: Path
) -> None:
    disk = small_disk(1536)
    source = many_posts(tmp_path / "big.jsonl", 1500)  # ~3 MB of posts for a 1.5 MB disk
    db = disk / "cache.sqlite3"
    open_cache(db, create=True).close()
    cache = open_cache(db)
    try:
        with pytest.raises(jsonl.ImportStopped) as stopped:
            jsonl.import_file(cache, source, chunk_posts=100)
        text = str(stopped.value)
        assert "is full" in text and str(source) in text and "resumes after line" in text
        stored = cache.one("SELECT count(*) FROM posts")[0]
        assert 0 < stored < 1500 and stored % 100 == 0  # whole chunks only: none half-applied
        assert f"Lines 1-{stored + 2} are stored" in text  # header, thread, then the posts

        resize_disk(disk, 64 * 1024)  # space was freed
        report = jsonl.import_file(cache, source, chunk_posts=100)
        assert report.resumed_from == stored + 2
        assert cache.one("SELECT count(*), count(DISTINCT remote_id) FROM posts")[:] == (
            1500,
            1500,
        )
    finally:
        cache.close()


def test_import_on_a_full_disk_from_the_command_line(
    small_disk: Callable[[int], Path], tmp_path: Path
) -> None:
    disk = small_disk(768)
    source = many_posts(tmp_path / "big.jsonl", 1500)
    db = disk / "cache.sqlite3"
    run = peerdesk(db, "import", str(source), "--quiet")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("peerdesk: ") and "is full" in lines[0]
    resize_disk(disk, 64 * 1024)
    again = peerdesk(db, "import", str(source), "--quiet")
    assert again.returncode == 0, again.stderr
    assert "imported 1 members" in again.stdout or "1500 posts" in again.stdout
    check = open_cache(db)
    assert check.one("SELECT count(*) FROM posts")[0] == 1500
    check.close()


def test_an_accepted_answer_of_another_thread_is_not_linked(cache: Cache, tmp_path: Path) -> None:
    # the answer comes after its thread's chunk (chunk of 1): the late link checks it too
    wrong = {**thread("t1", "asks"), "status": "solved", "accepted_post": "p2"}
    lines = [wrong, thread("t2", "other"), post("p1", "t1", "q1"), post("p2", "t2", "q2")]
    jsonl.import_file(cache, write(tmp_path / "acc.jsonl", lines), chunk_posts=1)
    rows = cache.query("SELECT remote_id, accepted_post_id FROM threads ORDER BY remote_id")
    assert [(r[0], r[1]) for r in rows] == [("t1", None), ("t2", None)]
