"""Below 80x24 every screen of the console gives way to one notice that the terminal is too small
(widgets.too_small), and comes back as it was once the terminal is large enough again.

One mechanism for every screen, panel and dialog: the app calls `fit(app)` when it starts and on
every resize; below the least size it pushes `TooSmallScreen` over whatever is shown, and pops it
when the terminal has grown. While it shows, only quitting works (`blocks`).
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.screen import ModalScreen

from widgets.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmallNotice, too_small

NEED = (MIN_WIDTH, MIN_HEIGHT)  # the console's promise: 80x24


class TooSmallScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    TooSmallScreen { background: $background; }
    """

    def compose(self) -> ComposeResult:
        yield TooSmallNotice(NEED, quit_key="ctrl+q", id="too-small")


def fit(app: App[object], size: Size) -> None:
    """Show the notice over everything below NEED; take it away when the terminal has grown to
    `size`."""
    small = too_small(size.width, size.height, NEED)
    showing = isinstance(app.screen, TooSmallScreen)
    if small and not showing:
        app.push_screen(TooSmallScreen())
    elif showing and not small:
        app.pop_screen()


def blocks(app: App[object], action: str) -> bool:
    """Whether `action` is refused because the notice shows (everything but quitting)."""
    return action != "quit" and isinstance(app.screen, TooSmallScreen)
