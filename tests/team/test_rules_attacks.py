"""The escalation rules in force on the team database, attacked with a raw SQL client.

The rules decide what is escalated (and may hide posts pending review), so they are the
`escalation_rules` action's: the roles console/escalate/actions.py gives it (moderators and
admins), checked by the domain's door and, on the team database, by the server itself (the
meta rows `escalation_rules` and `escalation_rules_origin`: row-level security in
console/team/grants.sql). Real OS accounts log in over the Unix socket (peer authentication:
the account is the role) and write the rules with hand-written SQL. Needs root; skipped
otherwise, failed under PEERDESK_REQUIRE_ALL.
"""

from __future__ import annotations

import pytest

from console.escalate.actions import ESCALATION_ROLES
from console.models import Role
from tests.security.conftest import MODERATOR, account, need_root

from .cluster import Cluster
from .conftest import login_role, superuser
from .test_attacks import as_os_account

pytestmark = pytest.mark.xdist_group("teamdb")

DENIED = "42501"
RULES = "[[rule]]\nid = 'quiet'\nkind = 'follow_ups'\ncount = 99\nseverity = 'low'\n"
ACCOUNTS = {  # OS account -> its peerdesk roles
    MODERATOR: ("moderator",),
    "pd-pay-both": ("payout_preparer", "payout_approver"),
    "pd-pay-tom": ("payout_approver",),
    "pd-admin9": ("admin",),
}


def may_install(roles: tuple[str, ...]) -> bool:
    """What the domain's one role table says (the server must say the same)."""
    return bool({Role(r) for r in roles} & ESCALATION_ROLES["escalation_rules"])


def rules_in_force(cluster: Cluster, dbname: str) -> dict[str, str]:
    with superuser(cluster, dbname) as conn:
        rows = conn.execute(
            "SELECT key, value FROM peerdesk.meta WHERE key LIKE 'escalation_rules%'"
        ).fetchall()
    return {str(k): str(v) for k, v in rows}


def test_only_the_rules_roles_put_escalation_rules_in_force(
    pg_cluster: Cluster, team_db: str
) -> None:
    need_root()
    for name, roles in ACCOUNTS.items():
        account(name)
        login_role(pg_cluster, name, *roles)
    shipped = {"escalation_rules": "[[rule]]\nid = 'ours'", "escalation_rules_origin": "ours"}
    results: dict[str, dict[str, str]] = {}
    for name, roles in ACCOUNTS.items():
        with superuser(pg_cluster, team_db) as conn:  # the team's own rules, each time
            conn.execute("DELETE FROM peerdesk.meta WHERE key LIKE 'escalation_rules%'")
            for key, value in shipped.items():
                conn.execute("INSERT INTO peerdesk.meta VALUES (%s, %s)", (key, value))
        result = as_os_account(
            account(name),
            pg_cluster.conninfo(team_db, name),
            {
                "replace the rules": (
                    "UPDATE meta SET value = $$" + RULES + "$$ WHERE key = 'escalation_rules'"
                ),
                "name another origin": (
                    "INSERT INTO meta VALUES ('escalation_rules_origin', 'mine.toml') "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                "drop the rules in force": "DELETE FROM meta WHERE key = 'escalation_rules'",
                "put new rules in force": f"INSERT INTO meta VALUES ('escalation_rules', $${RULES}$$)",
            },
            rows=True,
        )
        assert result.pop("whoami") == f"{name}/{name}"
        results[name] = result
        after = rules_in_force(pg_cluster, team_db)
        if may_install(roles):
            assert after == {"escalation_rules": RULES, "escalation_rules_origin": "mine.toml"}
        else:
            assert after == shipped, name
    allowed = {
        "replace the rules": "ok 1",
        "name another origin": "ok 1",
        "drop the rules in force": "ok 1",
        "put new rules in force": "ok 1",
    }
    refused = {  # row-level security: the rows are not there to change, and no new one goes in
        "replace the rules": "ok 0",
        "name another origin": DENIED,
        "drop the rules in force": "ok 0",
        "put new rules in force": DENIED,
    }
    assert results == {
        name: allowed if may_install(roles) else refused for name, roles in ACCOUNTS.items()
    }
    assert [may_install(roles) for roles in ACCOUNTS.values()] == [True, False, False, True]
