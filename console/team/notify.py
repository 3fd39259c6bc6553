"""Claims and decisions as they happen on the team database (LISTEN/NOTIFY), for open consoles.

The server sends one notification on the channel `peerdesk` for every claim taken, renewed or
given up and for every audit entry (every decision writes one), when its transaction commits
(console/team/notify.sql). `Listener` is one connection that listens; `subscribe` runs one in a
thread and calls back with each burst of events, so a console can reload at once instead of
waiting for its periodic refresh. Plain Python: no Textual here (the app hands in a callback).
"""

from __future__ import annotations

import json
import os
import select
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from console.team.connect import Connection, connect
from console.team.location import is_team_url

CHANNEL = "peerdesk"


@dataclass(frozen=True)
class Event:
    """One notification: `kind` is "claim", "release" or "decision"; `data` is the rest
    (thread_id/holder/expires_at for claims; audit_id/action/actor/target_kind/target_id)."""

    kind: str
    data: dict[str, Any]
    pid: int = 0  # the server process (session) whose transaction sent it

    @property
    def thread_id(self) -> int | None:
        value = self.data.get("thread_id")
        if value is None and self.data.get("target_kind") == "thread":
            value = self.data.get("target_id")
        return int(value) if value is not None else None


def parse(payload: str, pid: int = 0) -> Event:
    """The event in a notification's payload (an unreadable one is kept as kind "unknown"),
    sent by the session of server process `pid`."""
    try:
        data = json.loads(payload)
    except ValueError:
        return Event("unknown", {"payload": payload}, pid)
    if not isinstance(data, dict):
        return Event("unknown", {"payload": payload}, pid)
    kind = str(data.pop("kind", "unknown"))
    return Event(kind, data, pid)


def session_of(cache: object) -> int | None:
    """The server process of a team database connection (a TeamCache's, or a psycopg one's):
    what its notifications carry as `pid`. None for anything else (a SQLite cache)."""
    conn = getattr(cache, "conn", cache)
    raw = getattr(conn, "raw", conn)
    info = getattr(raw, "info", None)
    pid = getattr(info, "backend_pid", None)
    return int(pid) if isinstance(pid, int) else None


def sessions_of(cache: object) -> Collection[int]:
    """Every server process of a console's team database connections: its own and those of
    the connections reopened from it for its workers (a push, a sync, an escalation scan),
    as a live set that grows as they are opened (TeamCache.sessions); for a bare connection
    its one session; nothing for a SQLite cache."""
    family = getattr(cache, "sessions", None)
    if isinstance(family, set):
        return family
    pid = session_of(cache)
    return () if pid is None else (pid,)


class Listener:
    """One connection to the team database that listens on the `peerdesk` channel."""

    def __init__(self, url: str) -> None:
        self.conn: Connection = connect(url, autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")

    def fileno(self) -> int:
        """The socket: readable when the server has sent something (for select/poll)."""
        return self.conn.fileno()

    def events(self, timeout: float = 0.0) -> list[Event]:
        """The notifications that arrived, waiting up to `timeout` seconds for the first."""
        found = [parse(n.payload, n.pid) for n in self.conn.notifies(timeout=timeout, stop_after=1)]
        if found:  # take whatever else already arrived, without waiting again
            found += [parse(n.payload, n.pid) for n in self.conn.notifies(timeout=0.0)]
        return found

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Subscription:
    """A thread that listens and calls `on_events(events)` with every burst of notifications.

    Notifications sent by the sessions in `own` (the console's own connections: its claims,
    decisions, pushes and scans, which it already shows; read at each burst, so a live set
    such as `sessions_of(cache)` counts the connections opened after the subscription) are
    left out; a burst of nothing else calls nothing,
    while a teammate's events in the same burst still come through.

    It sleeps in select() on the connection's socket and on a pipe of its own, so `close()`
    wakes it at once. `on_events` runs in that thread: a Textual app hands in a function that
    uses call_from_thread. If the connection drops, `on_error(text)` is called once and the
    thread ends (the console keeps its periodic refresh)."""

    def __init__(
        self,
        url: str,
        on_events: Callable[[list[Event]], None],
        on_error: Callable[[str], None] | None = None,
        own: Collection[int] = (),
    ) -> None:
        self.own = own
        self.listener = Listener(url)
        self._on_events = on_events
        self._on_error = on_error
        self._wake_read, self._wake_write = os.pipe()
        self._closing = threading.Event()
        self.thread = threading.Thread(target=self._run, name="peerdesk-team-events", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self._closing.is_set():
                ready, _, _ = select.select([self.listener.fileno(), self._wake_read], [], [])
                if self._closing.is_set():
                    break
                if self.listener.fileno() in ready:
                    events = [e for e in self.listener.events() if e.pid not in self.own]
                    if events:
                        self._on_events(events)
        except Exception as error:  # the connection went away: say so once, stop listening
            if not self._closing.is_set() and self._on_error is not None:
                self._on_error(f"live updates from the team database stopped: {error}")
        finally:
            self.listener.close()
            os.close(self._wake_read)

    def close(self) -> None:
        """Stop listening (returns once the thread has closed its connection)."""
        if self._closing.is_set():
            return
        self._closing.set()
        os.write(self._wake_write, b"x")
        self.thread.join(timeout=10)
        os.close(self._wake_write)


def subscribe(
    location: object,
    on_events: Callable[[list[Event]], None],
    on_error: Callable[[str], None] | None = None,
    own: Collection[int] = (),
) -> Subscription | None:
    """Listen to the team database at `location` (leaving out what the sessions in `own`
    sent); None when it is not one (a SQLite cache)."""
    text = str(location)
    if not is_team_url(text):
        return None
    return Subscription(text, on_events, on_error, own)
