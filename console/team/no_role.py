"""A login role that holds no peerdesk role is refused in one line, before anything is read.

peerdesk's group roles (console/team/grants.sql) carry USAGE on the schema `peerdesk`; a login
that is a member of none of them cannot even see the tables, and its first read failed with
"relation meta does not exist". `refusal` says instead who is connected and what the admin
grants (as the README's "Team setup" shows); nothing is read or written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from console.errors import PeerdeskError
from console.team.location import redact, sql_identifier
from console.team.schema import SCHEMA

USAGE = f"SELECT session_user, has_schema_privilege('{SCHEMA}', 'USAGE')"
"""Who is connected, and whether any of its roles may use the schema (every peerdesk role,
peerdesk_readonly included, may)."""

GROUP_ROLES = (
    "peerdesk_moderator",
    "peerdesk_readonly",
    "peerdesk_payout_preparer",
    "peerdesk_payout_approver",
    "peerdesk_admin",
)


class NoPeerdeskRole(PeerdeskError):
    """The login role is a member of no peerdesk role (exit code 2, as a refusal)."""


def refusal(user: str, url: str) -> NoPeerdeskRole:
    return NoPeerdeskRole(
        f"{user} has no peerdesk role on the team database {redact(url)}, so it may read and "
        f"write nothing there (nothing was): an admin grants one, e.g. `GRANT "
        f"peerdesk_moderator TO {sql_identifier(user)};` (or {', '.join(GROUP_ROLES[1:])}; see "
        "the README's Team setup and console/team/grants.sql)"
    )


def require_a_role(execute: Callable[[str], Any], url: str) -> None:
    """Refuse (NoPeerdeskRole) unless the connected login may use the peerdesk schema;
    `execute` runs a statement on the connection and returns its cursor."""
    row: Sequence[Any] | None = execute(USAGE).fetchone()
    if row is not None and not row[1]:
        raise refusal(str(row[0]), url)
