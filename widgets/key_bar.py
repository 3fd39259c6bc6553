"""The bottom line of keys, drawn as one line of text.

It shows what Textual's compact Footer shows (the screen's bindings marked `show`, one per action,
dimmed when disabled), but Textual's Footer is a widget per key and recomposes them all after
every change of bindings (each focus change, each screen switch), which costs a restyle and a
second frame on every move in a thread and every enter or escape. KeyBar only redraws its one
line, and only when the keys shown changed.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.screen import Screen
from textual.widget import Widget

Entry = tuple[str, str, bool]  # key as displayed, description, enabled


class KeyBar(Widget, can_focus=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key", "key-bar--description"}

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.entries: tuple[Entry, ...] = ()

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        entries = self._entries(screen)
        if entries != self.entries:
            self.entries = entries
            self.refresh()

    def _entries(self, screen: Screen[object]) -> tuple[Entry, ...]:
        shown: dict[str, Entry] = {}
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if binding.show and binding.action not in shown:
                shown[binding.action] = (
                    self.app.get_key_display(binding),
                    binding.description,
                    enabled,
                )
        return tuple(shown.values())

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        text = Text(no_wrap=True, overflow="crop", end="")
        for key, description, enabled in self.entries:
            part = Text.assemble((key, key_style), (f" {description}", description_style))
            if not enabled:
                part.stylize("dim")
            text.append_text(part)
            text.append(" ")
        return text
