"""Fixtures of the team-store tests: one throwaway PostgreSQL cluster per test session.

Every test module here carries `pytest.mark.xdist_group("teamdb")`, so under
`pytest -n 2 --dist loadgroup` all of them run in one worker and share one cluster (started
once, about a second). Without PostgreSQL's server binaries the tests skip with one line;
under PEERDESK_REQUIRE_ALL (CI) they fail instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from console.team import schema
from console.team.connect import OPTIONS
from tests.conftest import cluster_or_skip

from .cluster import Cluster

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = cluster_or_skip("the team-store tests")
    yield cluster
    cluster.stop()


def superuser(cluster: Cluster, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
    """A connection as the cluster's superuser (the fixtures' own account maps to it)."""
    return psycopg.connect(cluster.conninfo(dbname), autocommit=True)


@pytest.fixture(scope="session")
def team_template(pg_cluster: Cluster) -> str:
    """A database with the whole team schema and grants, built once; tests copy it."""
    name = "peerdesk_template"
    with superuser(pg_cluster) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    with superuser(pg_cluster, name) as conn:
        schema.install(conn)
    return name


@pytest.fixture
def team_db(pg_cluster: Cluster, team_template: str) -> Iterator[str]:
    """A team database of its own for one test (a copy of the template: tens of ms)."""
    name = f"t_team_{next(_names)}"
    with superuser(pg_cluster) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {team_template}')
    yield name
    with superuser(pg_cluster) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def login_role(cluster: Cluster, name: str, *peerdesk_roles: str) -> str:
    """A person's login role (cluster-wide), member of the given peerdesk_* group roles; the
    account running the tests may log in as it (`cluster.url(db, name)`)."""
    with superuser(cluster) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        for role in peerdesk_roles:
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(
                    sql.Identifier(f"peerdesk_{role}"), sql.Identifier(name)
                )
            )
    cluster.allow(name)
    return name


def as_role(cluster: Cluster, dbname: str, role: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection whose session user is `role` (the superuser switches to it for good, as a
    login of that role would be; the attack tests log in for real through peer auth)."""
    conn = psycopg.connect(cluster.conninfo(dbname), autocommit=True, options=OPTIONS)
    conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(role)))
    return conn


@pytest.fixture
def empty_db(pg_cluster: Cluster) -> Iterator[str]:
    """A new, empty database of its own for one test; its name."""
    name = f"t_empty_{next(_names)}"
    with superuser(pg_cluster) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with superuser(pg_cluster) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
