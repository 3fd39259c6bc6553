"""Colours as a 16-colour terminal shows them.

A terminal without 256 or true colours (`TERM=xterm` and no `COLORTERM`) has 16: Rich turns every
other colour into the nearest of them as it writes to the terminal, so a tint that is distinct in
true colour (yellow text on a 15% yellow band) can become the same colour as its background.
`SixteenColours` makes that choice while the screen is composed instead, so what the app draws,
what Pilot tests read and what snapshot SVGs show is what the terminal will show.
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color as RichColor
from rich.color import ColorSystem, ColorType
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter

FEW_COLOURS = ("standard", "windows")  # Rich's names of the 16- and 8-colour systems


def few_colours(color_system: str | None) -> bool:
    """Whether a console with this colour system has only the basic ANSI colours."""
    return color_system in FEW_COLOURS


@lru_cache(4096)
def _nearest(color: RichColor) -> RichColor:
    if color.type in (ColorType.DEFAULT, ColorType.STANDARD, ColorType.WINDOWS):
        return color
    return color.downgrade(ColorSystem.STANDARD)


@lru_cache(4096)
def sixteen_colour_style(style: Style) -> Style:
    """`style` with its colours replaced by the nearest of the 16 ANSI colours."""
    color = None if style.color is None else _nearest(style.color)
    bgcolor = None if style.bgcolor is None else _nearest(style.bgcolor)
    if color is style.color and bgcolor is style.bgcolor:
        return style
    return style + Style.from_color(color, bgcolor)


class SixteenColours(LineFilter):
    """Every colour as the nearest of the terminal's 16, the choice Rich makes on output."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [
            Segment(text, None if style is None else sixteen_colour_style(style), control)
            for text, style, control in segments
        ]
