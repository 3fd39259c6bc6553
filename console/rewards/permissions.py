"""Who may do what with rewards: one table, so it can move into console.roles in one piece.

The domain checks here before it writes anything; the console only hides what a role cannot do.
Four-eyes (the preparer never approves, two approvers over the schedule's amount) is not a role
question: console.rewards.payouts enforces it on the identities themselves.
"""

from __future__ import annotations

from console.errors import PermissionRefused
from console.models import Role

PREPARE = frozenset({Role.PAYOUT_PREPARER, Role.ADMIN})
APPROVE = frozenset({Role.PAYOUT_APPROVER, Role.ADMIN})
FINANCE = PREPARE | APPROVE
STAFF = FINANCE | {Role.MODERATOR}

REWARD_ACTIONS: dict[str, frozenset[Role]] = {
    "schedule_load": frozenset({Role.ADMIN}),
    "ledger_accrue": FINANCE,
    "reward_ban": APPROVE,
    "payout_prepare": PREPARE,
    "payout_hold": FINANCE,
    "payout_release": FINANCE,
    "payout_approve": APPROVE,
    "payout_export": FINANCE,
    "payout_mark_paid": FINANCE,
    "payout_appeal": STAFF,
    "payout_appeal_decide": APPROVE,
}


def may(roles: frozenset[Role], action: str) -> bool:
    return bool(roles & REWARD_ACTIONS.get(action, frozenset()))


def require(actor: str, roles: frozenset[Role], action: str) -> None:
    if may(roles, action):
        return
    needed = ", ".join(sorted(r.value for r in REWARD_ACTIONS.get(action, frozenset())))
    held = ", ".join(sorted(r.value for r in roles)) or "none"
    raise PermissionRefused(
        f"{actor} may not {action.replace('_', ' ')}: it needs one of the roles {needed or '?'} "
        f"(you have: {held}). An admin can grant roles in the config file."
    )
