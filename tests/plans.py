"""SQLite's plan for a statement, as the tests that pin one read it (EXPLAIN QUERY PLAN's detail
column, one step after another)."""

from __future__ import annotations

from typing import Any

from console.storage import Connection


def query_plan(conn: Connection, sql: str, params: Any = ()) -> str:
    return " | ".join(str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
