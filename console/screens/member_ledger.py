"""One member's ledger lines, newest first (from the Rewards panel: enter on a member)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Footer, Static

from console.safe_text import printable
from console.screens.base import DeskScreen
from console.screens.keys import bindings
from widgets.lazy_table import Column, LazyTable, Row
from widgets.status_bar import StatusBar
from widgets.title_bar import TitleBar

COLUMNS = (
    Column("When UTC", 16),
    Column("Kind", 13),
    Column("Rule", 18),
    Column("Points", 7, "right"),
    Column("Minor", 8, "right"),
    Column("Why / event"),
)


class LedgerLoaded(Message):
    def __init__(self, name: str, balance: tuple[int, int], entries: list[dict[str, Any]]) -> None:
        super().__init__()
        self.name = name
        self.balance = balance
        self.entries = entries


class MemberLedgerScreen(DeskScreen):
    CSS_PATH = "member_ledger.tcss"
    HELP_TITLE = "Member's ledger"
    BINDINGS: ClassVar[list[BindingType]] = bindings("ledger")

    def __init__(self, member_id: int) -> None:
        super().__init__()
        self.member_id = member_id

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("", id="ledger-head", markup=False)
        yield LazyTable(COLUMNS, empty_text="No ledger lines.", id="ledger-lines")
        yield StatusBar(id="ledger-status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(LazyTable).focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="ledger-load")
    def load(self) -> None:
        member = self.member_id

        def read(desk):  # type: ignore[no-untyped-def]
            rewards = desk.rewards
            return rewards.member_name(member), rewards.balance(member), rewards.lines_of(member)

        name, balance, entries = self.host.call_desk(read)
        self.post_message(LedgerLoaded(name, balance, entries))

    @on(LedgerLoaded)
    def _on_loaded(self, message: LedgerLoaded) -> None:
        message.stop()
        name = printable(message.name, single_line=True)
        points, minor = message.balance
        self.query_one("#ledger-head", Static).update(
            Text(
                f"{name} · balance {points} points, {minor} minor units · "
                f"{len(message.entries)} lines",
                style="bold",
            )
        )
        rows = [
            Row(
                e["id"],
                (
                    e["occurred_at"].replace("T", " ")[:16],
                    e["kind"],
                    e["rule"],
                    f"{e['points']:+d}",
                    f"{e['amount_minor']:+d}",
                    printable(str(e["detail"].get("why") or e["event_key"]), single_line=True),
                ),
                tone="alert" if e["kind"] == "reversal" else "",
            )
            for e in message.entries
        ]
        self.query_one(LazyTable).reset(len(rows), rows)
        bar = self.query_one("#ledger-status", StatusBar)
        bar.left = f"Ledger of {name}"
        bar.right = "esc back"

    def action_back(self) -> None:
        self.app.pop_screen()
