"""The `peerdesk` command. Each group of subcommands lives in its own module with `register`.

With no subcommand, `peerdesk` opens the console. Every error peerdesk raises on purpose is
printed as one clear line on stderr with exit code 2 (or the error's own `exit_code`, e.g. 1 for a
full disk); nothing prints a traceback at a user.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path

from console import quiet_start
from console.errors import PeerdeskError
from console.paths import DB_ENV
from console.team.location import is_team_url
from sync import logs

# Modules that add subcommands; each defines register(subparsers).
COMMAND_MODULES = [
    "console.cli.core",
    "console.cli.dupes_cmd",
    "console.cli.demo_cmd",
    "console.cli.sync_cmds",
    "console.cli.rewards_cmd",
    "console.cli.escalations_cmd",
    "console.cli.verify_cmd",
    "console.cli.team_cmd",
    "console.cli.keys_cmd",
    "console.cli.members_cmd",
]


def _global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="the cache file (default: $PEERDESK_DB, else the platform's user data dir)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the config file (default: $PEERDESK_CONFIG, else the platform's config dir)",
    )
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="NAME",
        default=None,
        help="act under NAME instead of your OS account (or $PEERDESK_USER); only on a cache "
        "file you own, and recorded in the audit",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peerdesk",
        description="A keyboard-driven moderation console for peer-support communities. "
        "With no command, opens the console on the cache.",
    )
    _global_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        import_module(name).register(subparsers)
    _bound_integers(parser)
    return parser


def integer(text: str) -> int:
    """A whole number the store can hold (64 bits, as SQLite and PostgreSQL's bigint)."""
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise argparse.ArgumentTypeError(f"{text} is out of range (at most {2**63 - 1})")
    return value


def count(text: str) -> int:
    """An `integer` of 0 or more: a `--limit` (SQLite reads LIMIT -1 as no limit at all)."""
    value = integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a count (0 or more)")
    return value


def _bound_integers(parser: argparse.ArgumentParser) -> None:
    """Every `type=int` argument of every command takes `integer` instead: a number past 64
    bits is refused by the parser in one line, never sent to the store (where SQLite raises
    OverflowError); every `--limit` takes `count`."""
    for action in parser._actions:
        if action.type is int:
            action.type = count if "--limit" in action.option_strings else integer
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _bound_integers(sub)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line. With no command (the console) or `tui`, only the global options are
    read, so no command module is imported before the console's first frame."""
    console_only = argparse.ArgumentParser(prog="peerdesk", add_help=False, exit_on_error=False)
    _global_options(console_only)
    try:
        args, rest = console_only.parse_known_args(argv)
    except argparse.ArgumentError:
        rest = ["(let the whole parser say what is wrong)"]
    if rest == ["tui"]:  # the console by its name
        rest = []
    if rest:  # a command, --help, or a mistake: the whole parser, with every command
        return build_parser().parse_args(argv)
    args.command = None
    return args


def _may_name_team_store(raw: list[str]) -> bool:
    """Whether a postgresql:// URL appears in the arguments or PEERDESK_DB (team_cmd decides
    what it means; the console's start imports no command module but core, and only a team
    command imports the PostgreSQL driver)."""
    return is_team_url(os.environ.get(DB_ENV)) or any(
        is_team_url(item.removeprefix("--db=")) for item in raw
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        # the console: no garbage collections until its first rows are drawn (console.quiet_start;
        # console.app resumes them), and the Desk imported after the pause, not with this module
        quiet_start.pause()
        from console.cli.core import run_console

        handler = run_console
    try:
        return _run(args, handler, argv)
    finally:
        quiet_start.resume()  # the console has ended, or never showed its rows (an error)


def _run(
    args: argparse.Namespace,
    handler: Callable[[argparse.Namespace], int | None],
    argv: Sequence[str] | None,
) -> int:
    logs.setup()  # library logging goes to a rotated file, never the terminal or the screen
    from console.desk import StorageFailure, storage_failure_text

    try:
        # a postgresql:// database (--db or PEERDESK_DB): the team store, for the commands
        # that support it; every other command refuses in one line (console/cli/team_cmd.py)
        raw = list(sys.argv[1:] if argv is None else argv)
        if _may_name_team_store(raw):  # (the console starts without team_cmd)
            from console.cli import team_cmd

            handler = team_cmd.route_team_store(args, team_cmd.raw_db_argument(raw), handler)
        return int(handler(args) or 0)
    except PeerdeskError as error:
        print(f"peerdesk: {error}", file=sys.stderr)
        return int(getattr(error, "exit_code", 2))  # 2 (usage) unless the error says otherwise
    except StorageFailure as error:  # a write that failed mid-way (a full disk...): one line
        from console.paths import default_db_path

        cache_path = Path(getattr(args, "db", None) or default_db_path())
        print(f"peerdesk: {storage_failure_text(error, cache_path)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader went away (`peerdesk queue | head`): not an error worth a traceback
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("peerdesk: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
