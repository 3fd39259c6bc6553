"""The team store's commands: team-install, migrate-to, and audit verify/head on the server.

`route_team_store` decides, before any command runs, whether a postgresql:// database was named
(--db or PEERDESK_DB): the commands that support the team store get their team handler, every
other command stops with one line saying which commands do (console.team.location).

Every `peerdesk` process builds this module's parser, so the team modules are imported inside
the commands that use them: they bring psycopg (~0.1 s of CPU at each start), which `--help` and
every command on a SQLite cache do without (tests/test_cli_imports.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from console.audit import parse_head
from console.cli.core import open_desk, report_audit
from console.errors import PeerdeskError
from console.team.location import STORE_COMMANDS, is_team_url, redact, refuse, team_url

Handler = Callable[[argparse.Namespace], int]


def _command_name(args: argparse.Namespace) -> str:
    command = getattr(args, "command", None) or "tui"
    sub = getattr(args, "audit_command", None) if command == "audit" else None
    return f"{command} {sub}" if sub else str(command)


def route_team_store(args: argparse.Namespace, raw_db: str | None, handler: Handler) -> Handler:
    """The handler to run: `handler` itself, its team-store variant, or a refusal."""
    url = team_url(raw_db)
    if url is None:
        return handler
    name = _command_name(args)
    if name in ("audit verify", "audit head"):
        args.team_url = url
        return cmd_team_audit_verify if name == "audit verify" else cmd_team_audit_head
    if name in STORE_COMMANDS:  # the same command, on the team database (console.storage)
        args.team_url = url
        return handler
    if name in ("migrate-to", "team-install", "team"):
        raise PeerdeskError(
            f"`peerdesk {name}` takes the team database as its argument (`team push`: --to); "
            "--db (or PEERDESK_DB) "
            f"names the SQLite cache and cannot be a postgresql URL here ({redact(url)})"
        )
    raise refuse(name)


def raw_db_argument(argv: list[str]) -> str | None:
    """--db as typed (argparse turns it into a Path, which folds the '//' of a URL)."""
    for index, item in enumerate(argv):
        if item == "--db" and index + 1 < len(argv):
            return argv[index + 1]
        if item.startswith("--db="):
            return item[len("--db=") :]
    return None


def _url(text: str) -> str:
    if not is_team_url(text):
        raise argparse.ArgumentTypeError(f"not a postgresql:// URL: {text!r}")
    return text


def cmd_team_audit_verify(args: argparse.Namespace) -> int:
    from console.team import audit as team_audit  # psycopg: see the module's docstring
    from console.team.connect import connect
    from console.team.no_role import require_a_role

    kept = parse_head(args.since_head) if args.since_head else None
    url = args.team_url
    with connect(url) as conn:
        try:
            with team_audit.snapshot(conn):  # the chain, its head and the count agree
                require_a_role(conn.execute, url)
                problems = team_audit.verify(conn, kept)
                count = team_audit.count(conn)
        except Exception as error:
            if isinstance(error, PeerdeskError):
                raise
            raise _failed(error, url) from error
    return report_audit(problems, count, kept.entry if kept else None, " on the team database")


def cmd_team_audit_head(args: argparse.Namespace) -> int:
    from console.team import audit as team_audit  # psycopg: see the module's docstring
    from console.team.connect import connect
    from console.team.no_role import require_a_role

    with connect(args.team_url) as conn:
        require_a_role(conn.execute, args.team_url)
        try:
            print(team_audit.head(conn))
        except Exception as error:
            raise _failed(error, args.team_url) from error
    return 0


def _failed(error: Exception, url: str) -> PeerdeskError:
    import psycopg  # see the module's docstring

    from console.team.connect import TeamStoreError, explain

    if isinstance(error, psycopg.Error):
        return explain(error, url)
    return TeamStoreError(f"The team database {redact(url)} failed: {error}")


def cmd_migrate_to(args: argparse.Namespace) -> int:
    from console.team.copy import SKIPPED, migrate_to  # psycopg: see the module's docstring

    desk = open_desk(args)

    def progress(table: str, rows: int) -> None:
        print(f"  {table}: {rows} rows", file=sys.stderr)

    report = migrate_to(desk.door, args.url, progress=None if args.quiet else progress)
    rows = sum(report.tables.values())
    print(
        f"copied {rows} rows in {len(report.tables)} tables to {redact(args.url)}; counts match "
        f"and the audit chain ({report.audit_entries} entries) verifies on the server"
    )
    if report.resumed:
        print(f"resumed: {len(report.resumed)} tables had been copied by an earlier run")
    for table, rows in report.skipped.items():
        print(f"left out {rows} rows of {table}: {SKIPPED[table][1]}")
    if report.nul_replaced:
        print(f"{report.nul_replaced} texts held NUL characters, stored as U+FFFD")
    print(f"recorded as audit entry {report.audit_entry_id} on the team database")
    return 0


def cmd_team_install(args: argparse.Namespace) -> int:
    from console.team import schema  # psycopg: see the module's docstring
    from console.team.connect import connect

    if args.url is None and not args.print_sql:
        raise PeerdeskError("team-install needs the team database's postgresql:// URL")
    if args.print_sql:
        print(";\n\n".join(schema.statements(0)))
        return 0
    with connect(args.url, autocommit=True) as conn:
        try:
            before, after = schema.install(conn)
        except Exception as error:
            raise _failed(error, args.url) from error
    if before == after:
        print(f"team schema already at {after}; grants re-applied")
    else:
        print(f"team schema {before} -> {after}, grants applied (console/team/grants.sql)")
    return 0


def cmd_team_push(args: argparse.Namespace) -> int:
    from console.team.push import push  # psycopg: see the module's docstring

    desk = open_desk(args)
    report = push(desk.door, args.to)
    for pushed in report.conflicts:
        d = pushed.decision
        print(
            f"CONFLICT {d.action} of {d.target_kind} {d.post_remote or d.thread_remote} "
            f"(laptop item {d.outbox_id}, team item {pushed.team_outbox_id}): {pushed.conflict}"
        )
    print(
        f"{len(report.sent)} decision(s) sent to {redact(args.to)}, "
        f"{len(report.conflicts)} conflict(s) recorded there for a human, "
        f"{len(report.already)} already there from an earlier push"
    )
    return 1 if report.conflicts else 0


def register(subparsers: Any) -> None:
    team = subparsers.add_parser(
        "team",
        help="a laptop and the team database: `team push --to URL` sends offline decisions",
        description="Commands between this laptop's cache (--db) and a team database.",
    )
    team_commands = team.add_subparsers(dest="team_command", required=True)
    send = team_commands.add_parser(
        "push",
        help="send this cache's unsent decisions to the team database (conflicts are kept)",
        description="Replays each decision of this cache's outbox that was sent nowhere yet on "
        "the team database, in one server transaction each (the change, an audit entry, a team "
        "outbox item for the platform). What teammates changed meanwhile (a claim by someone "
        "else, the item no longer as this cache saw it, new posts) is recorded as a conflict on "
        "both sides and never overwritten. Safe to run again: nothing is sent twice. Exits 1 "
        "when there were conflicts.",
    )
    send.add_argument("--to", type=_url, required=True, help="postgresql://... of the team db")
    send.set_defaults(handler=cmd_team_push)

    move = subparsers.add_parser(
        "migrate-to",
        help="copy this cache into an empty team database (admin; resumable, verified)",
        description="Copies the SQLite cache (--db) into the team database at URL, table by "
        "table with checkpoints (run it again after an interruption to resume), then checks "
        "every table's row count and the audit chain on the server. Admin only.",
    )
    move.add_argument("url", type=_url, help="postgresql://... of the team database")
    move.add_argument("--quiet", "-q", action="store_true", help="no per-table progress")
    move.set_defaults(handler=cmd_migrate_to)

    install = subparsers.add_parser(
        "team-install",
        help="create or upgrade the team database's schema, roles and grants (its DBA)",
        description="Run by the database administrator (a role that may create roles): builds "
        "the peerdesk schema from the migrations and applies console/team/grants.sql.",
    )
    install.add_argument("url", type=_url, nargs="?", help="postgresql://... of the database")
    install.add_argument(
        "--print-sql", action="store_true", help="print every statement instead of running it"
    )
    install.set_defaults(handler=cmd_team_install)
