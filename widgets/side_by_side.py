"""Two texts side by side, the words they share highlighted and the rest dimmed.

Database-agnostic: it takes plain strings. Every string goes through the caller's `sanitise`
function (e.g. one that makes control characters visible) and becomes a Rich `Text`, never
markup, so `[bold]` in a post stays characters. Narrower than `STACK_BELOW` columns the two
sides are stacked (left above right), so it fits an 80-column terminal.

The comparison is `difflib.SequenceMatcher` over word tokens, case and surrounding punctuation
ignored; only the first `limit` characters of each text are compared (and shown), so a 200 kB
post stays fast.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

LIMIT = 3_000  # characters of each text compared and shown
STACK_BELOW = 100  # columns: narrower than this, the sides are stacked

_PIECES = re.compile(r"\S+|\s+")
_EDGE = re.compile(r"^\W+|\W+$")


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class Side:
    """One text of the comparison: a heading (who, where), a title and a body."""

    heading: str
    title: str
    body: str
    length: int | None = None  # the body's full length, if the caller already cut it


def words(text: str) -> list[tuple[int, int, str]]:
    """(start, end, comparable form) of each word: lower case, edge punctuation dropped."""
    found = []
    for match in _PIECES.finditer(text):
        piece = match.group()
        if piece.isspace():
            continue
        key = _EDGE.sub("", piece.lower()) or piece
        found.append((match.start(), match.end(), key))
    return found


def compare(
    left: str,
    right: str,
    *,
    same: Style | str = "bold",
    differ: Style | str = "dim",
    limit: int = LIMIT,
) -> tuple[Text, Text, float]:
    """Both texts as Rich Text with shared words styled `same`, the others `differ`, and the
    share of words that match (0..1). Only the first `limit` characters of each are used."""
    left_cut, right_cut = left[:limit], right[:limit]
    left_words, right_words = words(left_cut), words(right_cut)
    matcher = difflib.SequenceMatcher(
        None, [w[2] for w in left_words], [w[2] for w in right_words], autojunk=False
    )
    left_text, right_text = Text(left_cut), Text(right_cut)
    matched = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        style = same if tag == "equal" else differ
        if tag == "equal":
            matched += i2 - i1
        for start, end, _ in left_words[i1:i2]:
            left_text.stylize(style, start, end)
        for start, end, _ in right_words[j1:j2]:
            right_text.stylize(style, start, end)
    total = len(left_words) + len(right_words)
    ratio = (2 * matched / total) if total else 1.0
    return left_text, right_text, ratio


class SideBySide(Widget):
    """Two `Side`s next to each other (or stacked when narrow), shared words highlighted."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "side-by-side--same",
        "side-by-side--differ",
        "side-by-side--more",
    }

    DEFAULT_CSS = """
    SideBySide {
        layout: horizontal;
        height: auto;
        & > .side-by-side--same { color: $text-success; text-style: bold; }
        & > .side-by-side--differ { color: $text-muted; }
        & > .side-by-side--more { color: $warning; }
        & > Static { width: 1fr; height: auto; padding: 0 1; }
        & > #sbs-left { border-right: vkey $panel-lighten-2; }
    }
    SideBySide.-stacked {
        layout: vertical;
        & > Static { width: 100%; }
        & > #sbs-left { border-right: none; border-bottom: hkey $panel-lighten-2; }
    }
    """

    def __init__(
        self,
        *,
        sanitise: Callable[[str], str] = _identity,
        limit: int = LIMIT,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.sanitise = sanitise
        self.limit = limit
        self.similarity = 0.0
        self._sides: tuple[Side, Side] | None = None

    def compose(self) -> ComposeResult:
        # one Static a side (heading, title, body and what was not compared in one text): the
        # fewer widgets a panel has, the less a visit restyles and paints
        yield Static("", id="sbs-left", markup=False)
        yield Static("", id="sbs-right", markup=False)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < STACK_BELOW, "-stacked")

    def on_mount(self) -> None:
        self.set_class(self.size.width < STACK_BELOW, "-stacked")
        if self._sides is not None:
            self._draw()

    def show(self, left: Side, right: Side) -> None:
        """Compare and show these two texts."""
        self._sides = (left, right)
        if self.is_mounted:
            self._draw()

    def _draw(self) -> None:
        assert self._sides is not None
        left, right = self._sides
        same = self.get_component_rich_style("side-by-side--same", partial=True)
        differ = self.get_component_rich_style("side-by-side--differ", partial=True)
        clean = self.sanitise
        title_l, title_r, _ = compare(
            clean(left.title), clean(right.title), same=same, differ=differ, limit=self.limit
        )
        body_l, body_r, self.similarity = compare(
            clean(left.body), clean(right.body), same=same, differ=differ, limit=self.limit
        )
        heading = differ + Style(italic=True)  # (another component class costs every restyle)
        warning = self.get_component_rich_style("side-by-side--more", partial=True)
        for name, side, title, body in (
            ("left", left, title_l, body_l),
            ("right", right, title_r, body_r),
        ):
            text = Text(end="")
            text.append(clean(side.heading), style=heading)
            text.append("\n")
            text.append_text(title)
            text.append("\n\n")
            text.append_text(body)
            more = max(side.length or 0, len(side.body)) - self.limit
            if more > 0:
                text.append(f"\n… {more:,} more characters not compared", style=warning)
            self.query_one(f"#sbs-{name}", Static).update(text)
