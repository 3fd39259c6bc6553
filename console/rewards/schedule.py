"""The points schedule: what each kind of help earns, the caps, and what a point is worth.

A schedule is a small TOML document with a version; every ledger entry records the version that
produced it. Amounts of money are written as decimal strings in the currency ("0.01") and must fit
the currency's minor units exactly (GBP has 2 decimals, JPY none): "0.001" GBP is refused rather
than rounded. A malformed schedule is refused with the line that is wrong.

    version = "2026.2"
    currency = "GBP"
    point_value = "0.01"          # one point is worth 1p

    [points]
    accepted_answer = 10
    verified_answer = 25          # the main earner
    helpful_vote = 1
    escalation_first_response = 5
    duplicate_flagged = 3

    [caps]
    per_day = 200                 # points a member can earn per UTC day
    per_thread = 60               # points a member can earn in one thread

    [payouts]
    threshold_points = 1000
    second_approver_over = "250.00"   # a batch paying more needs two approvers
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from console.errors import PeerdeskError

RULES = (
    "accepted_answer",
    "verified_answer",
    "helpful_vote",
    "escalation_first_response",
    "duplicate_flagged",
)

# ISO 4217 minor-unit exponents of the currencies a payment provider is likely to be asked for.
CURRENCY_EXPONENT: dict[str, int] = {
    "GBP": 2,
    "EUR": 2,
    "USD": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "INR": 2,
    "BRL": 2,
    "MXN": 2,
    "JPY": 0,
    "KRW": 0,
    "HUF": 2,
    "ISK": 0,
    "KWD": 3,
    "BHD": 3,
}

MAX_POINTS = 1_000_000
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


class ScheduleError(PeerdeskError):
    """A schedule that cannot be used; the message names the line."""


@dataclass(frozen=True)
class Schedule:
    version: str
    currency: str
    point_value_minor: int  # what one point is worth, in minor units
    points: dict[str, int]
    cap_per_day: int
    cap_per_thread: int
    threshold_points: int
    second_approver_over_minor: int
    text: str

    @property
    def exponent(self) -> int:
        return CURRENCY_EXPONENT[self.currency]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def money(self, minor: int) -> str:
        """Minor units as the currency's decimal text: 1234 -> "12.34" (GBP)."""
        return format_minor(minor, self.exponent)


MOST_POINT_VALUE_MINOR = 10**6
"""A point is worth at most a million minor units (10,000.00 GBP): with at most 1,000,000 points
an accrual and a cap of 1,000,000 a day, a member's ledger sums stay below 2**63 for millennia
(SQLite's INTEGER and PostgreSQL's bigint; more is refused, never wrapped or rounded)."""
MOST_THRESHOLD_MINOR = 10**15
"""The second-approver amount's bound, for the same reason."""


def format_minor(minor: int, exponent: int) -> str:
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}" if exponent else f"{sign}{whole}"


def to_minor(text: str, currency: str) -> int:
    """A decimal amount in `currency` as integer minor units; refuses what does not fit exactly."""
    exponent = CURRENCY_EXPONENT.get(currency)
    if exponent is None:
        raise ValueError(f"unknown currency {currency!r}")
    if not isinstance(text, str) or not re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", text):
        raise ValueError(f'{text!r} is not a decimal amount like "12.34"')
    try:
        value = Decimal(text.strip())
    except InvalidOperation as error:  # pragma: no cover - the pattern above rules this out
        raise ValueError(f"{text!r} is not a decimal amount") from error
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(
            f"{text} {currency} does not fit the currency's minor units "
            f"({exponent} decimal{'s' if exponent != 1 else ''})"
        )
    return int(scaled)


def _line_of(text: str, key: str, table: str | None = None) -> int:
    """The line where `key` is set (inside [table] when given); 1 when it is not written."""
    start = 0
    if table is not None:
        header = re.search(rf"^\s*\[\s*{re.escape(table)}\s*\]", text, re.MULTILINE)
        if header:
            start = header.end()
    match = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=', re.MULTILINE).search(text, start)
    if match is None and table is not None:
        header = re.search(rf"^\s*\[\s*{re.escape(table)}\s*\]", text, re.MULTILINE)
        return text.count("\n", 0, header.start()) + 1 if header else 1
    return text.count("\n", 0, match.start()) + 1 if match else 1


def parse_schedule(text: str, name: str = "schedule") -> Schedule:
    """Read a schedule; ScheduleError names `name` and the line of the first problem."""

    def fail(line: int, problem: str) -> ScheduleError:
        return ScheduleError(f"{name} line {line}: {problem}")

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        raise fail(int(found.group(1)) if found else 1, f"not valid TOML ({error})") from error

    known_top = {"version", "currency", "point_value", "points", "caps", "payouts"}
    for key in data:
        if key not in known_top:
            raise fail(_line_of(text, key), f"unknown setting {key!r}")

    version = data.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise fail(
            _line_of(text, "version"),
            'version must be a short name like "2026.2" (letters, digits, . _ -)',
        )
    currency = data.get("currency")
    if not isinstance(currency, str) or currency not in CURRENCY_EXPONENT:
        raise fail(
            _line_of(text, "currency"),
            f"currency must be one of {', '.join(sorted(CURRENCY_EXPONENT))}",
        )

    def money(key: str, table: str | None, raw: Any, minimum: int, most: int) -> int:
        line = _line_of(text, key, table)
        if not isinstance(raw, str):
            raise fail(line, f'{key} must be a decimal amount in quotes, like "0.01"')
        try:
            minor = to_minor(raw, currency)
        except ValueError as error:
            raise fail(line, f"{key}: {error}") from error
        if minor < minimum:
            raise fail(line, f"{key} must be at least {format_minor(minimum, 0)} minor units")
        if minor > most:  # every sum of the ledger and of a batch stays far inside 64 bits
            raise fail(line, f"{key} must be at most {most:,} minor units")
        return minor

    point_value = money("point_value", None, data.get("point_value"), 1, MOST_POINT_VALUE_MINOR)

    def table(key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise fail(_line_of(text, key), f"[{key}] must be a table")
        return value

    def whole(key: str, tbl: str, raw: Any, low: int, high: int) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
            raise fail(
                _line_of(text, key, tbl), f"{key} must be a whole number from {low} to {high}"
            )
        return raw

    points_table = table("points")
    points: dict[str, int] = {}
    for key, raw in points_table.items():
        if key not in RULES:
            raise fail(
                _line_of(text, key, "points"),
                f"unknown rule {key!r} (known: {', '.join(RULES)})",
            )
        points[key] = whole(key, "points", raw, 0, MAX_POINTS)
    if not any(points.values()):
        raise fail(_line_of(text, "points"), "[points] must give at least one rule some points")

    caps = table("caps")
    for key in caps:
        if key not in ("per_day", "per_thread"):
            raise fail(_line_of(text, key, "caps"), f"unknown cap {key!r}")
    per_day = whole("per_day", "caps", caps.get("per_day", MAX_POINTS), 1, MAX_POINTS)
    per_thread = whole("per_thread", "caps", caps.get("per_thread", MAX_POINTS), 1, MAX_POINTS)

    payouts = table("payouts")
    for key in payouts:
        if key not in ("threshold_points", "second_approver_over"):
            raise fail(_line_of(text, key, "payouts"), f"unknown payout setting {key!r}")
    threshold = whole(
        "threshold_points", "payouts", payouts.get("threshold_points", 1000), 1, 10**9
    )
    second = money(
        "second_approver_over",
        "payouts",
        payouts.get("second_approver_over", "0"),
        0,
        MOST_THRESHOLD_MINOR,
    )
    return Schedule(
        version=version,
        currency=currency,
        point_value_minor=point_value,
        points={rule: points.get(rule, 0) for rule in RULES},
        cap_per_day=per_day,
        cap_per_thread=per_thread,
        threshold_points=threshold,
        second_approver_over_minor=second,
        text=text,
    )
