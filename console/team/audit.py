"""`audit verify` and `audit head` against the team database's copy of the audit log.

The rows are read from the server and checked here, by peerdesk's own code (console.audit's
rules), not by a function on the server: a verification must not trust the code it verifies.
On the server the log is append-only by grants (console/team/grants.sql), so the chain there
records who wrote what, and a kept head (`audit head`) proves nothing before it changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from console import audit
from console.audit import Head
from console.models import AuditProblem
from console.rewards import ledger
from console.team.connect import Connection

AUDIT_COLUMNS = "id, ts, actor, action, target_kind, target_id, batch_id, detail, prev_hash, hash"


@contextmanager
def snapshot(conn: Connection) -> Iterator[Connection]:
    """Every read inside sees one snapshot of the team database (a REPEATABLE READ, READ ONLY
    transaction): the chain, its head record and the counts agree, whatever is appended
    meanwhile. Inside a transaction already: that one."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        yield conn
        return
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield conn


def _rows(conn: Connection, table: str, columns: str) -> Iterator[dict[str, Any]]:
    """Every row of `table` in id order, streamed through a server-side cursor."""
    with conn.transaction(), conn.cursor(name=f"peerdesk_{table}", row_factory=dict_row) as cur:
        cur.itersize = 5000
        cur.execute(f"SELECT {columns} FROM {table} ORDER BY id")
        yield from cur


def _meta(conn: Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
    return None if row is None else str(row[0])


def verify(conn: Connection, kept: Head | None = None) -> list[AuditProblem]:
    """Every problem of the server's audit chain (and of the head you kept, if given)."""
    problems = audit.check_chain(_rows(conn, "audit", AUDIT_COLUMNS), _meta(conn, "audit_head"))
    if kept is None:
        return problems
    row = conn.execute("SELECT hash FROM audit WHERE id = %s", (kept.entry,)).fetchone()
    found = audit.check_kept(problems, kept, None if row is None else str(row[0]))
    return sorted(found, key=lambda p: p.audit_id)


def head(conn: Connection) -> Head:
    row = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return Head(int(str(row[0])), str(row[1])) if row else Head(0, audit.GENESIS)


def count(conn: Connection) -> int:
    row = conn.execute("SELECT count(*) FROM audit").fetchone()
    return int(str(row[0])) if row else 0


def ledger_problems(conn: Connection) -> list[str]:
    """The ledger's chain on the server, checked with the ledger's own hash (one line each)."""
    problems: list[str] = []
    prev, expected = ledger.GENESIS, 1
    columns = ", ".join((*ledger.FIELDS, "prev_hash", "hash"))
    for row in _rows(conn, "ledger", columns):
        if row["id"] != expected:
            problems.append(f"ledger entry {expected}: missing")
        if ledger.digest(row["prev_hash"], row) != row["hash"]:
            problems.append(f"ledger entry {row['id']}: its hash does not match")
        elif row["prev_hash"] != prev:
            problems.append(f"ledger entry {row['id']}: does not chain to the one before")
        prev, expected = row["hash"], row["id"] + 1
    return problems
