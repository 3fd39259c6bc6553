"""The typed fast path of the JSONL import never reads a line differently from the checked way:
for every line it takes, the record is the one the checked way gives; every other line it leaves
to the checked way (which names the bad field or mends the text)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.models import MemberRecord, PostRecord, ThreadRecord
from sync import jsonl
from sync import parse as p
from sync.jsonl_typed import typed_record
from tests.backends import pytest_generate_tests

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]

POST = {
    "type": "post",
    "remote_id": "p1",
    "thread": "t1",
    "author": "u1",
    "position": 1,
    "body_text": "Roaming in Spain: turn data roaming on.",
    "body_raw": "Roaming in **Spain**: turn data roaming on.",
    "created_at": "2026-01-02T03:04:05Z",
    "score": 2,
}
THREAD = {
    "type": "thread",
    "remote_id": "t1",
    "title": "No data abroad",
    "author": "u1",
    "status": "answered",
    "created_at": "2026-01-02T03:04:05Z",
    "last_activity_at": "2026-01-03T03:04:05Z",
    "reply_count": 3,
    "tags": ["roaming", "data"],
    "accepted_post": "p1",
}
MEMBER = {"type": "member", "remote_id": "u1", "username": "ann", "reputation": 12}

TAKEN = [
    POST,
    {**POST, "body_raw": None},
    {k: v for k, v in POST.items() if k not in ("body_raw", "score", "author")},
    {**POST, "author": None, "hidden": True, "flag_count": 4},
    {**POST, "body_text": "nul \u0000 inside, emoji \U0001f600, rtl \u202e"},
    {**POST, "position": 2**63 - 1, "score": -(2**63)},
    {**POST, "extra": {"ignored": [1, 2]}},
    THREAD,
    {**THREAD, "tags": [], "last_activity_at": None, "status": "duplicate", "duplicate_of": "t0"},
    {k: v for k, v in THREAD.items() if k not in ("author", "status", "tags")},
    MEMBER,
    {**MEMBER, "display_name": "Ann", "trust_level": 2, "joined_at": "2020-01-01T00:00:00Z"},
]

LEFT = [
    {**POST, "body_raw": 5},
    {**POST, "score": None},
    {**POST, "hidden": None},
    {**POST, "position": 1.0},
    {**POST, "position": True},
    {**POST, "position": "1"},
    {**POST, "position": 2**63},  # orjson reads it as a float: the checked way decides
    {**POST, "created_at": "2026-01-02T03:04:05+00:00"},
    {**POST, "created_at": "yesterday"},
    {**POST, "updated_at": "2026-01-02T03:04:05Z"},
    {**POST, "author": 7},
    {k: v for k, v in POST.items() if k != "thread"},
    {**THREAD, "status": "pending"},
    {**THREAD, "status": None},
    {**THREAD, "tags": None},
    {**THREAD, "tags": ["ok", 3]},
    {**THREAD, "reply_count": 2.0},
    {**THREAD, "last_activity_at": "2026-01-03 03:04:05"},
    {**MEMBER, "trust_level": True},
    {**MEMBER, "trust_level": "2"},
    {**MEMBER, "reputation": 1.5},
    {**MEMBER, "joined_at": "2020-01-01"},
    {**POST, "type": "comment"},
    {**POST, "type": "header"},
]


def _checked(line: bytes) -> PostRecord | ThreadRecord | MemberRecord | None:
    report = jsonl.ImportReport("t")
    try:
        return jsonl._checked_record(line, 2, Path("t.jsonl"), report)
    except (p.BadField, jsonl.BadLine, ValueError):
        return None


@pytest.mark.parametrize("record", TAKEN, ids=range(len(TAKEN)))
def test_a_well_formed_line_is_taken_and_read_as_the_checked_way_reads_it(
    record: dict[str, object],
) -> None:
    for line in (json.dumps(record), json.dumps(record, ensure_ascii=False)):
        data = line.encode() + b"\n"
        fast = typed_record(data)
        assert fast is not None
        assert fast == _checked(data)


@pytest.mark.parametrize("record", LEFT, ids=range(len(LEFT)))
def test_any_other_line_is_left_to_the_checked_way(record: dict[str, object]) -> None:
    assert typed_record(json.dumps(record).encode()) is None


@pytest.mark.parametrize(
    "line",
    [
        b'{"type": "post", "remote_id": "p1", "body_text": "\\ud800"}',  # lone surrogate
        b'{"type": "post", "remote_id": "p1", "body_text": "caf\xe9"}',  # not UTF-8
        b"[1, 2]",
        b'"post"',
        b'{"type": "post"} trailing',
        b"{not json",
    ],
)
def test_lines_that_are_not_clean_json_go_the_checked_way(line: bytes) -> None:
    assert typed_record(line) is None


def test_an_import_through_both_paths_stores_what_the_checked_way_alone_stores(
    tmp_path: Path,
) -> None:
    """The same file imported with the fast path and with it switched off: same rows."""
    from console.db import open_cache

    head = {"type": "header", "format": "peerdesk-jsonl", "version": 1, "source": {"name": "x"}}
    records = [head, *TAKEN, *LEFT]
    source = tmp_path / "mixed.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in records) + "\n")

    def rows(db: Path) -> list[list[tuple[object, ...]]]:
        cache = open_cache(db, create=True)
        report = jsonl.import_file(cache, source)
        out = [
            [tuple(r) for r in cache.query(f"SELECT * FROM {table} ORDER BY id")]
            for table in ("members", "threads", "posts")
        ]
        out.append([(report.posts, report.threads, report.members, report.skipped)])
        out.append([tuple(report.problems)])
        cache.close()
        return out

    fast = rows(tmp_path / "fast.sqlite3")
    original = jsonl.typed_record
    jsonl.typed_record = lambda line: None  # type: ignore[assignment]
    try:
        checked = rows(tmp_path / "checked.sqlite3")
    finally:
        jsonl.typed_record = original
    assert fast == checked
    assert fast[2]  # posts were stored
