"""A read-only pane beside a list: a title, a few facts, then parts (a heading and a body each).

Database-agnostic: it takes plain strings. Every string goes through the caller's `sanitise`
function (e.g. one that makes control characters visible) and becomes a Rich `Text`, never
markup. The whole pane is one `Static` updated in one go, so showing another item costs one
layout of one widget. It never takes focus: the list beside it keeps the keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class Fact:
    """A short line under the title; `alert` draws it in the warning colour."""

    text: str
    alert: bool = False


@dataclass(frozen=True)
class Part:
    heading: str
    body: str


class PreviewPane(VerticalScroll, can_focus=False, inherit_bindings=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"preview-pane--alert", "preview-pane--heading"}

    DEFAULT_CSS = """
    PreviewPane {
        border-left: solid $primary;
        padding: 0 1;
        scrollbar-size-vertical: 1;
        & > .preview-pane--alert { color: $warning; text-style: bold; }
        & > .preview-pane--heading { color: $accent; text-style: bold; }
    }
    PreviewPane > Static { width: 1fr; }
    """

    def __init__(
        self,
        *,
        sanitise: Callable[[str], str] = _identity,
        body_lines: int = 12,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.sanitise = sanitise
        self.body_lines = body_lines  # lines of each part's body shown at most
        self.shown: object = None  # what the caller says is shown (e.g. a thread id)

    def compose(self) -> ComposeResult:
        yield Static("", markup=False, id="preview-text")

    def show(self, key: object, title: str, facts: Sequence[Fact], parts: Sequence[Part]) -> None:
        alert = self.get_component_rich_style("preview-pane--alert")
        heading = self.get_component_rich_style("preview-pane--heading")
        text = Text()
        text.append(self.sanitise(title), style="bold")
        for fact in facts:
            text.append("\n")
            text.append(self.sanitise(fact.text), style=alert if fact.alert else "")
        for part in parts:
            text.append("\n\n")
            text.append(self.sanitise(part.heading), style=heading)
            text.append("\n")
            text.append(self._cut(self.sanitise(part.body)))
        self._update(key, text)

    def clear(self, message: str = "") -> None:
        self._update(None, Text(message, style="dim"))

    def _cut(self, body: str) -> str:
        lines = body.strip().splitlines()
        if len(lines) > self.body_lines:
            lines = [*lines[: self.body_lines], "…"]
        return "\n".join(lines)

    def _update(self, key: object, text: Text) -> None:
        self.shown = key
        self.query_one("#preview-text", Static).update(text)
        self.scroll_home(animate=False, immediate=True)
