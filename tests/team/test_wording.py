"""On the team database peerdesk says "on the team database", never "in the cache", and a login
with only the read-only role is told that roles are the server's GRANTs (the roles file of a
cache means nothing there). PostgreSQL only: the cache file's wording is tested with it
(tests/ui/test_read_only_notice.py, and the both-engines messages in tests/ui/test_thread.py
and tests/dupes/test_actions.py)."""

from __future__ import annotations

import pytest

from console.cli import main
from console.desk import Desk
from console.errors import NotFound

from .cluster import Cluster
from .conftest import login_role

pytestmark = pytest.mark.xdist_group("teamdb")


def test_a_read_only_login_is_told_to_ask_for_a_grant_not_to_edit_a_roles_file(
    pg_cluster: Cluster,
    team_db: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reader = login_role(pg_cluster, "pd-team-reader", "readonly")
    url = pg_cluster.url(team_db, reader)
    desk = Desk.open_team(url, actor=reader)
    try:
        assert desk.read_only_notice == (
            "Read-only: pd-team-reader has no role here, so nothing can be changed.",
            "To moderate, an admin of the team database runs `GRANT peerdesk_moderator TO "
            '"pd-team-reader";`; `peerdesk whoami` says where roles come from.',
        )
        with pytest.raises(NotFound) as missing:
            desk.thread(424242)
        assert str(missing.value) == "There is no thread 424242 on the team database"
    finally:
        desk.close_cache()
    monkeypatch.setenv("PEERDESK_USER", reader)
    assert main(["--db", url, "whoami"]) == 0
    out = capsys.readouterr().out
    assert "GRANT peerdesk_moderator TO" in out
    assert "[roles]" not in out and "roles.toml" not in out
