"""Who may do what. The domain checks here before it writes or exports anything; the UI hides.

Every action that changes or exports something has a name in ACTION_ROLES. A feature adds its
own with `register_action("escalate", Role.MODERATOR, Role.ADMIN)` at import time and checks it
with `require(who, "escalate")` (or goes through `console.door.Door`, which does). `who` is an
`Identity` from `console.identity.establish`; its roles were looked up there, never passed in.
"""

from __future__ import annotations

from console.errors import PermissionRefused
from console.identity import Identity, is_established, roles_of
from console.models import Role

MODERATION = frozenset({Role.MODERATOR, Role.ADMIN})
ADMIN_ONLY = frozenset({Role.ADMIN})

# action -> roles that may perform it
ACTION_ROLES: dict[str, frozenset[Role]] = {
    "claim": MODERATION,
    "release": MODERATION,
    "close": MODERATION,
    "reopen": MODERATION,
    "hide_post": MODERATION,
    "note": MODERATION,
    "undo": MODERATION,
    "dupe_confirm": MODERATION,
    "dupe_reject": MODERATION,
    "dupe_merge": MODERATION,
    "dupes_rebuild": MODERATION,
    # known before console.escalate loads: the Queue's and Thread's `!` asks at start
    "esc_raise": MODERATION,
    "sync": MODERATION,
    "push": MODERATION,
    "outbox_retry": MODERATION,
    "outbox_dismiss": MODERATION,
    "export": MODERATION,  # the whole cache: every member's personal data
    "import": ADMIN_ONLY,
    "source_add": ADMIN_ONLY,
    "source_remove": ADMIN_ONLY,
    "demo_build": ADMIN_ONLY,
    "payout_prepare": frozenset({Role.PAYOUT_PREPARER, Role.ADMIN}),
    "payout_approve": frozenset({Role.PAYOUT_APPROVER, Role.ADMIN}),
    "admin": ADMIN_ONLY,
}


def register_action(name: str, *roles: Role) -> str:
    """Add a role-checked action (at import time); returns its name. Re-registering must agree."""
    wanted = frozenset(roles)
    if not wanted:
        raise ValueError(f"action {name!r} needs at least one role")
    known = ACTION_ROLES.get(name)
    if known is not None and known != wanted:
        raise ValueError(f"action {name!r} is already registered with other roles")
    ACTION_ROLES[name] = wanted
    return name


def roles_for(action: str) -> frozenset[Role]:
    """The roles that may do `action` (none if no module registers it). The modules that register
    actions are imported first if it is not known yet (console.registrations)."""
    needed = ACTION_ROLES.get(action)
    if needed is None:
        from console import registrations

        registrations.load_all()
        needed = ACTION_ROLES.get(action)
    return needed or frozenset()


def allowed(who: Identity, action: str) -> bool:
    needed = roles_for(action)
    return bool(needed and roles_of(who) & needed)


def require(who: Identity, action: str) -> None:
    """Raise PermissionRefused unless `who` (an established identity) may do `action`."""
    if not is_established(who):
        raise PermissionRefused(
            f"{action.replace('_', ' ')} refused: the identity was not established by peerdesk "
            "(console.identity.establish); roles cannot be passed in"
        )
    if allowed(who, action):
        return
    needed = ", ".join(sorted(r.value for r in roles_for(action)))
    held = ", ".join(sorted(r.value for r in roles_of(who))) or "none"
    raise PermissionRefused(
        f"{who.name} may not {action.replace('_', ' ')}: it needs one of the roles "
        f"{needed or '?'} (you have: {held}; roles come from {who.roles_from}). "
        "An admin can grant roles in the system roles file."
    )
