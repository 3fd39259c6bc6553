"""Work asked for again and again, of which only the latest answer counts.

A panel's counts (every pending duplicate pair, every open escalation) are asked for after each
read of its list, and take longer than the list: run in a thread worker of the screen, an answer
can arrive after a newer request was made (a decision, another visit). `LatestWork` numbers the
requests, runs `work()` in a worker of its host (exclusive within its group: a newer request
replaces a waiting one), skips work a newer request has already superseded, and hands only the
latest request's answer to `show` on the UI thread. It knows neither the database (`work` is any
callable, e.g. a count on a connection apart) nor the widgets (`show` is any callable).

The answer comes back as a `LatestWork.Answered` message posted to the host; the host routes it
with one handler (`message.stop(); message.deliver()`; console.screens.panel.PanelScreen does).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any, Generic, TypeVar, cast

from textual.dom import DOMNode
from textual.message import Message

T = TypeVar("T")


class LatestWork(Generic[T]):
    class Answered(Message):
        """The answer to request `request_id` of `work` (to be delivered on the UI thread)."""

        def __init__(self, work: LatestWork[Any], request_id: int, value: object) -> None:
            super().__init__()
            self.work = work
            self.request_id = request_id
            self.value = value

        def deliver(self) -> bool:
            """Hand the value to its `show` if it answers the latest request (True if it did)."""
            return self.work.deliver(self.request_id, self.value)

    def __init__(
        self,
        host: DOMNode,
        work: Callable[[], T],
        show: Callable[[T], None],
        *,
        group: str,
    ) -> None:
        self._host = host
        self._work = work
        self._show = show
        self._group = group
        self._lock = threading.Lock()
        self._latest = 0

    @property
    def latest(self) -> int:
        """The latest request's number (0: none yet)."""
        with self._lock:
            return self._latest

    def is_latest(self, request_id: int) -> bool:
        return request_id == self.latest

    def request(self) -> int:
        """Ask for the work again (UI thread); returns the request's number."""
        with self._lock:
            self._latest += 1
            request_id = self._latest
        self._host.run_worker(
            partial(self._run, request_id),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group=self._group,
        )
        return request_id

    def _run(self, request_id: int) -> None:
        if not self.is_latest(request_id):
            return  # superseded before it began: a newer request does the work
        value = self._work()
        self._host.post_message(LatestWork.Answered(self, request_id, value))

    def deliver(self, request_id: int, value: object) -> bool:
        """`show(value)` if `request_id` is the latest request (UI thread)."""
        if not self.is_latest(request_id):
            return False
        self._show(cast(T, value))
        return True
