"""Keys that arrive together go where the focus is when each is handled.

Textual hands each key to the widget focused when the app reads it, into that widget's own
queue, and runs the key's binding only once the key has bubbled up to the app, later. Keys that
come together (a fast typist, a paste, an SSH link delivering a burst) were all handed to the
same widget before the first one's binding ran: if it moved the focus (`/` opens the Queue's
search line, its enter gives the rows the focus back), the rest were lost or read as that
widget's keys — `/xc` typed over a slow link lost the search. A widget with `KeysFollowFocus`
first in its bases runs a key's binding in its own turn, so the focus has moved before it reads
the next key, and passes a key that reaches it after the focus has moved on to the widget that
has it now, in order.
"""

from __future__ import annotations

from typing import cast

from textual import events
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
        target = app.focused or app.screen
        if target is not widget:
            event.prevent_default()  # the base classes' handlers are not run for it
            event.stop()
            again = events.Key(event.key, event.character)
            # as the app forwards a key (its priority bindings were checked when it came;
            # Textual 8.2.8's Event._set_forwarded and App._check_bindings: the version is pinned)
            again._set_forwarded()
            target.post_message(again)
        elif not self.keeps_key(event) and await app._check_bindings(event.key):
            event.prevent_default()
            event.stop()
