"""A console whose terminal goes away exits, even when no SIGHUP reaches it: `make demo` (or a
wrapper script) is the session leader, takes the hangup and waits for its child, so the console
only sees its input end. Run here in a pseudo-terminal that is not its controlling terminal, so
closing the terminal sends it no signal at all."""

from __future__ import annotations

# SQLite only: the process's exit when its terminal goes away, whatever the store.
import os
import pty
import select
import subprocess
from pathlib import Path

from tests.ui.test_e2e_tmux import PEERDESK

WAIT = 60.0  # seconds: generous, so a loaded machine cannot fail it; the old code never exits


def _read_until(fd: int, wanted: bytes) -> bytes:
    seen = b""
    while wanted not in seen:
        ready, _, _ = select.select([fd], [], [], WAIT)
        assert ready, f"the console drew nothing with {wanted!r} in {WAIT} s: {seen[-300:]!r}"
        seen += os.read(fd, 65536)
    return seen


def test_the_console_exits_when_its_terminal_closes(ui_db: Path) -> None:
    master, slave = pty.openpty()
    env = {
        **os.environ,
        "PEERDESK_DB": str(ui_db),
        "PEERDESK_NOW": "2026-11-20T12:00:00Z",
        "PEERDESK_USER": "alice",
        "TZ": "UTC",
        "TERM": "xterm-256color",
        "COLUMNS": "80",
        "LINES": "24",
    }
    console = subprocess.Popen(
        [str(PEERDESK)], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    try:
        _read_until(master, b"Queue")  # the console is up and reading keys
        os.close(master)  # the terminal goes away; the console gets no signal
        assert console.wait(timeout=WAIT) is not None
    finally:
        if console.poll() is None:
            console.kill()
            console.wait()
