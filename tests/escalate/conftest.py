"""A small mobile-network community written through the real ingest path (so the rules run as
they do on a sync or import) into a real SQLite file (or, for tests marked
`@pytest.mark.backends`, also into a PostgreSQL team database of the test's own, connected as
alice), with the clock frozen at 2026-11-20 12:00."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.db import Cache
from console.desk import Desk
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from tests.backends import backend, empty_store, pytest_generate_tests, team_server

__all__ = ["backend", "pytest_generate_tests", "team_server"]  # the backends' hook, fixtures

MODERATORS = {"alice": ["moderator"], "dave": ["moderator"], "erin": ["payout_preparer"]}


@pytest.fixture(autouse=True)
def _moderators(grant_roles: Callable[[dict[str, list[str]]], Path]) -> None:
    """alice and dave moderate, erin prepares payouts (the test's roles file)."""
    grant_roles(MODERATORS)


def thread(
    remote: str,
    title: str,
    author: str,
    created: str,
    *,
    status: str = "open",
    replies: int = 0,
    tags: tuple[str, ...] = (),
) -> ThreadRecord:
    return ThreadRecord(
        remote,
        title,
        author,
        status,
        created,
        created,
        reply_count=replies,
        tags=tags,
        url=f"https://forum.example/t/{remote}",
    )


def post(
    remote: str, thread_remote: str, author: str, position: int, text: str, created: str
) -> PostRecord:
    return PostRecord(remote, thread_remote, author, position, text, text, created)


def store(cache: Cache, threads: list[ThreadRecord], posts: list[PostRecord]) -> dict[str, int]:
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    upsert_members(
        cache,
        source,
        [MemberRecord("u1", "bob"), MemberRecord("u2", "carol"), MemberRecord("u3", "staff")],
    )
    return upsert_threads(cache, source, threads, posts)


@pytest.fixture
def cache(backend: str, cache_path: Path, request: pytest.FixtureRequest) -> Iterator[Cache]:
    """A new cache file; in the PostgreSQL run of a `backends` test, an empty team database of
    the test's own (schema and grants from team-install), connected as alice (a moderator)."""
    with empty_store(backend, cache_path, request) as store:
        yield store


@pytest.fixture
def desk(cache: Cache) -> Desk:
    return Desk.for_cache(cache, actor="alice")


def escalations(cache: Cache) -> list[tuple[str, str, str]]:
    """(rule, subject, matched) of every escalation, in id order."""
    return [
        (r["rule_id"], r["subject"], r["matched"])
        for r in cache.query("SELECT * FROM escalations ORDER BY id")
    ]
