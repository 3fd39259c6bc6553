"""The header's outbox state in words ("offline, 3 actions waiting"), read from the cache.

Read by the console after every decision in the same hold of the Desk's connection as the
decision itself (console.screens.base), so the header changes in the frame that says the
decision was saved, and no second read queues for the connection ahead of the Queue's reload.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.words import counted

if TYPE_CHECKING:
    from console.desk import Desk


def _actions(count: int) -> str:
    return f"{count} action{'s' if count != 1 else ''} waiting"


def outbox_text(desk: Desk) -> tuple[str, bool]:
    """The header's outbox state ("offline, 3 actions waiting") and whether it needs attention.

    Uses the sync layer's summary (offline, conflicts, errors) when sync is installed.
    """
    try:
        from sync.status import summary
    except ImportError:
        waiting = desk.waiting_actions()
        return (_actions(waiting) if waiting else "nothing waiting"), waiting > 0
    state = summary(desk.cache)
    text = _actions(state.waiting) if state.waiting else "nothing waiting"
    if state.offline:
        text = f"offline, {text}"
    if state.conflicts:
        text += f", {counted(state.conflicts, 'conflict')}"
    if state.errors:
        text += f", {counted(state.errors, 'sync error')}"
    return text, bool(state.offline or state.conflicts or state.errors)
