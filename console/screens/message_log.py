"""`L`: the recent results and errors, newest first (the status line shows only the last)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.screens.keys import bindings
from widgets.message_log import LogEntry

MARKS = {"information": " ", "warning": "!", "error": "✗"}


def log_text(entries: list[LogEntry]) -> Text:
    text = Text(end="")
    if not entries:
        text.append("Nothing yet: decisions, syncs and errors are listed here as they happen.")
        return text
    for index, entry in enumerate(entries):
        if index:
            text.append("\n")
        stamp = entry.at.astimezone().strftime("%H:%M:%S")
        style = "bold" if entry.severity == "error" else ""
        text.append(f"{stamp} {MARKS[entry.severity]} ", style="dim")
        text.append(entry.text, style=style)  # literal: never markup
    return text


class MessageLogScreen(ModalScreen[None]):
    CSS_PATH = "message_log.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("log")

    def __init__(self, entries: list[LogEntry]) -> None:
        super().__init__()
        self.entries = entries

    def compose(self) -> ComposeResult:
        with Vertical(id="log-box"):
            yield Static(Text("Recent messages, newest first", style="bold"), id="log-title")
            with VerticalScroll(id="log-scroll", can_focus=False):
                yield Static(log_text(self.entries), id="log-text")
            yield Static(Text("escape closes · j/k scroll"), id="log-footer")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, direction: str) -> None:
        scroll = self.query_one("#log-scroll", VerticalScroll)
        if direction == "down":
            scroll.scroll_down(animate=False)
        else:
            scroll.scroll_up(animate=False)
