"""A read-only pane beside a list: a title, a few facts, then parts (a heading and a body each).

Database-agnostic: it takes plain strings. Every string goes through the caller's `sanitise`
function (e.g. one that makes control characters visible) and becomes a Rich `Text`, never
markup. It never takes focus: the list beside it keeps the keys.

The pane keeps the size its container gives it and fits what it shows into that size (each part's
body cut to its share of the lines, with "…"), so showing another item repaints this one widget
and never needs a layout: it is drawn in the same frame as the list's cursor that asked for it
(a layout would take Textual one more frame, and a resize of the content another).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widget import Widget


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


MORE = "…"  # ends a body that was cut


class PreviewPane(Widget, can_focus=False, inherit_bindings=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"preview-pane--alert", "preview-pane--heading"}

    DEFAULT_CSS = """
    PreviewPane {
        border-left: solid $primary;
        padding: 0 1;
        height: 1fr;
        & > .preview-pane--alert { color: $warning; text-style: bold; }
        & > .preview-pane--heading { color: $accent; text-style: bold; }
    }
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
        self._title = ""
        self._facts: tuple[Fact, ...] = ()
        self._parts: tuple[Part, ...] = ()
        self._message = ""  # shown dimmed instead of an item (`clear`)

    def show(self, key: object, title: str, facts: Sequence[Fact], parts: Sequence[Part]) -> None:
        self.shown = key
        self._title = self.sanitise(title)
        self._facts = tuple(Fact(self.sanitise(f.text), f.alert) for f in facts)
        self._parts = tuple(Part(self.sanitise(p.heading), self.sanitise(p.body)) for p in parts)
        self._message = ""
        self.refresh()  # a repaint, never a layout: the size stays

    def clear(self, message: str = "") -> None:
        self.shown = None
        self._title, self._facts, self._parts = "", (), ()
        self._message = message
        self.refresh()

    @property
    def text(self) -> str:
        """What the pane shows now, as plain text."""
        return self.render().plain

    def render(self) -> Text:
        if self.shown is None:
            return Text(self._message, style="dim")
        width = max(1, self.content_size.width)
        height = max(1, self.content_size.height)
        alert = self.get_component_rich_style("preview-pane--alert")
        heading = self.get_component_rich_style("preview-pane--heading")
        head = self._wrap(Text(self._title, style="bold"), width)
        for fact in self._facts:
            head += self._wrap(Text(fact.text, style=alert if fact.alert else Style()), width)
        headings = [self._wrap(Text(part.heading, style=heading), width) for part in self._parts]
        bodies = [self._wrap(Text(self._cut(part.body)), width) for part in self._parts]
        room = height - len(head) - sum(1 + len(h) for h in headings)
        shares = _shares([len(body) for body in bodies], max(0, room))
        lines = list(head)
        for part_heading, body, share in zip(headings, bodies, shares, strict=True):
            lines.append(Text())
            lines += part_heading
            if share < len(body):
                body = [*body[: max(0, share - 1)], Text(MORE)] if share else []
            lines += body
        return Text("\n").join(lines)

    def _wrap(self, text: Text, width: int) -> list[Text]:
        if not text.plain:
            return [text]
        return list(text.wrap(self.app.console, width))

    def _cut(self, body: str) -> str:
        lines = body.strip().splitlines()
        if len(lines) > self.body_lines:
            lines = [*lines[: self.body_lines], MORE]
        return "\n".join(lines)


def _shares(wanted: list[int], room: int) -> list[int]:
    """Lines for each body out of `room`: a short body takes what it needs, the others share
    what is left evenly (the longest gets the odd lines)."""
    shares = [0] * len(wanted)
    left = sorted(range(len(wanted)), key=lambda i: wanted[i])
    while left:
        fair = room // len(left)
        index = left.pop(0)
        shares[index] = min(wanted[index], fair)
        room -= shares[index]
    return shares
