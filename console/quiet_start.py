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
