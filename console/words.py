"""Counts in words: "1 thread", "2 threads", "1,204 entries"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun`, in the plural unless `n` is 1 (`plural` when adding "s" is wrong)."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
