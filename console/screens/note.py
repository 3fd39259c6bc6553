"""A modal input for an internal note (seen by moderators only, never sent to the platform)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.screens.keys import bindings

MAX_NOTE = 4000


class NoteScreen(ModalScreen[str | None]):
    CSS_PATH = "note.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("note")

    def __init__(self, thread_id: int, value: str = "") -> None:
        super().__init__()
        self.thread_id = thread_id
        self.value = value  # a note the cache refused before, offered again

    def compose(self) -> ComposeResult:
        with Vertical(id="note-box"):
            yield Static(Text(f"Internal note on thread {self.thread_id}"), id="note-title")
            yield Input(
                value=self.value,
                placeholder="what the next moderator should know",
                max_length=MAX_NOTE,
            )
            yield Static(Text("enter saves · escape cancels"), id="note-help")

    @on(Input.Submitted)
    def _save(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.notify("A note needs some text", severity="warning", markup=False)
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
