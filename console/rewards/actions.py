"""The rewards actions, in the one role table (console.roles.ACTION_ROLES).

Every change to the ledger or a payout batch is one of these; the domain functions check it with
`roles.require(who, ACTION)` and the Desk runs them through its door (one audit entry each, named
after the action). Four-eyes (the preparer never approves, two approvers over the schedule's
amount) is not a role question: console.rewards.payouts enforces it on the identities.
"""

from __future__ import annotations

from console.models import Role
from console.roles import register_action

_PREPARER, _APPROVER, _ADMIN = Role.PAYOUT_PREPARER, Role.PAYOUT_APPROVER, Role.ADMIN

SCHEDULE_LOAD = register_action("reward_schedule_load", _ADMIN)
ACCRUE = register_action("ledger_accrue", _PREPARER, _APPROVER, _ADMIN)
BAN = register_action("reward_ban", _APPROVER, _ADMIN)
PREPARE = register_action("payout_prepare", _PREPARER, _ADMIN)
HOLD = register_action("payout_hold", _PREPARER, _APPROVER, _ADMIN)
RELEASE = register_action("payout_release", _PREPARER, _APPROVER, _ADMIN)
APPROVE = register_action("payout_approve", _APPROVER, _ADMIN)
EXPORT = register_action("payout_export", _PREPARER, _APPROVER, _ADMIN)
MARK_PAID = register_action("payout_mark_paid", _PREPARER, _APPROVER, _ADMIN)
APPEAL = register_action("payout_appeal", Role.MODERATOR, _PREPARER, _APPROVER, _ADMIN)
APPEAL_DECIDE = register_action("payout_appeal_decide", _APPROVER, _ADMIN)

REWARD_ACTIONS = (
    SCHEDULE_LOAD,
    ACCRUE,
    BAN,
    PREPARE,
    HOLD,
    RELEASE,
    APPROVE,
    EXPORT,
    MARK_PAID,
    APPEAL,
    APPEAL_DECIDE,
)
