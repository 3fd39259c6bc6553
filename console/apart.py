"""Reads that may take a while, on a read-only connection of their own.

A panel's counts (every open escalation, every pending duplicate pair) grow with the cache; run
on the Desk's connection they would hold it, and every other key's read would wait behind them.
`ReadsApart` gives them a second connection (`Cache.read_only`: another connection to the cache
file, or another session of the team database), opened when first used and kept until closed;
one read at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeAlias, TypeVar

from console.db import Cache

T = TypeVar("T")

ApartRead: TypeAlias = Callable[[Cache], T]
"""A read to run apart: given the connection, returns what it read."""


class ReadsApart:
    def __init__(self, cache: Cache) -> None:
        self._store = cache
        self._reading: Cache | None = None
        self._lock = threading.Lock()

    def run(self, read: ApartRead[T]) -> T:
        """`read(cache)` on this connection (any thread; one read at a time)."""
        with self._lock:
            if self._reading is None:
                self._reading = self._store.read_only()
            return read(self._reading)

    def close(self) -> None:
        with self._lock:
            if self._reading is not None:
                self._reading.close()
                self._reading = None
