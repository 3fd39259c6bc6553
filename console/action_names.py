"""Outbox actions in words short enough for a narrow column: "close_duplicate" is 15 characters
and the Sync panel's 12-character Action column cut it to "close_dupli…". Plain Python."""

from __future__ import annotations

SHORT = {
    "close_duplicate": "close dupe",
    "unclose_duplicate": "unclose dupe",
    "verify_answer": "verify",
    "unverify_answer": "unverify",
    "verify_propose": "propose ans.",
    "verify_reject": "reject ans.",
    "verify_disagree": "disagree",
    "verify_calibrate": "calibrate",
    "ticket_create": "ticket",
    "dupe_unreject": "dupe unrej.",
}


def short_action(action: str) -> str:
    """`action` in words (underscores become spaces), the known long ones in 12 characters."""
    return SHORT.get(action, action.replace("_", " "))
