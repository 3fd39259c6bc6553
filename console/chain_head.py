"""The head of a hash chain (the audit log, the rewards ledger): its newest entry's number and
hash, printed as ENTRY:HASH. Kept outside the store (a staff channel, a ticket, a file
elsewhere), it anchors the chain: a rewrite that recomputes every hash still changes it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.db import Cache

GENESIS = "0" * 64


@dataclass(frozen=True)
class Head:
    entry: int
    hash: str

    def __str__(self) -> str:
        return f"{self.entry}:{self.hash}"


def pattern(label: str) -> re.Pattern[str]:
    """ENTRY:HASH, optionally after `label` (e.g. "audit-head") as a report may print it."""
    return re.compile(rf"(?:{re.escape(label)}\s+)?(\d+)\s*[:\s]\s*([0-9a-fA-F]{{64}})")


def newest(cache: Cache, table: str) -> Head:
    """The newest entry of `table` (entry 0 with the genesis hash when it is empty)."""
    row = cache.one(f"SELECT id, hash FROM {table} ORDER BY id DESC LIMIT 1")
    return Head(int(row[0]), str(row[1])) if row else Head(0, GENESIS)


def parse(text: str, head_pattern: re.Pattern[str], refused: Exception) -> Head:
    """The head in `text`, or `refused` raised."""
    found = head_pattern.fullmatch(text.strip())
    if found is None:
        raise refused
    return Head(int(found.group(1)), found.group(2).lower())
