"""A postgresql:// database, by --db or PEERDESK_DB: only the team-store commands run on it;
every other command stops with one line naming those that do (no cluster needed)."""

from __future__ import annotations

import contextlib
import io

import pytest

from console.cli import main
from console.team.location import TEAM_COMMANDS, redact

URL = "postgresql://alice:secret@db.example/peerdesk"


def run(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [["ledger", "balances"], ["payouts", "show"], ["keys"]],
)
def test_other_commands_refuse_a_team_url_in_one_line(argv: list[str]) -> None:
    code, err = run("--db", URL, *argv)
    assert code == 2
    assert err.count("\n") == 1 and "does not run against a team database" in err
    assert all(command in err for command in TEAM_COMMANDS)
    assert "secret" not in err


def test_peerdesk_db_with_a_url_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERDESK_DB", URL)
    code, err = run("payouts", "show")
    assert code == 2 and "`peerdesk payouts` does not run against a team database" in err


def test_migrate_to_takes_the_url_as_its_argument_not_db() -> None:
    code, err = run("--db", URL, "migrate-to", URL)
    assert code == 2 and "--db (or PEERDESK_DB) names the SQLite cache" in err


def test_passwords_never_shown() -> None:
    assert redact(URL) == "postgresql://alice:***@db.example/peerdesk"
