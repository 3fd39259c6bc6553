"""A modal one-line question: a reason, a period, a note, an assignee, an appeal's words.
Returns the text or None."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from console.screens.keys import bindings

MAX_TEXT = 2000


class PromptScreen(ModalScreen[str | None]):
    CSS_PATH = "prompt.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("prompt")

    def __init__(
        self,
        title: str,
        placeholder: str = "",
        value: str = "",
        *,
        max_length: int = MAX_TEXT,
        choices: Sequence[str] = (),
        choices_are: str = "",
    ) -> None:
        """`choices` (an assignee's possible names) are completed as typed (→ takes the
        suggestion) and listed under the line after `choices_are` ("can take escalations")."""
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value
        self.max_length = max_length
        self.choices = list(choices)
        self.choices_are = choices_are

    def compose(self) -> ComposeResult:
        suggester = SuggestFromList(self.choices, case_sensitive=False) if self.choices else None
        with Vertical(id="prompt-box"):
            yield Static(Text(self.title_text), id="prompt-title")
            yield Input(
                value=self.value,
                placeholder=self.placeholder,
                max_length=self.max_length,
                suggester=suggester,
            )
            if self.choices_are:
                listed = ", ".join(self.choices) or "nobody"
                yield Static(Text(f"{self.choices_are}: {listed}"), id="prompt-choices")
            keys = "→ completes · " if self.choices else ""
            yield Static(Text(f"{keys}enter saves · escape cancels"), id="prompt-help")

    @on(Input.Submitted)
    def _save(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.notify("This needs some text", severity="warning", markup=False)
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
