"""A small community written through the real ingest path into a real SQLite file, or (for
tests marked `@pytest.mark.backends`) copied from one into a PostgreSQL team database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from console.db import Cache, migrate
from console.desk import Desk
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from tests.backends import (
    backend,
    pytest_generate_tests,
    seeded_ids,
    store_holding,
    team_server,
)

# the backends' hook and fixtures; store_holding for tests/ui/backends_ui.py
__all__ = ["backend", "pytest_generate_tests", "store_holding", "team_server"]

HOSTILE = (
    "[bold red]ALERT[/] [@click=app.quit]quit[/] \x1b[2J\x1b[31mred\x1b]0;pwned\x07 "
    "\x1b]52;c;ZXZpbA==\x07 مرحبا 👋🏽 \u202eevil\u202c"
)


def seed_community(cache: Cache) -> dict[str, int]:
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    upsert_members(
        cache,
        source,
        [
            MemberRecord("u1", "bob", reputation=12),
            MemberRecord("u2", "carol", reputation=900),
            MemberRecord("u3", "spammer", reputation=0),
        ],
    )
    threads = [
        ThreadRecord(
            "t1", "SIM not activating", "u1", "open", "2026-11-19T12:00:00Z", "2026-11-19T12:00:00Z"
        ),
        ThreadRecord(
            "t2",
            "PAC code for porting",
            "u1",
            "answered",
            "2026-11-10T12:00:00Z",
            "2026-11-18T12:00:00Z",
            reply_count=1,
            accepted_post_remote_id=None,
        ),
        ThreadRecord(
            "t3",
            HOSTILE,
            "u3",
            "open",
            "2026-11-20T11:00:00Z",
            "2026-11-20T11:00:00Z",
            flag_count=2,
        ),
        ThreadRecord(
            "t4",
            "Roaming in Spain",
            "u2",
            "solved",
            "2026-11-01T12:00:00Z",
            "2026-11-02T12:00:00Z",
            reply_count=1,
            accepted_post_remote_id="p41",
        ),
        ThreadRecord(
            "t5", "Another from bob", "u1", "open", "2026-11-20T10:00:00Z", "2026-11-20T10:00:00Z"
        ),
    ]
    posts = [
        PostRecord(
            "p11",
            "t1",
            "u1",
            0,
            "My new SIM will not activate",
            "<p>My new SIM</p>",
            "2026-11-19T12:00:00Z",
        ),
        PostRecord(
            "p21",
            "t2",
            "u1",
            0,
            "How do I get a PAC code?",
            "How do I get a PAC code?",
            "2026-11-10T12:00:00Z",
        ),
        PostRecord(
            "p22",
            "t2",
            "u2",
            1,
            "Text PAC to 65075",
            "Text PAC to 65075",
            "2026-11-18T12:00:00Z",
            score=3,
        ),
        PostRecord(
            "p31", "t3", "u3", 0, HOSTILE + " " + "x" * 200_000, HOSTILE, "2026-11-20T11:00:00Z"
        ),
        PostRecord(
            "p41", "t4", "u2", 0, "Roaming question", "Roaming question", "2026-11-01T12:00:00Z"
        ),
        PostRecord(
            "p42", "t4", "u2", 1, "Turn on roaming", "Turn on roaming", "2026-11-02T12:00:00Z"
        ),
        PostRecord("p51", "t5", "u1", 0, "Still broken", "Still broken", "2026-11-20T10:00:00Z"),
    ]
    return upsert_threads(cache, source, threads, posts)


MODERATORS = {"alice": ["moderator"], "dave": ["moderator"], "erin": ["payout_preparer"]}


@pytest.fixture(autouse=True)
def _moderators(grant_roles: Callable[[dict[str, list[str]]], Path]) -> None:
    """alice and dave moderate, erin prepares payouts; anyone else has no role."""
    grant_roles(MODERATORS)


@pytest.fixture
def cache(backend: str, cache_path: Path, request: pytest.FixtureRequest) -> Iterator[Cache]:
    """A new cache file; on PostgreSQL, a team database of the test's own holding the seeded
    community (only `backends` tests get one), connected as alice."""
    with store_holding(
        seed_community, "community", backend, cache_path, request, seeded=False
    ) as store:
        yield store


@pytest.fixture
def ids(cache: Cache, request: pytest.FixtureRequest) -> dict[str, int]:
    return seeded_ids(seed_community, "community", cache, request)


@pytest.fixture
def desk(cache: Cache, ids: dict[str, int]) -> Desk:
    return Desk.for_cache(cache, actor="alice")


def older_cache_file(
    path: Path, version: int, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
) -> None:
    """A cache file as a peerdesk at schema `version` left it: one source (id 1) and a thread of
    it for each of `rows` (values of `columns`; remote ids r0, r1...: ids 1, 2...)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn, 0, version)
        conn.execute(
            "INSERT INTO sources (id, kind, name, created_at) "
            "VALUES (1, 'discourse', 'forum', '2026-11-01T00:00:00Z')"
        )
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        conn.executemany(
            "INSERT INTO threads (source_id, remote_id, title, created_at, last_activity_at, "
            f"{names}) VALUES (1, ?, 'T', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z', "
            f"{marks})",
            [(f"r{i}", *row) for i, row in enumerate(rows)],
        )
    finally:
        conn.close()
