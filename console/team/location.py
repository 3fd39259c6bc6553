"""Where a command's data is: a SQLite cache file, or a team database (a postgresql:// URL).

Every command runs against the team store; a command that does not say it does (a new one not
yet in STORE_COMMANDS) stops, given a postgresql URL (by --db or PEERDESK_DB), with one line
naming those that do.
"""

from __future__ import annotations

import os
import re

from console.errors import PeerdeskError
from console.paths import DB_ENV

URL_PATTERN = re.compile(r"^postgres(?:ql)?://", re.IGNORECASE)
STORE_COMMANDS = (
    "tui",
    "queue",
    "show",
    "claim",
    "close",
    "reopen",
    "hide",
    "note",
    "undo",
    "whoami",
    "push",
    "members",
    "escalations",
    "verify",
    "export",
    "audit log",
    "source",
    "sync",
    "import",
    "dupes",
    "demo",
    "ledger",
    "payouts",
    "keys",
)
"""Commands that run unchanged on a team database through the storage layer (console.storage)."""
TEAM_COMMANDS = (
    "audit verify",
    "audit head",
    "migrate-to",
    "team-install",
    "team push (--to)",
    *STORE_COMMANDS,
)
"""The commands that work with a team database today."""


class TeamStoreUnsupported(PeerdeskError):
    """A command that does not run against the team store yet was given a postgresql URL."""


def is_team_url(text: str | None) -> bool:
    return bool(text) and bool(URL_PATTERN.match(str(text)))


def team_url(db_argument: str | None) -> str | None:
    """The postgresql URL named by --db (as typed) or, without --db, by PEERDESK_DB."""
    named = db_argument if db_argument is not None else os.environ.get(DB_ENV)
    return named if is_team_url(named) else None


def refuse(command: str) -> TeamStoreUnsupported:
    return TeamStoreUnsupported(
        f"`peerdesk {command}` does not run against a team database (postgresql://) yet; "
        f"today the team store supports: {', '.join(TEAM_COMMANDS)}. Use a SQLite cache file "
        "with --db for everything else."
    )


_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?password=)[^&#]*", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL without a password (`user:password@`, or `?password=` as libpq also takes it),
    for messages and the audit."""
    url = _QUERY_PASSWORD.sub(r"\1***", url)
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def sql_identifier(name: str) -> str:
    """`name` as SQL writes a role: bare when it may be, else double-quoted."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'
