"""Ledger entries appended by the team database itself (console/team/grants.sql).

On PostgreSQL nobody but the schema's owner may write the `ledger` table or its head record
(`meta.ledger_head`); every entry goes through `peerdesk_ledger_append`, which runs as the
owner, takes the ledger's lock, numbers the entry, stamps it with the server's clock, chains its
hash (the same SHA-256 as console.rewards.ledger.digest, so `ledger verify` checks the server's
copy with peerdesk's own code) and moves the head. It also refuses entries the caller's roles
may not write or that do not fit the ledger (a payout that does not match its payout line, a
reversal that does not negate exactly what it reverses, ...). The call is part of the caller's
transaction: the entry commits with the decision and its audit entry, or not at all.

An entry whose (kind, rule, event) is already in the ledger is not written twice: the function
returns NULL (checked under the lock, so two consoles accruing at once cannot both pay it).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from console.errors import InvalidDecision
from console.storage import Connection

if TYPE_CHECKING:
    from console.rewards.ledger import Entry

APPEND = "SELECT peerdesk_ledger_append(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _arguments(entry: Entry) -> tuple[object, ...]:
    if not isinstance(entry.amount_minor, int) or not isinstance(entry.points, int):
        raise TypeError("ledger amounts are whole numbers of points and minor units")
    return (
        entry.member_id,
        entry.kind,
        entry.rule,
        entry.event_key,
        entry.thread_id,
        entry.points,
        entry.amount_minor,
        entry.currency,
        entry.schedule_version,
        entry.occurred_at,
        entry.reverses,
        entry.line_id,
        json.dumps(entry.detail, sort_keys=True, ensure_ascii=False),
    )


def append(conn: Connection, entry: Entry) -> int | None:
    """The new entry's id; None (nothing written) if its (kind, rule, event) is already there."""
    row = conn.execute(APPEND, _arguments(entry)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def append_new(conn: Connection, entries: list[Entry]) -> list[int]:
    """Entries that cannot be in the ledger yet, in order; one already there is an error (the
    caller's transaction is rolled back), never skipped."""
    ids: list[int] = []
    for entry in entries:
        appended = append(conn, entry)
        if appended is None:
            raise InvalidDecision(
                f"The ledger already has a {entry.kind} for {entry.rule} {entry.event_key}"
            )
        ids.append(appended)
    return ids
