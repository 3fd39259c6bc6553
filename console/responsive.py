"""Process-wide Python settings that keep the console's UI thread answering keys at once.

Two things measured in the real terminal at a million threads (bench.bench_terminal with a
timeline of the UI thread, 28 Nov 2026) delayed a key's frame although the frame itself was
ready:

- **Full garbage collections.** After `gc.freeze()` (console.app, once warmed up) Python still
  runs a full collection every ten young ones, walking every object made since the freeze
  (cached rows and pages, cards, strips): 6-45 ms on the UI thread, ten of them in a 90-second
  run, one inside `enter` (23 ms) — the single slow samples of otherwise fast keys. A
  `QuietCollector` stops Python starting them by itself and runs the same collection when no
  key has come for a moment (and, so garbage stays bounded, at the latest after CEILING times
  the usual number of young collections, typing or not).
- **A key that comes during a quiet collection waits for it.** Such a collection still walked
  every object made since the warm-up's freeze: the Queue's pages, the panels visited, their
  caches (60,000 objects after one round of every key: 36-58 ms of CPU on the loaded 2-core
  machine, 60-170 ms of wall time in the terminal; a benchmark key sent 1.0 s after the one
  before waited for one). So what survives a quiet collection is frozen too (`gc.freeze`): the
  next ones walk only what was made since (6-20 ms). A cycle that dies after it was frozen is
  not freed until the next deep collection, which unfreezes everything and collects it all
  once, at a quiet moment, when DEEP_GROWTH more objects have been frozen since the last one.
- **The turn between threads.** Textual writes each frame from its own writer thread. While a
  decision's reload, the Queue's count and page reads run in workers, that thread waited for
  the interpreter lock up to the default switch interval (5 ms) and more: a frame drawn 8.6 ms
  after `c` reached the terminal 10.6 ms later. A shorter interval (SWITCH_INTERVAL) lets it in
  sooner.

Plain Python: nothing here imports Textual (console.app calls it).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable

SWITCH_INTERVAL = 0.001  # seconds a thread may hold the interpreter lock while another waits
QUIET_SECONDS = 1.0  # no key for this long: a full collection, if one is due, runs now
YOUNG_PER_FULL = 10  # young (generation 1) collections per full one: Python's own default
CEILING = 10  # a full collection runs at the latest after CEILING * YOUNG_PER_FULL young ones
NEVER = 1_000_000  # Python's own trigger for full collections, moved out of reach
DEEP_GROWTH = 50_000  # objects frozen since the last deep collection: the next one is deep


def short_thread_turns(interval: float = SWITCH_INTERVAL) -> None:
    """Let a waiting thread (Textual's frame writer) take the interpreter lock sooner."""
    sys.setswitchinterval(interval)


def young_collections() -> int:
    """How many generation-1 collections Python has run so far."""
    return int(gc.get_stats()[1]["collections"])


class QuietCollector:
    """Runs Python's full garbage collections when the moderator is not typing.

    `start()` takes the trigger away from Python (its thresholds for generations 0 and 1 stay
    as they are: those collections are short); `input_seen()` is called for every key;
    `tick()` from a timer runs a full collection when one is due and the keys have been quiet
    for `quiet` seconds, and freezes what survives it (see the module's docstring); one in a
    while (`deep_growth`) it unfreezes everything first. `clock`, `collect`, `count`, `freeze`,
    `unfreeze` and `frozen` are there for tests."""

    def __init__(
        self,
        *,
        quiet: float = QUIET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        collect: Callable[[], object] = gc.collect,
        count: Callable[[], int] = young_collections,
        freeze: Callable[[], object] = gc.freeze,
        unfreeze: Callable[[], object] = gc.unfreeze,
        frozen: Callable[[], int] = gc.get_freeze_count,
        deep_growth: int = DEEP_GROWTH,
    ) -> None:
        self.quiet = quiet
        self.deep_growth = deep_growth
        self._clock = clock
        self._collect = collect
        self._count = count
        self._freeze = freeze
        self._unfreeze = unfreeze
        self._frozen = frozen
        self._last_input = clock()
        self._young_at_last_full = count()
        self._frozen_after_deep = frozen()
        self.started = False
        self.full_collections = 0
        self.deep_collections = 0

    def start(self) -> None:
        """From now on full collections run from `tick` only."""
        young, middle, _full = gc.get_threshold()
        gc.set_threshold(young, middle, NEVER)
        self._young_at_last_full = self._count()
        self._frozen_after_deep = self._frozen()
        self.started = True

    def input_seen(self) -> None:
        self._last_input = self._clock()

    def due(self) -> bool:
        """Whether Python would have run a full collection by now."""
        return self._count() - self._young_at_last_full >= YOUNG_PER_FULL

    def overdue(self) -> bool:
        return self._count() - self._young_at_last_full >= CEILING * YOUNG_PER_FULL

    def tick(self) -> bool:
        """Collect if due and quiet (or long overdue); returns whether it collected."""
        if not self.started or not self.due():
            return False
        if self._clock() - self._last_input < self.quiet and not self.overdue():
            return False
        deep = self._frozen() - self._frozen_after_deep >= self.deep_growth
        if deep:  # the cycles that died frozen are freed too, this once
            self._unfreeze()
        self._collect()
        self._freeze()  # what survived is not walked again by the next collections
        if deep:
            self._frozen_after_deep = self._frozen()
            self.deep_collections += 1
        self._young_at_last_full = self._count()
        self.full_collections += 1
        return True
