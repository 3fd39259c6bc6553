"""A modal yes/no question. No is focused: enter (or n, escape) answers no; y answers yes.

For a batch decision it says what will be sent to which platform and lists every item it will
touch (scrollable: j/k, arrows, PgUp/PgDn); for other questions (an undo) a `detail` says what
the question is about.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from console.screens.keys import bindings


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = "confirm.tcss"
    AUTO_FOCUS = "#confirm-no"

    BINDINGS: ClassVar[list[BindingType]] = bindings("confirm")

    def __init__(
        self,
        question: str,
        count: int,
        detail: str | None = None,
        *,
        destinations: Sequence[str] = (),
        items: Text | None = None,
    ) -> None:
        super().__init__()
        self.question = question
        self.count = count
        self.detail = detail or f"{count} items, one batch: one `u` takes all of it back."
        self.destinations = tuple(destinations)
        self.items = items

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(self.question, style="bold"), id="confirm-question")
            if self.destinations:
                yield Static(Text("\n".join(self.destinations)), id="confirm-destinations")
            if self.items is not None:
                with VerticalScroll(id="confirm-items", can_focus=False):
                    yield Static(self.items, id="confirm-list")
            yield Static(Text(self.detail), id="confirm-detail")
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes (y)", variant="warning", id="confirm-yes", compact=True)
                yield Button("No (n)", variant="primary", id="confirm-no", compact=True)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_scroll(self, how: str) -> None:
        if self.items is None:
            return
        scroll = self.query_one("#confirm-items", VerticalScroll)
        {
            "down": scroll.scroll_down,
            "up": scroll.scroll_up,
            "page_down": scroll.scroll_page_down,
            "page_up": scroll.scroll_page_up,
        }[how](animate=False)

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)
