"""Pricing an accrual reads what the member already earned that day and in that thread
(console.rewards.pricing) through an index, so an accrual run costs what it writes, not the
square of a busy member's history (migration 33). SQLite's plan; the team database's
peerdesk_ledger_append runs the same sums over the same index."""

# SQLite only: the plan read is SQLite's EXPLAIN QUERY PLAN; the same migration installs the
# index on a team database (tests/team/test_schema.py runs every migration on PostgreSQL).

from __future__ import annotations

from pathlib import Path

from console.db import open_cache
from console.rewards.pricing import Pricer
from tests.plans import query_plan


def test_the_caps_sums_read_an_index_not_the_members_whole_history(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "cache.sqlite3", create=True)
    conn = cache.sqlite
    read: list[str] = []
    conn.set_trace_callback(lambda sql: read.append(sql) if "FROM ledger" in sql else None)
    pricer = Pricer(conn, from_ledger=True)
    pricer.problems(
        member_id=7,
        rule="helpful_vote",
        points=1,
        amount_minor=5,
        currency="GBP",
        version="none loaded",
        occurred_at="2026-11-20T12:00:00Z",
        thread_id=31,
    )
    conn.set_trace_callback(None)
    sums = [sql for sql in read if "sum(points)" in sql]
    assert len(sums) == 2, read  # the day's and the thread's
    plans = {sql: query_plan(conn, sql) for sql in sums}
    for sql, plan in plans.items():
        assert "USING" in plan and "INDEX" in plan, (sql, plan)
    (thread_plan,) = [plan for sql, plan in plans.items() if "thread_id" in sql]
    assert "ledger_accruals_by_thread" in thread_plan
    cache.close()
