"""A one-line bar: text on the left, text on the right, both literal (never markup).

It also shows the app's last message (a decision saved, a refusal, an error), if the app has the
reactives named by `message_attribute` and `severity_attribute`: the message takes the right-hand
side, so results have one place, the status line, on every screen.

`after_drawn(callback)` calls back once the bar has next been drawn: a screen that shows a
result there and then starts slower work (a decision saved, then the reload) starts it after the
frame that shows the result, not before.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

MARKS = {"warning": "! ", "error": "✗ "}


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
    message: reactive[str] = reactive("")
    severity: reactive[str] = reactive("information")

    def __init__(
        self,
        left: str = "",
        right: str = "",
        *,
        message_attribute: str | None = "said",
        severity_attribute: str = "said_severity",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.set_reactive(StatusBar.left, left)
        self.set_reactive(StatusBar.right, right)
        self.message_attribute = message_attribute
        self.severity_attribute = severity_attribute
        self._after_drawn: list[Callable[[], object]] = []

    def after_drawn(self, callback: Callable[[], object]) -> None:
        """Call `callback` (on the UI thread) once this bar has next been drawn, after the frame
        that holds it has been handed to the terminal. Nothing calls back if the bar is never
        drawn again (its screen hidden): a caller that must go on keeps its own deadline."""
        self._after_drawn.append(callback)

    def on_mount(self) -> None:
        app = self.app
        if self.message_attribute and hasattr(app, self.message_attribute):
            self.watch(app, self.message_attribute, self._follow_message)

    def _follow_message(self, *_: object) -> None:
        app = self.app
        self.severity = str(getattr(app, self.severity_attribute, "information"))
        self.message = str(getattr(app, self.message_attribute or "", ""))
        self.refresh()  # said again in the same words (two closes): drawn again all the same

    def render(self) -> Text:
        if self._after_drawn:  # drawn within this frame: called back once it is written
            for callback in self._after_drawn:
                self.call_later(callback)
            self._after_drawn.clear()
        width = self.content_region.width or 80
        if self.message:
            right = Text(MARKS.get(self.severity, ""), style="bold")
            right.append(self.message, style="bold" if self.severity != "information" else "")
            room = width - min(Text(self.left).cell_len, width // 3) - 1
        else:
            right = Text(self.right)
            room = width // 2
        right.no_wrap = True
        right.truncate(max(0, room), overflow="ellipsis")
        space = max(0, width - right.cell_len - (1 if right.plain else 0))
        left = Text(self.left, no_wrap=True)
        left.truncate(space, overflow="ellipsis", pad=True)
        if right.plain:
            left.append(" ")
        left.append_text(right)
        return left
