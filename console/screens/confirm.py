"""A modal yes/no question that states how many items a batch decision touches (or, given a
`detail`, what else the question is about: e.g. what an undo would take back)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from console.screens.keys import bindings


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = "confirm.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("confirm")

    def __init__(self, question: str, count: int, detail: str | None = None) -> None:
        super().__init__()
        self.question = question
        self.count = count
        self.detail = detail or f"{count} items, one batch: one `u` takes all of it back."

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(self.question, style="bold"), id="confirm-question")
            yield Static(Text(self.detail), id="confirm-detail")
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes (y)", variant="warning", id="confirm-yes", compact=True)
                yield Button("No (n)", id="confirm-no", compact=True)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)
