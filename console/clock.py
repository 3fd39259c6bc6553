"""Time in one place, so tests and snapshots can freeze it.

All timestamps in the cache are ISO-8601 UTC strings ("2026-11-23T09:33:00Z"), which sort as text.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

FROZEN_ENV = "PEERDESK_NOW"
"""Freezes the clock for tests and demos; honoured only on a cache file the account owns
(`identity.establish` refuses it elsewhere, as it refuses an override)."""

PAUSE_ENV = "PEERDESK_TEST_PAUSE_AT"
"""Holds a payout transaction open at a named point for a minute (the kill -9 tests); under
the same condition as FROZEN_ENV: elsewhere it would let anyone keep every other writer of a
shared cache waiting."""


def now() -> datetime:
    """The current time in UTC; PEERDESK_NOW (ISO-8601) freezes it for tests and demos."""
    frozen = os.environ.get(FROZEN_ENV)
    if frozen:
        return parse(frozen)
    return datetime.now(UTC).replace(microsecond=0)


def parse(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; naive values are taken as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    """Format a datetime as the cache stores it."""
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return iso(now())


def epoch_hours(value: datetime) -> float:
    return value.timestamp() / 3600.0


def minutes_within(digits: str, unit_minutes: int, most: int) -> int | None:
    """A count written in decimal `digits` of a unit `unit_minutes` long, in minutes; None when
    that is more than `most` (a duration a person typed: queue filters, escalation rules). A run
    of more than 12 significant digits is beyond any such bound and is not given to int(), which
    refuses 4,300 digits with an error of its own."""
    if len(digits.lstrip("0")) > 12:
        return None
    minutes = int(digits) * unit_minutes
    return minutes if minutes <= most else None
