"""A small community with answers, votes and payees, and a schedule, in a real SQLite file, or
(tests marked `@pytest.mark.backends`) copied from one into a PostgreSQL team database.

On the team database the test's own connection logs in as `root` (an admin: the ledger's
bookkeeping, `accrue`, is written through `peerdesk_ledger_append`, which only the payout roles
and admins may call); each person of STAFF acts on a connection of their own database role
(`Desk.for_cache(cache, actor=...)`, `as_person`).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from console.db import Cache, open_cache
from console.desk import Desk
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.rewards.schedule import parse_schedule
from console.rewards.schedule_store import install_schedule
from tests.backends import (
    TeamServer,
    backend,
    pytest_generate_tests,
    seeded_ids,
    store_holding,
    team_server,
)

__all__ = ["backend", "pytest_generate_tests", "team_server"]  # the backends' hook, fixtures

SCHEDULE = """\
version = "t1"
currency = "GBP"
point_value = "0.05"

[points]
accepted_answer = 10
verified_answer = 25
helpful_vote = 1
escalation_first_response = 5
duplicate_flagged = 3

[caps]
per_day = 100
per_thread = 40

[payouts]
threshold_points = 20
second_approver_over = "3.00"
"""

STAFF = {
    "alice": ["moderator"],
    "priya": ["payout_preparer"],
    "tom": ["payout_approver"],
    "una": ["payout_approver"],
    "root": ["admin"],
    "ada": ["admin"],
    "zoe": ["moderator"],
}


@pytest.fixture(autouse=True)
def _staff_roles(grant_roles: Callable[[dict[str, list[str]]], Path]) -> None:
    """The staff's roles, in the test's roles file (PEERDESK_ROLES_FILE)."""
    grant_roles(STAFF)


def day(n: int, hour: int = 12) -> str:
    """October 2026, day n (1-31); n > 31 runs into November."""
    month, d = (10, n) if n <= 31 else (11, n - 31)
    return f"2026-{month:02d}-{d:02d}T{hour:02d}:00:00Z"


def build(cache: Cache, answers: int = 12) -> dict[str, int]:
    """Askers a1..a3; helpers h1..h4 answer; h1/h2 answers accepted; voters v1..v5 vote."""
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    members = [
        MemberRecord(f"m{n}", n, joined_at="2026-01-01T00:00:00Z")
        for n in ("a1", "a2", "a3", "h1", "h2", "h3", "h4", "v1", "v2", "v3", "v4", "v5")
    ]
    upsert_members(cache, source, members)
    threads, posts = [], []
    for i in range(answers):
        asker = f"ma{i % 3 + 1}"
        helper = f"mh{i % 4 + 1}"
        created = day(1 + i * 2)
        accepted = f"p{i}.1" if helper in ("mh1", "mh2") else None
        threads.append(
            ThreadRecord(
                f"t{i}",
                f"Question {i}",
                asker,
                "solved" if accepted else "answered",
                created,
                created,
                reply_count=1,
                accepted_post_remote_id=accepted,
            )
        )
        posts.append(PostRecord(f"p{i}.0", f"t{i}", asker, 0, f"question {i}", "q", created))
        posts.append(
            PostRecord(
                f"p{i}.1",
                f"t{i}",
                helper,
                1,
                f"Answer {i}: restart the phone and check settings number {i}.",
                "a",
                day(1 + i * 2, 13),
            )
        )
    ids = upsert_threads(cache, source, threads, posts)
    member = {r[1]: int(r[0]) for r in cache.query("SELECT id, username FROM members")}
    post = {r[1]: int(r[0]) for r in cache.query("SELECT id, remote_id FROM posts")}
    with cache.transaction() as conn:
        for i in range(answers):
            for v in range(1, 1 + i % 5):
                conn.execute(
                    "INSERT INTO votes (source_id, post_id, voter_id, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (source, post[f"p{i}.1"], member[f"v{v}"], day(2 + i * 2)),
                )
        for name in ("h1", "h2", "h3", "h4"):
            conn.execute(
                "INSERT INTO reward_payees (member_id, recipient_type, receiver) "
                "VALUES (?, 'EMAIL', ?)",
                (member[name], f"{name}@example.com"),
            )
    with cache.transaction() as conn:
        install_schedule(conn, parse_schedule(SCHEDULE), loaded_by="root")
    return {
        **{f"member:{k}": v for k, v in member.items()},
        **{f"post:{k}": v for k, v in post.items()},
        **ids,
    }


@pytest.fixture
def cache(backend: str, cache_path: Path, request: pytest.FixtureRequest) -> Iterator[Cache]:
    """A new cache file; on PostgreSQL a team database of the test's own holding `build`'s
    community and schedule (only `backends` tests get one), connected as root (an admin)."""
    with store_holding(
        build, "rewards", backend, cache_path, request, seeded=False, role="root"
    ) as store:
        yield store


@pytest.fixture
def ids(cache: Cache, request: pytest.FixtureRequest) -> dict[str, int]:
    return seeded_ids(build, "rewards", cache, request)


def as_person(cache: Cache, who: str) -> Cache:
    """`cache` as `who` writes it: the same file on SQLite; on the team database a connection
    of `who`'s own database role (closed with the test's database)."""
    if cache.dialect.is_sqlite:
        return cache
    from console.storage.postgres import TeamCache

    team = cast(TeamCache, cache)
    other, _ = team.acting_as(who)
    return other


def superuser_sql(cache: Cache, request: pytest.FixtureRequest, *statements: str) -> None:
    """Run `statements` as the database's superuser (the attacker who owns the server, or a
    test arranging what peerdesk would refuse): on SQLite on the file itself."""
    if cache.dialect.is_sqlite:
        with cache.transaction() as conn:
            for statement in statements:
                conn.execute(statement)
        return
    from tests.backends import database_name

    server: TeamServer = request.getfixturevalue("team_server")
    with server.superuser(database_name(cache)) as conn:
        conn.execute("SET search_path = peerdesk")
        for statement in statements:
            conn.execute(statement.encode())


def desk_for(cache: Cache, who: str) -> Desk:
    return Desk.for_cache(cache, actor=who)


@pytest.fixture
def staff(cache: Cache, ids: dict[str, int]) -> dict[str, Desk]:
    return {name: desk_for(cache, name) for name in ("alice", "priya", "tom", "una", "root", "ada")}


@pytest.fixture
def db_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "rewards.sqlite3"
    cache = open_cache(path, create=True)
    build(cache)
    cache.close()
    yield path


@dataclass
class Store:
    """Where the commands find one store of the test, per person (`--db`): the cache file, or
    the team database's URL logging in as that person's own role; and how to tamper with it (as
    whoever owns the file, or as the server's superuser)."""

    location: Callable[[str], str]
    tamper: Callable[[str], None]


def open_store(location: str) -> Cache:
    """Open what `--db` names: a cache file, or a team database (as the URL's role)."""
    if location.startswith("postgresql:"):
        from console.storage.postgres import open_team

        return open_team(location)
    return open_cache(Path(location))


@pytest.fixture
def stores(
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[], Store]]:
    """`stores()`: a new store holding `build`'s community each call (a cache file, or a team
    database of its own)."""
    made: list[str] = []
    if backend == "sqlite":
        pristine = tmp_path_factory.mktemp("pristine") / "rewards.sqlite3"
        cache = open_cache(pristine, create=True)
        build(cache)
        cache.close()

        def new_file() -> Store:
            path = tmp_path / f"rewards-{len(made) + 1}.sqlite3"
            shutil.copy(pristine, path)
            made.append(str(path))

            def tamper(sql: str) -> None:
                conn = sqlite3.connect(path)
                conn.execute("DROP TRIGGER IF EXISTS ledger_no_update")
                conn.execute("DROP TRIGGER IF EXISTS ledger_no_delete")
                conn.execute(sql)
                conn.commit()
                conn.close()

            return Store(lambda _who: str(path), tamper)

        yield new_file
        return
    server: TeamServer = request.getfixturevalue("team_server")
    template, _ = server.seeded_template("rewards", build, tmp_path_factory.mktemp("seed"))

    def new_database() -> Store:
        name = server.copy_of(template)
        made.append(name)

        def tamper(sql: str) -> None:
            with server.superuser(name) as conn:
                conn.execute("SET search_path = peerdesk")
                conn.execute("ALTER TABLE ledger DISABLE TRIGGER USER")
                conn.execute(sql.encode())

        return Store(lambda who: server.cluster.url(name, who), tamper)

    try:
        yield new_database
    finally:
        for name in made:
            server.drop(name)


@pytest.fixture
def store(stores: Callable[[], Store]) -> Store:
    return stores()


def snapshot(cache: Cache) -> list[str]:
    """Everything the store holds, to compare before and after: the cache file's dump; on the
    team database every row of every peerdesk table (as text, sorted), read as the superuser
    would see them through the test's admin connection."""
    if cache.dialect.is_sqlite:
        from tests.conftest import database_dump

        return database_dump(cache.path)
    rows: list[str] = []
    tables = cache.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'peerdesk' ORDER BY tablename"
    )
    for (table,) in tables:
        found = cache.query(f"SELECT t::text FROM {table} t ORDER BY 1")
        rows += [f"{table}: {r[0]}" for r in found]
    return rows
