"""`LatestWork` (widgets/latest_work.py): asked twice, the first answer coming back after the
second is dropped; only the latest request's answer reaches `show`. A bare Textual app: the
piece knows neither the database nor the widgets."""

from __future__ import annotations

import threading

import pytest
from textual import on
from textual.app import App

from tests.ui.helpers import settle, wait_for
from widgets.latest_work import LatestWork

pytestmark = pytest.mark.anyio


class Counter(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.first_started = threading.Event()
        self.let_first_go = threading.Event()
        self.shown: list[str] = []
        self.answered: list[int] = []
        self.counting = LatestWork(self, self.count, self.shown.append, group="count")

    def count(self) -> str:
        self.calls += 1
        call = self.calls
        if call == 1:  # the first request's work is slow
            self.first_started.set()
            assert self.let_first_go.wait(60)
        return f"answer {call}"

    @on(LatestWork.Answered)
    def _answered(self, message: LatestWork.Answered) -> None:
        self.answered.append(message.request_id)
        message.deliver()


async def test_an_answer_to_an_older_request_is_dropped() -> None:
    app = Counter()
    async with app.run_test() as pilot:
        first = app.counting.request()
        assert await wait_for(pilot, app.first_started.is_set)
        second = app.counting.request()
        assert await wait_for(pilot, lambda: app.shown == ["answer 2"])
        assert app.counting.is_latest(second) and not app.counting.is_latest(first)
        app.let_first_go.set()
        assert await wait_for(pilot, lambda: first in app.answered)
        await settle(pilot)
        assert app.answered == [second, first]  # the old answer came, last
        assert app.shown == ["answer 2"]  # and was not shown
        app.counting.request()
        await settle(pilot)
        assert app.shown == ["answer 2", "answer 3"]
