"""The points schedule: TOML, versioned, refused with the line; money fits minor units."""

from __future__ import annotations

# No store: the schedule's TOML parsed and checked (stored and used: tests/rewards/test_ledger.py).
import pytest

from console.rewards.schedule import ScheduleError, format_minor, parse_schedule, to_minor
from tests.rewards.conftest import SCHEDULE


def test_a_good_schedule_reads_into_minor_units() -> None:
    s = parse_schedule(SCHEDULE)
    assert s.version == "t1"
    assert s.point_value_minor == 5
    assert s.points["verified_answer"] == 25
    assert (s.cap_per_day, s.cap_per_thread) == (100, 40)
    assert s.second_approver_over_minor == 300
    assert s.money(1234) == "12.34"


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (('point_value = "0.05"', 'point_value = "0.005"'), 3, "minor units"),
        (('point_value = "0.05"', "point_value = 0.05"), 3, "in quotes"),
        (("helpful_vote = 1", "helpful_vote = -1"), 8, "whole number"),
        (("helpful_vote = 1", "helpful_votes = 1"), 8, "unknown rule"),
        (("per_day = 100", "per_day = 1.5"), 13, "whole number"),
        (('second_approver_over = "3.00"', 'second_approver_over = "3.001"'), 18, "minor units"),
        (('currency = "GBP"', 'currency = "XXX"'), 2, "currency"),
        (("[caps]", "[caps"), 12, "not valid TOML"),
        (('version = "t1"', 'version = "has space"'), 1, "version"),
    ],
)
def test_a_bad_schedule_is_refused_with_its_line(
    change: tuple[str, str], line: int, words: str
) -> None:
    text = SCHEDULE.replace(*change)
    assert text != SCHEDULE
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text, "rewards.toml")
    assert f"rewards.toml line {line}:" in str(caught.value)
    assert words in str(caught.value)


def test_amounts_must_fit_the_currency() -> None:
    assert to_minor("12.34", "GBP") == 1234
    assert to_minor("12", "JPY") == 12
    assert to_minor("1.234", "KWD") == 1234
    for bad, currency in (("12.345", "GBP"), ("1.5", "JPY"), ("1e3", "GBP"), ("", "GBP")):
        with pytest.raises(ValueError):
            to_minor(bad, currency)
    assert format_minor(-5, 2) == "-0.05"
    assert format_minor(700, 0) == "700"


@pytest.mark.parametrize(
    ("setting", "written", "refused"),
    [
        ("point_value", '"92233720368547758.07"', "point_value must be at most 1,000,000 minor"),
        ("point_value", '"10000.01"', "point_value must be at most 1,000,000 minor units"),
        ("second_approver_over", '"99999999999999999999"', "at most 1,000,000,000,000,000"),
        ("point_value", '"0.055"', "does not fit the currency's minor units"),
        ("point_value", '"-0.05"', "at least 1 minor units"),
    ],
)
def test_money_that_would_overflow_go_negative_or_round_is_refused(
    setting: str, written: str, refused: str
) -> None:
    """A point worth more than 64-bit sums can hold (SQLite INTEGER, PostgreSQL bigint) was
    taken and would have failed, or wrapped, at the first accrual; now the schedule says no,
    as it does to a negative amount or one that would need rounding."""
    line = next(x for x in SCHEDULE.splitlines() if x.startswith(setting))
    with pytest.raises(ScheduleError, match=refused):
        parse_schedule(SCHEDULE.replace(line, f"{setting} = {written}"))
    assert parse_schedule(SCHEDULE.replace(line, f'{setting} = "10000.00"')) is not None
