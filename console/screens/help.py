"""`?`: every key of the screen it was opened from, generated from the live bindings.

It lists what `Screen.active_bindings` reports (the focused widget, the screen, the app), so it
cannot drift from the keys, and leaves out what the moderator's role hides. The app installs one
HelpScreen and shows it again with the keys of the screen it is opened from (`show_for`): after
the first `?` nothing is composed, only its text is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


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
    return list(merged.values())


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close help", id="help.close"),
        Binding("j,down", "scroll('down')", "Scroll down", show=False, id="help.down"),
        Binding("k,up", "scroll('up')", "Scroll up", show=False, id="help.up"),
    ]

    def __init__(self, origin: Screen[object] | None = None, title: str = "") -> None:
        super().__init__()
        self.entries = key_help(origin) if origin is not None else []
        self.origin_title = title

    def show_for(self, origin: Screen[object], title: str) -> None:
        """List the keys of `origin` (before the screen is shown again)."""
        self.entries = key_help(origin)
        self.origin_title = title
        if self.is_mounted:
            self.query_one("#help-title", Static).update(self._title())
            self.query_one("#help-keys", Static).update(self._table())
            self.query_one("#help-scroll", VerticalScroll).scroll_home(animate=False)

    def _title(self) -> Text:
        return Text(f"Keys: {self.origin_title}", style="bold")

    def _table(self) -> Text:
        width = max((len(e.keys) for e in self.entries), default=4)
        width = min(width, 18)
        text = Text()
        for entry in self.entries:
            style = "" if entry.enabled else "dim"
            text.append(entry.keys.ljust(width), style="bold")
            text.append("  ")
            text.append(entry.description, style=style)
            text.append("\n")
        text.rstrip()
        return text

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(self._title(), id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(self._table(), id="help-keys")
            yield Static(
                Text("ctrl+p finds every action by name · escape closes"), id="help-footer"
            )

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, direction: str) -> None:
        scroll = self.query_one("#help-scroll", VerticalScroll)
        if direction == "down":
            scroll.scroll_down(animate=False)
        else:
            scroll.scroll_up(animate=False)
