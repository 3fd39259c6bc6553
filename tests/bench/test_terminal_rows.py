"""The terminal benchmark compares each round's rows with the warm-up's without the Age column:
a thread's age ticks over while a run lasts (bench.bench_terminal.top_rows)."""

from __future__ import annotations

from bench.bench_terminal import top_rows

HEADER = "  Age State   Re Flags Title                                         1/548,216"


def screen(*rows: str) -> list[str]:
    return [" peerdesk", HEADER, *rows, " Queue · all", " keys"]


def test_rows_that_differ_only_in_age_match() -> None:
    learned = screen("  95d open     0 6f2r  Unlock ANY phone in 5 mins - cheap codes")
    later = screen("  96d open     0 6f2r  Unlock ANY phone in 5 mins - cheap codes")
    assert top_rows(learned) == top_rows(later)


def test_rows_that_differ_in_state_or_title_do_not() -> None:
    learned = screen("  95d open     0 6f2r  Unlock ANY phone in 5 mins - cheap codes")
    closed = screen("  95d closed   0 6f2r  Unlock ANY phone in 5 mins - cheap codes")
    other = screen("  95d open     0 6f2r  CLICK HERE for free Kestrel Mobile credit")
    assert top_rows(learned) != top_rows(closed)
    assert top_rows(learned) != top_rows(other)
