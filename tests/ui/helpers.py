"""Small helpers for the Pilot tests: settle the app, read the screen, read notifications."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.messages import Said
from widgets.lazy_table import LazyTable


async def settle(pilot: Pilot[Any]) -> None:
    """Let messages, workers and the follow-up messages they post all finish. A worker that a
    newer one of its exclusive group replaced (a reload after a decision, then another when the
    team database tells the console about that decision) is cancelled: waiting goes on."""
    app = pilot.app
    for _ in range(4):
        await pilot.pause()
        for _ in range(10):
            try:
                await app.workers.wait_for_complete()
                break
            except WorkerCancelled:
                continue
    await pilot.pause()


async def wait_for(pilot: Pilot[Any], done: Callable[[], object], pauses: int = 400) -> bool:
    """Pause (50 ms at a time, `pauses` times at most) until `done()`; whether it came. For a
    test that holds a worker on purpose, where settle() would wait for it."""
    for _ in range(pauses):
        if done():
            return True
        await pilot.pause(0.05)
    return bool(done())


class Held:
    """A function held in the middle of its call until the test lets it go: `started` is set
    when a call begins (`args` holds each call's arguments), `finished` when one has returned."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.started = threading.Event()
        self.finished = threading.Event()
        self.release = threading.Event()
        self.args: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.args.append(args)
        self.started.set()
        assert self.release.wait(300), "never let go"
        value = self.function(*args, **kwargs)
        self.finished.set()
        return value


@contextmanager
def held(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> Iterator[Held]:
    """Hold every call of `owner.name` (a module's function, or a class's method: `args[0]` is
    then the instance) until `Held.release` is set; it is set when the block ends, whatever
    happens in it, so no worker is left waiting."""
    hold = Held(getattr(owner, name))
    monkeypatch.setattr(owner, name, hold if not isinstance(owner, type) else _method(hold))
    try:
        yield hold
    finally:
        hold.release.set()


def _method(hold: Held) -> Callable[..., Any]:
    def method(self: object, *args: Any, **kwargs: Any) -> Any:
        return hold(self, *args, **kwargs)

    return method


def screen_text(pilot: Pilot[Any]) -> str:
    """What the terminal shows, as plain text lines."""
    strips = pilot.app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def notes(messages: list[Message]) -> list[str]:
    """The texts of the messages said so far (the status line and the log; errors also as
    toasts)."""
    return [m.text for m in messages if isinstance(m, Said)]


def toasts(messages: list[Message]) -> list[str]:
    """The texts of the notifications that popped up as toasts."""
    return [m.notification.message for m in messages if isinstance(m, Notify)]


def unreadable(pilot: Pilot[Any]) -> list[str]:
    """Text the screen draws in the colour of its own background (e.g. yellow on yellow once a
    16-colour terminal has picked the nearest of its colours), as "row: text" lines."""
    found = []
    strips = pilot.app.screen._compositor.render_strips()
    for row, strip in enumerate(strips):
        for segment in strip:
            style = segment.style
            if style is None or not segment.text.strip() or style.reverse:
                continue
            color, background = style.color, style.bgcolor
            if color is None or background is None or color.is_default:
                continue
            if (color.type, color.number, color.triplet) == (
                background.type,
                background.number,
                background.triplet,
            ):
                found.append(f"{row}: {segment.text.strip()}")
    return found


def table(app: PeerdeskApp) -> LazyTable:
    """The Queue's table on the screen shown."""
    return app.screen.query_one("#queue-table", LazyTable)


def stored(desk: Desk, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """What the store behind `desk` holds, read on a connection of its own (what was committed):
    the cache file, or the team database as the same role."""
    other = desk.cache.reopen()
    try:
        return [tuple(r) for r in other.query(sql, params)]
    finally:
        other.close()


def until(desk: Desk, holder: str) -> str:
    """HH:MM when `holder`'s claim runs out, as the console says it (on the team database by
    the server's clock, which the tests cannot freeze)."""
    [(expires,)] = stored(desk, "SELECT expires_at FROM claims WHERE holder = ?", (holder,))
    return str(expires)[11:16]


def statuses(desk: Desk, thread_ids: list[int]) -> list[str]:
    """The threads' statuses as the store holds them (read on a connection of its own)."""
    found = dict(stored(desk, "SELECT id, status FROM threads"))
    return [str(found[t]) for t in thread_ids]


def status_of(db: Path, thread_id: int) -> str:
    """A thread's status as the cache file holds it (read on a connection of its own)."""
    cache = open_cache(db)
    try:
        return str(cache.one("SELECT status FROM threads WHERE id = ?", (thread_id,))[0])
    finally:
        cache.close()
