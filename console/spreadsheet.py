"""Text cells of a CSV that people open in a spreadsheet.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by Excel,
LibreOffice Calc and Google Sheets (OWASP, "CSV Injection"): a member's or a moderator's name can
fetch a link with the sheet's contents, or turn a phone number into a sum. `spreadsheet_safe`
writes such a cell, and one starting with an apostrophe, behind an apostrophe, the spreadsheets'
own "this is text" mark, which they do not show; `read_cell` takes it off again. Numbers that
peerdesk formats itself are written as they are, never through these.

Used by the payout CSV (console/rewards/export.py, since format 2) and the SLA report's CSV
(console/escalate/report.py).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A cell starting so is run as a formula by Excel, LibreOffice Calc and Google Sheets."""
TEXT_MARK = "'"


def spreadsheet_safe(cell: str) -> str:
    """`cell` as a spreadsheet shows it as text: behind an apostrophe if it starts with a formula
    character, or with an apostrophe itself (so that `read_cell` gives back exactly `cell`)."""
    if cell.startswith((*FORMULA_STARTS, TEXT_MARK)):
        return TEXT_MARK + cell
    return cell


def read_cell(cell: str) -> str:
    """A cell without the apostrophe a spreadsheet-safe writer put before it (ours, or one that
    marks every cell so)."""
    return cell[1:] if cell.startswith(TEXT_MARK) else cell
