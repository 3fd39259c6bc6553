"""The team database's extra connections (a console's workers: `TeamCache.reopen`) come from
psycopg_pool's pool of that URL and role, and go back to it when closed."""

from __future__ import annotations

# PostgreSQL only: psycopg_pool's connections (a cache file opens a new sqlite3 connection)
import pytest

from console.db import Cache
from console.storage.pool import POOL_SIZE

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def backend_pid(cache: Cache) -> int:
    return int(cache.one("SELECT pg_backend_pid()")[0])


def test_a_connection_given_back_is_the_next_one_taken(cache: Cache) -> None:
    first = cache.reopen()
    pid = backend_pid(first)
    assert pid != backend_pid(cache)  # a connection of its own, beside the main one
    assert first.one("SELECT session_user")[0] == "alice"  # as the same role
    first.close()
    again = cache.reopen()
    assert backend_pid(again) == pid  # no new login: the pool's connection
    again.close()


def test_connections_in_use_at_once_are_distinct(cache: Cache) -> None:
    taken = [cache.reopen() for _ in range(POOL_SIZE)]
    pids = {backend_pid(t) for t in taken}
    assert len(pids) == POOL_SIZE
    for t in taken:
        t.close()
    reused = cache.reopen()
    assert backend_pid(reused) in pids
    reused.close()


def test_a_transaction_left_open_is_rolled_back_when_given_back(
    cache: Cache, ids: dict[str, int]
) -> None:
    worker = cache.reopen()
    worker.conn.raw.execute("BEGIN")
    worker.conn.execute(
        "INSERT INTO notes (thread_id, author, body, created_at) VALUES (?, 'alice', 'x', 'now')",
        (ids["t1"],),
    )
    assert worker.conn.in_transaction
    worker.close()
    again = cache.reopen()
    assert not again.conn.in_transaction
    assert again.one("SELECT count(*) FROM notes WHERE body = 'x'")[0] == 0
    assert cache.one("SELECT count(*) FROM notes WHERE body = 'x'")[0] == 0
    again.close()
