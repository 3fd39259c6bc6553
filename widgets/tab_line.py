"""A one-line row of tabs: labels side by side, the active one highlighted.

Database-agnostic: it takes plain strings (shown as text, never markup) and the index of the
active one, and posts `TabLine.Chosen` when a tab is clicked; keys belong to the screen that owns
it. When the labels do not fit the width, the line shows a window of them around the active tab,
with `‹` / `›` where tabs are left out, so it fits 80 columns whatever the names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

GAP = " "  # between two tabs
MORE_BEFORE, MORE_AFTER = "‹ ", " ›"
LONGEST = 24  # cells a label may take before it is cut with "…"


def _label(text: str) -> str:
    return text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"


def window(labels: Sequence[str], active: int, width: int) -> tuple[int, int]:
    """The tabs `[first, last)` shown at `width` cells: every one if they fit, else as many as
    fit around `active` (the markers for left-out tabs included)."""
    sizes = [len(_label(label)) + 2 for label in labels]  # " label "

    def cost(first: int, last: int) -> int:
        used = sum(sizes[first:last]) + len(GAP) * max(0, last - first - 1)
        return (
            used
            + (len(MORE_BEFORE) if first > 0 else 0)
            + (len(MORE_AFTER) if last < len(labels) else 0)
        )

    if not labels:
        return 0, 0
    active = max(0, min(active, len(labels) - 1))
    first, last = active, active + 1
    grew = True
    while grew:  # grow to the right first (the next tabs), then to the left
        grew = False
        if last < len(labels) and cost(first, last + 1) <= width:
            last += 1
            grew = True
        elif first > 0 and cost(first - 1, last) <= width:
            first -= 1
            grew = True
    return first, last


class TabLine(Widget, can_focus=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"tab-line--active", "tab-line--more"}
    """`--active`: the active tab; `--more`: the markers of left-out tabs and the hint."""

    DEFAULT_CSS = """
    TabLine {
        height: 1;
        background: $panel;
        color: $text-muted;
        & > .tab-line--active { background: $primary; color: $text; text-style: bold; }
        & > .tab-line--more { color: $text-muted; }
    }
    """

    class Chosen(Message):
        """A tab was clicked."""

        def __init__(self, tab_line: TabLine, index: int) -> None:
            super().__init__()
            self.tab_line = tab_line
            self.index = index

        @property
        def control(self) -> TabLine:
            return self.tab_line

    def __init__(
        self, *, hint: str = "", id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.hint = hint  # at the right end when every tab and it fit (e.g. the keys)
        self.labels: tuple[str, ...] = ()
        self.active = 0
        self._spans: list[tuple[int, int, int]] = []  # (start, end, index) as last drawn

    def set_tabs(self, labels: Sequence[str], active: int) -> None:
        labels = tuple(labels)
        if (labels, active) != (self.labels, self.active):
            self.labels, self.active = labels, active
            self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        self._spans = []
        first, last = window(self.labels, self.active, self.size.width)
        more = self.get_component_rich_style("tab-line--more")
        active = self.get_component_rich_style("tab-line--active")
        if first > 0:
            text.append(MORE_BEFORE, style=more)
        for index in range(first, last):
            if index > first:
                text.append(GAP)
            start = len(text)
            style = active if index == self.active else ""
            text.append(f" {_label(self.labels[index])} ", style=style)
            self._spans.append((start, len(text), index))
        if last < len(self.labels):
            text.append(MORE_AFTER, style=more)
        room = self.size.width - len(text) - len(self.hint)
        if self.hint and first == 0 and last == len(self.labels) and room >= 2:
            text.append(" " * room)
            text.append(self.hint, style=more)
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, index in self._spans:
            if start <= event.x < end:
                self.post_message(self.Chosen(self, index))
                return
