"""The terminal driver: Textual's Linux driver, with a lone escape key delivered promptly.

A terminal sends the escape key as the byte ESC, which also starts every escape sequence
(arrows, function keys), so a lone ESC can only be told apart by waiting: Textual waits
`ESCDELAY` ms (default 100) — and then its input loop only looks again when its next 100 ms
`select` times out, so escape took 100-200 ms. Here the loop wakes exactly when the wait is over,
and the wait is `ESCDELAY` if set, else ESCAPE_DELAY_MS: local terminals and SSH send a whole
sequence in one write, so 10 ms is ample (tmux uses 10 ms). Terminals with the kitty keyboard
protocol (kitty, WezTerm, foot, Ghostty, recent iTerm2) send escape unambiguously and never wait.

A read that is exactly one ESC byte is the escape key at once, with no wait at all (unless the
user set ESCDELAY): a terminal writes a key's whole sequence in one write, and a pty or an SSH
channel delivers one write in one read, so an arrow key's `ESC [ A` never arrives as a lone ESC
(the rule crossterm applies for helix and gitui). Escape then costs what `q` costs: the 10 ms
wait was half of escape's time to its first frame at a million threads.

Textual is pinned to an exact version (pyproject.toml), because this reads the parser's pending
timeout (`_timeout_time`), which is not public API.
"""

from __future__ import annotations

import contextlib
import os
import selectors
from codecs import getincrementaldecoder

from textual import constants
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

ESCAPE_DELAY_MS = 10
IDLE_WAIT = 0.1  # seconds between checks of the exit flag when no key arrives
ESC = "\x1b"


def escape_at_once() -> bool:
    """Whether a lone ESC read is the escape key without waiting (not when ESCDELAY is set)."""
    return "ESCDELAY" not in os.environ


def keys_of_read(parser: XTermParser, text: str, *, lone_escape: bool) -> list[Message]:
    """The events of one read of the terminal (`text`); with `lone_escape`, a read that is one
    ESC is the escape key now (the parser's wait for the rest of a sequence ends at once)."""
    events = list(parser.feed(text))
    if lone_escape and text == ESC and parser._timeout_time is not None:  # private: see above
        parser._timeout_time = get_time()
    events += parser.tick()
    return events


def shorten_escape_delay() -> None:
    """Use ESCAPE_DELAY_MS unless the user chose a delay with ESCDELAY (Textual reads it)."""
    if "ESCDELAY" not in os.environ:
        constants.ESCAPE_DELAY = ESCAPE_DELAY_MS / 1000  # type: ignore[misc]


class PromptEscapeDriver(LinuxDriver):
    """LinuxDriver whose input loop sleeps only until the parser's pending timeout."""

    def _terminal_gone(self) -> None:
        """The terminal's input ended (closed or hung up) before the app asked to exit: exit,
        as on SIGHUP. A parent that keeps the hangup to itself (`make`, a wrapper script)
        would otherwise leave the console running with no terminal, holding its claims."""
        with contextlib.suppress(RuntimeError):  # the app has already stopped running
            self._app.call_from_thread(self._app.exit)

    def run_input_thread(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        lone_escape = escape_at_once()

        def wait() -> float:
            due: float | None = parser._timeout_time  # private: see the module docstring
            return IDLE_WAIT if due is None else max(0.0, min(IDLE_WAIT, due - get_time()))

        def handle(ready: list[tuple[selectors.SelectorKey, int]], final: bool) -> bool:
            for _key, mask in ready:
                if not mask & selectors.EVENT_READ:
                    continue
                try:
                    data = os.read(self.fileno, 4096)
                except OSError:  # EIO: the terminal hung up
                    data = b""
                text = decode(data, final=final)
                if not text:
                    return False
                for event in keys_of_read(parser, text, lone_escape=lone_escape):
                    self.process_message(event)
            for event in parser.tick():
                self.process_message(event)
            return True

        try:
            while not self.exit_event.is_set():
                if not handle(selector.select(wait()), final=False):
                    self._terminal_gone()
                    break
            selector.unregister(self.fileno)
            handle(selector.select(IDLE_WAIT), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass
