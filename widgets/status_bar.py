"""A one-line bar: text on the left, text on the right, both literal (never markup)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    StatusBar.-warning { color: $warning; }
    """

    left: reactive[str] = reactive("")
    right: reactive[str] = reactive("")

    def __init__(
        self,
        left: str = "",
        right: str = "",
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.set_reactive(StatusBar.left, left)
        self.set_reactive(StatusBar.right, right)

    def render(self) -> Text:
        width = self.content_region.width or 80
        right = Text(self.right, no_wrap=True)
        right.truncate(max(0, width // 2), overflow="ellipsis")
        room = max(0, width - right.cell_len - (1 if self.right else 0))
        left = Text(self.left, no_wrap=True)
        left.truncate(room, overflow="ellipsis", pad=True)
        if self.right:
            left.append(" ")
        left.append_text(right)
        return left
