"""Restyle a kept screen on its push only when something it is styled by has changed.

Textual restyles every node of a screen each time it is pushed, the hidden nodes of every
component class included (a LazyTable has seven, a KeyBar two): 9–12 ms of the UI thread for a
panel at 80x24, whatever its widget count, and about half of what a panel's key cost. A kept
screen needs it only after an app-wide change while it waited:

- another theme, or the terminal's colours, focus, native ANSI colour or no-colour;
- a stylesheet read that can reach it: the app's or a screen's CSS (the .tcss files), or a
  widget's DEFAULT_CSS that is not scoped to its widget. A widget's scoped DEFAULT_CSS (Textual's
  default) only styles that widget and what is inside it, and is read when the first such
  widget is mounted: one read after the screen was styled cannot reach the screen, which held
  no such widget then (a panel's first visit reads the DEFAULT_CSS of the widgets it brings).

Changes inside the screen restyle there and then in Textual (a class added, a widget focused or
hovered), hidden or not.

Use: in the screen's own handler of `events.ScreenResume`, which Textual calls before its own
(a subclass's handlers come first): `self._kept_styles.resumed(self.app, event)`.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import App


def styled_by(app: App[Any]) -> tuple[object, ...]:
    """What every screen of `app` is styled by, for comparison with `==` (the CSS texts compare
    by identity first: the same strings while nothing is read again)."""
    reaching = tuple(
        (read_from, source.content)
        for read_from, source in app.stylesheet.source.items()
        if not (source.is_defaults and source.scope)
    )
    return (
        app.theme,
        app.ansi_theme,
        app.app_focus,
        app.native_ansi_color,
        app.no_color,
        reaching,
    )


class KeptStyles:
    """What a screen's styles were last applied under, to tell its next push whether they still
    hold."""

    def __init__(self) -> None:
        self._styled_by: tuple[object, ...] | None = None

    def resumed(self, app: App[Any], event: events.ScreenResume) -> None:
        """The screen is shown again: skip Textual's restyle if nothing it follows changed."""
        now = styled_by(app)
        if now == self._styled_by:
            event.refresh_styles = False
        self._styled_by = now
