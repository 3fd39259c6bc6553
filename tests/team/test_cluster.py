"""The throwaway cluster itself: a Unix socket only, peer authentication, a non-root server."""

from __future__ import annotations

import os

import psycopg
import pytest

from .cluster import Cluster
from .conftest import superuser

pytestmark = pytest.mark.xdist_group("teamdb")


def test_cluster_answers_on_its_socket_only(pg_cluster: Cluster, empty_db: str) -> None:
    with superuser(pg_cluster, empty_db) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        listen = conn.execute("SHOW listen_addresses").fetchone()
        method = conn.execute(
            "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'local'"
        ).fetchall()
    assert version is not None and int(str(version[0])) >= 150000
    assert listen == ("",)  # no TCP at all
    assert method == [("peer",)]
    assert (pg_cluster.socket_dir / ".s.PGSQL.5432").exists()


def test_server_does_not_run_as_root(pg_cluster: Cluster) -> None:
    pid = int((pg_cluster.data / "postmaster.pid").read_text().split()[0])
    assert os.stat(f"/proc/{pid}").st_uid != 0


def test_unknown_os_account_has_no_role(pg_cluster: Cluster) -> None:
    with pytest.raises(psycopg.OperationalError, match="Peer authentication failed"):
        psycopg.connect(pg_cluster.conninfo(user="nobody_at_all"))
