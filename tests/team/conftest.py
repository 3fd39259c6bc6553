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

from tests.conftest import require_all

from .cluster import Cluster, ClusterUnavailable, start_cluster

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    try:
        cluster = start_cluster()
    except ClusterUnavailable as why:
        if require_all():
            pytest.fail(f"PostgreSQL is required (PEERDESK_REQUIRE_ALL is set): {why}")
        pytest.skip(f"no PostgreSQL for the team-store tests: {why}")
    yield cluster
    cluster.stop()


def superuser(cluster: Cluster, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
    """A connection as the cluster's superuser (the fixtures' own account maps to it)."""
    return psycopg.connect(cluster.conninfo(dbname), autocommit=True)


@pytest.fixture
def empty_db(pg_cluster: Cluster) -> Iterator[str]:
    """A new, empty database of its own for one test; its name."""
    name = f"t_empty_{next(_names)}"
    with superuser(pg_cluster) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with superuser(pg_cluster) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
