"""Who may do what. The domain checks here before it writes anything; the UI only hides."""

from __future__ import annotations

import getpass
import os

from console.errors import PermissionRefused
from console.models import Role

MODERATION = frozenset({Role.MODERATOR, Role.ADMIN})

# action -> roles that may perform it
ACTION_ROLES: dict[str, frozenset[Role]] = {
    "claim": MODERATION,
    "close": MODERATION,
    "reopen": MODERATION,
    "hide_post": MODERATION,
    "note": MODERATION,
    "undo": MODERATION,
    "dupe_confirm": MODERATION,
    "dupe_reject": MODERATION,
    "dupe_merge": MODERATION,
    "sync": MODERATION,
    "payout_prepare": frozenset({Role.PAYOUT_PREPARER, Role.ADMIN}),
    "payout_approve": frozenset({Role.PAYOUT_APPROVER, Role.ADMIN}),
    "admin": frozenset({Role.ADMIN}),
}


def current_user() -> str:
    """The OS user name; PEERDESK_USER overrides it (tests, shared accounts)."""
    return os.environ.get("PEERDESK_USER") or getpass.getuser()


def allowed(roles: frozenset[Role], action: str) -> bool:
    needed = ACTION_ROLES.get(action)
    return bool(needed and roles & needed)


def require(actor: str, roles: frozenset[Role], action: str) -> None:
    """Raise PermissionRefused unless `roles` allow `action`."""
    if allowed(roles, action):
        return
    needed = ", ".join(sorted(r.value for r in ACTION_ROLES.get(action, frozenset())))
    held = ", ".join(sorted(r.value for r in roles)) or "none"
    raise PermissionRefused(
        f"{actor} may not {action.replace('_', ' ')}: it needs one of the roles {needed or '?'} "
        f"(you have: {held}). An admin can grant roles in the config file."
    )
