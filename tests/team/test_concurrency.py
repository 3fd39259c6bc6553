"""Claims and outbox sending on the team database, raced by several real processes, each with
its own connection and its own database role: no thread is claimed twice, no item sent twice."""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter

import psycopg
import pytest

from console.team import work
from console.team.connect import OPTIONS

from .cluster import Cluster
from .conftest import as_role, login_role, superuser

pytestmark = pytest.mark.xdist_group("teamdb")
PROCESSES = 4
THREADS = 40
ITEMS = 300


def _seed(cluster: Cluster, dbname: str, outbox_items: int = 0) -> None:
    with superuser(cluster, dbname) as conn:
        conn.execute(
            "SET search_path = peerdesk; "
            "INSERT INTO sources (kind, name, created_at) VALUES ('discourse', 'f', 'now')"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO peerdesk.threads (source_id, remote_id, title, created_at, "
                "last_activity_at) VALUES (1, %s, 'a question', 'now', 'now')",
                [(f"t{n}",) for n in range(THREADS)],
            )
            cur.executemany(
                "INSERT INTO peerdesk.outbox (source_id, action, target_kind, target_id, "
                "payload, idempotency_key, created_at, updated_at) VALUES (1, 'close', "
                "'thread', 1, '{}', %s, 'now', 'now')",
                [(f"key-{n}",) for n in range(outbox_items)],
            )


def _claimer(args: tuple[str, str, str, int]) -> list[int]:
    conninfo_db, role, _, seed = args
    host, dbname = conninfo_db.split("|")
    order = list(range(1, THREADS + 1))
    random.Random(seed).shuffle(order)
    won = []
    with _connect(host, dbname, role) as conn:
        for thread_id in order:
            if work.claim(conn, thread_id).won:
                won.append(thread_id)
    return won


def _sender(args: tuple[str, str, str, int]) -> list[int]:
    conninfo_db, role, sender, _ = args
    host, dbname = conninfo_db.split("|")
    sent = []
    with _connect(host, dbname, role) as conn:
        while batch := work.take_outbox(conn, sender, limit=7):
            for task in batch:
                sent.append(task.id)  # "the platform received it"
                assert work.finish_outbox(conn, task.id, sender)
    return sent


def _connect(host: str, dbname: str, role: str) -> psycopg.Connection[tuple[object, ...]]:
    """The role's own login (peer authentication; the test account may log in as it)."""
    return psycopg.connect(f"host={host} dbname={dbname} user={role}", options=OPTIONS)


def _race(fn, cluster: Cluster, dbname: str) -> list[list[int]]:  # type: ignore[no-untyped-def]
    roles = [login_role(cluster, f"pd-team-mod{n}", "moderator") for n in range(PROCESSES)]
    jobs = [
        (f"{cluster.socket_dir}|{dbname}", role, f"sender-{n}", n) for n, role in enumerate(roles)
    ]
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        return pool.map(fn, jobs)


def test_no_thread_is_claimed_twice(pg_cluster: Cluster, team_db: str) -> None:
    _seed(pg_cluster, team_db)
    results = _race(_claimer, pg_cluster, team_db)
    winners = Counter(t for won in results for t in won)
    assert sorted(winners) == list(range(1, THREADS + 1))
    assert set(winners.values()) == {1}  # each thread: exactly one process won it
    with superuser(pg_cluster, team_db) as conn:
        rows = dict(conn.execute("SELECT thread_id, holder FROM peerdesk.claims").fetchall())
    for n, won in enumerate(results):
        assert all(rows[t] == f"pd-team-mod{n}" for t in won)


def _age(cluster: Cluster, dbname: str, table: str, column: str) -> None:
    """Let every claim or lease run out by the server's clock (which decides on the team store)."""
    with superuser(cluster, dbname) as conn:
        conn.execute(f"UPDATE peerdesk.{table} SET {column} = '2000-01-01T00:00:00Z'")


def test_a_claim_is_refused_while_live_and_taken_over_when_expired(
    pg_cluster: Cluster, team_db: str
) -> None:
    _seed(pg_cluster, team_db)
    a, b = (login_role(pg_cluster, f"pd-team-mod{n}", "moderator") for n in (0, 1))
    with as_role(pg_cluster, team_db, a) as first, as_role(pg_cluster, team_db, b) as second:
        taken = work.claim(first, 5)
        assert taken.won and taken.holder == a
        refused = work.claim(second, 5)
        assert not refused.won and refused.holder == a
        assert refused.expires_at == taken.expires_at
        assert not work.release(second, 5)  # not its claim
        _age(pg_cluster, team_db, "claims", "expires_at")
        over = work.claim(second, 5)
        assert over.won and over.holder == b and over.expires_at > "2026"
        assert work.release(second, 5)


def test_no_outbox_item_is_sent_twice(pg_cluster: Cluster, team_db: str) -> None:
    _seed(pg_cluster, team_db, outbox_items=ITEMS)
    results = _race(_sender, pg_cluster, team_db)
    sent = Counter(i for items in results for i in items)
    assert len(sent) == ITEMS and set(sent.values()) == {1}
    assert sum(1 for items in results if items) >= 2  # the work was really shared
    with superuser(pg_cluster, team_db) as conn:
        states = conn.execute(
            "SELECT state, attempts, count(*) FROM peerdesk.outbox GROUP BY state, attempts"
        ).fetchall()
    assert states == [("applied", 1, ITEMS)]


def test_an_expired_lease_is_taken_over_and_the_old_sender_cannot_finish(
    pg_cluster: Cluster, team_db: str
) -> None:
    _seed(pg_cluster, team_db, outbox_items=1)
    role = login_role(pg_cluster, "pd-team-mod0", "moderator")
    with as_role(pg_cluster, team_db, role) as conn:
        conn.autocommit = False
        [task] = work.take_outbox(conn, "slow", lease_seconds=60)
        assert work.take_outbox(conn, "fast") == []  # leased: nobody else takes it
        _age(pg_cluster, team_db, "outbox", "lease_until")
        assert [t.id for t in work.take_outbox(conn, "fast")] == [task.id]
        assert not work.finish_outbox(conn, task.id, "slow")  # its lease was taken over
        assert work.finish_outbox(conn, task.id, "fast")


def test_threads_sharing_a_pool_send_each_item_once(pg_cluster: Cluster, team_db: str) -> None:
    """One process, 8 sender threads, 4 pooled connections (console.team.connect.pool)."""
    import threading

    from console.team.connect import pool

    _seed(pg_cluster, team_db, outbox_items=ITEMS)
    url = pg_cluster.url(team_db, login_role(pg_cluster, "pd-team-mod0", "moderator"))
    sent: list[int] = []
    lock = threading.Lock()

    def send(name: str) -> None:
        while True:
            with shared.connection() as conn:
                batch = work.take_outbox(conn, name, limit=5)
                for task in batch:
                    assert work.finish_outbox(conn, task.id, name)
            if not batch:
                return
            with lock:
                sent.extend(t.id for t in batch)

    with pool(url, max_size=4) as shared:
        threads = [threading.Thread(target=send, args=(f"t{n}",)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(sent) == sorted(set(sent)) and len(sent) == ITEMS
