"""The Queue's counts under `all`, `flagged` and `unanswered`, kept by the cache's triggers
(migration 32, console/queue_counts.py), stay equal to counting the threads after every kind of
change: new threads, upserts that change flags or replies, decisions that take a thread out of
the Queue and back, threads the platform no longer shows, a source removed with its threads."""

from __future__ import annotations

# SQLite only: the counts are kept by the cache's triggers; the team database counts the rows.
import sqlite3
from pathlib import Path

from console import sources
from console.db import Cache, open_cache
from console.desk import Desk
from console.ingest import ensure_source, leave_queue, upsert_threads
from console.migrations import LATEST_VERSION, MIGRATIONS
from console.models import PostRecord, ThreadRecord
from console.queue_counts import column_for
from console.store import QueueFilter
from tests.domain.conftest import older_cache_file

NUMBER = next(
    index + 1
    for index, statements in enumerate(MIGRATIONS)
    if any("EXISTS queue_counts (" in statement for statement in statements)
)

KEPT = {
    "queued": "in_queue = 1",
    "flagged": "in_queue = 1 AND (flag_count > 0 OR report_count > 0)",
    "unanswered": "in_queue = 1 AND reply_count = 0",
}


def counted(conn: sqlite3.Connection) -> dict[str, int]:
    """Each count the slow way: every thread looked at."""
    return {
        name: conn.execute(f"SELECT count(*) FROM threads WHERE {where}").fetchone()[0]
        for name, where in KEPT.items()
    }


def kept(conn: sqlite3.Connection) -> dict[str, int]:
    row = conn.execute("SELECT queued, flagged, unanswered FROM queue_counts").fetchone()
    return dict(zip(KEPT, row, strict=True))


def thread(remote: str, *, replies: int = 0, flags: int = 0, reports: int = 0) -> ThreadRecord:
    return ThreadRecord(
        remote,
        f"Question {remote}",
        "u1",
        "answered" if replies else "open",
        "2026-11-20T12:00:00Z",
        "2026-11-20T12:00:00Z",
        reply_count=replies,
        flag_count=flags,
        report_count=reports,
    )


def post(remote: str) -> PostRecord:
    return PostRecord(f"{remote}.0", remote, "u1", 0, "Body", "Body", "2026-11-20T12:00:00Z")


def test_the_kept_counts_follow_every_change_to_the_threads(
    cache: Cache, ids: dict[str, int], desk: Desk
) -> None:
    conn = cache.conn
    assert kept(conn) == counted(conn)
    assert counted(conn)["queued"] > 0 and counted(conn)["unanswered"] > 0  # the test's data

    desk.close([ids["t1"]])  # out of the Queue
    assert kept(conn) == counted(conn)
    desk.reopen([ids["t1"]])  # back in
    assert kept(conn) == counted(conn)

    other = ensure_source(cache, "discourse", "other", "https://other.example")
    fresh = [thread("n1"), thread("n2", flags=2), thread("n3", replies=3, reports=1)]
    upsert_threads(cache, other, fresh, [post(t.remote_id) for t in fresh])  # inserts
    assert kept(conn) == counted(conn)
    before = kept(conn)
    changed = [thread("n1", replies=1, flags=1), thread("n2"), thread("n3", replies=3)]
    upsert_threads(cache, other, changed, [])  # the upsert's update path
    assert kept(conn) == counted(conn)
    assert kept(conn) == {
        "queued": before["queued"],
        "flagged": before["flagged"] - 1,  # n1 flagged now, n2 and n3 no longer
        "unanswered": before["unanswered"] - 1,  # n1 answered now
    }

    leave_queue(cache, other, ["n1"])  # the platform no longer shows it
    assert kept(conn) == counted(conn)
    with cache.transaction() as tx:  # the source goes, and its threads with it (cascade)
        sources.remove(tx, "other")
    assert kept(conn) == counted(conn)
    assert conn.execute("SELECT count(*) FROM queue_counts").fetchone()[0] == 1


def test_the_queue_reads_its_three_big_counts_from_the_kept_row(
    cache: Cache, ids: dict[str, int], desk: Desk
) -> None:
    cache.conn.execute("UPDATE queue_counts SET queued = 7001, flagged = 7002, unanswered = 7003")
    assert desk.queue_count() == 7001
    assert desk.queue_count(QueueFilter(flagged_only=True)) == 7002
    assert desk.queue_count(QueueFilter(unanswered_only=True)) == 7003
    # any other filter is counted from the threads
    assert desk.queue_count(QueueFilter(flagged_only=True, unanswered_only=True)) < 100
    assert desk.queue_count(QueueFilter(status="open")) < 100


def test_only_the_three_plain_filters_are_kept() -> None:
    assert column_for(QueueFilter()) == "queued"
    assert column_for(QueueFilter(flagged_only=True)) == "flagged"
    assert column_for(QueueFilter(unanswered_only=True)) == "unanswered"
    for other in (
        QueueFilter(text="roaming"),
        QueueFilter(flagged_only=True, text="roaming"),
        QueueFilter(flagged_only=True, unanswered_only=True),
        QueueFilter(source="forum"),
        QueueFilter(unanswered_only=True, older_than_minutes=60),
        QueueFilter(everything=True),
        QueueFilter(claimed_by="alice"),
    ):
        assert column_for(other) is None, other


def test_the_migration_counts_the_threads_a_cache_already_holds(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    rows = [  # (in_queue, reply_count, flag_count, report_count)
        (1, 0, 0, 0),
        (1, 0, 2, 0),
        (1, 4, 0, 1),
        (1, 2, 0, 0),
        (0, 0, 5, 0),
        (0, 1, 0, 0),
    ]
    columns = ("in_queue", "reply_count", "flag_count", "report_count")
    older_cache_file(path, NUMBER - 1, columns, rows)

    cache = open_cache(path)  # migrates to the latest version
    try:
        assert cache.one("PRAGMA user_version")[0] == LATEST_VERSION
        assert kept(cache.conn) == {"queued": 4, "flagged": 2, "unanswered": 2}
        assert kept(cache.conn) == counted(cache.conn)
    finally:
        cache.close()


def test_the_migration_run_again_on_a_file_set_back_counts_again(
    cache: Cache, ids: dict[str, int]
) -> None:
    conn = cache.conn
    conn.execute("UPDATE queue_counts SET queued = 0, flagged = 0, unanswered = 0")
    with cache.transaction() as tx:
        for statement in MIGRATIONS[NUMBER - 1]:
            tx.execute(statement)
    assert kept(conn) == counted(conn)
    triggers = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'queue_counts%'"
    ).fetchone()[0]
    assert triggers == 3
