"""Both storage backends for the domain and sync tiers: a test marked `@pytest.mark.backends`
runs once on a SQLite cache file and once on a PostgreSQL team database.

The team database is a copy of a template built once per test session in a throwaway cluster
(tests/team/cluster.py: a non-root account, a Unix socket, peer authentication): the schema and
grants from `team-install`, login roles for the tests' people (alice, dave and mod01-03
moderate, erin prepares payouts, mallory has no role), and the tier's small community, seeded into a SQLite
cache through the real ingest path and copied in by `migrate-to`. Each test gets its own copy
(CREATE DATABASE ... TEMPLATE: tens of milliseconds) and connects as alice; acting as someone
else (`Desk.for_cache(cache, actor="dave")`) connects as that database role, as `--as` does.

Without PostgreSQL's server binaries the PostgreSQL half skips with one line; under
PEERDESK_REQUIRE_ALL (CI) it fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from console.config import Config
from console.db import Cache, open_cache
from console.door import Door
from console.identity import establish
from console.team import schema
from console.team.copy import migrate_to
from tests.conftest import require_all
from tests.team.cluster import Cluster, ClusterUnavailable, start_cluster

BACKENDS = ("sqlite", "postgresql")
PEOPLE = {
    "alice": ("moderator",),
    "dave": ("moderator",),
    "erin": ("payout_preparer",),
    "mallory": (),
    **{f"mod0{n}": ("moderator",) for n in (1, 2, 3)},
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
        name = f"t_store_{next(_names)}"
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
                name = self.copy_of(self.template)
                admin = establish(cache.path, Config(), demo=True)  # the file's owner: every role
                migrate_to(Door(cache, admin), self.cluster.url(name, "postgres"))
            finally:
                cache.close()
            self.seeded[key] = (name, ids)
        return self.seeded[key]


def start_team_server() -> TeamServer:
    try:
        cluster = start_cluster()
    except ClusterUnavailable as why:
        if require_all():
            pytest.fail(f"PostgreSQL is required (PEERDESK_REQUIRE_ALL is set): {why}")
        pytest.skip(f"no PostgreSQL for the team-database half of this test: {why}")
    template = "peerdesk_store_template"
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {template}")
        for person in PEOPLE:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(person)))
    with psycopg.connect(cluster.conninfo(template), autocommit=True) as conn:
        schema.install(conn)
        for person, roles in PEOPLE.items():
            for role in roles:
                conn.execute(
                    sql.SQL("GRANT {} TO {}").format(
                        sql.Identifier(f"peerdesk_{role}"), sql.Identifier(person)
                    )
                )
    for person in PEOPLE:
        cluster.allow(person)
    return TeamServer(cluster, template, {})


@pytest.fixture(scope="session")
def team_server() -> Iterator[TeamServer]:
    """One throwaway cluster per test process, started when a test first needs it."""
    server = start_team_server()
    yield server
    server.cluster.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.backends` tests run on both backends (the `backend` fixture's value)."""
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("backends"):
        metafunc.parametrize(
            "backend",
            list(BACKENDS),
            indirect=True,
        )
