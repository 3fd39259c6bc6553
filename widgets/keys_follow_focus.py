"""Keys that arrive together go where the focus is when each is handled.

Textual hands each key to the widget focused when the app reads it, into that widget's own
queue, and runs the key's binding only once the key has bubbled up to the app, later. Keys that
come together (a fast typist, a paste, an SSH link delivering a burst) were all handed to the
same widget before the first one's binding ran: if it moved the focus (`/` opens the Queue's
search line, its enter gives the rows the focus back, `n` opens a prompt), the rest were read
as that widget's keys or lost: `/xc` typed over a slow link closed and claimed the thread under
the Queue's cursor. A widget with `KeysFollowFocus`
first in its bases runs a key's binding in its own turn, so the focus has moved before it reads
the next key, and passes a key that reaches it after the focus has moved on to the widget that
has it now, in order.
"""

from __future__ import annotations

from typing import cast

from textual import events
from textual._context import active_message_pump
from textual.app import App
from textual.widget import Widget


class KeysFollowFocus:
    """A mixin for focusable widgets (first in the bases). Textual runs each class's key
    handler in turn, the widget's own class first: this one ends the turn of a key it passes on
    or whose binding it ran. `keeps_key`: the keys the widget handles itself before any binding
    (a text input's letters)."""

    def keeps_key(self, event: events.Key) -> bool:
        return False

    async def _on_key(self, event: events.Key) -> None:
        widget = cast(Widget, self)
        app = widget.app
        if (app.focused or app.screen) is not widget:
            event.prevent_default()  # the base classes' handlers are not run for it
            event.stop()
            if app.focused is None and app.screen is not widget.screen:
                # a screen just pushed (a prompt's `n`) focuses its field once it is mounted
                app.screen.call_after_refresh(_forward, app, event.key, event.character)
            else:
                _forward(app, event.key, event.character)
        elif not self.keeps_key(event) and await _run_binding(app, event.key):
            event.prevent_default()
            event.stop()


async def _run_binding(app: App[object], key: str) -> bool:
    """Whether a binding of the focus chain took `key` (its action run now), as the app would
    have run it: the messages its action posts are the app's (a message does not bubble past
    the widget that sent it: the post list's card asking for a long post's next part would stop
    at the list). Textual 8.2.8's App._check_bindings and active_message_pump: pinned."""
    token = active_message_pump.set(app)
    try:
        return await app._check_bindings(key)
    finally:
        active_message_pump.reset(token)


def _forward(app: App[object], key: str, character: str | None) -> None:
    """The key to the focused widget of the app's screen (or the screen), as the app forwards a
    key: its priority bindings were checked when it came (Textual 8.2.8's Event._set_forwarded
    and App._check_bindings: the version is pinned)."""
    again = events.Key(key, character)
    again._set_forwarded()
    (app.focused or app.screen).post_message(again)
