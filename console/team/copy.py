"""`peerdesk migrate-to postgresql://...`: copy a SQLite cache into an empty team database.

- Admin only, through the door (`migrate_to` is an admin action); on the server, the login
  role must be a member of peerdesk_admin (the grants let nobody else write every table).
- The cache is read in one read transaction (a consistent snapshot even while others write).
- Tables are copied in foreign-key order, each in ONE server transaction with COPY, and
  checkpointed in `copy_progress` when it commits: a run that was interrupted (killed, network
  gone) starts again after the last table it finished. The audit log and the ledger arrive by
  COPY in a staging table, and one call of the server's import function checks the whole chain
  (ids, chaining, every entry's hash) in one set-based pass and appends it; they are copied
  from the server's newest entry on, so entries written to the cache since an interrupted run
  are copied too.
- Before anything is copied, every ledger entry is checked as the cache's Appender and the
  server check one on arrival (console/rewards/replay.py): the first that does not fit (an
  accrual for an event that is not there, or priced otherwise; a reversal that does not undo
  exactly its accrual; a ban that is not the member's balance; a payout entry that is not its
  line) stops the copy with one line naming it, and nothing is written to the server.
- Verified: every table's row count on the server equals the cache's, and the audit chain and
  the ledger chain read back from the server are intact (peerdesk's own check).
- One audit entry: on success, a live `migrate_to` entry on the server (which also closes the
  import for good: no one can append imported entries after it); on failure, one entry in the
  cache with the outcome (the next run copies it along).
- PostgreSQL text cannot hold NUL characters: a NUL in a copied text is stored as U+FFFD and
  counted in the report (never in the audit or the ledger, whose hashes would change: those
  stop the copy with a message). Derived rows PostgreSQL cannot index (SKIPPED: duplicate
  detection's terms longer than 2,000 bytes, from 200 kB hostile posts) are left out, counted
  in the report and in the entry, and the row counts are checked without them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from console import clock, search_index
from console.door import Door
from console.migrations import LATEST_VERSION
from console.models import Role
from console.rewards import replay
from console.rewards.schedule_store import fill_missing_terms
from console.roles import register_action
from console.team import audit as team_audit
from console.team import schema
from console.team.connect import Connection, TeamStoreError, connect, explain
from console.team.location import redact

MIGRATE_TO = register_action("migrate_to", Role.ADMIN)
CHAINED = ("audit", "ledger")
FTS_TABLES = ("thread_fts", "post_fts")
CHUNK = 5000  # chained entries read from the cache at a time
KEY_BYTES = 2000
SKIPPED = {
    # table: (the rows that are copied, why the others are not)
    "dupe_terms": (
        f"length(CAST(term AS BLOB)) <= {KEY_BYTES}",
        f"terms longer than {KEY_BYTES:,} bytes: PostgreSQL cannot index a key that long, and "
        "the table is a snapshot of document frequencies that `peerdesk dupes --rebuild` "
        "recomputes",
    ),
}
"""Derived rows a team database cannot hold; left out, counted and named in the report."""
KEPT_BY_TRIGGERS = ("thread_tags",)
"""Tables the team database's own triggers fill as the rows they derive from are copied
(thread_tags: a thread's tags, console/team/dialect.py): not copied, but counted as the others
are, so a cache and a server that disagree about them fail the copy's check."""

Progress = Callable[[str, int], None]
"""progress(table, rows copied)"""


@dataclass
class CopyReport:
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows on the server
    resumed: list[str] = field(default_factory=list)  # tables an earlier run had finished
    nul_replaced: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # table -> rows left out (SKIPPED)
    audit_entries: int = 0
    audit_entry_id: int = 0  # the server's migrate_to entry


def _tables_in_order(conn: Connection) -> list[str]:
    """The team tables that a cache has, parents before children (foreign keys)."""
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
        (schema.SCHEMA,),
    ).fetchall()
    tables = [str(r[0]) for r in rows if r[0] not in schema.TEAM_ONLY_TABLES]
    edges = conn.execute(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = %s",
        (schema.SCHEMA,),
    ).fetchall()
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in edges:
        child_name, parent_name = str(child).split(".")[-1], str(parent).split(".")[-1]
        if child_name != parent_name and child_name in parents:
            parents[child_name].add(parent_name)
    ordered: list[str] = []
    while parents:
        ready = sorted(t for t, ps in parents.items() if not ps - set(ordered))
        if not ready:  # a cycle between tables: deferred constraints cover it in one table
            ready = sorted(parents)[:1]
        for table in ready:
            ordered.append(table)
            del parents[table]
    return ordered


def _columns(conn: Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND "
        "table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
        (schema.SCHEMA, table),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _count(conn: Connection, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    return int(str(row[0])) if row else 0


def _clean(value: Any, report: CopyReport) -> Any:
    if isinstance(value, str) and "\x00" in value:
        report.nul_replaced += 1
        return value.replace("\x00", "\ufffd")
    return value


def _check_target(conn: Connection, url: str) -> set[str]:
    """The tables an earlier run finished; refuses a database that is not ours or not empty."""
    found = schema.version(conn)
    if found is None:
        raise TeamStoreError(
            f"{redact(url)} has no peerdesk schema: the database administrator runs "
            "`peerdesk team-install URL` first (see README, Team setup)"
        )
    if found != LATEST_VERSION:
        raise TeamStoreError(
            f"{redact(url)} is at team schema {found}, this peerdesk writes {LATEST_VERSION}: "
            "run `peerdesk team-install URL` to upgrade it first"
        )
    member = conn.execute(
        "SELECT session_user, pg_has_role(session_user, 'peerdesk_admin', 'MEMBER')"
    ).fetchone()
    if member is None or not member[1]:
        role = member[0] if member else "?"
        raise TeamStoreError(
            f"the database role {role} is not in peerdesk_admin on {redact(url)}: only an admin's "
            "role can copy a cache in (GRANT peerdesk_admin TO the role, or connect as one)"
        )
    done = {str(r[0]) for r in conn.execute("SELECT table_name FROM copy_progress").fetchall()}
    if not done:
        for table in _tables_in_order(conn):
            if _count(conn, table):
                raise TeamStoreError(
                    f"{redact(url)} is not an empty team database (table {table} has rows) and "
                    "no interrupted migrate-to was recorded there: migrate into a new database"
                )
    return done


def _row_security(conn: Connection, table: str) -> bool:
    row = conn.execute(
        "SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass", (table,)
    ).fetchone()
    return bool(row and row[0])


def _copy_plain(
    conn: Connection, source: sqlite3.Connection, table: str, report: CopyReport
) -> int:
    columns = _columns(conn, table)
    select = ", ".join(f'"{c}"' for c in columns)
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    query = f"SELECT {select} FROM {table}"
    if table == "meta":  # the chains' heads are the server's own (its append functions)
        query += " WHERE key NOT IN ('audit_head', 'ledger_head')"
    if table in SKIPPED:
        query += f" WHERE {SKIPPED[table][0]}"
    rows = 0
    if _row_security(conn, table):  # COPY FROM refuses tables under row-level security (meta)
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        )
        values = [[_clean(v, report) for v in row] for row in source.execute(query)]
        with conn.cursor() as cur:
            cur.executemany(insert, values)
        rows = len(values)
    else:
        with conn.cursor() as cur, cur.copy(copy) as writer:
            for row in source.execute(query):
                writer.write_row([_clean(v, report) for v in row])
                rows += 1
    if "id" in columns:
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({t}, 'id'), coalesce(max(id), 0) + 1, false)"
                " FROM {i} WHERE pg_get_serial_sequence({t}, 'id') IS NOT NULL"
            ).format(t=sql.Literal(table), i=sql.Identifier(table))
        )
    return rows


def _copy_chained(conn: Connection, source: sqlite3.Connection, table: str) -> int:
    """Append the cache's entries after the server's newest: COPY into the chain's staging
    table, then one call to its import function checks the whole chain set-based (ids,
    chaining, every hash) and appends it, all in the caller's transaction."""
    newest = conn.execute(
        sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(sql.Identifier(table))
    ).fetchone()
    after = int(str(newest[0])) if newest else 0
    columns = _columns(conn, table)
    select = ", ".join(f'"{c}"' for c in columns)
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(f"{table}_import"), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    rows = source.execute(f"SELECT {select} FROM {table} WHERE id > ? ORDER BY id", (after,))
    with conn.cursor() as cur, cur.copy(copy) as writer:
        while chunk := rows.fetchmany(CHUNK):  # streamed: a ledger may hold millions
            for row in chunk:
                if any(isinstance(v, str) and "\x00" in v for v in row):
                    raise TeamStoreError(
                        f"{table} entry {row[0]} holds a NUL character, which PostgreSQL text "
                        "cannot store; its hash would change. Nothing of this table was copied."
                    )
                writer.write_row(row)
    done = conn.execute("SELECT peerdesk_import_staged(%s)", (table,)).fetchone()
    return int(str(done[0])) if done else 0


def _copy_table(
    conn: Connection, source: sqlite3.Connection, table: str, report: CopyReport
) -> None:
    with conn.transaction():
        conn.execute("SET CONSTRAINTS ALL DEFERRED")
        conn.execute("SET LOCAL peerdesk.quiet = 'on'")  # copied rows are not news (notify.sql)
        if table in CHAINED:
            _copy_chained(conn, source, table)
        else:
            _copy_plain(conn, source, table, report)
        conn.execute(
            "INSERT INTO copy_progress (table_name, rows, copied_at) VALUES (%s, %s, %s)",
            (table, _count(conn, table), clock.now_iso()),
        )


def _verify(conn: Connection, source: sqlite3.Connection, report: CopyReport) -> None:
    wrong = []
    for table in _tables_in_order(conn):
        here = int(source.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        if table in SKIPPED:
            kept = f"SELECT count(*) FROM {table} WHERE {SKIPPED[table][0]}"
            left_out = here - int(source.execute(kept).fetchone()[0])
            if left_out:
                report.skipped[table] = left_out
            here -= left_out
        there = _count(conn, table)
        report.tables[table] = there
        if here != there:
            wrong.append(f"{table} {here} in the cache, {there} on the server")
    if wrong:
        raise TeamStoreError("row counts differ after the copy: " + "; ".join(wrong))
    problems = team_audit.verify(conn)
    if problems:
        first = problems[0]
        raise TeamStoreError(
            f"the audit chain on the server does not verify: entry {first.audit_id}: "
            f"{first.problem} ({len(problems)} problem(s))"
        )
    ledger = team_audit.ledger_problems(conn)
    if ledger:
        raise TeamStoreError(f"the ledger chain on the server does not verify: {ledger[0]}")
    report.audit_entries = report.tables.get("audit", 0)


def _refuse_unfit_ledger(door: Door, url: str) -> None:
    """TeamStoreError naming the first entry of the cache's ledger that the team database's
    server would have refused (console.rewards.replay: each entry checked as the cache's
    Appender and the server check it on arrival), before anything is copied."""
    unfit = replay.first_unfit(door.cache)
    if unfit is None:
        return
    entry = f"ledger entry {unfit.entry_id}" if unfit.entry_id else "the ledger"
    raise TeamStoreError(
        f"{entry} of {door.cache.path} does not fit: {unfit.problem}. Nothing was copied to "
        f"{redact(url)}: a ledger the team database's server would refuse entry by entry is "
        "not imported (run `peerdesk ledger verify`, and `peerdesk ledger accrue` for events "
        "undone since the last run)"
    )


def migrate_to(door: Door, url: str, progress: Progress | None = None) -> CopyReport:
    """Copy the door's cache into the team database at `url` (see the module's text)."""
    door.check(MIGRATE_TO)
    report = CopyReport()
    source = door.cache.sqlite
    try:
        with connect(url, autocommit=True) as conn:
            done = _check_target(conn, url)
            # the full-text tables are copied as they are: index what an import left first
            search_index.catch_up(door.cache)
            # schedules loaded before their terms were kept (migration 23): the team database
            # checks every accrual against the terms, so they are written into the cache first
            with door.cache.transaction() as cache_conn:
                fill_missing_terms(cache_conn)
            source.execute("BEGIN")  # one snapshot of the cache for the whole copy
            try:
                _refuse_unfit_ledger(door, url)
                for table in _tables_in_order(conn):
                    if table in KEPT_BY_TRIGGERS:
                        continue
                    if table in done and table not in CHAINED:
                        report.resumed.append(table)
                        continue
                    if table in done:
                        conn.execute("DELETE FROM copy_progress WHERE table_name = %s", (table,))
                    _copy_table(conn, source, table, report)
                    if progress:
                        progress(table, _count(conn, table))
                _verify(conn, source, report)
            finally:
                source.execute("COMMIT")
            detail = {
                "from": str(door.cache.path),
                "peerdesk_user": door.who.name,
                "os_user": door.who.os_user,
                "tables": len(report.tables),
                "rows": sum(report.tables.values()),
                "audit_entries": report.audit_entries,
                "resumed_after": len(report.resumed),
                "nul_replaced": report.nul_replaced,
                "skipped": report.skipped,
                "outcome": "done",
            }
            row = conn.execute(
                "SELECT peerdesk_audit_append('migrate_to', 'cache', NULL, NULL, %s)",
                (json.dumps(detail, sort_keys=True, ensure_ascii=False),),
            ).fetchone()
            report.audit_entry_id = int(str(row[0])) if row else 0
            conn.execute("SELECT peerdesk_import_close()")
            # the planner's statistics for what was just copied: without them it takes every
            # table for near-empty until autovacuum comes round, and the first accrual run (new
            # events NOT EXISTS in the ledger) ran as a nested loop of every event against every
            # ledger row: 231 s for a 1,000-thread demo, 0.1 s after this
            conn.execute("SELECT peerdesk_analyze()")
    except psycopg.Error as error:
        _record_failure(door, url, explain(error, url))
        raise explain(error, url) from error
    except TeamStoreError as error:
        _record_failure(door, url, error)
        raise
    return report


def _record_failure(door: Door, url: str, error: Exception) -> None:
    with door.cache.transaction() as conn:
        door.record(
            conn,
            MIGRATE_TO,
            target_kind="cache",
            detail={"to": redact(url), "outcome": f"failed: {error}"},
        )
