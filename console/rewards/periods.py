"""Payout periods by name: "2026-10" (a month), "2026-Q3", "2026-H2" or "2026" (a year).

A period is the half-open interval [start, end) of UTC timestamps as the cache writes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from console.errors import PeerdeskError

_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])|H([12])))?$")


class PeriodError(PeerdeskError):
    """A period name peerdesk does not understand."""


@dataclass(frozen=True)
class Period:
    name: str
    start: str
    end: str


def _month_start(year: int, month: int) -> str:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return f"{year:04d}-{month:02d}-01T00:00:00Z"


def parse_period(name: str) -> Period:
    match = _PERIOD.match(name.strip())
    if not match:
        raise PeriodError(
            f"{name!r} is not a payout period: use 2026-10 (a month), 2026-Q3, 2026-H2 or 2026"
        )
    year = int(match.group(1))
    if not 1 <= year <= 9998:  # year 0 does not exist, and 9999's periods end in year 10000
        raise PeriodError(f"{name!r}: a payout period lies in the years 0001 to 9998")
    if match.group(2):
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"{name!r}: there is no month {month}")
        first, months = month, 1
    elif match.group(3):
        first, months = (int(match.group(3)) - 1) * 3 + 1, 3
    elif match.group(4):
        first, months = (int(match.group(4)) - 1) * 6 + 1, 6
    else:
        first, months = 1, 12
    return Period(name.strip(), _month_start(year, first), _month_start(year, first + months))
