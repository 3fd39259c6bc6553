"""`audit verify` on the team database reads one snapshot: the chain, its head record and the
count it reports agree, even when another login appends (and commits) an entry while it runs."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

import pytest

from console.cli import main
from console.team import audit as team_audit
from console.team.connect import connect

from .cluster import Cluster
from .conftest import login_role

pytestmark = pytest.mark.xdist_group("teamdb")

APPEND = "SELECT peerdesk_audit_append('note', 'thread', 1, NULL, '{}')"


def test_audit_verify_reports_what_it_walked(
    pg_cluster: Cluster, team_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = login_role(pg_cluster, "pd-snapshot", "moderator")
    url = pg_cluster.url(team_db, name)
    with connect(url, autocommit=True) as conn:
        conn.execute(APPEND)
        conn.execute(APPEND)
    walk = team_audit._rows

    def walk_then_append(conn: Any, table: str, columns: str) -> Iterator[dict[str, Any]]:
        yield from walk(conn, table, columns)
        with connect(url, autocommit=True) as other:  # a teammate's decision, committed
            other.execute(APPEND)

    monkeypatch.setattr(team_audit, "_rows", walk_then_append)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--db", url, "audit", "verify"])
    assert (code, err.getvalue()) == (0, "")
    assert out.getvalue() == "audit log intact on the team database: 2 entries, chain verified\n"
    monkeypatch.undo()
    with connect(url) as conn:
        assert team_audit.count(conn) == 3 and team_audit.verify(conn) == []
