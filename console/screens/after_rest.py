"""A callback run once something has stopped moving: `moved()` on every move, and `callback`
runs `pause` seconds after the last one (holding a key runs nothing). One timer at a time, not
one per move: a move only notes its time."""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic

from textual.message_pump import MessagePump
from textual.timer import Timer


class AfterRest:
    def __init__(self, owner: MessagePump, pause: float, callback: Callable[[], object]) -> None:
        self.owner = owner
        self.pause = pause
        self.callback = callback
        self._moved_at = 0.0
        self._timer: Timer | None = None

    def moved(self) -> None:
        self._moved_at = monotonic()
        if self._timer is None:
            self._timer = self.owner.set_timer(self.pause, self._due)

    def _due(self) -> None:
        self._timer = None
        rested = monotonic() - self._moved_at
        if rested < self.pause:  # moved again meanwhile: wait for the rest of the pause
            self._timer = self.owner.set_timer(self.pause - rested, self._due)
            return
        self.callback()

    def stop(self) -> None:
        """Run nothing for the moves so far (the next move starts again)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
