"""The Escalations panel: what the community cannot handle, least time left first.

The list shows each open escalation's SLA clock in words ("BREACHED 2h 05m", "40m left"; colour
is only a second cue), severity, state, assignee, rule and thread. Below: the rule with its
dismiss rate (for tuning), the matching text highlighted in its sentence, the clock, the ticket,
and the history; at the bottom a sparkline of open escalations over the last 30 days.

    EscalationsRequested → (worker: Escalations.refresh + listing + rule_rates + open_counts)
                         → EscalationsLoaded
    LazyTable.CursorMoved → EscalationRequested → (worker: one + history) → EscalationLoaded
    a/i/I/s/n/r/d/o → (worker: Escalations.acknowledge/assign/...) → DecisionSaved | Refused
    u → DecisionMade(undo) (the shared decision flow of DeskScreen)
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Sparkline, Static

from console.errors import PeerdeskError
from console.escalate.panel import EscalationRow, HistoryEntry, RuleRate, clock_text
from console.messages import (
    Decision,
    DecisionMade,
    DecisionRefused,
    DecisionSaved,
    RefreshRequested,
    WorkFailed,
)
from console.safe_text import clip, printable
from console.screens.base import DeskScreen
from console.screens.keys import bindings
from widgets.lazy_table import Column, LazyTable, Row
from widgets.status_bar import StatusBar
from widgets.title_bar import TitleBar

COLUMNS = (
    Column("SLA clock", 16),
    Column("Sev", 4),
    Column("State", 9),
    Column("Who", 8),
    Column("Rule", 18),
    Column("Thread"),
)
NOTE_MAX = 4000  # a note, a dismiss reason or an assignee typed in the panel
SEVERITY = {"critical": "CRIT", "high": "HIGH", "medium": "MED", "low": "low"}
STATE = {
    "new": "new",
    "acknowledged": "acked",
    "sent_to_support": "support",
    "waiting_on_customer": "customer",
    "resolved": "resolved",
    "dismissed": "dismissed",
}


class EscalationsRequested(Message):
    pass


class EscalationsLoaded(Message):
    def __init__(
        self,
        request_id: int,
        rows: list[EscalationRow],
        rates: dict[str, RuleRate],
        counts: list[int],
    ) -> None:
        super().__init__()
        self.request_id = request_id
        self.rows = rows
        self.rates = rates
        self.counts = counts


class EscalationRequested(Message):
    def __init__(self, escalation_id: int) -> None:
        super().__init__()
        self.escalation_id = escalation_id


class EscalationLoaded(Message):
    def __init__(self, request_id: int, row: EscalationRow, history: list[HistoryEntry]) -> None:
        super().__init__()
        self.request_id = request_id
        self.row = row
        self.history = history


def _line(text: str) -> str:
    return printable(text, single_line=True)


def to_row(row: EscalationRow) -> Row:
    clock = clock_text(row.seconds_left) or STATE[row.state]
    return Row(
        key=row.escalation_id,
        cells=(
            clock,
            SEVERITY[row.severity],
            STATE[row.state],
            row.assignee or "-",
            row.rule_id,
            _line(row.title),
        ),
        tone="alert" if row.breached else ("dim" if row.clock == "closed" else ""),
    )


def matched_text(row: EscalationRow) -> Text:
    """The sentence around the match, the match itself reversed and bold (not colour alone)."""
    text = Text()
    start, end = row.match_start, row.match_end
    text.append(_line(row.context[:start]))
    text.append(_line(row.context[start:end]), style="bold reverse")
    text.append(_line(row.context[end:]))
    return text


def detail(row: EscalationRow, history: list[HistoryEntry], rate: RuleRate | None) -> Text:
    text = Text()
    text.append(f"[{row.severity.upper()}] {row.rule_name}", style="bold")
    text.append(f" ({row.rule_id}) · {row.state.replace('_', ' ')}")
    if rate is not None:
        closed = rate.raised - rate.open
        text.append(
            f"\nRule tuning: dismissed {rate.dismissed} of {closed} closed "
            f"({rate.dismiss_rate:.0%}), {rate.raised} raised in all",
            style="dim",
        )
    text.append(f"\nThread #{row.thread_id}: ")
    text.append(_line(row.title))
    text.append("\nMatched: ")
    text.append_text(matched_text(row))
    text.append(f"\nWhy: {_line(row.detail)}")
    clock = clock_text(row.seconds_left)
    if clock:
        style = "bold red" if row.breached else ""
        text.append(f"\nSLA: {row.clock} by {row.due_at} — ")
        text.append(clock, style=style)
    text.append(f"\nAssignee: {row.assignee or 'nobody yet'}")
    if row.ticket_system:
        ticket = row.ticket_ref or "waiting in the outbox"
        status = f" ({row.ticket_status})" if row.ticket_status else ""
        text.append(f" · Ticket: {row.ticket_system} {ticket}{status}")
    if row.dismiss_reason:
        text.append(f"\nDismissed: {_line(row.dismiss_reason)}")
    text.append("\nHistory", style="bold")
    for h in history:
        move = f" → {h.to_state}" if h.to_state and h.to_state != h.from_state else ""
        text.append(f"\n {h.ts[5:16].replace('T', ' ')} {_line(h.actor)} {h.event}{move}")
        if h.body:
            text.append(": ")
            text.append(_line(clip(h.body, 300)), style="italic")
    return text


class EscalationList(LazyTable):
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "toggle_selection"


class Detail(VerticalScroll, inherit_bindings=False):
    """The escalation in full, scrolled by the screen's keys."""


class EscalationsScreen(DeskScreen):
    CSS_PATH = "escalations.tcss"
    HELP_TITLE = "Escalations"

    BINDINGS: ClassVar[list[BindingType]] = bindings("esc")

    def __init__(self) -> None:
        super().__init__()
        self.request_id = 0
        self.detail_request = 0
        self.include_closed = False
        self.rows: dict[int, EscalationRow] = {}
        self.rates: dict[str, RuleRate] = {}
        self.current: EscalationRow | None = None
        self._shown_once = False

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield EscalationList(
            COLUMNS, page_size=1000, empty_text="No open escalations.", id="escalations"
        )
        with Detail(id="esc-detail", can_focus=False):
            yield Static(Text("Loading…"), id="esc-text", markup=False)
        yield Static("", id="esc-trend-label", markup=False)
        yield Sparkline([0], summary_function=max, id="esc-trend")
        yield StatusBar(id="esc-status")
        yield Footer(compact=True, show_command_palette=False)

    @property
    def table(self) -> LazyTable:
        return self.query_one("#escalations", LazyTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.post_message(EscalationsRequested())

    def on_screen_resume(self) -> None:
        if self._shown_once:
            self.post_message(RefreshRequested())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        role_action = self.ROLE_OF_ACTION.get(action)
        return role_action is None or self.desk.can(role_action)

    # ---- loading ----
    @on(EscalationsRequested)
    def _on_requested(self, message: EscalationsRequested) -> None:
        message.stop()
        self.request_id += 1
        self.load(self.request_id, self.include_closed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="escalations")
    def load(self, request_id: int, include_closed: bool) -> None:
        def read(desk):  # type: ignore[no-untyped-def]
            esc = desk.escalations
            esc.refresh()
            return (
                esc.listing(include_closed=include_closed),
                esc.rule_rates(),
                esc.open_counts(30),
            )

        rows, rates, counts = self.host.call_desk(read)
        self.post_message(EscalationsLoaded(request_id, rows, rates, counts))

    @on(EscalationsLoaded)
    def _on_loaded(self, message: EscalationsLoaded) -> None:
        message.stop()
        if message.request_id != self.request_id:
            return
        self.rows = {r.escalation_id: r for r in message.rows}
        self.rates = message.rates
        self.table.reset(
            len(message.rows), [to_row(r) for r in message.rows], keep_cursor=self._shown_once
        )
        # the order follows the clocks, so a decision can move a row: stay on the same one
        keys = [r.escalation_id for r in message.rows]
        if self.current is not None and self.current.escalation_id in keys:
            self.table.cursor_row = keys.index(self.current.escalation_id)
        counts = message.counts or [0]
        self.query_one("#esc-trend", Sparkline).data = counts
        self.query_one("#esc-trend-label", Static).update(
            Text(
                f"Open escalations, last {len(counts)} days: now {counts[-1]}, peak {max(counts)}",
                style="dim",
            )
        )
        open_rows = [r for r in message.rows if r.clock != "closed"]
        breached = sum(1 for r in open_rows if r.breached)
        bar = self.query_one("#esc-status", StatusBar)
        bar.left = f"Escalations · {len(open_rows)} open · {breached} breached" + (
            " · closed shown" if self.include_closed else ""
        )
        bar.right = "? help · esc queue"
        self._shown_once = True
        if not message.rows:
            self.current = None
            self.query_one("#esc-text", Static).update(
                Text("Nothing is escalated. The rules run on every sync and import.", style="dim")
            )

    @on(WorkFailed)
    def _on_work_failed(self, message: WorkFailed) -> None:
        self.table.forget_pending()

    @on(LazyTable.CursorMoved, "#escalations")
    def _on_cursor(self, message: LazyTable.CursorMoved) -> None:
        message.stop()
        if message.key is None:
            return
        self.post_message(EscalationRequested(int(message.key)))  # type: ignore[call-overload]

    @on(EscalationRequested)
    def _on_one_requested(self, message: EscalationRequested) -> None:
        message.stop()
        self.detail_request += 1
        self.load_one(self.detail_request, message.escalation_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="escalation")
    def load_one(self, request_id: int, escalation_id: int) -> None:
        def read(desk):  # type: ignore[no-untyped-def]
            return desk.escalations.one(escalation_id), desk.escalations.history(escalation_id)

        row, history = self.host.call_desk(read)
        self.post_message(EscalationLoaded(request_id, row, history))

    @on(EscalationLoaded)
    def _on_one_loaded(self, message: EscalationLoaded) -> None:
        message.stop()
        if message.request_id != self.detail_request:
            return
        self.current = message.row
        self.query_one("#esc-text", Static).update(
            detail(message.row, message.history, self.rates.get(message.row.rule_id))
        )

    @on(RefreshRequested)
    def _on_refresh(self, message: RefreshRequested) -> None:
        message.stop()
        self.post_message(EscalationsRequested())
        if self.current is not None:
            self.post_message(EscalationRequested(self.current.escalation_id))

    # ---- keys ----
    def action_refresh(self) -> None:
        self.post_message(RefreshRequested())

    def action_toggle_closed(self) -> None:
        self.include_closed = not self.include_closed
        self.post_message(EscalationsRequested())

    def action_scroll_detail(self, direction: int) -> None:
        detail_box = self.query_one("#esc-detail", Detail)
        if direction > 0:
            detail_box.scroll_page_down(animate=False)
        else:
            detail_box.scroll_page_up(animate=False)

    def action_back(self) -> None:
        self.app.switch_mode("queue")

    @on(LazyTable.RowActivated, "#escalations")
    def _on_activated(self, message: LazyTable.RowActivated) -> None:
        message.stop()
        if self.current is not None:
            from console.screens.thread import ThreadScreen

            self.app.push_screen(ThreadScreen(self.current.thread_id))

    def _target(self) -> int | None:
        if self.current is None:
            self.notify("No escalation is selected", severity="warning", markup=False)
            return None
        return self.current.escalation_id

    def _ask(self, action: str, title: str, placeholder: str, key: str) -> None:
        target = self._target()
        if target is None:
            return
        from console.screens.prompt import PromptScreen

        def answered(text: str | None) -> None:
            if text:
                self.save_escalation_decision(Decision(action, (target,), {key: text}))

        self.app.push_screen(PromptScreen(title, placeholder, max_length=NOTE_MAX), answered)

    def _now(self, action: str, **params: object) -> None:
        target = self._target()
        if target is not None:
            self.save_escalation_decision(Decision(action, (target,), dict(params)))

    def action_acknowledge(self) -> None:
        self._now("esc_acknowledge")

    def action_assign_me(self) -> None:
        self._now("esc_assign", assignee=self.desk.actor)

    def action_assign_other(self) -> None:
        self._ask("esc_assign", "Assign to", "a user name", "assignee")

    def action_send(self) -> None:
        self._now("esc_send")

    def action_note(self) -> None:
        self._ask("esc_note", "Note on this escalation", "what happened, who was told", "body")

    def action_resolve(self) -> None:
        self._now("esc_resolve")

    def action_resolve_reply(self) -> None:
        self._ask(
            "esc_resolve",
            "Resolve, and reply on the community thread with:",
            "what the community should know",
            "reply",
        )

    def action_dismiss(self) -> None:
        self._ask("esc_dismiss", "Dismiss: why is this a false alarm?", "the reason", "reason")

    def action_reopen(self) -> None:
        self._now("esc_reopen")

    def action_undo(self) -> None:
        self.post_message(DecisionMade(Decision("undo")))

    @work(thread=True, exit_on_error=False, group="decision")
    def save_escalation_decision(self, decision: Decision) -> None:
        target = decision.target_ids[0]

        def run(desk):  # type: ignore[no-untyped-def]
            desk.decide(decision.action, [target], **decision.params)
            row = desk.escalations.one(target)
            who = f", assigned to {row.assignee}" if row.assignee else ""
            return f"Escalation {target} is {row.state.replace('_', ' ')}{who} (u undoes it)"

        try:
            text, batch_id = self.call_desk_acting(run)
        except PeerdeskError as error:
            self.post_message(DecisionRefused(decision, str(error)))
            return
        self.post_message(DecisionSaved(decision, text, batch_id))
