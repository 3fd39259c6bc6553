"""An import interrupted after some chunks and run again, and a whole file imported twice, end
with exactly the escalations of one clean import (unique on rule + post + version), on a cache
file and on a team database (whose chunks are the server's transactions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from sync import jsonl

pytestmark = pytest.mark.backends

TEXTS = [
    "My solicitor will hear about this",
    "Call me on 07700 900{n:03d}",
    "Charged twice again, I want a refund",
    "How do I set up voicemail?",
]


def write(path: Path, threads: int = 60) -> None:
    lines = [
        {
            "type": "header",
            "format": "peerdesk-jsonl",
            "version": 1,
            "source": {"kind": "discourse", "name": "forum"},
        },
        {"type": "member", "remote_id": "u1", "username": "bob"},
        {"type": "member", "remote_id": "u2", "username": "carol"},
    ]
    for t in range(threads):
        lines.append(
            {
                "type": "thread",
                "remote_id": f"t{t}",
                "title": f"Problem {t}",
                "author": "u1",
                "status": "open",
                "created_at": "2026-11-20T09:00:00Z",
            }
        )
        for n in range(3):
            lines.append(
                {
                    "type": "post",
                    "remote_id": f"p{t}.{n}",
                    "thread": f"t{t}",
                    "author": "u1" if n != 1 else "u2",
                    "position": n,
                    "body_text": TEXTS[(t + n) % 4].format(n=t),
                    "created_at": f"2026-11-20T09:{n:02d}:00Z",
                }
            )
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")


def escalations(cache: Cache) -> list[tuple[str, str, str]]:
    return [
        (str(r[0]), str(r[1]), str(r[2]))
        for r in cache.query(
            "SELECT e.rule_id, p.remote_id, e.version FROM escalations e "
            "JOIN posts p ON p.id = e.post_id ORDER BY 1, 2"
        )
    ]


class Crash(Exception):
    pass


def test_interrupted_and_repeated_imports_raise_each_escalation_once(
    tmp_path: Path, cache: Cache
) -> None:
    source = tmp_path / "forum.jsonl"
    write(source)
    clean = open_cache(tmp_path / "clean.sqlite3", create=True)
    try:
        jsonl.import_file(clean, source, chunk_posts=25)
        expected = escalations(clean)
    finally:
        clean.close()
    assert {r[0] for r in expected} >= {"legal-threat", "personal-data", "account-billing"}

    chunks = {"n": 0}

    def crash_after_three(report: jsonl.ImportReport) -> None:
        chunks["n"] += 1
        if chunks["n"] == 3:
            raise Crash

    with pytest.raises(Crash):
        jsonl.import_file(cache, source, chunk_posts=25, progress=crash_after_three)
    assert 0 < len(escalations(cache)) < len(expected)
    jsonl.import_file(cache, source, chunk_posts=25)
    jsonl.import_file(cache, source, chunk_posts=40)  # the whole file again
    assert escalations(cache) == expected
