"""The Rewards panel ($): members by balance, flags with evidence, the payout batch, appeals.

    RewardsRequested → (worker: console.rewards.panel.load) → RewardsLoaded
    P / a / h / H / e / A / y / n → (worker: Desk.rewards.*) → RewardsDone → RewardsRequested

Every decision is checked in the domain (roles, four-eyes); keys a role cannot use are hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Static

from console.errors import PeerdeskError
from console.messages import RefreshRequested
from console.rewards.panel import (
    RewardsData,
    approval_question,
    batch_summary,
    evidence_text,
    load,
    payout_address,
    suggested_period,
)
from console.rewards.service import Rewards
from console.safe_text import printable
from console.screens.confirm import ConfirmScreen
from console.screens.keys import bindings
from console.screens.panel import PanelScreen
from console.screens.prompt import PromptScreen
from widgets.lazy_table import Column, LazyTable, Row

TABS = (("members", "Members"), ("flags", "Flags"), ("batch", "Batch"), ("appeals", "Appeals"))
MEMBER_COLUMNS = (
    Column("Member", 18),
    Column("Balance", 10, "right"),
    Column("Points", 8, "right"),
    Column("Period", 7, "right"),
    Column("Last 28 days"),
)
FLAG_COLUMNS = (Column("Check", 14), Column("Member", 16), Column("Line", 9), Column("Why"))
LINE_COLUMNS = (
    Column("Line", 6, "right"),
    Column("Member", 16),
    Column("Points", 7, "right"),
    Column("Amount", 10, "right"),
    Column("State", 8),
    Column("Flags"),
)
APPEAL_COLUMNS = (
    Column("#", 4, "right"),
    Column("Line", 6, "right"),
    Column("Member", 16),
    Column("Decision", 9),
    Column("Appeal"),
)


def one_line(text: object) -> str:
    return printable(str(text or ""), single_line=True)


class RewardsRequested(Message):
    pass


class RewardsLoaded(Message):
    def __init__(self, data: RewardsData) -> None:
        super().__init__()
        self.data = data


class RewardsDone(Message):
    def __init__(self, text: str, ok: bool) -> None:
        super().__init__()
        self.text = text
        self.ok = ok


LISTS: dict[str, tuple[tuple[Column, ...], str]] = {  # a tab's columns, and what an empty one says
    "members": (MEMBER_COLUMNS, "No ledger entries yet: `peerdesk ledger accrue`."),
    "flags": (FLAG_COLUMNS, "No flags in this batch."),
    "batch": (LINE_COLUMNS, "No batch yet: P prepares one."),
    "appeals": (APPEAL_COLUMNS, "No appeals."),
}


class RewardsTable(LazyTable):
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "toggle_selection"


class RewardsScreen(PanelScreen):
    HELP_TITLE = "Rewards"
    STATUS_ID = "rewards-status"
    STATUS_RIGHT = "? help · 1-4 lists · esc queue"

    BINDINGS: ClassVar[list[BindingType]] = bindings("rewards")

    def __init__(self) -> None:
        super().__init__()
        self.tab = "members"
        self.data = RewardsData()
        self.rows: dict[str, list[Row]] = {}  # each list's rows, as last read
        self.cursors: dict[str, int] = {}  # each list's cursor row when another was shown
        self.batch_id: int | None = None

    @property
    def rewards(self) -> Rewards:
        return self.desk.rewards

    def compose_body(self) -> ComposeResult:
        yield Static("", id="rewards-summary", markup=False)
        yield Static("", id="rewards-tabs", markup=False)
        # one table for the four lists (a tab shows its columns and rows in it): each table
        # more is restyled on every visit, shown or not
        columns, empty = LISTS[self.tab]
        yield RewardsTable(columns, empty_text=empty, id="rewards-list")
        yield Static("", id="rewards-detail", markup=False)

    def table(self, name: str) -> LazyTable:
        """The list `name` (the one table: only the tab shown has its rows in it)."""
        return self.query_one("#rewards-list", LazyTable)

    def on_mount(self) -> None:
        self.table("members").focus()
        self._show_tabs()
        self.post_message(RewardsRequested())

    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        needed = self.ROLE_OF_ACTION.get(action)
        return needed is None or self.rewards.can(needed)

    # ---- loading ----
    @on(RewardsRequested)
    @on(RefreshRequested)
    def _on_requested(self, message: Message) -> None:
        message.stop()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="rewards-load")
    def load(self) -> None:
        """The panel's lists, read on its connection apart (console.apart): the members'
        balances sum the ledger (~0.2 s at 100k threads), and read through the Desk they held
        its lock after the panel was left, so the next panel's list and the Queue's reload
        waited for them (`W` after `$`: settled 223-255 ms, against 13 ms alone)."""
        batch = self.batch_id
        rewards = self.rewards
        data = self.reads_apart().run(lambda cache: load(replace(rewards, cache=cache), batch))
        self.post_message(RewardsLoaded(data))

    @on(RewardsLoaded)
    def _on_loaded(self, message: RewardsLoaded) -> None:
        message.stop()
        first = not self._shown_once
        self._shown_once = True
        if not first and message.data == self.data:
            return  # nothing changed since the last visit: the screen stays as it is
        data = self.data = message.data
        self.batch_id = data.batch.batch_id if data.batch else None
        self._fill(
            "members",
            [
                Row(
                    m.member_id,
                    (one_line(m.username), f"{m.amount}", str(m.points), str(m.earned), m.activity),
                )
                for m in data.members
            ],
        )
        self._fill(
            "flags",
            [
                Row(
                    f["flag_id"],
                    (
                        f["check"],
                        one_line(f["member"]),
                        f"{f['line_id'] or '-'} {f['line_state'] or ''}".strip(),
                        one_line(f["summary"]),
                    ),
                    tone="alert" if f["line_id"] else "",
                )
                for f in data.flags
            ],
        )
        money = data.batch.money if data.batch else str
        self._fill(
            "batch",
            [
                Row(
                    line.line_id,
                    (
                        str(line.line_id),
                        one_line(line.username),
                        str(line.points),
                        money(line.amount_minor).split(" ")[0],
                        line.state,
                        ", ".join(f["check"] for f in line.flags),
                    ),
                    tone="alert"
                    if line.state == "held"
                    else ("dim" if line.state in ("returned", "failed") else ""),
                )
                for line in data.lines
            ],
        )
        self._fill(
            "appeals",
            [
                Row(
                    a["id"],
                    (
                        str(a["id"]),
                        str(a["line_id"]),
                        one_line(a["member"]),
                        a["decision"] or "waiting",
                        one_line(a["text"]),
                    ),
                )
                for a in data.appeals
            ],
        )
        self._show_summary()
        self._show_tabs()
        self._show_detail()

    def _fill(self, name: str, rows: list[Row]) -> None:
        self.rows[name] = rows
        if name == self.tab:
            self.table(name).reset(len(rows), rows, keep_cursor=True)

    def _show_summary(self) -> None:
        data = self.data
        text = Text(no_wrap=True, overflow="ellipsis")
        if data.problem:
            text.append(one_line(data.problem), style="bold")
        elif data.batch is None:
            text.append(
                f"schedule {data.schedule} · {data.currency} · no batch yet · "
                f"P prepares {data.period}"
            )
        else:
            heading, amounts = batch_summary(data.batch)
            text.append(one_line(heading), style="bold")
            text.append("\n" + one_line(amounts))
        self.query_one("#rewards-summary", Static).update(text)
        self.set_status(f"Rewards · {len(data.members)} members · {len(data.flags)} flags")

    def _show_tabs(self) -> None:
        counts = {
            "members": len(self.data.members),
            "flags": len(self.data.flags),
            "batch": len(self.data.lines),
            "appeals": sum(1 for a in self.data.appeals if not a["decision"]),
        }
        text = Text(no_wrap=True, overflow="ellipsis")
        for index, (name, title) in enumerate(TABS, start=1):
            style = "reverse bold" if name == self.tab else ""
            text.append(f" {index} {title} ({counts[name]}) ", style=style)
            text.append(" ")
        self.query_one("#rewards-tabs", Static).update(text)

    def _show_detail(self) -> None:
        key = self.table(self.tab).current_key
        text = Text()
        if self.tab == "flags":
            flag = next((f for f in self.data.flags if f["flag_id"] == key), None)
            if flag:
                text.append(f"{flag['check']} · {one_line(flag['member'])}\n", style="bold")
                text.append(printable(evidence_text(flag)))
        elif self.tab == "batch":
            line = next((x for x in self.data.lines if x.line_id == key), None)
            if line:
                text.append(
                    f"line {line.line_id} · {one_line(line.username)} · {line.state} · "
                    f"{one_line(payout_address(line))}\n",
                    style="bold",
                )
                for f in line.flags:
                    text.append(f"{f['check']}: {one_line(f['summary'])}\n")
                for h in line.history[-3:]:
                    text.append(
                        f"{h['at']} {one_line(h['actor'])} {h['action']}: "
                        f"{one_line(h['reason'])}\n",
                        style="dim",
                    )
        elif self.tab == "members" and isinstance(key, int):
            text.append("enter shows this member's ledger lines", style="dim")
        text.rstrip()
        panel = self.query_one("#rewards-detail", Static)
        panel.display = bool(text.plain)
        panel.update(text)

    @on(LazyTable.CursorMoved)
    def _on_cursor(self, message: LazyTable.CursorMoved) -> None:
        message.stop()
        self._show_detail()

    @on(LazyTable.RowActivated, "#rewards-list")
    def _on_member(self, message: LazyTable.RowActivated) -> None:
        message.stop()
        if self.tab == "members" and isinstance(message.key, int):
            from console.screens.member_ledger import MemberLedgerScreen

            self.app.push_screen(MemberLedgerScreen(message.key))

    # ---- tabs ----
    def action_tab(self, name: str) -> None:
        table = self.table(name)
        self.cursors[self.tab] = table.cursor_row
        self.tab = name
        columns, empty = LISTS[name]
        rows = self.rows.get(name, [])
        table.set_columns(columns)
        table.set_empty_text(empty)
        table.reset(len(rows), rows)
        table.cursor_row = min(self.cursors.get(name, 0), max(0, len(rows) - 1))
        table.focus()
        self._show_tabs()
        self._show_detail()

    def action_cycle(self) -> None:
        names = [n for n, _ in TABS]
        self.action_tab(names[(names.index(self.tab) + 1) % len(names)])

    # ---- decisions ----
    def _run(self, what: Callable[[Rewards], str]) -> None:
        self.decide_rewards(what)

    @work(thread=True, exit_on_error=False, group="rewards-decision")
    def decide_rewards(self, what: Callable[[Rewards], str]) -> None:
        try:
            text = self.host.call_desk(lambda d: what(d.rewards))
        except PeerdeskError as error:
            self.post_message(RewardsDone(str(error), False))
            return
        self.post_message(RewardsDone(text, True))

    @on(RewardsDone)
    def _on_done(self, message: RewardsDone) -> None:
        message.stop()
        if message.ok:
            self.notify(message.text, title="Saved", markup=False)
        else:
            self.notify(message.text, title="Not done", severity="error", timeout=8, markup=False)
        self.post_message(RewardsRequested())

    def _ask(
        self, title: str, placeholder: str, then: Callable[[str], None], value: str = ""
    ) -> None:
        def answered(text: str | None) -> None:
            if text:
                then(text)

        self.app.push_screen(PromptScreen(title, placeholder, value), answered)

    def _chosen_line(self) -> int | None:
        key = self.table("batch").current_key if self.tab == "batch" else None
        if self.tab == "flags":
            flag = next(
                (f for f in self.data.flags if f["flag_id"] == self.table("flags").current_key),
                None,
            )
            key = flag["line_id"] if flag else None
        if not isinstance(key, int):
            self.notify(
                "Choose a line in the Batch or Flags list", severity="warning", markup=False
            )
            return None
        return key

    def action_prepare(self) -> None:
        def go(period: str) -> None:
            self._run(lambda r: _prepared(r, period.strip()))

        self._ask(
            "Prepare the payout batch of period",
            "2026-10, 2026-Q3, 2026-H2",
            go,
            suggested_period(self.rewards) if not self.data.batch else "",
        )

    def action_approve(self) -> None:
        """Approve the batch shown, once the moderator has said yes to what it pays."""
        shown = self.data.batch
        if self.batch_id is None or shown is None:
            self.notify("There is no batch to approve", severity="warning", markup=False)
            return
        batch, seen = shown.batch_id, shown.seen  # what the panel shows is what is approved

        def approve(yes: bool | None = True) -> None:
            if yes:
                self._run(lambda r: r.approve(batch, seen))

        if not self.allows("approve", ()):
            approve()  # the door refuses it, and says why: no question for a hidden key
            return
        question, detail = approval_question(shown)
        self.app.push_screen(ConfirmScreen(question, shown.lines, detail), approve)

    def action_hold(self) -> None:
        line = self._chosen_line()
        if line is not None:
            self._ask(
                f"Hold line {line}: why?",
                "the reason (kept with the line)",
                lambda why: self._run(lambda r: _hold(r, line, why, True)),
            )

    def action_release(self) -> None:
        line = self._chosen_line()
        if line is not None:
            self._ask(
                f"Release line {line}: why?",
                "what you checked",
                lambda why: self._run(lambda r: _hold(r, line, why, False)),
            )

    def action_appeal(self) -> None:
        line = self._chosen_line()
        if line is not None:
            self._ask(
                f"Appeal against line {line}",
                "the member's words",
                lambda text: self._run(lambda r: f"appeal {r.appeal(line, text)} filed"),
            )

    def _decide(self, uphold: bool) -> None:
        key = self.table("appeals").current_key if self.tab == "appeals" else None
        if not isinstance(key, int):
            self.notify(
                "Choose an appeal in the Appeals list (4)", severity="warning", markup=False
            )
            return
        self._ask(
            f"{'Uphold' if uphold else 'Deny'} appeal {key}: why?",
            "the reason",
            lambda why: self._run(lambda r: r.decide_appeal(key, uphold, why)),
        )

    def action_uphold(self) -> None:
        self._decide(True)

    def action_deny(self) -> None:
        self._decide(False)

    def action_export(self) -> None:
        batch = self.batch_id
        if batch is None:
            self.notify("There is no batch to export", severity="warning", markup=False)
            return
        folder = Path.cwd()

        def go(r: Rewards) -> str:
            csv_path = folder / f"peerdesk-batch-{batch}.csv"
            json_path = folder / f"peerdesk-batch-{batch}.json"
            made = r.export(batch, csv_path, json_path)
            notice = f"; {made.notice}" if made.notice else ""
            return f"wrote {csv_path} and {json_path.name} (sha256 {made.sha256[:12]}…){notice}"

        self._run(go)


def _prepared(rewards: Rewards, period: str) -> str:
    view = rewards.prepare(period)
    held = view.counts.get("held", 0)
    return (
        f"batch {view.batch_id} for {view.period}: {view.lines} lines, "
        f"{view.money(view.ready_minor)} ready, {held} held; {view.approval_status}"
    )


def _hold(rewards: Rewards, line: int, why: str, hold: bool) -> str:
    if hold:
        rewards.hold(line, why)
        return f"line {line} held"
    rewards.release(line, why)
    return f"line {line} released"
