"""Who can take an escalation: the people with a role that handles escalations.

An escalation is assigned to a person (`I` in the panel, `peerdesk escalations ID --assign NAME`),
and a typo must not hand it to nobody. The people are those the roles in force give a role that
may act on escalations (`esc_acknowledge`'s: moderator, admin):

- on a cache file, the roles file (or the config's `[roles]`) that gave the acting user theirs,
  as the config narrows each name (console.identity.roster_of); on a demo cache its owner opened
  (where every name has every role), the demo's moderators and whoever is acting;
- on the team database, the login roles that are members, directly or through other roles, of
  the group roles carrying those roles (`peerdesk_moderator`, `peerdesk_admin`): the server's
  grants, read from its catalogue.

`require_taker` is the assign decision's own check (console.decisions.Kind.check), so every way
in (the panel, the CLI, a laptop's decision pushed to the team database) is refused alike.
"""

from __future__ import annotations

from console.errors import InvalidDecision
from console.escalate.demo import MODERATORS as DEMO_MODERATORS
from console.identity import Identity, roster_of
from console.models import Role
from console.roles import roles_for
from console.storage import Connection, dialect_of

HANDLES = "esc_acknowledge"  # the action whose roles make someone a taker of escalations
SHOWN = 8  # names a refusal lists

# login roles that are members of the given group roles, directly or through other roles
_MEMBERS = """
WITH RECURSIVE inside (oid) AS (
    SELECT oid FROM pg_roles WHERE rolname IN ({groups})
    UNION
    SELECT m.member FROM pg_auth_members m JOIN inside i ON m.roleid = i.oid
)
SELECT r.rolname FROM pg_roles r JOIN inside i ON i.oid = r.oid
WHERE r.rolcanlogin ORDER BY r.rolname
"""


def _wanted() -> frozenset[Role]:
    return roles_for(HANDLES)


def takers(conn: Connection, who: Identity) -> list[str]:
    """The names an escalation can be assigned to, sorted."""
    wanted = _wanted()
    if not dialect_of(conn).is_sqlite:
        groups = sorted(f"peerdesk_{role.value}" for role in wanted)
        rows = conn.execute(_MEMBERS.format(groups=", ".join("?" * len(groups))), groups)
        return [str(row[0]) for row in rows.fetchall()]
    roster = roster_of(who)
    names = set(roster.holding(wanted))
    if roster.anyone:
        demo = conn.execute("SELECT value FROM meta WHERE key = 'demo'").fetchone()
        names |= set(roster.roles) | (set(DEMO_MODERATORS) if demo and demo[0] == "1" else set())
    return sorted(names)


def require_taker(conn: Connection, who: Identity, name: str) -> None:
    """Refuse `name` unless it can take escalations; the refusal names who can."""
    found = takers(conn, who)
    if name in found:
        return
    roles = " or ".join(sorted(role.value for role in _wanted()))
    listed = ", ".join(found[:SHOWN]) + (
        f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    )
    where = "the roles file" if dialect_of(conn).is_sqlite else "the team database's grants"
    raise InvalidDecision(
        f"{name} cannot take escalations: an assignee needs the {roles} role by {where} "
        f"({'who can: ' + listed if found else 'nobody has it'})"
    )
