"""Fixtures of the team-store tests, on the run's one throwaway PostgreSQL cluster.

Every test module here carries `pytest.mark.xdist_group("teamdb")`, so under
`pytest -n 2 --dist loadgroup` all of them run in one worker; the cluster is the one every
worker shares (tests/conftest.py `pg_server`), with databases of this worker's own. Without PostgreSQL's server binaries the tests skip with one line;
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

from .cluster import Cluster, db_name

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster(pg_server: Cluster) -> Cluster:
    return pg_server


def superuser(cluster: Cluster, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
    """A connection as the cluster's superuser (the fixtures' own account maps to it)."""
    return psycopg.connect(cluster.conninfo(dbname), autocommit=True)


@pytest.fixture(scope="session")
def team_template(pg_cluster: Cluster) -> str:
    """A database with the whole team schema and grants, built once; tests copy it."""
    name = db_name("peerdesk_template")
    with superuser(pg_cluster) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    with superuser(pg_cluster, name) as conn:  # its roles are made: tests/conftest.py
        schema.install(conn)
    return name


@pytest.fixture
def team_db(pg_cluster: Cluster, team_template: str) -> Iterator[str]:
    """A team database of its own for one test (a copy of the template: tens of ms)."""
    name = db_name(f"t_team_{next(_names)}")
    with superuser(pg_cluster) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {team_template}')
    yield name
    with superuser(pg_cluster) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def login_role(cluster: Cluster, name: str, *peerdesk_roles: str) -> str:
    """A person's login role (cluster-wide), member of the given peerdesk_* group roles; the
    account running the tests may log in as it (`cluster.url(db, name)`)."""
    with cluster.cluster_wide(), superuser(cluster) as conn:
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
    name = db_name(f"t_empty_{next(_names)}")
    with superuser(pg_cluster) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with superuser(pg_cluster) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
