"""The modules that register decision kinds (`console.decisions.register`) or role-checked actions
(`console.roles.register_action`) when they are imported, loaded when first needed.

The console does not import verification, escalation or rewards before its first frame (they cost
a third of its start-up imports); a kind or an action they register must still be known whenever
it is asked for: `decisions.kind_for` and `roles.allowed` / `roles.require` call `load_all()`
before they answer "unknown". A module that registers kinds or actions at import time is listed
here (tests/test_registrations.py checks that the list is complete).
"""

from __future__ import annotations

import threading
from importlib import import_module

PROVIDERS: tuple[str, ...] = (
    "console.dupes.actions",
    "console.verify.actions",
    "console.escalate.actions",
    "console.escalate.by_hand",
    "console.rewards.actions",
    "console.member_links",  # also imported with console.members (the member view)
)

_lock = threading.Lock()
_loaded = False


def load_all() -> None:
    """Import every module that registers kinds or actions (once; cheap after that)."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if not _loaded:
            for name in PROVIDERS:
                import_module(name)
            _loaded = True
