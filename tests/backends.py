"""Both storage backends for the domain and sync tiers: a test marked `@pytest.mark.backends`
runs once on a SQLite cache file and once on a PostgreSQL team database.

The team database is a copy of a template built once per test process in the run's throwaway
cluster (tests/team/cluster.py: a non-root account, a Unix socket, peer authentication; one
cluster for every xdist worker, each with databases of its own): the schema and
grants from `team-install`, login roles for the tests' people (alice, dave, zoe and mod01-03
moderate, erin and priya prepare payouts, tom and una approve them, root and ada administer,
mallory has no role), and the tier's small community, seeded into a SQLite
cache through the real ingest path and copied in by `migrate-to`. Each test gets its own copy
(CREATE DATABASE ... TEMPLATE: tens of milliseconds) and connects as alice; acting as someone
else (`Desk.for_cache(cache, actor="dave")`) connects as that database role, as `--as` does.

Without PostgreSQL's server binaries the PostgreSQL half skips with one line; under
PEERDESK_REQUIRE_ALL (CI) it fails.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from console.clock import iso, now
from console.config import Config
from console.db import Cache, open_cache
from console.door import Door
from console.identity import establish
from console.team import schema
from console.team.copy import migrate_to
from tests.conftest import new_cache_file
from tests.team.cluster import Cluster, db_name

if TYPE_CHECKING:
    from console.storage.postgres import TeamCache

BACKENDS = ("sqlite", "postgresql")
PEOPLE = {
    "alice": ("moderator",),
    "dave": ("moderator",),
    "erin": ("payout_preparer",),
    "mallory": (),
    **{f"mod0{n}": ("moderator",) for n in (1, 2, 3)},
    # the rewards tier's staff (tests/rewards/conftest.py STAFF)
    "priya": ("payout_preparer",),
    "tom": ("payout_approver",),
    "una": ("payout_approver",),
    "root": ("admin",),
    "ada": ("admin",),
    "zoe": ("moderator",),
}
_names = itertools.count(1)


@dataclass
class TeamServer:
    cluster: Cluster
    template: str
    seeded: dict[str, tuple[str, dict[str, int]]]  # seed name -> (template db, its ids)

    def superuser(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.cluster.conninfo(dbname), autocommit=True)

    def copy_of(self, template: str) -> str:
        name = db_name(f"t_store_{next(_names)}")
        with self.superuser() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return name

    def drop(self, name: str) -> None:
        with self.superuser() as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))

    def seeded_template(
        self, key: str, seed: Callable[[Cache], dict[str, int]], folder: Path
    ) -> tuple[str, dict[str, int]]:
        """A template database holding what `seed` writes into a new cache (built once)."""
        if key not in self.seeded:
            cache = open_cache(folder / f"seed-{key}.sqlite3", create=True)
            try:
                ids = seed(cache)
                name = self._copied_from(cache)
            finally:
                cache.close()
            self.seeded[key] = (name, ids)
        return self.seeded[key]

    def template_of_file(self, key: str, path: Path) -> str:
        """A template database holding what the cache file at `path` holds (copied once)."""
        if key not in self.seeded:
            cache = open_cache(path)
            try:
                self.seeded[key] = (self._copied_from(cache), {})
            finally:
                cache.close()
        return self.seeded[key][0]

    def _copied_from(self, cache: Cache) -> str:
        name = self.copy_of(self.template)
        admin = establish(cache.path, Config(), demo=True)  # the file's owner: every role
        migrate_to(Door(cache, admin), self.cluster.url(name, "postgres"))
        return name


@contextmanager
def team_database(server: TeamServer, template: str, role: str = "alice") -> Iterator[TeamCache]:
    """A copy of `template` of the test's own, opened as `role`; dropped afterwards."""
    from console.storage.postgres import open_team

    name = server.copy_of(template)
    team = open_team(server.cluster.url(name, role))
    try:
        yield team
    finally:
        team.close()
        server.drop(name)


@contextmanager
def empty_store(
    backend: str,
    cache_path: Path,
    request: pytest.FixtureRequest,
    *,
    server: str = "team_server",
    role: str = "alice",
) -> Iterator[Cache]:
    """An empty store of the test's own: on SQLite a new cache file at `cache_path`; on
    PostgreSQL a new team database copied from the `server` fixture's template (schema and
    grants from team-install, nothing else), connected as `role`. The server fixture is only
    asked for on PostgreSQL, so a SQLite run never starts a cluster."""
    if backend == "sqlite":
        opened = open_cache(new_cache_file(request.getfixturevalue("built_once"), cache_path))
        try:
            yield opened
        finally:
            opened.close()
        return
    team_server: TeamServer = request.getfixturevalue(server)
    with team_database(team_server, team_server.template, role) as team:
        yield team


@contextmanager
def store_holding(
    seed: Callable[[Cache], dict[str, int]],
    key: str,
    backend: str,
    path: Path,
    request: pytest.FixtureRequest,
    *,
    seeded: bool = True,
    role: str = "alice",
) -> Iterator[Cache]:
    """A store of the test's own holding what `seed` writes: on SQLite a new cache file at
    `path` (`seeded=False`: left empty, for the test to seed, e.g. through an `ids` fixture);
    on PostgreSQL a copy of a team database `seed` wrote once per session under `key` (through
    a cache file and migrate-to: its ids are `seeded_ids(key, ...)`), connected as `role`."""
    if backend == "sqlite":
        opened = open_cache(new_cache_file(request.getfixturevalue("built_once"), path))
        try:
            if seeded:
                seed(opened)
            yield opened
        finally:
            opened.close()
        return
    server: TeamServer = request.getfixturevalue("team_server")
    folder = request.getfixturevalue("tmp_path_factory").mktemp("seed")
    template, _ = server.seeded_template(key, seed, folder)
    with team_database(server, template, role) as team:
        yield team


@contextmanager
def store_copied_from(
    built: Path,
    key: str,
    backend: str,
    path: Path,
    request: pytest.FixtureRequest,
    *,
    role: str = "alice",
) -> Iterator[Cache]:
    """A store of the test's own holding what the (closed) cache file `built` holds: on SQLite a
    copy of the file at `path`; on PostgreSQL a copy of a team database made from the file once
    per session under `key` (by migrate-to), connected as `role`. Build something big once (a
    module's fixture) and give each test its own copy to change."""
    if backend == "sqlite":
        shutil.copyfile(built, path)
        opened = open_cache(path)
        try:
            yield opened
        finally:
            opened.close()
        return
    server: TeamServer = request.getfixturevalue("team_server")
    with team_database(server, server.template_of_file(key, built), role) as team:
        yield team


def seeded_ids(
    seed: Callable[[Cache], dict[str, int]], key: str, cache: Cache, request: pytest.FixtureRequest
) -> dict[str, int]:
    """The ids of what `seed` wrote into a `store_holding(seed, key, ..., seeded=False)` store:
    on SQLite it seeds the (empty) cache now; on PostgreSQL the template already holds it."""
    if cache.dialect.is_sqlite:
        return seed(cache)
    server: TeamServer = request.getfixturevalue("team_server")
    return dict(server.seeded[key][1])


def location(cache: Cache, cache_path: Path) -> str:
    """What `--db` names for `cache`: its file, or its postgresql:// URL."""
    return str(getattr(cache, "url", "") or cache_path)


def everything_in(server: TeamServer, dbname: str) -> list[str]:
    """Every row of every peerdesk table of a team database, as text, sorted (read as the
    superuser): equal lists mean nothing changed."""
    rows: list[str] = []
    with server.superuser(dbname) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'peerdesk' ORDER BY tablename"
        ).fetchall()
        for (table,) in tables:
            found = conn.execute(
                sql.SQL("SELECT t::text FROM peerdesk.{} t ORDER BY 1").format(
                    sql.Identifier(str(table))
                )
            ).fetchall()
            rows += [f"{table}: {r[0]}" for r in found]
    return rows


def claim_expiry(cache: Cache, *, minutes: int) -> str:
    """When a claim taken now runs out, by the clock claims run on: on the cache peerdesk's
    (frozen by PEERDESK_NOW), on the team database the server's."""
    if cache.dialect.is_sqlite:
        return iso(now() + timedelta(minutes=minutes))
    row = cache.one("SELECT peerdesk_time(make_interval(mins => ?))", (minutes,))
    return str(row[0])


def database_name(team: Cache) -> str:
    """The name of the database a TeamCache is connected to."""
    return str(conninfo_to_dict(str(getattr(team, "url", "")))["dbname"])


def let_claims_run_out(
    cache: Cache, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Make every claim run out, by the clock it runs on: on the cache peerdesk's (a frozen
    clock moved past the 15-minute leases of the tests), on the team database the server's,
    whose time cannot be moved, so the claims are moved a minute into its past (as the
    superuser)."""
    if cache.dialect.is_sqlite:
        monkeypatch.setenv("PEERDESK_NOW", "2026-11-20T12:16:00Z")
        return
    server: TeamServer = request.getfixturevalue("team_server")
    with server.superuser(database_name(cache)) as conn:
        conn.execute(
            "UPDATE peerdesk.claims SET expires_at = peerdesk.peerdesk_time('-1 minute'), "
            "claimed_at = peerdesk.peerdesk_time('-16 minutes')"
        )


def tamper(
    cache: Cache, request: pytest.FixtureRequest, statement: str, params: tuple[object, ...] = ()
) -> None:
    """Change the store behind peerdesk's back, as someone with write access to it would: on
    the cache anyone who can write the file (foreign keys off); on the team database only its
    superuser can (the grants refuse every peerdesk role), with triggers and foreign keys off."""
    if cache.dialect.is_sqlite:
        cache.conn.execute("PRAGMA foreign_keys = OFF")
        cache.conn.execute(statement, params)
        return
    server: TeamServer = request.getfixturevalue("team_server")
    with server.superuser(database_name(cache)) as conn:
        conn.execute("SET search_path = peerdesk")
        conn.execute("SET session_replication_role = replica")
        conn.execute(statement.replace("?", "%s"), params)  # type: ignore[arg-type]


def race(script: str, argvs: list[list[str]]) -> list[str]:
    """Start one `python -c script ARGV...` per argv; each prints "ready" and waits for a line
    on stdin; all are told to go at once. Their outputs, in argv order."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return [proc.communicate(timeout=60)[0].strip() for proc in procs]


_templates: dict[Path, str] = {}  # cluster folder -> this process's template in it


def start_team_server(cluster: Cluster) -> TeamServer:
    """A TeamServer on the shared cluster, with this process's template (made once: each
    conftest that imports `team_server` has a session fixture of its own, and they share it;
    their seeded templates stay their own)."""
    if cluster.base not in _templates:
        _templates[cluster.base] = _make_template(cluster)
    return TeamServer(cluster, _templates[cluster.base], {})


def _make_template(cluster: Cluster) -> str:
    """The schema and the people. Their login roles and memberships are the cluster's: made
    by the first worker here, found by the others."""
    template = db_name("peerdesk_store_template")
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {template}")
    with psycopg.connect(cluster.conninfo(template), autocommit=True) as conn:
        schema.install(conn)
    with cluster.cluster_wide(), psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        made = conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(PEOPLE),))
        missing = set(PEOPLE) - {str(row[0]) for row in made}
        for person, roles in PEOPLE.items():
            if person in missing:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(person)))
            for role in roles:
                conn.execute(
                    sql.SQL("GRANT {} TO {}").format(
                        sql.Identifier(f"peerdesk_{role}"), sql.Identifier(person)
                    )
                )
    for person in PEOPLE:
        cluster.allow(person)
    return template


@pytest.fixture(scope="session")
def team_server(pg_server: Cluster) -> TeamServer:
    """This process's template on the run's one cluster, made when a test first needs it."""
    return start_team_server(pg_server)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The test's backend: sqlite (a cache file), or postgresql (a `backends` test's second
    run)."""
    return str(getattr(request, "param", "sqlite"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.backends` tests run on both backends (the `backend` fixture's value)."""
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("backends"):
        metafunc.parametrize(
            "backend",
            list(BACKENDS),
            indirect=True,
        )
