"""A login role that holds no peerdesk role is refused in one line naming it and what the admin
grants, before anything is read or written (it used to fail with "relation meta does not
exist": without a peerdesk role the schema is not even visible to it)."""

from __future__ import annotations

import contextlib
import io

import pytest

from console.cli import main

from .cluster import Cluster
from .conftest import login_role, superuser

pytestmark = pytest.mark.xdist_group("teamdb")

COMMANDS = [
    ["queue"],
    ["whoami"],
    ["close", "1"],
    ["ledger", "verify"],
    ["audit", "verify"],
    ["audit", "head"],
    ["tui"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_login_without_a_peerdesk_role_is_refused_in_one_line(
    pg_cluster: Cluster, team_db: str, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = login_role(pg_cluster, "pd-norole")  # LOGIN, no peerdesk_* role
    monkeypatch.setenv("PEERDESK_USER", name)
    url = pg_cluster.url(team_db, name)
    with superuser(pg_cluster, team_db) as conn:
        before = conn.execute("SELECT count(*) FROM peerdesk.audit").fetchone()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--db", url, *command])
    lines = err.getvalue().splitlines()
    assert code != 0 and out.getvalue() == ""
    assert len(lines) == 1, lines
    assert lines[0].startswith("peerdesk: pd-norole has no peerdesk role on the team database")
    assert 'GRANT peerdesk_moderator TO "pd-norole"' in lines[0]
    assert "does not exist" not in lines[0]
    with superuser(pg_cluster, team_db) as conn:
        assert conn.execute("SELECT count(*) FROM peerdesk.audit").fetchone() == before
