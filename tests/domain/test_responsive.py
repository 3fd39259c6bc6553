"""console.responsive: full garbage collections between keys, never in the middle of typing."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from console.responsive import (
    CEILING,
    DEEP_GROWTH,
    NEVER,
    YOUNG_PER_FULL,
    QuietCollector,
    short_thread_turns,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def thresholds() -> Iterator[None]:
    kept = gc.get_threshold()
    yield
    gc.set_threshold(*kept)
    gc.unfreeze()  # what a test's collector froze is collectable again for the tests after it


def made(clock: Clock, young: list[int]) -> tuple[QuietCollector, list[int]]:
    ran: list[int] = []
    collector = QuietCollector(
        quiet=1.0,
        clock=clock,
        collect=lambda: ran.append(young[0]),
        count=lambda: young[0],
        freeze=lambda: None,
        unfreeze=lambda: None,
        frozen=lambda: 0,
    )
    return collector, ran


def test_start_takes_python_s_own_trigger_away(thresholds: None) -> None:
    young, middle, _ = gc.get_threshold()
    QuietCollector().start()
    assert gc.get_threshold() == (young, middle, NEVER)


def test_collects_only_when_due_and_the_keys_are_quiet(thresholds: None) -> None:
    clock, young = Clock(), [0]
    collector, ran = made(clock, young)
    clock.now += 5
    assert not collector.tick()  # not started: Python still decides
    collector.start()
    young[0] = YOUNG_PER_FULL - 1
    clock.now += 5
    assert not collector.tick() and ran == []  # quiet, but not due yet
    young[0] = YOUNG_PER_FULL
    collector.input_seen()  # a key just now
    clock.now += 0.5
    assert not collector.tick() and ran == []  # due, but the moderator is typing
    clock.now += 0.6
    assert collector.tick() and ran == [YOUNG_PER_FULL]
    assert not collector.tick()  # nothing due again until ten more young collections
    assert collector.full_collections == 1


def test_collects_while_typing_once_long_overdue(thresholds: None) -> None:
    clock, young = Clock(), [0]
    collector, ran = made(clock, young)
    collector.start()
    young[0] = CEILING * YOUNG_PER_FULL - 1
    collector.input_seen()
    assert not collector.tick()
    young[0] += 1
    collector.input_seen()
    assert collector.tick() and ran == [CEILING * YOUNG_PER_FULL]


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_a_quiet_tick_frees_cycles_python_no_longer_collects_by_itself(thresholds: None) -> None:
    clock = Clock()
    collector = QuietCollector(quiet=1.0, clock=clock)
    collector.start()
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    gc.collect(0)
    gc.collect(1)  # the cycle survives into the oldest generation
    del a, b
    while not collector.due():
        gc.collect(1)  # young collections never reach it
    assert gone() is not None
    clock.now += 2
    assert collector.tick()
    assert gone() is None


def test_what_survives_a_quiet_collection_is_frozen_and_a_deep_one_unfreezes_it_first(
    thresholds: None,
) -> None:
    clock, young, frozen, calls = Clock(), [0], [1000], []

    def freeze() -> None:
        calls.append("freeze")
        frozen[0] += DEEP_GROWTH // 2 + 1  # what survived: half the growth that makes it deep

    collector = QuietCollector(
        quiet=1.0,
        clock=clock,
        collect=lambda: calls.append("collect"),
        count=lambda: young[0],
        freeze=freeze,
        unfreeze=lambda: calls.append("unfreeze"),
        frozen=lambda: frozen[0],
    )
    collector.start()
    for _ in range(3):
        young[0] += YOUNG_PER_FULL
        clock.now += 2
        assert collector.tick()
    # the first two froze their survivors; by the third, DEEP_GROWTH more were frozen: deep
    assert calls == ["collect", "freeze", "collect", "freeze", "unfreeze", "collect", "freeze"]
    assert (collector.full_collections, collector.deep_collections) == (3, 1)


def test_a_cycle_that_dies_frozen_is_freed_by_the_next_deep_collection(thresholds: None) -> None:
    clock = Clock()
    collector = QuietCollector(quiet=1.0, clock=clock, deep_growth=10**9)
    collector.start()
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)

    def quiet_tick() -> bool:
        while not collector.due():
            gc.collect(1)
        clock.now += 2
        return collector.tick()

    assert quiet_tick()  # alive then: frozen with the survivors
    del a, b
    assert quiet_tick()
    assert gone() is not None  # frozen: the quiet collections no longer walk it
    collector.deep_growth = 0
    assert quiet_tick() and collector.deep_collections == 1
    assert gone() is None


def test_short_thread_turns() -> None:
    kept = sys.getswitchinterval()
    try:
        short_thread_turns(0.001)
        assert sys.getswitchinterval() == pytest.approx(0.001)
    finally:
        sys.setswitchinterval(kept)
