"""`?`: every key of the screen it was opened from, generated from the live bindings.

It lists what `Screen.active_bindings` reports (the focused widget, the screen, the app), so it
cannot drift from the keys, and leaves out what the moderator's role hides. The app installs one
HelpScreen and shows it again with the keys of the screen it is opened from (`show_for`): after
the first `?` nothing is composed, only its text is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

from console.bindings import BY_ID
from console.screens.kept_styles import KeptStyles
from console.screens.keys import bindings

ORDER = {binding_id: index for index, binding_id in enumerate(BY_ID)}


@dataclass(frozen=True)
class KeyHelp:
    keys: str
    description: str
    binding_id: str
    enabled: bool


def key_help(screen: Screen[object]) -> list[KeyHelp]:
    """One entry per action bound on `screen` (keys of the same action joined)."""
    app = screen.app
    merged: dict[tuple[int, str], KeyHelp] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or not binding.id:
            continue  # Textual's own scroll/focus keys carry no id; ours all do
        slot = (id(active.node), binding.action)
        key = app.get_key_display(binding)
        if slot in merged:
            old = merged[slot]
            if key not in old.keys.split(" / "):
                merged[slot] = KeyHelp(
                    f"{old.keys} / {key}", old.description, old.binding_id, old.enabled
                )
            continue
        merged[slot] = KeyHelp(
            key, binding.tooltip or binding.description, binding.id or "", active.enabled
        )
    return sorted(merged.values(), key=_place)


def _place(entry: KeyHelp) -> tuple[int, int]:
    """The screen's own keys first (in the order of the table), then its widgets', then the
    app's: a key the user moved keeps its place."""
    key = BY_ID.get(entry.binding_id)
    if key is None:
        return (1, 0)  # a widget's (sorted() keeps their own order)
    index = ORDER[entry.binding_id]
    return (2, index) if key.scope in ("app", "panel") else (0, index)


class KeysList(Widget):
    """The help's table of keys, laid out by Rich once per width and kept as text: the screen
    measures its height and draws it on every `?`, and a Rich Table is measured and laid out
    again on each of those (most of what `?` cost)."""

    DEFAULT_CSS = """
    KeysList {
        height: auto;
    }
    """

    def __init__(self, table: Table, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._table = table
        self._laid_out: dict[int, Text] = {}

    def update(self, table: Table) -> None:
        self._table = table
        self._laid_out.clear()
        self.refresh(layout=True)

    def _text(self, width: int) -> Text:
        text = self._laid_out.get(width)
        if text is None:
            console = self.app.console
            lines = console.render_lines(self._table, console.options.update_width(width))
            text = Text(no_wrap=True, overflow="crop", end="")
            for index, line in enumerate(lines):
                if index:
                    text.append("\n")
                for segment in line:
                    text.append(segment.text, segment.style)
            self._laid_out = {width: text}  # one width at a time
        return text

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._text(max(1, width)).plain.split("\n"))

    def render(self) -> Text:
        return self._text(max(1, self.content_region.width))


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"

    BINDINGS: ClassVar[list[BindingType]] = bindings("help")
    _kept_styles: KeptStyles | None = None

    def __init__(self, origin: Screen[object] | None = None, title: str = "") -> None:
        super().__init__()
        self.entries = key_help(origin) if origin is not None else []
        self.origin_title = title

    def show_for(self, origin: Screen[object], title: str) -> None:
        """List the keys of `origin` (before the screen is shown again)."""
        entries = key_help(origin)
        if entries == self.entries and title == self.origin_title:
            return  # the same keys as last time: nothing is rendered again
        self.entries = entries
        self.origin_title = title
        if self.is_mounted:
            self.query_one("#help-title", Static).update(self._title())
            self.query_one("#help-keys", KeysList).update(self._table())
            self.query_one("#help-scroll", VerticalScroll).scroll_home(animate=False)

    def _title(self) -> Text:
        return Text(f"Keys: {self.origin_title}", style="bold")

    def _table(self) -> Table:
        """One row per binding: its current keys (`*`: rebound in your config), what it does,
        and its id (what `[keys]` in the config rebinds)."""
        mine: dict[str, str] = getattr(self.app, "user_keys", {})
        table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
        table.add_column("keys", style="bold", no_wrap=True, max_width=18)
        table.add_column("does", ratio=1)
        table.add_column("id", style="dim italic", no_wrap=True)
        for entry in self.entries:
            keys = entry.keys + ("*" if entry.binding_id in mine else "")
            table.add_row(
                keys,
                Text(entry.description, style="" if entry.enabled else "dim"),
                entry.binding_id,
            )
        if mine:
            table.add_row("", Text("* your key ([keys] in the config)", style="dim"), "")
        return table

    def on_resize(self) -> None:
        # the list takes what the title, footer and borders leave (at 80x24: 18 lines)
        scroll = self.query_one("#help-scroll", VerticalScroll)
        scroll.styles.max_height = max(3, self.size.height - 6)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(self._title(), id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield KeysList(self._table(), id="help-keys")
            yield Static(
                Text("ctrl+p finds every action by name · escape closes"), id="help-footer"
            )

    @on(events.ScreenResume)
    def _styles_still_hold(self, event: events.ScreenResume) -> None:
        """`?` again restyles the kept help screen only after an app-wide change
        (console.screens.kept_styles): its new keys change text, never classes."""
        if self._kept_styles is None:
            self._kept_styles = KeptStyles()
        self._kept_styles.resumed(self.app, event)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, direction: str) -> None:
        scroll = self.query_one("#help-scroll", VerticalScroll)
        if direction == "down":
            scroll.scroll_down(animate=False)
        else:
            scroll.scroll_up(animate=False)
