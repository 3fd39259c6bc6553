"""A postgresql:// database, by --db or PEERDESK_DB: the team-store commands (now every one,
the rewards ledger, payouts and keys included) are routed to it; a command that does not say it
runs there stops with one line naming those that do (no cluster needed)."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest

from console.cli import build_parser, main
from console.cli.team_cmd import route_team_store
from console.team.location import TEAM_COMMANDS, TeamStoreUnsupported, redact

URL = "postgresql://alice:secret@db.example/peerdesk"


def run(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [["ledger", "balances"], ["payouts", "show"], ["keys"], ["ledger", "verify"]],
)
def test_the_rewards_commands_and_keys_run_on_a_team_url(argv: list[str]) -> None:
    """They are routed to the team database (no longer refused): the same handler, the URL."""
    args = build_parser().parse_args(argv)
    handler = route_team_store(args, URL, args.handler)
    assert handler is args.handler and args.team_url == URL


def test_a_command_that_does_not_run_on_the_team_store_is_refused_in_one_line() -> None:
    args = argparse.Namespace(command="some-new-command")
    with pytest.raises(TeamStoreUnsupported) as refused:
        route_team_store(args, URL, lambda _: 0)
    text = str(refused.value)
    assert "\n" not in text and "does not run against a team database" in text
    assert all(command in text for command in TEAM_COMMANDS)
    assert "secret" not in text


def test_peerdesk_db_with_a_url_names_the_team_store_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERDESK_DB", URL)
    args = build_parser().parse_args(["payouts", "show"])
    assert route_team_store(args, None, args.handler) is args.handler
    assert args.team_url == URL
    with pytest.raises(TeamStoreUnsupported, match="`peerdesk some-new-command` does not run"):
        route_team_store(argparse.Namespace(command="some-new-command"), None, args.handler)


def test_migrate_to_takes_the_url_as_its_argument_not_db() -> None:
    code, err = run("--db", URL, "migrate-to", URL)
    assert code == 2 and "--db (or PEERDESK_DB) names the SQLite cache" in err


def test_passwords_never_shown() -> None:
    assert redact(URL) == "postgresql://alice:***@db.example/peerdesk"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://db.example/peerdesk?user=alice&password=secret",
            "postgresql://db.example/peerdesk?user=alice&password=***",
        ),
        (
            "postgres://db.example/peerdesk?PASSWORD=secret&sslmode=require",
            "postgres://db.example/peerdesk?PASSWORD=***&sslmode=require",
        ),
        (
            "postgresql://alice:secret@db.example/peerdesk?sslpassword=secret",
            "postgresql://alice:***@db.example/peerdesk?sslpassword=***",
        ),
    ],
)
def test_a_password_in_the_query_is_never_shown_either(url: str, shown: str) -> None:
    """libpq takes `?password=` as well as `user:password@`; the first went into every message
    about the database (and the audit's) as typed."""
    assert redact(url) == shown


def test_a_failed_connection_does_not_print_the_querys_password() -> None:
    code, err = run("--db", "postgresql://127.0.0.1:1/peerdesk?user=bob&password=secret", "whoami")
    assert code == 2 and "password=***" in err and "secret" not in err
