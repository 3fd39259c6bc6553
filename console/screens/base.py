"""What every screen that works on the cache shares: access to the Desk, decisions, roles.

Blocking Desk calls run in thread workers; `DeskHost.call_desk` holds one lock around them, so
the single SQLite connection is never used by two threads at once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, ClassVar, Protocol, TypeVar, cast

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from console.batch_preview import BatchPreview
from console.bindings import BY_ID, role_table
from console.claims import local_hhmm
from console.decisions import acting_from
from console.desk import Desk
from console.errors import PeerdeskError
from console.messages import (
    Decision,
    DecisionMade,
    DecisionRefused,
    DecisionSaved,
    OutboxStatus,
    RefreshRequested,
    UndoPreviewed,
    WorkFailed,
)
from console.outbox_line import outbox_text
from console.safe_text import printable
from console.screens.confirm import ConfirmScreen
from widgets.status_bar import StatusBar

T = TypeVar("T")

NOUNS = {"close": "Close", "reopen": "Reopen", "hide_post": "Hide as spam"}
# A decision's result is drawn in the status line before the screen reloads (see
# DeskScreen.reload_after_said); if that line is not drawn within this many seconds (its screen
# covered, the same words said twice), the reload starts anyway.
RELOAD_AT_THE_LATEST = 0.15


class BatchPreviewed(Message):
    """What a batch decision will touch, read before asking to confirm it."""

    def __init__(self, decision: Decision, preview: BatchPreview, what: str) -> None:
        super().__init__()
        self.decision = decision
        self.preview = preview
        self.what = what


def batch_items(preview: BatchPreview) -> Text:
    """One line per item a batch touches, where it goes before what it is (a long title is cut,
    never the destination): "#12     open      → forum  PAC code never arrived"."""
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    for index, item in enumerate(preview.items):
        if index:
            text.append("\n")
        post = item.post_author is not None and item.target_id != item.thread_id
        if post:
            text.append(f"post {item.target_id} ", style="bold")
        else:
            text.append(f"#{item.thread_id:<6} ", style="bold")
            text.append(f"{item.status:<9} ")
        text.append(f"→ {printable(item.source, single_line=True)}", style="dim")
        if not item.sent:
            text.append(" (kept in peerdesk)", style="dim")
        text.append("  ")
        if post:
            author = printable(item.post_author or "", single_line=True)
            text.append(f"by {author} in #{item.thread_id}: ")
            text.append(printable(item.post_start or "", single_line=True), style="dim")
        else:
            text.append(printable(item.title, single_line=True))
    return text


class DeskHost(Protocol):
    desk: Desk
    unsaved_notes: dict[int, str]  # thread -> the text of a note the cache refused

    def call_desk(self, fn: Callable[[Desk], T]) -> T: ...

    def refresh_outbox(self) -> None: ...

    def worker_failed(self, worker: Worker[object]) -> str: ...

    def show_panel(self, name: str, about: Hashable | None = None) -> None: ...


def perform(desk: Desk, decision: Decision) -> str:
    """Carry out one decision through the Desk; returns what to tell the moderator."""
    ids = list(decision.target_ids)
    action = decision.action
    if action == "claim":
        claim = desk.claim(ids[0])
        return f"You hold thread {claim.thread_id} until {local_hhmm(claim.expires_at)}"
    if action == "release":
        released = desk.release(ids[0])
        return f"Released thread {ids[0]}" if released else f"You held no claim on {ids[0]}"
    if action == "close":
        result = desk.close(ids, reason=str(decision.params.get("reason", "")))
    elif action == "reopen":
        result = desk.reopen(ids)
    elif action == "hide_post":
        result = desk.hide_posts(ids, reason=str(decision.params.get("reason", "spam")))
    elif action == "note":
        result = desk.add_note(ids[0], str(decision.params.get("body", "")))
    elif action == "esc_raise":
        desk.escalations.raise_thread(ids[0], str(decision.params.get("reason", "")))
        return f"Thread {ids[0]} escalated: E shows it, u undoes it"
    elif action == "undo":
        expect = decision.params.get("expect_batch")
        return desk.undo(expect_batch=None if expect is None else int(expect)).message.capitalize()
    else:
        raise PeerdeskError(f"Unknown action {action!r}")
    return f"{result.message.capitalize()} (u undoes it)"


class DeskScreen(Screen[None]):
    """A screen over the Desk: it asks for decisions and reloads after them.

    `ROLE_OF_ACTION` (screen action -> the domain action whose roles it needs) is derived from
    the screen's bindings and the one table of console.bindings; keys the role cannot use are
    hidden (the domain refuses them anyway)."""

    ROLE_OF_ACTION: ClassVar[dict[str, str]] = {}

    # A full screen is opaque and its widgets cover it (app.tcss): its own lines are drawn as
    # blank lines of its background, not through Textual's styles cache (24 lines of 80 cells
    # drawn anew after every push, ~0.8 ms of opening a thread, then hidden by the widgets).
    BLANK: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.ROLE_OF_ACTION = role_table(
            *{BY_ID[b.id].scope for b in cls.BINDINGS if isinstance(b, Binding) and b.id in BY_ID}
        )

    _own_batch: int | None = None  # the batch this screen's last decision made (undo asks if not)

    @property
    def origin(self) -> str:
        """Where this screen's decisions come from, as recorded on their batch."""
        return f"console: {type(self).__name__.removesuffix('Screen')}"

    def call_desk_acting(self, fn: Callable[[Desk], T]) -> tuple[T, int | None]:
        """`host.call_desk(fn)` recording this screen as the decisions' origin; also returns the
        last batch they made (worker threads only)."""
        with acting_from(self.origin) as acting:
            value = self.host.call_desk(fn)
        return value, (acting.batch_ids[-1] if acting.batch_ids else None)

    def deciding(self, decision: Decision, fn: Callable[[Desk], object]) -> Message:
        """Carry out `decision` with `fn(desk)` (what to tell the moderator) and read the
        header's outbox state in the same hold of the connection: a DecisionSaved carrying both,
        or DecisionRefused (worker threads only). A second read for the header would otherwise
        queue for the connection ahead of the screen's reload after the decision."""
        try:
            (text, outbox), batch_id = self.call_desk_acting(
                lambda desk: (fn(desk), outbox_text(desk))
            )
        except PeerdeskError as error:
            return DecisionRefused(decision, str(error))
        return DecisionSaved(decision, str(text), batch_id, outbox)

    @property
    def host(self) -> DeskHost:
        return cast(DeskHost, self.app)

    @property
    def desk(self) -> Desk:
        return self.host.desk

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """One door for a screen's keys: none acts before the screen is mounted (a key typed
        right after a screen's first push reached it before its widgets existed, and its query
        crashed the console), then what `allows` says. Screens override `allows`."""
        if not self.is_mounted:
            return False
        return self.allows(action, parameters)

    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what the role cannot do; the Desk refuses it anyway."""
        role_action = self.ROLE_OF_ACTION.get(action)
        return role_action is None or self.desk.can(role_action)

    # ---- decisions ----
    def decide(
        self, action: str, ids: list[int], *, what: str = "thread", **params: object
    ) -> None:
        """Ask for `action` on `ids`; more than one target needs a confirmation with the count."""
        decision = Decision(action, tuple(dict.fromkeys(ids)), dict(params))
        count = len(decision.target_ids)
        if count == 0:
            self.notify("Nothing to act on", severity="warning", markup=False)
            return
        if count == 1:
            self.post_message(DecisionMade(decision))
            return
        self.preview_batch(decision, what)

    @work(thread=True, exit_on_error=False, group="decision")
    def preview_batch(self, decision: Decision, what: str) -> None:
        """Read what a batch will touch, for its confirmation."""
        action, ids = decision.action, list(decision.target_ids)
        preview = self.host.call_desk(lambda desk: desk.batch_preview(action, ids))
        self.post_message(BatchPreviewed(decision, preview, what))

    @on(BatchPreviewed)
    def _on_batch_previewed(self, message: BatchPreviewed) -> None:
        message.stop()
        decision, preview = message.decision, message.preview
        count = len(preview.items)
        question = f"{NOUNS.get(decision.action, decision.action)} {count} {message.what}s?"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.post_message(DecisionMade(decision))

        dialog = ConfirmScreen(
            question,
            count,
            f"One batch: one `u` takes all {count} back. Enter or n: no, y: yes.",
            destinations=preview.destinations(),
            items=batch_items(preview),
        )
        self.app.push_screen(dialog, confirmed)

    @on(Worker.StateChanged)
    def _on_worker_state(self, event: Worker.StateChanged) -> None:
        """A worker of this screen died: the app says why; the screen may tidy up."""
        if event.state == WorkerState.ERROR:
            text = self.host.worker_failed(event.worker)
            self.post_message(WorkFailed(event.worker.group, text))

    @on(DecisionMade)
    def _on_decision_made(self, message: DecisionMade) -> None:
        message.stop()
        if message.decision.action == "undo" and "expect_batch" not in message.decision.params:
            self.preview_undo(message.decision)
            return
        self.save_decision(message.decision)

    @work(thread=True, exit_on_error=False, group="decision")
    def save_decision(self, decision: Decision) -> None:
        # Not exclusive: a later decision must never cancel an earlier one.
        self.post_message(self.deciding(decision, lambda desk: perform(desk, decision)))

    # ---- undo: see what it takes back; ask unless it is this screen's own unsent decision ----
    @work(thread=True, exit_on_error=False, group="decision")
    def preview_undo(self, decision: Decision) -> None:
        try:
            preview = self.host.call_desk(lambda desk: desk.undo_preview())
        except PeerdeskError as error:
            self.post_message(DecisionRefused(decision, str(error)))
            return
        if not preview.blocked and preview.why_ask(self._own_batch) is None:
            # this screen's own unsent decision: undone in this worker, not a second one after
            # a round trip through the UI thread (`u` answered a few milliseconds sooner)
            undo = Decision("undo", (), {"expect_batch": preview.batch_id})
            self.post_message(self.deciding(undo, lambda desk: perform(desk, undo)))
            return
        self.post_message(UndoPreviewed(preview))

    @on(UndoPreviewed)
    def _on_undo_previewed(self, message: UndoPreviewed) -> None:
        preview = message.preview
        undo = Decision("undo", (), {"expect_batch": preview.batch_id})
        if preview.blocked:
            self.post_message(DecisionRefused(undo, preview.refusal()))
            return
        why = preview.why_ask(self._own_batch)
        if why is None:
            self.save_decision(undo)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.save_decision(undo)

        detail = f"Undo {preview.describe()}.\n{why}"
        self.app.push_screen(ConfirmScreen("Undo this?", len(preview.items), detail), confirmed)

    @on(DecisionSaved)
    def _on_decision_saved(self, message: DecisionSaved) -> None:
        is_undo = message.decision.action == "undo"
        if is_undo or message.batch_id is not None:
            self._own_batch = None if is_undo else message.batch_id
        self.notify(message.text, title="Saved", markup=False)
        if message.outbox is not None:  # read with the decision: drawn in the same frame
            self.app.post_message(OutboxStatus(*message.outbox))
        else:
            self.host.refresh_outbox()
        self.after_decision(message.decision)

    @on(DecisionRefused)
    def _on_decision_refused(self, message: DecisionRefused) -> None:
        reason, decision = message.reason, message.decision
        if decision.action == "note" and decision.target_ids:
            # what the moderator typed is not lost with the write (a locked or full cache)
            thread_id = decision.target_ids[0]
            self.host.unsaved_notes[thread_id] = str(decision.params.get("body", ""))
            reason += f" Your note is kept: n on thread {thread_id} brings it back."
        self.notify(reason, title="Not done", severity="error", timeout=8, markup=False)
        self.post_message(RefreshRequested())

    def ask_note(self, thread_id: int) -> None:
        """The note prompt for `thread_id`, holding the note the cache refused last, if any."""
        from console.screens.note import NoteScreen

        def save(text: str | None) -> None:
            if text:
                self.decide("note", [thread_id], body=text)

        kept = self.host.unsaved_notes.pop(thread_id, "")
        self.app.push_screen(NoteScreen(thread_id, kept), save)

    def refresh_after_paint(self, message: Message | None = None) -> None:
        """Post `message` (RefreshRequested) once the screen as it is has been painted: on a
        return to a kept screen, the frame that shows it again is drawn before the reload's
        workers start (at a million threads they would hold a core and the GIL while it waits)."""
        wanted = RefreshRequested() if message is None else message
        self.call_after_refresh(self.post_message, wanted)

    def escalate(self, thread_id: int) -> None:
        """Ask why, then escalate the thread by hand (console.escalate.by_hand)."""
        from console.screens.prompt import PromptScreen

        def answered(reason: str | None) -> None:
            if reason:
                self.decide("esc_raise", [thread_id], reason=reason)

        title = f"Escalate thread {thread_id} to support: why?"
        hint = "what the rules missed (a legal threat, an angry customer)"
        self.app.push_screen(PromptScreen(title, hint), answered)

    def after_decision(self, decision: Decision) -> None:
        """Reload after a saved decision, once its result is on the screen."""
        self.reload_after_said()

    _reload_wanted: object | None = None  # the reload that will run (a newer one replaces it)

    def reload_after_said(self) -> None:
        """Reload (RefreshRequested) once the status line has been drawn with the result just
        said: the key's frame first, then the reload's reads and its redraw. Started at once, the
        reload's worker and its result's handling went ahead of that frame (`c` in the Queue at a
        million threads: the result drawn after the Queue's page was read and re-rowed, 8-13 ms
        after the decision was saved instead of 1-2). At the latest after RELOAD_AT_THE_LATEST."""
        said_in = (b for b in self.query(StatusBar) if b.message_attribute and b.display)
        bar = next(said_in, None) if self.is_current else None
        if bar is None:
            self.post_message(RefreshRequested())
            return
        wanted = self._reload_wanted = object()

        def reload() -> None:
            if self._reload_wanted is wanted:
                self._reload_wanted = None
                self.post_message(RefreshRequested())

        bar.after_drawn(reload)
        self.set_timer(RELOAD_AT_THE_LATEST, reload)
