"""Python's garbage collector held off while the console starts, until its first Queue rows.

Starting the console makes ~60,000 long-lived objects (modules, classes, Textual's styles and
widgets) and little garbage (~6,500 objects by the first rows). Python's collector does not know
that: it ran ~100 young and middle collections and one full one over everything made so far
before the first rows were drawn, 0.1-0.3 s of the start at a million threads on the shared
2-core machine (bench.bench_terminal's start figure, 28 Nov 2026). `pause()` before the imports
and `resume()` once the rows are on the screen (or when the console gives up waiting for them)
leave that garbage to the collections that run afterwards.

Plain Python: nothing here imports Textual (the CLI pauses, console.app resumes).
"""

from __future__ import annotations

import gc
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (imported with the Desk, after the collector is paused: not here)
    from console.desk import Desk, QueueFilter
    from console.models import QueueItem

_paused = False


def pause() -> None:
    """Stop automatic collections until `resume()` (not if someone already stopped them)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Let Python collect again, if `pause()` stopped it; idempotent."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()


def paused() -> bool:
    return _paused


FIRST_FRAME_WRITTEN = 0.05
"""Seconds the console starts nothing after its first rows are drawn (collections, the reads
after them, the catch-up workers): Textual hands each frame to a writer thread, which needs
Python's lock to put it on the terminal, and what followed at once held it (a collection over
everything made since `pause()`, numpy's import by the duplicates' catch-up, the Queue's count on
a new connection). The frame reached the terminal 110-330 ms after it was drawn, 25-90 ms with
the wait (1M threads, load 4.5-6, bench_terminal's pty)."""


# ---- the Queue's first page, read while Textual is imported ----

QUEUE_PAGE = 100
"""Rows in a page of the Queue (console.screens.queue reads and keeps pages of this size)."""


class FirstPage:
    """The Queue's first page under its first filter (every thread in the Queue), and its shape
    (how many sources, whether any claim is held), read on a thread of its own while the console
    imports Textual; the Queue screen draws them in its first frame.

    Importing Textual is ~0.2 s of Python on the main thread, and the first page's read is
    SQLite's, which lets the main thread run: on a file the OS has not cached (a million
    threads: ~225 pages of index, rows, authors, claims), the read waited for the disk after the
    first frame and the rows came in a second one. The read holds `lock`, the console's lock on
    the Desk's connection (console.app: `call_desk`), so nothing else uses the connection
    meanwhile. Reading is all it does: if it fails, or is not done when the Queue is composed,
    the Queue reads its page as it always does (and says what went wrong)."""

    def __init__(self, desk: Desk, lock: threading.Lock) -> None:
        from console.desk import QueueFilter

        self.filter = QueueFilter()  # the Queue's first: every thread in it
        self.lock = lock
        self._desk = desk
        self._done = threading.Event()
        self._result: tuple[tuple[int, bool], list[QueueItem]] | None = None
        self._thread = threading.Thread(target=self._read, name="first-page", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with self.lock:
                shape = self._desk.queue_shape()
                self._result = shape, self._desk.queue(self.filter, limit=QUEUE_PAGE)
        except Exception:
            self._result = None
        finally:
            self._done.set()

    def take(self, flt: QueueFilter) -> tuple[tuple[int, bool], list[QueueItem]] | None:
        """The shape and the rows if `flt` is the filter read and the read is done and went
        well; once (a later call gets None: the Queue reads for itself after its first frame)."""
        if flt != self.filter or not self._done.is_set():
            return None
        result, self._result = self._result, None
        return result
