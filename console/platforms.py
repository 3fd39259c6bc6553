"""What each kind of platform can receive from the outbox.

An action a platform cannot receive is still recorded, as a `local_only` outbox item with the
reason, so the moderator sees that it stayed in peerdesk.
"""

from __future__ import annotations

PUSHABLE: dict[str, frozenset[str]] = {
    "discourse": frozenset(
        {
            "close",
            "reopen",
            "hide_post",
            "unhide_post",
            "reply",
            "accept",
            "unaccept",
            "flag",
            "review",
            "close_duplicate",
            "unclose_duplicate",
            "verify_answer",
            "unverify_answer",
        }
    ),
    "demo": frozenset(
        {
            "close",
            "reopen",
            "hide_post",
            "unhide_post",
            "reply",
            "accept",
            "unaccept",
            "flag",
            "close_duplicate",
            "unclose_duplicate",
            "verify_answer",
            "unverify_answer",
        }
    ),
    "zendesk": frozenset({"ticket_create"}),  # escalations handed to support (sync/zendesk.py)
    "webhook": frozenset({"ticket_create"}),  # escalations sent to any system (sync/webhook.py)
    "stackexchange": frozenset(),
    "jsonl": frozenset(),
}

LOCAL_REASONS: dict[str, str] = {
    "stackexchange": "the Stack Exchange API offers no write access for moderation actions; "
    "kept in peerdesk only",
    "jsonl": "imported from a file: there is no platform to send it to; kept in peerdesk only",
}

INTERNAL_ACTIONS = frozenset(
    {
        "note",
        "unnote",
        "dupe_reject",
        "dupe_unreject",
        # answer verification (console.verify.actions): kept in peerdesk only
        "verify_propose",
        "verify_reject",
        "verify_disagree",
        "verify_calibrate",
        "verify_undo",
    }
    | {"escalation"}  # escalation state changes (console/escalate/actions.py)
    | {"member_link", "member_unlink"}  # which accounts are one person (console/member_links.py)
)


def push_state(kind: str, action: str) -> tuple[str, str | None]:
    """The outbox state ('pending' or 'local_only') and reason for `action` on `kind`."""
    if action in INTERNAL_ACTIONS:
        return "local_only", "internal to peerdesk: never sent to the platform"
    if action in PUSHABLE.get(kind, frozenset()):
        return "pending", None
    reason = LOCAL_REASONS.get(kind, f"the {kind} platform cannot receive '{action}'")
    return "local_only", reason
