"""The console on a team database, from the command line: `peerdesk --db postgresql://…` (or
PEERDESK_DB) opens it as the URL's database role, and in a real terminal (tmux) a claim and a
close made by keys land on the server with the server's audit entries."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import pytest

from console import app as app_module
from console.cli import main
from console.desk import Desk
from console.storage.postgres import TeamCache
from tests.backends import TeamServer, team_server
from tests.ui.backends_ui import console_team_url
from tests.ui.test_e2e_tmux import claim_and_close_by_keys, peerdesk_in_tmux

__all__ = ["team_server"]  # the fixture


@pytest.fixture
def team_url(
    team_server: TeamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, TeamCache]]:
    with console_team_url(team_server, tmp_path_factory.mktemp("seed")) as found:
        yield found


@pytest.mark.parametrize("how", ["--db", "PEERDESK_DB"])
def test_peerdesk_with_a_team_url_opens_the_console_on_it(
    team_url: tuple[str, TeamCache], how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = team_url
    opened: list[Desk] = []
    # the console's run, not a terminal's: what it was given is what this test checks
    monkeypatch.setattr(app_module.PeerdeskApp, "run", lambda self: opened.append(self.desk))
    argv = ["--db", url] if how == "--db" else []
    if how == "PEERDESK_DB":
        monkeypatch.setenv("PEERDESK_DB", url)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    assert (code, err.getvalue()) == (0, "")
    (desk,) = opened
    assert isinstance(desk.cache, TeamCache) and desk.cache.url == url
    assert desk.actor == "alice" and desk.role_notice == "alice: moderator"
    assert desk.queue_count() == 37


@pytest.mark.e2e
def test_claim_and_close_by_keys_in_a_real_terminal_on_the_team_database(
    team_url: tuple[str, TeamCache],
) -> None:
    url, team = team_url
    with peerdesk_in_tmux(url, "e2e-team") as terminal:
        thread_id = claim_and_close_by_keys(terminal, team, "alice: moderator")
    assert team.one("SELECT status FROM threads WHERE id = ?", (thread_id,))[0] == "closed"
    assert team.one("SELECT holder FROM claims WHERE thread_id = ?", (thread_id,))[0] == "alice"
    audit = team.query(
        "SELECT actor, action FROM audit WHERE target_id = ? AND action IN ('claim', 'close') "
        "ORDER BY id",
        (thread_id,),
    )
    assert [tuple(r) for r in audit] == [("alice", "claim"), ("alice", "close")]
    outbox = team.query("SELECT action, target_id, state FROM outbox")
    assert [tuple(r) for r in outbox] == [("close", thread_id, "pending")]
