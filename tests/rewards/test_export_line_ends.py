"""A carriage return or line feed inside a payout CSV cell stays inside its cell (format 3).

Format 2 ended its rows with a bare LF, and Python's csv module quotes a cell only for the
characters of its own line terminator: a username holding a bare CR (`evil\\rname`, the
platform keeps what the member typed) was written unquoted, and a spreadsheet, or any reader
taking CR as a line end, split the row there, pushing the amount into another row. Format 3
ends every row with CRLF (RFC 4180), so every CR and LF in a cell is quoted. A batch first
exported in format 1 or 2 keeps its bytes, and its hash, on every re-export.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest

from console.db import Cache
from console.desk import Desk
from console.errors import InvalidDecision
from console.rewards.export import EXPORT_FORMAT
from console.spreadsheet import spreadsheet_safe
from tests.rewards.conftest import superuser_sql

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

CR_NAME = "evil\rname"
LF_RECEIVER = "h2@example.com\n=1+1"
HEADER = [
    "sender_batch_id", "sender_item_id", "recipient_type", "receiver", "amount", "currency",
    "member", "points",
]  # fmt: skip


@pytest.fixture
def approved(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int], request: pytest.FixtureRequest
) -> int:
    """An approved batch of 2026-10: h1's username holds a bare CR, h2's receiver a LF."""
    superuser_sql(
        cache,
        request,
        f"UPDATE members SET username = 'evil' || char(13) || 'name' WHERE id = {ids['member:h1']}"
        if cache.dialect.is_sqlite
        else f"UPDATE members SET username = 'evil' || chr(13) || 'name' "
        f"WHERE id = {ids['member:h1']}",
        f"UPDATE reward_payees SET receiver = 'h2@example.com' || "
        f"{'char' if cache.dialect.is_sqlite else 'chr'}(10) || '=1+1' "
        f"WHERE member_id = {ids['member:h2']}",
    )
    batch = staff["priya"].rewards.prepare("2026-10").batch_id
    staff["tom"].rewards.approve(batch)
    staff["una"].rewards.approve(batch)
    return batch


def _read_back(data: bytes) -> list[list[str]]:
    """The rows as a reader taking CR, LF and CRLF each as a row's end reads them."""
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


def _format_of(cache: Cache, batch: int) -> object:
    return cache.one("SELECT export_format FROM payout_batches WHERE id = ?", (batch,))[0]


def test_a_new_export_keeps_every_cr_and_lf_inside_its_cell(
    tmp_path: Path, cache: Cache, staff: dict[str, Desk], approved: int
) -> None:
    batch = approved
    made = staff["tom"].rewards.export(batch, tmp_path / "a.csv", tmp_path / "a.json")
    assert made.format == EXPORT_FORMAT == 3 and _format_of(cache, batch) == 3
    rows = _read_back((tmp_path / "a.csv").read_bytes())
    assert rows[0] == HEADER
    assert len(rows) == 3  # the header and the two lines: no row split
    by_member = {row[6]: row for row in rows[1:]}
    assert set(by_member) == {CR_NAME, "h2"}
    assert by_member[CR_NAME][3] == "h1@example.com"
    assert by_member["h2"][3] == LF_RECEIVER  # not behind an apostrophe: it starts with `h`
    for row in rows[1:]:
        assert len(row) == 8 and row[4][0].isdigit() and row[7].isdigit()
    # every row ends in CRLF, and no CR or LF is outside quotes
    assert made.csv.endswith(b"\r\n")
    outside = made.csv.split(b'"')[::2]  # the text between quoted stretches
    assert all(part.replace(b"\r\n", b"").count(b"\r") == 0 for part in outside)
    assert all(part.replace(b"\r\n", b"").count(b"\n") == 0 for part in outside)
    again = staff["una"].rewards.export(batch, tmp_path / "b.csv", None)
    assert again.csv == made.csv == (tmp_path / "b.csv").read_bytes()


def test_a_batch_first_exported_in_format_2_keeps_its_bytes(
    tmp_path: Path,
    cache: Cache,
    staff: dict[str, Desk],
    approved: int,
    request: pytest.FixtureRequest,
) -> None:
    """As stop 34 wrote it (LF line ends, formula cells behind an apostrophe) and kept its hash:
    re-exported, it is the same bytes, so its hash still verifies."""
    batch = approved
    probe = staff["tom"].rewards.export(batch, None, None)  # its JSON (the CSV is rebuilt)
    sbid = staff["tom"].rewards.batch(batch).sender_batch_id
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for line in sorted(staff["tom"].rewards.lines(batch), key=lambda line: line.line_id):
        amount = f"{line.amount_minor // 100}.{line.amount_minor % 100:02d}"
        cells = [sbid, f"batch-{batch}-line-{line.line_id}", "EMAIL", str(line.receiver)]
        writer.writerow(
            [*map(spreadsheet_safe, cells), amount, "GBP", spreadsheet_safe(line.username),
             line.points]
        )  # fmt: skip
    old = out.getvalue().encode()
    assert b"evil\rname" in old and b'"h2@example.com\n=1+1"' in old  # the bare CR unquoted
    digest = hashlib.sha256(old + b"\0" + probe.json).hexdigest()
    superuser_sql(
        cache,
        request,
        f"UPDATE payout_batches SET state = 'exported', export_format = 2, "
        f"export_sha256 = '{digest}' WHERE id = {batch}",
    )
    again = staff["una"].rewards.export(batch, tmp_path / "old.csv", None)
    assert again.csv == old == (tmp_path / "old.csv").read_bytes()
    assert again.sha256 == digest and _format_of(cache, batch) == 2


def test_a_format_newer_than_this_peerdesk_is_refused_writing_nothing(
    tmp_path: Path,
    cache: Cache,
    staff: dict[str, Desk],
    approved: int,
    request: pytest.FixtureRequest,
) -> None:
    superuser_sql(
        cache, request, f"UPDATE payout_batches SET export_format = 4 WHERE id = {approved}"
    )
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(InvalidDecision, match="CSV format 4, which a newer peerdesk writes"):
        staff["tom"].rewards.export(approved, folder / "n.csv", folder / "n.json")
    assert list(folder.iterdir()) == []
