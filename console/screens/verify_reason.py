"""A modal asking why: a reason from a list (for a rejection) and free text (also the note of a
needs-edit). Returns (reason code or "", text) or None when cancelled."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from console.screens.keys import bindings

MAX_TEXT = 4000


class ReasonScreen(ModalScreen[tuple[str, str] | None]):
    CSS_PATH = "verify_reason.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("verify_reason")

    def __init__(
        self, title: str, reasons: dict[str, str] | None, *, placeholder: str, need_text: bool
    ) -> None:
        super().__init__()
        self.title_text = title
        self.reasons = reasons
        self.placeholder = placeholder
        self.need_text = need_text

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-box"):
            yield Static(Text(self.title_text), id="reason-title")
            if self.reasons:
                yield OptionList(
                    *(Option(f"{label}", id=code) for code, label in self.reasons.items()),
                    id="reason-list",
                )
            yield Input(placeholder=self.placeholder, max_length=MAX_TEXT, id="reason-text")
            help_text = "enter saves · escape cancels"
            if self.reasons:
                help_text = "↑↓ pick a reason · tab to the text · " + help_text
            yield Static(Text(help_text), id="reason-help")

    def on_mount(self) -> None:
        if self.reasons:
            options = self.query_one("#reason-list", OptionList)
            options.highlighted = 0
            options.focus()
        else:
            self.query_one("#reason-text", Input).focus()

    @on(OptionList.OptionSelected)
    def _reason_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#reason-text", Input).focus()

    @on(Input.Submitted)
    def _save(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.need_text and not text:
            self.notify("Please say what should change", severity="warning", markup=False)
            return
        code = ""
        if self.reasons:
            options = self.query_one("#reason-list", OptionList)
            index = options.highlighted
            if index is None:
                self.notify("Pick a reason", severity="warning", markup=False)
                return
            code = str(options.get_option_at_index(index).id)
        self.dismiss((code, text))

    def action_cancel(self) -> None:
        self.dismiss(None)
