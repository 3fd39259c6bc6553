"""The Sync panel: the platforms, their last sync, a running sync, the outbox, conflicts, errors.

Working offline is normal: the panel says so calmly and shows what waits for the next push.

    SyncRequested → (worker: Desk.sync_summary + outbox + sync_errors) → SyncLoaded
    s / S / enter → (worker: Desk.run_sync, progress per page) → SyncProgress* → SyncDone
    p             → (worker: Desk.run_push)                     → SyncProgress* → SyncDone
    R / d         → (worker: Desk.retry_outbox / dismiss_outbox) → OutboxChanged
    SyncDone / OutboxChanged → SyncRequested + the app's outbox status in the title bar

A sync or push uses a connection of its own (see Desk.run_sync), so it does not hold the lock
the other screens' workers use: the whole console stays usable while it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import ContentSwitcher, ProgressBar, Static

from console.action_names import short_action
from console.errors import PeerdeskError
from console.messages import RefreshRequested, WorkFailed
from console.models import OutboxItem
from console.safe_text import printable
from console.screens.keys import bindings
from console.screens.panel import PanelScreen
from widgets.lazy_table import Column, LazyTable, Row

OPEN_STATES = ("pending", "sending", "conflict", "rejected")
SETTLED_STATES = ("applied", "local_only")
NEEDS_HUMAN = ("conflict", "rejected")

SOURCE_COLUMNS = (
    Column("Source", 14),
    Column("Kind", 13),
    Column("Last sync UTC", 16),
    Column("Result", 8),
    Column("Message"),
)
OUTBOX_COLUMNS = (
    Column("#", 5, "right"),
    Column("Action", 12),
    Column("Target", 13),
    Column("State", 10),
    Column("Try", 3, "right"),
    Column("Last error"),
)
CONFLICT_COLUMNS = (
    Column("#", 5, "right"),
    Column("Source", 10),
    Column("Action", 12),
    Column("State", 9),
    Column("Platform's message"),
)
ERROR_COLUMNS = (
    Column("Source", 10),
    Column("Endpoint", 20),
    Column("Field", 10),
    Column("Message"),
)
TABS = (("outbox", "Outbox"), ("conflicts", "Conflicts"), ("errors", "Errors"))


def line(text: str | None) -> str:
    return printable(text or "", single_line=True)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# ---- messages of this panel ----
class SyncRequested(Message):
    """Reload the sources, the outbox, conflicts and errors."""


@dataclass(frozen=True)
class SyncData:
    offline: bool | None
    waiting: int
    sources: list[object]  # sync.status.SourceStatus
    outbox: list[OutboxItem]
    needs_human: list[OutboxItem]
    errors: list[object]  # sync.status.SyncErrorRow


class SyncLoaded(Message):
    def __init__(self, data: SyncData) -> None:
        super().__init__()
        self.data = data


class SyncProgress(Message):
    """One page of a running sync (or one source of a push). Floods merge: only the newest
    waiting one is handled."""

    def __init__(self, source: str, label: str, done: int, total: int | None) -> None:
        super().__init__()
        self.source = source
        self.label = label
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncProgress)


@dataclass(frozen=True)
class SyncOutcome:
    what: str  # "sync" | "push"
    lines: list[str] = field(default_factory=list)
    offline: bool = False
    trouble: bool = False  # something failed (not offline): shown as a warning


class SyncDone(Message):
    def __init__(self, outcome: SyncOutcome) -> None:
        super().__init__()
        self.outcome = outcome


class OutboxChanged(Message):
    def __init__(self, text: str, changed: bool) -> None:
        super().__init__()
        self.text = text
        self.changed = changed


# ---- rows ----
def source_row(status: object) -> Row:
    s = status  # SourceStatus
    result = getattr(s, "result", None) or "never"
    last = getattr(s, "last_sync_at", None)
    tone = "alert" if result in ("failed", "errors") else ("dim" if result == "never" else "")
    return Row(
        key=getattr(s, "name", ""),
        cells=(
            line(getattr(s, "name", "")),
            line(getattr(s, "kind", "")),
            (last or "-").replace("T", " ").removesuffix("Z")[:16],
            result,
            line(getattr(s, "message", "")),
        ),
        tone=tone,  # type: ignore[arg-type]
    )


def target(item: OutboxItem) -> str:
    return (
        f"{item.target_kind} {item.target_id}" if item.target_id is not None else item.target_kind
    )


def outbox_row(item: OutboxItem) -> Row:
    tone = "alert" if item.state in NEEDS_HUMAN else ("dim" if item.state in SETTLED_STATES else "")
    return Row(
        key=item.outbox_id,
        cells=(
            str(item.outbox_id),
            line(short_action(item.action)),
            line(target(item)),
            item.state,
            str(item.attempts),
            line(item.last_error),
        ),
        tone=tone,  # type: ignore[arg-type]
    )


def conflict_row(item: OutboxItem) -> Row:
    return Row(
        key=item.outbox_id,
        cells=(
            str(item.outbox_id),
            line(item.source),
            line(short_action(item.action)),
            item.state,
            line(item.last_error) or "(no message from the platform)",
        ),
        tone="alert",
    )


def error_row(error: object) -> Row:
    return Row(
        key=getattr(error, "error_id", 0),
        cells=(
            line(getattr(error, "source", None) or "-"),
            line(getattr(error, "endpoint", "")),
            line(getattr(error, "field", None) or "-"),
            line(getattr(error, "message", "")),
        ),
    )


def detail(item: OutboxItem | None) -> Text:
    """The chosen outbox item in full: the platform's message is never cut or parsed."""
    if item is None:
        return Text("")
    text = Text()
    text.append(f"#{item.outbox_id} {line(item.action)} {line(target(item))}", style="bold")
    text.append(f" · {line(item.source)} · {item.state} · {plural(item.attempts, 'attempt')}")
    if item.last_error:
        text.append("\n")
        text.append(printable(item.last_error))
    if item.state in NEEDS_HUMAN:
        text.append("\nR sends it again on the next push · d gives up on it", style="dim")
    return text


def offline_text(waiting: int) -> str:
    return (
        f"offline — {plural(waiting, 'action')} waiting; they will be sent on the next push"
        if waiting
        else "offline — nothing waiting; your decisions will wait in the outbox"
    )


class SyncTable(LazyTable):
    """A small table of this panel: every row loaded at once, no selection."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("sync.table")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "toggle_selection"


class SyncScreen(PanelScreen):
    HELP_TITLE = "Sync"
    STATUS_ID = "sync-status"

    BINDINGS: ClassVar[list[BindingType]] = bindings("sync")

    def __init__(self) -> None:
        super().__init__()
        self.tab = "outbox"
        self.running = ""  # "sync" | "push" while a worker runs
        self.items: dict[int, OutboxItem] = {}
        self.data: SyncData | None = None
        self.last_outcome: SyncOutcome | None = None

    # ---- layout ----
    def compose_body(self) -> ComposeResult:
        yield SyncTable(
            SOURCE_COLUMNS,
            empty_text="No sources: add one with `peerdesk source add`.",
            id="sync-sources",
        )
        with Horizontal(id="sync-run"):
            yield Static("", id="sync-state", markup=False)
            yield ProgressBar(total=None, show_eta=False, id="sync-progress")
        yield Static("", id="sync-offline", markup=False)
        yield Static("", id="sync-tabs", markup=False)
        with ContentSwitcher(initial="sync-outbox", id="sync-lists"):
            yield SyncTable(OUTBOX_COLUMNS, empty_text="The outbox is empty.", id="sync-outbox")
            yield SyncTable(
                CONFLICT_COLUMNS,
                empty_text="No conflicts: the platforms accepted everything sent.",
                id="sync-conflicts",
            )
            yield SyncTable(
                ERROR_COLUMNS, empty_text="The last syncs read everything.", id="sync-errors"
            )
        yield Static("", id="sync-detail", markup=False)

    def table(self, name: str) -> LazyTable:
        return self.query_one(f"#sync-{name}", LazyTable)

    def on_mount(self) -> None:
        self.query_one("#sync-progress", ProgressBar).display = False
        self.query_one("#sync-offline", Static).display = False
        self.table("sources").focus()
        self._show_tabs()
        self._show_state()
        self.post_message(SyncRequested())

    def on_screen_resume(self) -> None:
        self.refresh_after_paint(SyncRequested())

    # ---- loading ----
    @on(SyncRequested)
    def _on_requested(self, message: SyncRequested) -> None:
        message.stop()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="sync-load")
    def load(self) -> None:
        def read(desk):  # type: ignore[no-untyped-def]
            summary = desk.sync_summary()
            return SyncData(
                offline=summary.offline,
                waiting=summary.waiting,
                sources=list(summary.sources),
                outbox=desk.outbox(OPEN_STATES) + desk.outbox(SETTLED_STATES, 200),
                needs_human=desk.outbox(NEEDS_HUMAN),
                errors=desk.sync_errors(200),
            )

        self.post_message(SyncLoaded(self.host.call_desk(read)))

    @on(SyncLoaded)
    def _on_loaded(self, message: SyncLoaded) -> None:
        message.stop()
        data = message.data
        if data == self.data:
            return  # nothing changed since the last visit: the screen stays as it is
        self.data = data
        outbox = sorted(data.outbox, key=lambda i: i.outbox_id)
        self.items = {i.outbox_id: i for i in outbox}
        self._fill("sources", [source_row(s) for s in data.sources])
        self._fill("outbox", [outbox_row(i) for i in outbox])
        self._fill("conflicts", [conflict_row(i) for i in data.needs_human])
        self._fill("errors", [error_row(e) for e in data.errors])
        offline = self.query_one("#sync-offline", Static)
        offline.display = bool(data.offline)
        offline.update(Text(offline_text(data.waiting)))
        self._show_tabs()
        self._show_state()
        self._show_detail()

    def _fill(self, name: str, rows: Sequence[Row]) -> None:
        self.table(name).reset(len(rows), list(rows), keep_cursor=True)

    def _show_tabs(self) -> None:
        data = self.data
        counts = {
            "outbox": data.waiting if data else 0,
            "conflicts": len(data.needs_human) if data else 0,
            "errors": len(data.errors) if data else 0,
        }
        text = Text(no_wrap=True, overflow="ellipsis")
        for index, (name, title) in enumerate(TABS, start=1):
            label = f" {index} {title}"
            label += f" ({counts[name]} waiting) " if name == "outbox" else f" ({counts[name]}) "
            style = "reverse bold" if name == self.tab else ""
            text.append(label, style=style)
            text.append(" ")
        self.query_one("#sync-tabs", Static).update(text)

    def _show_state(self) -> None:
        state = self.query_one("#sync-state", Static)
        data = self.data
        self.set_status(
            "Sync · "
            + (
                plural(len(data.sources), "source") + f" · {data.waiting} waiting"
                if data
                else "loading…"
            )
        )
        if self.running:
            return
        outcome = self.last_outcome
        if outcome is None:
            state.update(Text("s syncs every source · S one source · p sends the outbox", "dim"))
            return
        style = "" if outcome.offline or not outcome.trouble else "bold"
        state.update(Text(" · ".join(outcome.lines) or "done", style=style))
        state.set_class(outcome.trouble and not outcome.offline, "-trouble")

    def _show_detail(self) -> None:
        item: OutboxItem | None = None
        if self.tab in ("outbox", "conflicts"):
            key = self.table(self.tab).current_key
            item = self.items.get(key) if isinstance(key, int) else None
            if item is None and self.data and isinstance(key, int):
                item = next((i for i in self.data.needs_human if i.outbox_id == key), None)
        panel = self.query_one("#sync-detail", Static)
        panel.display = item is not None
        panel.update(detail(item))

    @on(LazyTable.CursorMoved)
    def _on_cursor(self, message: LazyTable.CursorMoved) -> None:
        message.stop()
        self._show_detail()

    # ---- running a sync or push ----
    def _start(self, what: str, label: str) -> bool:
        if self.running:
            self.notify(
                f"A {self.running} is running already; wait for it to finish",
                severity="warning",
                markup=False,
            )
            return False
        self.running = what
        bar = self.query_one("#sync-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.query_one("#sync-state", Static).update(Text(label))
        self.query_one("#sync-state", Static).set_class(False, "-trouble")
        return True

    def action_sync_all(self) -> None:
        if self._start("sync", "Syncing every source…"):
            self.run_sync(None)

    def action_sync_selected(self) -> None:
        key = self.table("sources").current_key
        if not isinstance(key, str) or not key:
            self.notify("No source is chosen", severity="warning", markup=False)
            return
        if self._start("sync", f"Syncing {line(key)}…"):
            self.run_sync(key)

    @on(LazyTable.RowActivated, "#sync-sources")
    def _on_source_activated(self, message: LazyTable.RowActivated) -> None:
        message.stop()
        if self.check_action("sync_selected", ()):
            self.action_sync_selected()

    def action_push(self) -> None:
        if self._start("push", "Sending the waiting decisions…"):
            self.run_push()

    def _progress(self, source: str, label: str, done: int, total: int | None) -> None:
        """Called on the worker's thread after each page: only posts a message."""
        self.post_message(SyncProgress(source, label, done, total))

    @work(thread=True, exclusive=True, exit_on_error=False, group="sync")
    def run_sync(self, source_name: str | None) -> None:
        try:
            reports = self.desk.run_sync(source_name, self._progress)
        except PeerdeskError as error:
            self.post_message(SyncDone(SyncOutcome("sync", [str(error)], trouble=True)))
            return
        lines = [f"{r.source}: {r.result}: {r.message}" for r in reports]
        offline = any(r.result == "offline" for r in reports)
        trouble = any(r.result in ("failed", "errors") for r in reports)
        self.post_message(SyncDone(SyncOutcome("sync", lines, offline, trouble)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="sync")
    def run_push(self) -> None:
        try:
            reports = self.desk.run_push(self._progress)
        except PeerdeskError as error:
            self.post_message(SyncDone(SyncOutcome("push", [str(error)], trouble=True)))
            return
        lines = []
        for r in reports:
            parts = r.counts(mark_offline=True)
            if r.stopped and not r.offline:
                parts.append(f"stopped: {r.stopped}")
            if r.applied or r.conflicts or r.rejected or r.local_only or r.waiting or r.stopped:
                lines.append(f"{r.source}: " + ", ".join(parts))
        offline = any(r.offline for r in reports)
        trouble = any((r.stopped and not r.offline) or r.conflicts or r.rejected for r in reports)
        self.post_message(
            SyncDone(SyncOutcome("push", lines or ["nothing was waiting"], offline, trouble))
        )

    @on(SyncProgress)
    def _on_progress(self, message: SyncProgress) -> None:
        message.stop()
        if not self.running:
            return
        bar = self.query_one("#sync-progress", ProgressBar)
        if message.total:
            bar.update(total=message.total, progress=message.done)
        of = f"/{message.total}" if message.total else ""
        self.query_one("#sync-state", Static).update(
            Text(f"{line(message.source)}: {line(message.label)} · {message.done}{of}")
        )

    @on(SyncDone)
    def _on_done(self, message: SyncDone) -> None:
        message.stop()
        outcome = message.outcome
        self.running = ""
        self.last_outcome = outcome
        self.query_one("#sync-progress", ProgressBar).display = False
        self._show_state()
        title = "Sync" if outcome.what == "sync" else "Push"
        text = "\n".join(outcome.lines)
        if outcome.offline:
            self.notify(
                "Offline: nothing is lost; waiting decisions are sent on the next push",
                title=title,
                markup=False,
            )
        else:
            self.notify(
                text or "done",
                title=title,
                severity="warning" if outcome.trouble else "information",
                markup=False,
            )
        self.post_message(SyncRequested())
        self.host.refresh_outbox()

    def _on_worker_failed(self) -> None:
        if self.running:
            self.running = ""
            self.query_one("#sync-progress", ProgressBar).display = False
            self.query_one("#sync-state", Static).update(Text("The last run failed (see above)"))

    @on(WorkFailed)
    def _on_work_failed(self, message: WorkFailed) -> None:
        if message.group == "sync":
            self._on_worker_failed()

    @on(RefreshRequested)
    def _on_refresh(self, message: RefreshRequested) -> None:
        message.stop()
        self.post_message(SyncRequested())

    # ---- the outbox: retry / dismiss ----
    def _chosen(self) -> OutboxItem | None:
        if self.tab not in ("outbox", "conflicts"):
            return None
        key = self.table(self.tab).current_key
        if not isinstance(key, int):
            return None
        if key in self.items:
            return self.items[key]
        data = self.data
        return next((i for i in data.needs_human if i.outbox_id == key), None) if data else None

    def _outbox_action(self, verb: str) -> None:
        item = self._chosen()
        if item is None:
            self.notify(
                "Choose an item in the outbox or conflicts list (1 or 2)",
                severity="warning",
                markup=False,
            )
            return
        allowed = NEEDS_HUMAN if verb == "retry" else (*NEEDS_HUMAN, "pending")
        if item.state not in allowed:
            self.notify(
                f"#{item.outbox_id} is {item.state}: only "
                + " or ".join(allowed)
                + f" items can be {'retried' if verb == 'retry' else 'dismissed'}",
                severity="warning",
                markup=False,
            )
            return
        self.change_outbox(verb, item.outbox_id)

    def action_retry(self) -> None:
        self._outbox_action("retry")

    def action_dismiss(self) -> None:
        self._outbox_action("dismiss")

    @work(thread=True, exit_on_error=False, group="outbox")
    def change_outbox(self, verb: str, outbox_id: int) -> None:
        def run(desk):  # type: ignore[no-untyped-def]
            if verb == "retry":
                return desk.retry_outbox(outbox_id)
            return desk.dismiss_outbox(outbox_id)

        try:
            changed = self.host.call_desk(run)
        except PeerdeskError as error:
            self.post_message(OutboxChanged(str(error), False))
            return
        if not changed:
            text = f"#{outbox_id} changed meanwhile; nothing done"
        elif verb == "retry":
            text = f"#{outbox_id} will be sent again on the next push (p)"
        else:
            text = f"#{outbox_id} dismissed; it stays in the history as cancelled"
        self.post_message(OutboxChanged(text, changed))

    @on(OutboxChanged)
    def _on_outbox_changed(self, message: OutboxChanged) -> None:
        message.stop()
        self.notify(
            message.text,
            title="Outbox",
            severity="information" if message.changed else "warning",
            markup=False,
        )
        self.post_message(SyncRequested())
        self.host.refresh_outbox()

    # ---- moving around ----
    def action_tab(self, name: str) -> None:
        self.tab = name
        self.query_one("#sync-lists", ContentSwitcher).current = f"sync-{name}"
        self.table(name).focus()
        self._show_tabs()
        self._show_detail()

    def action_cycle(self) -> None:
        order = ["sources", *(name for name, _ in TABS)]
        focused = self.focused
        current = "sources" if focused is self.table("sources") else self.tab
        if focused is not self.table("sources") and focused is not self.table(self.tab):
            current = "sources"
        following = order[(order.index(current) + 1) % len(order)]
        if following == "sources":
            self.table("sources").focus()
        else:
            self.action_tab(following)

    def action_refresh(self) -> None:
        self.post_message(SyncRequested())
