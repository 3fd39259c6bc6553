"""The Escalations panel: what the community cannot handle, least time left first.

The list shows each open escalation's SLA clock in words ("BREACHED 2h 05m", "40m left"; colour
is only a second cue), severity, state, assignee, rule and thread. Below: the rule with its
dismiss rate (for tuning), the matching text highlighted in its sentence, the clock, the ticket,
and the history; at the bottom a sparkline of open escalations over the last 30 days.

The routing is the panel base's (console/screens/panel.py):

    ListWanted → (worker: the page under the cursor, console.escalate.pages; on a later visit
    the counts too, before the page, drawn with it in one frame) → ListLoaded; the first visit's
    TallyWanted → the count apart (PanelScreen.read_apart: pages.tally on a read-only connection
    of its own: the open, breached and closed counts, the rules' dismiss rates and the 30-day
    trend, from migration 37's kept counts; only the latest request's tally is shown); the list
    shows "counting…" meanwhile, and its first page at once however many escalations wait
    ScreenResume (a later visit) → the rows, the detail and the breached count as the clocks
    stand now, before the visit's first frame (`_clocks_now`: no read), then the reads above,
    which draw only what they find changed
    LazyTable.PageWanted → (PagedPanel's worker: pages.page from the row above or below, keyset)
    → PageLoaded
    ClockScan → (worker: Escalations.refresh_apart, raising what time made true on a connection
    of its own) → ListWanted if it raised any: a full scan (the first visit, one every
    FULL_EVERY, new rules); otherwise the list's read scans only what changed since
    (console.escalate.clock_watch) before its page, so what it raises is in the same frame
    LazyTable.CursorMoved → DetailWanted(id) → (worker: one + history) → DetailLoaded
    a/i/I/s/n/r/d/o → (worker: Desk.decide) → DecisionSaved | Refused
    u → DecisionMade(undo) (the shared decision flow of DeskScreen)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Sparkline, Static

from console.clock import now, parse
from console.desk import Desk
from console.escalate import pages
from console.escalate.clock_watch import ClockWatch
from console.escalate.panel import EscalationRow, HistoryEntry, RuleRate, clock_text
from console.messages import Decision
from console.safe_text import clip
from console.screens.keys import bindings
from console.screens.paged import PageAt, PagedPanel
from console.screens.paged import one_line as _line
from console.screens.panel import ListWanted, PanelList, show_text
from widgets.latest_work import LatestWork
from widgets.lazy_table import Column, LazyTable, Row

PAGE = 100  # escalations read at a time

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


@dataclass(frozen=True)
class Escalations:
    """The page of the list under the cursor, as read, and on a later visit the counts."""

    offset: int
    rows: list[EscalationRow]
    include_closed: bool
    tally: pages.Tally | None = None  # counted with the page (a later visit), else it follows


class ClockScan(Message):
    """Raise what time made true since the last look, then read the list again if it raised."""


class TallyWanted(Message):
    """Count every escalation again (after the list was read)."""


@dataclass(frozen=True)
class EscalationDetail:
    row: EscalationRow
    history: list[HistoryEntry]


def clocked(row: EscalationRow, at: datetime) -> EscalationRow:
    """`row` with its clock's time left as at `at` (as a read at `at` would give it)."""
    if row.due_at is None or row.seconds_left is None:
        return row
    left = int((parse(row.due_at) - at).total_seconds())
    return row if left == row.seconds_left else replace(row, seconds_left=left)


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


class EscalationsScreen(PagedPanel[Escalations, EscalationDetail, EscalationRow]):
    HELP_TITLE = "Escalations"
    LIST_ID = "escalations"
    DETAIL_ID = "esc-detail"
    STATUS_ID = "esc-status"

    BINDINGS: ClassVar[list[BindingType]] = bindings("esc")

    def __init__(self) -> None:
        super().__init__()
        self.include_closed = False
        self.rows: dict[int, EscalationRow] = {}  # the rows of the pages read, in list order
        self.rates: dict[str, RuleRate] = {}
        self.current: EscalationRow | None = None
        self.tally: pages.Tally | None = None  # the latest count, once in
        self._counting: LatestWork[pages.Tally] | None = None
        self.clock_watch = ClockWatch()  # the clock scan, full on the first visit

    def make_list(self) -> LazyTable:
        return PanelList(
            COLUMNS, page_size=PAGE, empty_text="No open escalations.", id=self.LIST_ID
        )

    def compose_detail(self) -> ComposeResult:
        yield Static(Text("Loading…"), id="esc-text", markup=False)

    def compose_below(self) -> ComposeResult:
        yield Static("", id="esc-trend-label", markup=False)
        yield Sparkline([0], summary_function=max, id="esc-trend")

    # ---- loading ----
    def read_list(self, desk: Desk, cursor: int) -> Escalations:
        # The list as it stands is shown first: on a cache left alone for days the clock rules
        # can raise tens of thousands of escalations at once (seconds at a million threads),
        # so they are raised after it, in a worker of their own (ClockScan); and only the page
        # under the cursor is read: the counts over every escalation follow (TallyWanted).
        # After the first visit the scan reads only what changed since the last (milliseconds):
        # it is made first, so that what it raises is in this page and its tally, one frame,
        # not a second read, tally and frame after it. A full scan (the first, one every
        # FULL_EVERY, new rules: up to a second at a million threads) still follows the list.
        scanned = False
        if not self.clock_watch.due_full(now()):
            scanned = desk.escalations.refresh_changes(self.clock_watch) is not None
        # A later visit counts here too, after the scan and before the page (the kept counts:
        # a few milliseconds): the counts and the page are drawn in one frame. The first
        # visit's list does not wait for its count.
        tally = pages.tally(desk.cache) if self.tally is not None else None
        offset = (cursor // PAGE) * PAGE
        include_closed = self.include_closed
        rows = desk.escalations.page(
            include_closed=include_closed, offset=offset, limit=PAGE, total=self._total(tally)
        )
        if not scanned:
            self.post_message(ClockScan())
        if tally is None:
            self.post_message(TallyWanted())
        return Escalations(offset, rows, include_closed, tally)

    def _total(self, tally: pages.Tally | None = None) -> int | None:
        """The list's length by the latest count (None before the first)."""
        tally = tally or self.tally
        if tally is None:
            return None
        return tally.open + (tally.closed if self.include_closed else 0)

    @on(ClockScan)
    def _on_clock_scan(self, message: ClockScan) -> None:
        message.stop()
        self._scan_clock()

    @work(thread=True, exclusive=True, exit_on_error=False, group="escalation-clock")
    def _scan_clock(self) -> None:
        # on a connection of its own, without the Desk's lock: the Queue keeps answering; after
        # the first visit, only what changed since the visit before is read (the watch)
        if self.host.desk.escalations.refresh_apart(watch=self.clock_watch):
            self.post_message(ListWanted(keep_cursor=True))

    @on(TallyWanted)
    def _on_tally_wanted(self, message: TallyWanted) -> None:
        message.stop()
        if self._counting is None:
            self._counting = self.read_apart(
                lambda cache: pages.tally(cache), self._tallied, group="escalation-tally"
            )
        self._counting.request()

    def _tallied(self, tally: pages.Tally) -> None:
        self._trended(list(tally.trend))  # with the counts: migration 37 keeps it
        if tally == self.tally:
            return  # counted again, nothing changed: the screen stays as it is (no frame)
        self.tally = tally
        self.rates = tally.rates
        total = self._total(tally)
        if self.table.loaded and total is not None:
            self.table.set_total(total)
        self._show_counts()
        if self.current is not None and isinstance(self.detail_data, EscalationDetail):
            self.show_detail(self.detail_data, True)  # the rule's dismiss rate, now known

    def _trended(self, trend: list[int]) -> None:
        counts = trend or [0]
        self.query_one("#esc-trend", Sparkline).data = counts  # drawn only if it changed
        label = f"Open escalations, last {len(counts)} days: now {counts[-1]}, peak {max(counts)}"
        shown = self.query_one("#esc-trend-label", Static)
        if str(shown.content) != label:
            # one line as wide as the screen whatever it says (escalations.tcss): no layout. With
            # one (Static's default), a later visit whose scan raised an escalation drew a second
            # frame 11-13 ms after its first, the settled one, at a million threads
            shown.update(Text(label, style="dim"), layout=False)

    def _show_counts(self) -> None:
        tally = self.tally
        closed = " · closed shown" if self.include_closed else ""
        if tally is None:
            self.set_status(f"Escalations · counting…{closed}")
            return
        breached = tally.breached_at(now())  # the clocks have run on since the count
        # long after the count, how many more ran out is for the new count (read at once) to say
        said = "breached: counting…" if breached is None else f"{breached:,} breached"
        self.set_status(f"Escalations · {tally.open:,} open · {said}{closed}")

    @on(events.ScreenResume)
    def _clocks_now(self) -> None:
        """A later visit: the rows, the detail and the breached count as the clocks stand now,
        in the visit's first frame (the reads that follow draw only what they find changed)."""
        if not self.rows:
            return
        at = now()
        self.rows = {k: clocked(r, at) for k, r in self.rows.items()}
        table = self.table
        for offset in range(0, table.total, PAGE):
            page = table.page(offset)
            if page:
                rows = [self.rows.get(int(str(row.key))) for row in page]
                if all(r is not None for r in rows):
                    redrawn = [to_row(r) for r in rows if r is not None]
                    if redrawn != page:
                        table.set_page(table.generation, offset, redrawn)
        if self.current is not None and isinstance(self.detail_data, EscalationDetail):
            row = self.rows.get(self.current.escalation_id)
            if row is not None:
                self.show_detail(EscalationDetail(row, self.detail_data.history), True)
        self._show_counts()

    def show_list(self, data: Escalations, keep_cursor: bool) -> None:
        if data.tally is not None:
            self._tallied(data.tally)  # its counts and trend (if new), in this frame with the page
        rows = data.rows
        total = self._total()
        exact = total is not None
        if total is None:  # what the page shows; the count follows
            total = data.offset + len(rows) + (1 if len(rows) == PAGE else 0)
        drawn = [to_row(r) for r in rows]
        table = self.table
        if (
            keep_cursor
            and table.loaded
            and (table.total, table.exact) == (total, exact)
            and table.page(data.offset) == drawn
        ):
            # read again, drawn the same (the clocks were brought up to date on the visit):
            # nothing to redraw, and the other pages the table holds still hold
            self.rows.update((r.escalation_id, r) for r in rows)
            self._show_counts()
            return
        self.rows = {r.escalation_id: r for r in rows}
        table.reset(total, drawn, offset=data.offset, keep_cursor=keep_cursor, exact=exact)
        # the order follows the clocks, so a decision can move a row: stay on the same one
        keys = [r.escalation_id for r in rows]
        if self.current is not None and self.current.escalation_id in keys:
            self.table.cursor_row = data.offset + keys.index(self.current.escalation_id)
        self._show_counts()
        if not rows and data.offset == 0:
            self.current = None
            self.forget_detail()
            self.query_one("#esc-text", Static).update(
                Text("Nothing is escalated. The rules run on every sync and import.", style="dim")
            )

    def read_page(self, at: PageAt) -> Callable[[Desk], list[EscalationRow]]:
        include_closed = self.include_closed
        return lambda desk: desk.escalations.page(include_closed=include_closed, **at.keywords())

    def keep_page(self, rows: list[EscalationRow]) -> None:
        self.rows.update({r.escalation_id: r for r in rows})
        if len(self.rows) > 2 * self.table.max_pages * PAGE:  # keep those the table still holds
            table = self.table
            held = {
                row.key
                for offset in range(0, table.total, PAGE)
                for row in table.page(offset) or ()
            }
            held.update(r.escalation_id for r in rows)
            self.rows = {k: v for k, v in self.rows.items() if k in held}

    def to_rows(self, rows: list[EscalationRow]) -> list[Row]:
        return [to_row(r) for r in rows]

    def read_detail(self, desk: Desk, key: Hashable) -> EscalationDetail:
        escalation_id = int(str(key))
        esc = desk.escalations
        return EscalationDetail(esc.one(escalation_id), esc.history(escalation_id))

    def show_detail(self, data: EscalationDetail, same_item: bool) -> None:
        self.current = data.row
        text = detail(data.row, data.history, self.rates.get(data.row.rule_id))
        # read again, the same words: nothing to draw; the clocks run on: no layout
        show_text(self.query_one("#esc-text", Static), text)

    # ---- keys ----
    def action_toggle_closed(self) -> None:
        self.include_closed = not self.include_closed
        self.action_refresh()

    def _under_cursor(self) -> EscalationRow | None:
        """The escalation on the cursor's row, from the list itself: a key pressed before its
        detail has loaded still acts on the row the moderator sees."""
        key = self.table.current_key
        return None if key is None else self.rows.get(int(str(key)))

    def activate(self, key: Hashable) -> None:
        row = self._under_cursor()
        if row is not None:
            self.open_thread(row.thread_id)

    def _target(self) -> int | None:
        row = self._under_cursor()
        if row is None:
            self.notify("No escalation is selected", severity="warning", markup=False)
            return None
        return row.escalation_id

    def _ask(
        self,
        action: str,
        title: str,
        placeholder: str,
        key: str,
        *,
        target: int | None = None,
        choices: list[str] | None = None,
        choices_are: str = "",
    ) -> None:
        target = target if target is not None else self._target()
        if target is None:
            return
        from console.screens.prompt import PromptScreen

        def answered(text: str | None) -> None:
            if text:
                self.save_escalation_decision(Decision(action, (target,), {key: text}))

        prompt = PromptScreen(
            title, placeholder, max_length=NOTE_MAX, choices=choices or (), choices_are=choices_are
        )
        self.app.push_screen(prompt, answered)

    def _now(self, action: str, **params: object) -> None:
        target = self._target()
        if target is not None:
            self.save_escalation_decision(Decision(action, (target,), dict(params)))

    def action_acknowledge(self) -> None:
        self._now("esc_acknowledge")

    def action_assign_me(self) -> None:
        self._now("esc_assign", assignee=self.desk.actor)

    def action_assign_other(self) -> None:
        """Ask for the assignee among those who can take escalations (read in a worker), listed
        and completed as typed; the decision refuses anyone else (console.escalate.people)."""
        target = self._target()
        if target is not None:
            self._read_takers(target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="escalation-takers")
    def _read_takers(self, target: int) -> None:
        takers = self.desk.escalations.takers()
        self.app.call_from_thread(self._ask_assignee, target, takers)

    def _ask_assignee(self, target: int, takers: list[str]) -> None:
        """The question, for the escalation that was under the cursor when `I` was pressed."""
        self._ask(
            "esc_assign",
            "Assign to",
            "a user name",
            "assignee",
            target=target,
            choices=takers,
            choices_are="Can take escalations",
        )

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

    def save_escalation_decision(self, decision: Decision) -> None:
        target = decision.target_ids[0]

        def run(desk: Desk) -> str:
            desk.decide(decision.action, [target], **decision.params)
            row = desk.escalations.one(target)
            who = f", assigned to {row.assignee}" if row.assignee else ""
            return f"Escalation {target} is {row.state.replace('_', ' ')}{who} (u undoes it)"

        self.decide_in_panel(decision, run)
