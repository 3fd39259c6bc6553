"""A small community for answer verification, written through the real ingest path into a real
SQLite file (or, for tests marked `@pytest.mark.backends`, also into a PostgreSQL team database of
the test's own, connected as alice): right, wrong, copied and asker-accepted-but-wrong answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from console.clock import iso, parse
from console.db import Cache
from console.desk import Desk
from console.identity import Identity
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.verify.service import Verification
from console.verify.settings import VerifySettings
from tests.backends import TeamServer, backend, empty_store, pytest_generate_tests, team_server

__all__ = ["backend", "pytest_generate_tests", "team_server"]  # the backends' hook, fixtures

MODERATORS = ("alice", "zoe", "bob")


@dataclass
class Community:
    cache: Cache
    source_id: int
    posts: dict[str, int] = field(default_factory=dict)  # remote id -> local id
    threads: dict[str, int] = field(default_factory=dict)


def thread_records(
    remote: str,
    title: str,
    question: str,
    asker: str,
    replies: list[tuple[str, str]],
    *,
    accepted: int | None = None,
    votes: dict[int, int] | None = None,
    edited: dict[int, str] | None = None,
    created: str = "2026-11-10T12:00:00Z",
    status: str = "answered",
    duplicate_of: str | None = None,
    hidden: tuple[int, ...] = (),
    flags: dict[int, int] | None = None,
    thread_flags: int = 0,
    reports: int = 0,
) -> tuple[ThreadRecord, list[PostRecord]]:
    """A thread `remote` and its posts, as a platform gives them: the question, then replies
    [(author remote id, text)] an hour apart, numbered from 1 (`accepted`, `votes`, `edited`,
    `hidden` and `flags` name replies by that number)."""
    votes = votes or {}
    edited = edited or {}
    flags = flags or {}
    start = parse(created)
    posts = [PostRecord(f"{remote}-0", remote, asker, 0, question, question, created)]
    for n, (author, text) in enumerate(replies, 1):
        posts.append(
            PostRecord(
                f"{remote}-{n}",
                remote,
                author,
                n,
                text,
                text,
                iso(start + timedelta(hours=n)),
                updated_at=edited.get(n),
                score=votes.get(n, 0),
                flag_count=flags.get(n, 0),
                hidden=n in hidden,
            )
        )
    thread = ThreadRecord(
        remote,
        title,
        asker,
        "solved" if accepted else status,
        created,
        posts[-1].created_at,
        reply_count=len(replies),
        flag_count=thread_flags,
        report_count=reports,
        accepted_post_remote_id=f"{remote}-{accepted}" if accepted else None,
        duplicate_of_remote_id=duplicate_of,
    )
    return thread, posts


def add_thread(
    community: Community,
    remote: str,
    title: str,
    question: str,
    asker: str,
    replies: list[tuple[str, str]],
    **options: Any,
) -> None:
    """`thread_records(...)` written through ingest into the community's store."""
    thread, posts = thread_records(remote, title, question, asker, replies, **options)
    ids = upsert_threads(community.cache, community.source_id, [thread], posts)
    community.threads[remote] = ids[remote]
    for post in posts:
        row = community.cache.one(
            "SELECT id FROM posts WHERE remote_id = ? AND source_id = ?",
            (post.remote_id, community.source_id),
        )
        community.posts[post.remote_id] = int(row[0])


GOOD = (
    "Text PAC to 65075 and you will get your PAC code by text within a minute. Give the code to "
    "your new network and the number moves on the next working day; your old contract ends then."
)
WRONG = (
    "You need to go to a store with your passport to get a PAC code, it takes 30 days and "
    "costs money to move the number over."
)


@pytest.fixture(scope="session")
def verify_server(team_server: TeamServer) -> TeamServer:
    """The session's cluster with zoe and bob as moderators too (roles are the cluster's)."""
    with team_server.cluster.cluster_wide(), team_server.superuser() as conn:
        for name in MODERATORS:
            conn.execute(
                sql.SQL(
                    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name}) "
                    "THEN CREATE ROLE {role} LOGIN; END IF; END $$"
                ).format(name=sql.Literal(name), role=sql.Identifier(name))
            )
            conn.execute(sql.SQL("GRANT peerdesk_moderator TO {}").format(sql.Identifier(name)))
    for name in MODERATORS:
        team_server.cluster.allow(name)
    return team_server


@pytest.fixture
def cache(backend: str, cache_path: Path, request: pytest.FixtureRequest) -> Iterator[Cache]:
    """A new cache file; in the PostgreSQL run of a `backends` test, an empty team database of
    the test's own (schema and grants from team-install), connected as alice (a moderator)."""
    with empty_store(backend, cache_path, request, server="verify_server") as store:
        yield store


@pytest.fixture
def community(cache: Cache) -> Community:
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    upsert_members(
        cache,
        source,
        [
            MemberRecord("asker", "bob"),
            MemberRecord("helper", "carol", reputation=900, trust_level=2),
            MemberRecord("wrongun", "dave", trust_level=1),
            MemberRecord("copier", "erin", trust_level=0),
            MemberRecord("staff", "kim_staff", reputation=9000, trust_level=4),
        ],
    )
    com = Community(cache, source)
    # porting: the asker accepted the wrong answer, the right one is below, plus a copy of it
    add_thread(
        com,
        "t1",
        "How do I get a PAC code to port my number?",
        "I want to move my number to another network. How do I get the PAC code for porting?",
        "asker",
        [
            ("wrongun", WRONG),
            ("helper", GOOD),
            ("copier", GOOD.replace("minute", "minute or two")),
            ("asker", "Thanks, that worked!"),
        ],
        accepted=1,
    )
    # roaming: a right, unaccepted staff answer and chatter
    add_thread(
        com,
        "t2",
        "Roaming charges in Spain",
        "Do I pay extra for data when roaming in Spain on my plan?",
        "asker",
        [
            ("wrongun", "lol same here"),
            (
                "staff",
                "Roaming in Spain is included in your plan: you can use your data allowance at "
                "no extra charge, see https://help.forum.example/roaming for the fair use limits.",
            ),
        ],
    )
    return com


@pytest.fixture(autouse=True)
def _moderators(grant_roles: Callable[[dict[str, list[str]]], Path]) -> None:
    """alice, zoe and bob moderate (the test's roles file); mallory has no role."""
    grant_roles({name: ["moderator"] for name in MODERATORS})


def who(cache: Cache, name: str) -> Identity:
    """`name` acting on the test's cache, established as peerdesk establishes anyone."""
    return Desk.for_cache(cache, actor=name).who


def door(cache: Cache, name: str, settings: VerifySettings | None = None) -> Verification:
    """`name`'s verification door, as the console opens it: on the team database through a
    connection of `name`'s own database role (the server's four-eyes goes by it)."""
    desk = Desk.for_cache(cache, actor=name)
    return Verification(
        desk.cache,
        desk.who,
        overrides=settings or VerifySettings(calibration_share=0.0),
    )


@pytest.fixture
def verifier(community: Community) -> Iterator[Verification]:
    yield door(
        community.cache,
        "alice",
        VerifySettings(calibration_share=0.0, official_domains=("forum.example",)),
    )


def as_moderator(verification: Verification, name: str) -> Verification:
    desk = Desk.for_cache(verification.cache, actor=name)
    return Verification(desk.cache, desk.who, overrides=verification.overrides)
