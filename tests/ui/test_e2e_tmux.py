"""End to end: the real `peerdesk` command in tmux at 80x24, driven by keys, read back by
capture-pane, then the cache checked. Skips without tmux; fails without it in CI
(PEERDESK_REQUIRE_ALL=1)."""

from __future__ import annotations

# SQLite only: a cache file in a real terminal; a team database in one:
# tests/ui/test_console_on_team_e2e.py.
import json
import os
import pwd
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from tests.conftest import require_tool

pytestmark = pytest.mark.e2e

PEERDESK = Path(sys.executable).parent / "peerdesk"


class Terminal:
    """One tmux session on a private tmux server (nothing of the developer's is touched)."""

    def __init__(self, tmux: str, name: str) -> None:
        self.base = [tmux, "-L", name]
        self.name = name

    def start(self, command: str) -> None:
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", self.name, "-x", "80", "-y", "24", command],
            check=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )

    def screen(self) -> str:
        return subprocess.run(
            [*self.base, "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", self.name, *keys], check=True)

    def alive(self) -> bool:
        result = subprocess.run(
            [*self.base, "has-session", "-t", self.name], capture_output=True, check=False
        )
        return result.returncode == 0

    def quit(self) -> None:
        """ctrl+q: the console is gone within 10 s."""
        self.keys("C-q")
        deadline = time.monotonic() + 10
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not self.alive(), "ctrl+q did not quit"

    def stop(self) -> None:
        subprocess.run([*self.base, "kill-server"], check=False, capture_output=True)

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if check(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{text}")


@contextmanager
def peerdesk_in_tmux(db: Path | str, name: str) -> Iterator[Terminal]:
    """The real `peerdesk` on `db` (a cache file or a postgresql:// URL) as alice, in a new
    80x24 tmux session named after `name`, with the tests' frozen clock and config; stopped on
    the way out."""
    tmux = require_tool("tmux")
    env = {
        "PEERDESK_DB": str(db),
        "PEERDESK_NOW": "2026-11-20T12:00:00Z",
        "PEERDESK_USER": "alice",
        "PEERDESK_CONFIG": os.environ["PEERDESK_CONFIG"],
        "TZ": "UTC",
        "TERM": "xterm-256color",
    }
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    term = Terminal(tmux, f"peerdesk-{name}-{uuid.uuid4().hex[:8]}")
    term.start(f"env {exports} {shlex.quote(str(PEERDESK))}")
    try:
        yield term
    finally:
        term.stop()


def claim_and_close_by_keys(terminal: Terminal, store: Cache, header: str) -> int:
    """The Queue's top thread claimed (c) and closed (x) by keys, seen on the screen whose top
    line says `header` (who is at the keys), then ctrl+q; the thread's id."""
    top = store.one(
        "SELECT id, title FROM threads WHERE in_queue = 1 ORDER BY urgency DESC, id LIMIT 1"
    )
    total = store.one("SELECT count(*) FROM threads WHERE in_queue = 1")[0]
    thread_id, title = int(top[0]), str(top[1])
    # the count may come with the first rows, so "1/40" can be in the very first frame: wait for
    # tmux to have drawn all of it (the title bar) before reading the lines
    screen = terminal.wait_for(
        lambda s: f"1/{total}" in s and header in s.split("\n", 1)[0], "the Queue's first rows"
    )
    lines = screen.splitlines()
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    assert title[:20] in lines[2]
    terminal.keys("c")
    terminal.wait_for(lambda s: " me " in s.splitlines()[2], "the claim to show")
    terminal.keys("x")
    # the notification comes first and fades after a few seconds; the title bar follows it
    terminal.wait_for(lambda s: "Close: 1 item" in s, "the decision to be confirmed")
    terminal.wait_for(lambda s: "1 action waiting" in s, "the title bar's outbox count")
    terminal.quit()
    return thread_id


@pytest.fixture
def terminal(ui_db: Path, tmp_path: Path) -> Iterator[Terminal]:
    with peerdesk_in_tmux(ui_db, "e2e") as term:
        yield term


def test_claim_and_close_by_keys_in_a_real_terminal(terminal: Terminal, ui_db: Path) -> None:
    cache = open_cache(ui_db)
    try:
        thread_id = claim_and_close_by_keys(
            terminal, cache, "demo community: alice (override) has every role"
        )
    finally:
        cache.close()

    cache = open_cache(ui_db)
    try:
        assert cache.one("SELECT status FROM threads WHERE id = ?", (thread_id,))[0] == "closed"
        assert cache.one("SELECT holder FROM claims WHERE thread_id = ?", (thread_id,))[0] == (
            "alice"
        )
        audit = cache.query("SELECT actor, action, target_id, detail FROM audit WHERE id > 1")
        assert [tuple(r)[:3] for r in audit] == [
            ("alice", "claim", thread_id),
            ("alice", "close", thread_id),
        ]
        # alice is an override of the account running the tests: every entry says which
        assert all(
            json.loads(r["detail"])["os_user"] == pwd.getpwuid(os.getuid()).pw_name for r in audit
        )
        outbox = cache.query("SELECT action, target_id, state FROM outbox")
        assert [tuple(r) for r in outbox] == [("close", thread_id, "pending")]
    finally:
        cache.close()


def test_a_thread_claimed_by_another_moderator_shows_the_claim(
    terminal: Terminal, ui_db: Path
) -> None:
    """alice opens the thread dave holds (tests/ui/conftest: until 12:30) and sees who holds it
    and until when, before trying anything; a note from her is still taken."""
    cache = open_cache(ui_db)
    order = [
        int(r[0])
        for r in cache.query("SELECT id FROM threads WHERE in_queue = 1 ORDER BY urgency DESC, id")
    ]
    held = cache.one("SELECT thread_id, holder FROM claims")
    cache.close()
    thread_id, holder = int(held[0]), str(held[1])
    assert holder == "dave"

    terminal.wait_for(lambda s: f"1/{len(order)}" in s, "the Queue's first rows")
    terminal.keys(*["j"] * order.index(thread_id), "Enter")
    screen = terminal.wait_for(lambda s: f"#{thread_id} " in s.splitlines()[1], "the thread")
    header = screen.splitlines()[1:5]
    assert any(line.strip().startswith("claimed by dave until 12:30") for line in header), screen

    terminal.keys("n")
    terminal.wait_for(lambda s: f"Internal note on thread {thread_id}" in s, "the note dialog")
    terminal.keys("-l", "seen it")
    terminal.keys("Enter")
    terminal.wait_for(lambda s: "Note: 1 item" in s, "the note to be saved")
    terminal.quit()

    cache = open_cache(ui_db)
    try:
        notes = cache.query("SELECT author, body FROM notes WHERE thread_id = ?", (thread_id,))
        assert [tuple(r) for r in notes] == [("alice", "seen it")]
        assert cache.one("SELECT holder FROM claims WHERE thread_id = ?", (thread_id,))[0] == (
            "dave"
        )
    finally:
        cache.close()
