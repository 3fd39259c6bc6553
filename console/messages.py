"""The console's named message flow.

    QueueRequested  → (worker: Desk.queue_count + Desk.queue) → QueueLoaded
    LazyTable.PageWanted → (worker: Desk.queue)               → PageLoaded
    ThreadRequested → (worker: Desk.thread)                   → ThreadLoaded
    DecisionMade    → (worker: Desk.claim/close/...)          → DecisionSaved | DecisionRefused
    DecisionMade(undo) → (worker: Desk.undo_preview) → UndoPreviewed → (ask unless it is this
                      screen's own unsent decision) → DecisionMade(undo, expect_batch) → ...
    RefreshRequested (the `r` key and a periodic timer)       → QueueRequested / ThreadRequested
    OutboxStatus    (worker: Desk.waiting_actions, sync status) → the header
    WorkFailed      (a worker died: the app has told the user; the screen may tidy up)
    Said            (any `notify`: the status line and the log (L); errors also as a toast)

Workers post these from their threads; only handlers on the UI thread change widgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from console.decisions import UndoPreview
from console.desk import QueueFilter
from console.models import QueueItem, ThreadView


class QueueRequested(Message):
    def __init__(self, *, keep_cursor: bool = False) -> None:
        super().__init__()
        self.keep_cursor = keep_cursor


class QueueLoaded(Message):
    def __init__(
        self,
        request_id: int,
        flt: QueueFilter,
        total: int,
        offset: int,
        items: list[QueueItem],
        *,
        keep_cursor: bool = False,
    ) -> None:
        super().__init__()
        self.request_id = request_id
        self.keep_cursor = keep_cursor
        self.flt = flt
        self.total = total
        self.offset = offset
        self.items = items


class PageLoaded(Message):
    def __init__(self, generation: int, offset: int, items: list[QueueItem]) -> None:
        super().__init__()
        self.generation = generation
        self.offset = offset
        self.items = items


class SelectionLoaded(Message):
    """Threads to add to the selection (e.g. every open thread by one author)."""

    def __init__(self, thread_ids: list[int], why: str) -> None:
        super().__init__()
        self.thread_ids = thread_ids
        self.why = why


class ThreadRequested(Message):
    def __init__(self, thread_id: int) -> None:
        super().__init__()
        self.thread_id = thread_id


class ThreadLoaded(Message):
    def __init__(self, view: ThreadView) -> None:
        super().__init__()
        self.view = view


@dataclass(frozen=True)
class Decision:
    """What the moderator asked for: an action, its targets and parameters."""

    action: str  # claim | release | close | reopen | hide_post | note | undo
    target_ids: tuple[int, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


class DecisionMade(Message):
    def __init__(self, decision: Decision) -> None:
        super().__init__()
        self.decision = decision


class DecisionSaved(Message):
    def __init__(
        self,
        decision: Decision,
        text: str,
        batch_id: int | None = None,
        outbox: tuple[str, bool] | None = None,
    ) -> None:
        super().__init__()
        self.decision = decision
        self.text = text
        self.batch_id = batch_id  # the batch the decision made, if it made one
        self.outbox = outbox  # the header's outbox state read right after it (outbox_line)


class UndoPreviewed(Message):
    """`u` was pressed: what undo would take back (the screen decides whether to ask first)."""

    def __init__(self, preview: UndoPreview) -> None:
        super().__init__()
        self.preview = preview


class DecisionRefused(Message):
    def __init__(self, decision: Decision, reason: str) -> None:
        super().__init__()
        self.decision = decision
        self.reason = reason


class RefreshRequested(Message):
    """Reload what the screen shows (key `r`, the periodic timer, another screen's decision)."""


class OutboxStatus(Message):
    def __init__(self, text: str, warning: bool) -> None:
        super().__init__()
        self.text = text
        self.warning = warning


class WorkFailed(Message):
    def __init__(self, group: str, error: str) -> None:
        super().__init__()
        self.group = group
        self.error = error


class Said(Message):
    """A result or an error for the moderator: shown in the status line, kept in the log."""

    def __init__(self, text: str, severity: str = "information", title: str = "") -> None:
        super().__init__()
        self.text = text
        self.severity = severity
        self.title = title
