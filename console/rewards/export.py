"""Exports for the payment provider and the provider's result file.

The export holds only what was approved for payment (lines neither held nor returned), sorted by
line id, with no time of its own: the same batch always gives the same bytes. The JSON has the
shape of a PayPal Payouts request (`sender_batch_header.sender_batch_id` is the batch's
idempotency key; each item's `sender_item_id` names its line), the CSV the same items in columns.
Files are written to a temporary name and renamed, so a crash never leaves half a file.

A result file is either the provider's JSON (PayPal's batch details: `items[].payout_item` with
`sender_item_id` and `amount`, and `transaction_status`) or a CSV with the columns
`sender_item_id,amount,currency,status`. It is checked whole before anything changes: an unknown
line, another amount or currency, another batch id, or a paid line reported failed refuses it all.

The CSV is for people, who open it in a spreadsheet; a text cell starting with `=`, `+`, `-`, `@`,
a tab or a carriage return would be run there as a formula (OWASP, "CSV Injection"). Since
format 2 (EXPORT_FORMAT) such a cell, and one starting with an apostrophe, is written behind an
apostrophe, the spreadsheets' own "this is text" mark (console/spreadsheet.py, shared with the
SLA report); amounts and points are numbers peerdesk formats itself and are never escaped. The
JSON is for the provider's API and keeps every value as it is. Since format 3 every row ends in
CRLF (RFC 4180): Python's csv module quotes a cell only for the characters of its own line
terminator, so format 2's LF left a cell holding a bare carriage return unquoted, and a
spreadsheet split the row there. A batch keeps the format of its first export (every export of
it is the same bytes, its hash in the audit log).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from console.clock import now_iso
from console.errors import InvalidDecision, PeerdeskError
from console.files import create_private_bytes, read_given_text
from console.identity import Identity
from console.rewards import actions
from console.rewards.payouts import (
    Outcome,
    _batch_row,
    _history,
    _pause,
    banned_ready_lines,
    refuse_banned,
    refuse_changed_lines,
    return_failed,
    sender_batch_id,
)
from console.rewards.schedule import CURRENCY_EXPONENT, format_minor, to_minor
from console.roles import require
from console.spreadsheet import read_cell, spreadsheet_safe
from console.storage import Connection, Row

PAID = {"SUCCESS", "PAID", "COMPLETED"}
FAILED = {"FAILED", "RETURNED", "BLOCKED", "REFUNDED", "REVERSED", "DENIED"}
WAITING = {"PENDING", "UNCLAIMED", "ONHOLD", "NEW"}

EXPORT_FORMAT = 3
"""The CSV format a first export is written in (payout_batches.export_format, migration 39):
1 wrote every cell as it was; 2 writes a text cell a spreadsheet would run as `spreadsheet_safe`;
3 ends every row in CRLF, so that each CR and LF inside a cell is quoted."""

LINE_ENDS = {1: "\n", 2: "\n", 3: "\r\n"}
"""Each CSV format's row end."""


class ResultFileError(PeerdeskError):
    """A provider result file that does not fit the batch; nothing was changed."""


@dataclass(frozen=True)
class Export:
    csv: bytes
    json: bytes
    # (line, member) held by this export: banned from rewards after the batch's approval
    held: tuple[tuple[int, str], ...] = ()
    format: int = EXPORT_FORMAT  # the CSV's (not in the hash: a format-1 batch's hash is as kept)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.csv + b"\0" + self.json).hexdigest()

    @property
    def notice(self) -> str:
        """What the operator is told about lines this export held ('' when none)."""
        if not self.held:
            return ""
        lines = ", ".join(f"held line {line} ({name})" for line, name in self.held)
        return f"{lines}: banned from rewards after approval, not in the export"


def _items(conn: Connection, batch_id: int) -> list[Row]:
    return conn.execute(
        "SELECT l.id, l.member_id, l.points, l.amount_minor, l.recipient_type, l.receiver, "
        "m.username FROM payout_lines l LEFT JOIN members m ON m.id = l.member_id "
        "WHERE l.batch_id = ? AND l.state IN ('ready', 'paid', 'failed') ORDER BY l.id",
        (batch_id,),
    ).fetchall()


def sender_item_id(batch_id: int, line_id: int) -> str:
    return f"batch-{batch_id}-line-{line_id}"


def render(conn: Connection, batch_id: int) -> Export:
    batch = _batch_row(conn, batch_id)
    if batch["state"] == "prepared":
        raise InvalidDecision(f"Batch {batch_id} is not approved yet; nothing can be exported")
    version = int(batch["export_format"] or EXPORT_FORMAT)  # as first exported, or the current
    if version not in LINE_ENDS:
        raise InvalidDecision(
            f"Batch {batch_id} was exported in CSV format {version}, which a newer peerdesk "
            "writes; export it with that version. Nothing was written."
        )
    text = spreadsheet_safe if version >= 2 else str
    currency = str(batch["currency"])
    exponent = CURRENCY_EXPONENT[currency]
    sbid = sender_batch_id(batch_id, str(batch["period"]))
    rows = _items(conn, batch_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=LINE_ENDS[version])
    writer.writerow(
        [
            "sender_batch_id",
            "sender_item_id",
            "recipient_type",
            "receiver",
            "amount",
            "currency",
            "member",
            "points",
        ]
    )
    items = []
    for line_id, _member, points, amount, rtype, receiver, username in rows:
        value = format_minor(int(amount), exponent)
        item_id = sender_item_id(batch_id, int(line_id))
        texts = [text(c) for c in (sbid, item_id, rtype or "", receiver or "")]
        writer.writerow([*texts, value, text(currency), text(username or ""), points])
        items.append(
            {
                "recipient_type": rtype or "EMAIL",
                "amount": {"value": value, "currency": currency},
                "receiver": receiver or "",
                "note": f"Community rewards {batch['period']}: {points} points",
                "sender_item_id": item_id,
            }
        )
    payload = {
        "sender_batch_header": {
            "sender_batch_id": sbid,
            "email_subject": "Your community rewards",
            "email_message": f"Thank you for helping the community in {batch['period']}.",
        },
        "items": items,
    }
    body = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    return Export(out.getvalue().encode(), body.encode(), format=version)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    with create_private_bytes(tmp) as out:  # members' addresses: 0600, whatever the umask
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    _pause("export:written")
    tmp.replace(path)


def write(
    conn: Connection,
    who: Identity,
    *,
    batch_id: int,
    csv_path: Path | None,
    json_path: Path | None,
) -> Export:
    """Write the export files (re-runnable: always the same bytes as the first export).

    Nothing in the cache changes here; `record` (in a transaction, through the door) then marks a
    first export."""
    require(who, actions.EXPORT)
    batch = _batch_row(conn, batch_id)
    refuse_changed_lines(conn, batch_id)
    if not batch["export_sha256"]:  # (a ban held its lines; one since, past peerdesk: again)
        refuse_banned(
            batch_id,
            banned_ready_lines(conn, batch_id),
            "the line is held before the batch is exported. Nothing was written; export again.",
        )
    made = render(conn, batch_id)
    if batch["export_sha256"] and batch["export_sha256"] != made.sha256:
        raise InvalidDecision(
            f"Batch {batch_id}'s export would differ from its first export "
            f"(sha256 {batch['export_sha256'][:12]}…); the batch's lines were changed outside "
            "peerdesk. Nothing was written; run `peerdesk ledger verify`."
        )
    for path, data in ((csv_path, made.csv), (json_path, made.json)):
        if path is not None:
            try:
                _write_atomic(Path(path), data)
            except OSError as error:
                raise InvalidDecision(f"Cannot write {path}: {error}") from error
    return made


class ChangedWhileWritten(InvalidDecision):
    """The batch changed between `write` and `record`: the files written are not the batch."""


def record(
    conn: Connection, who: Identity, *, batch_id: int, made: Export
) -> dict[str, object] | None:
    """Mark the batch exported after its first export; the audit detail, or None if it already
    was (a re-run changes nothing and leaves no entry). Refused if the batch, read again with
    its row locked, no longer renders to what `made` wrote (a line held meanwhile)."""
    require(who, actions.EXPORT)
    batch = _batch_row(conn, batch_id, lock=True)
    if batch["export_sha256"]:
        return None
    if render(conn, batch_id).sha256 != made.sha256:  # the files were written outside this
        raise ChangedWhileWritten(
            f"Batch {batch_id} changed while its files were written (a line was held since: a "
            "member banned from rewards?), so they are not what it pays: they were removed and "
            "the batch stays approved. Export it again."
        )
    conn.execute(
        "UPDATE payout_batches SET state = 'exported', export_sha256 = ?, export_format = ?, "
        "exported_at = ? WHERE id = ? AND state = 'approved'",
        (made.sha256, made.format, now_iso(), batch_id),
    )
    items = made.json.count(b"sender_item_id")
    return {"sha256": made.sha256, "items": items, "format": made.format}


# ---- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultLine:
    sender_item_id: str
    amount: str
    currency: str
    status: str


@dataclass(frozen=True)
class Results:
    """A provider result file, read and parsed (checked against the batch by `mark_results`)."""

    path: Path
    sender_batch_id: str | None
    lines: list[ResultLine]


def read_results(path: Path) -> Results:
    sbid, found = _parse_results(path)
    return Results(Path(path), sbid, found)


def _parse_results(path: Path) -> tuple[str | None, list[ResultLine]]:
    try:
        text = read_given_text(Path(path))
    except (OSError, UnicodeDecodeError) as error:
        raise ResultFileError(f"Cannot read the result file {path}: {error}") from error
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
            header = data.get("batch_header", {})
            sbid = header.get("sender_batch_header", {}).get("sender_batch_id")
            found = [
                ResultLine(
                    str(item["payout_item"]["sender_item_id"]),
                    str(item["payout_item"]["amount"]["value"]),
                    str(item["payout_item"]["amount"]["currency"]),
                    str(item["transaction_status"]).upper(),
                )
                for item in data["items"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ResultFileError(
                f"The result file {path} is not a payouts result (JSON with items[].payout_item "
                f"and transaction_status): {error!r}"
            ) from error
        return sbid, found
    reader = csv.DictReader(io.StringIO(text))
    needed = {"sender_item_id", "amount", "currency", "status"}
    if not reader.fieldnames or not needed <= set(reader.fieldnames):
        raise ResultFileError(
            f"The result file {path} needs the CSV columns {', '.join(sorted(needed))}"
        )
    found = []
    sbids = set()
    for number, raw in enumerate(reader, start=2):
        row = {k: read_cell(v) for k, v in raw.items() if isinstance(k, str) and v is not None}
        if any(row.get(k) in (None, "") for k in needed):
            raise ResultFileError(f"The result file {path} line {number} has an empty column")
        found.append(
            ResultLine(row["sender_item_id"], row["amount"], row["currency"], row["status"].upper())
        )
        if row.get("sender_batch_id"):
            sbids.add(row["sender_batch_id"])
    if len(sbids) > 1:
        raise ResultFileError(f"The result file {path} names more than one batch")
    return (sbids.pop() if sbids else None), found


def mark_results(conn: Connection, who: Identity, *, batch_id: int, results: Results) -> Outcome:
    """Mark lines paid or failed from the provider's result file: all of it, or none of it."""
    require(who, actions.MARK_PAID)
    sbid, path = results.sender_batch_id, results.path
    # locked: two people marking results at once take turns, and the second reads the lines
    # the first marked (on the team database it would otherwise mark them again)
    batch = _batch_row(conn, batch_id, lock=True)
    if batch["state"] not in ("exported", "closed"):
        raise InvalidDecision(
            f"Batch {batch_id} is {batch['state']}: results come after the export"
        )
    expected_sbid = sender_batch_id(batch_id, str(batch["period"]))
    problems: list[str] = []
    if sbid is not None and sbid != expected_sbid:
        problems.append(f"it is for batch {sbid!r}, not {expected_sbid!r}")
    lines = {
        sender_item_id(batch_id, int(r[0])): r
        for r in conn.execute(
            "SELECT id, amount_minor, state FROM payout_lines WHERE batch_id = ? "
            "AND state IN ('ready', 'paid', 'failed')",
            (batch_id,),
        )
    }
    seen: set[str] = set()
    plan: list[tuple[int, str]] = []
    for item in results.lines:
        line = lines.get(item.sender_item_id)
        if line is None:
            problems.append(f"{item.sender_item_id} is not a line of batch {batch_id}")
            continue
        if item.sender_item_id in seen:
            problems.append(f"{item.sender_item_id} is listed twice")
        seen.add(item.sender_item_id)
        if item.currency != batch["currency"]:
            problems.append(f"{item.sender_item_id} is in {item.currency}, not {batch['currency']}")
        try:
            minor = to_minor(item.amount, str(batch["currency"]))
        except ValueError as error:
            problems.append(f"{item.sender_item_id}: {error}")
            continue
        if minor != int(line[1]):
            problems.append(
                f"{item.sender_item_id} says {item.amount}, the line is "
                f"{format_minor(int(line[1]), CURRENCY_EXPONENT[batch['currency']])}"
            )
        if item.status in PAID:
            new = "paid"
        elif item.status in FAILED:
            new = "failed"
        elif item.status in WAITING:
            continue
        else:
            problems.append(f"{item.sender_item_id} has an unknown status {item.status!r}")
            continue
        if line[2] != "ready" and line[2] != new:
            problems.append(f"{item.sender_item_id} was already marked {line[2]}")
        elif line[2] == "ready":
            plan.append((int(line[0]), new))
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise ResultFileError(f"The result file {path} was refused whole, nothing changed: {shown}")
    now = now_iso()
    counts = {"paid": 0, "failed": 0, "not_returned": 0}
    for line_id, new in plan:
        conn.execute("UPDATE payout_lines SET state = ? WHERE id = ?", (new, line_id))
        _history(conn, line_id, new, who.name, f"provider result {Path(path).name}", now)
        if new == "failed" and not return_failed(
            conn, who, batch, line_id, "the provider could not pay it"
        ):
            counts["not_returned"] += 1  # a banned member's: their money stays out
        counts[new] += 1
    open_left = conn.execute(
        "SELECT count(*) FROM payout_lines WHERE batch_id = ? AND state = 'ready'", (batch_id,)
    ).fetchone()[0]
    if not open_left:
        conn.execute("UPDATE payout_batches SET state = 'closed' WHERE id = ?", (batch_id,))
    counts["still_open"] = int(open_left)
    kept = (
        f" ({counts['not_returned']} of a banned member: not returned to the balance)"
        if counts["not_returned"]
        else ""
    )
    return Outcome(
        f"{counts['paid']} paid, {counts['failed']} failed{kept}, "
        f"{counts['still_open']} still open",
        batch_id,
        {**counts, "file": Path(path).name},
    )
