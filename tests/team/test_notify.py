"""LISTEN/NOTIFY: a claim or a decision on one connection reaches a console listening on another.

Every wait is on the listener's socket with a generous limit (the test ends as soon as the
notification is there); nothing asserts on timing."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from console.team import notify, work
from console.team.connect import Connection, connect

from .cluster import Cluster
from .conftest import login_role, superuser

pytestmark = pytest.mark.xdist_group("teamdb")
WAIT = 30.0  # seconds at most; a notification normally arrives in a millisecond


def _seed(cluster: Cluster, dbname: str) -> None:
    with superuser(cluster, dbname) as conn:
        conn.execute(
            "SET search_path = peerdesk; "
            "INSERT INTO sources (kind, name, created_at) VALUES ('discourse', 'f', 'now'); "
            "INSERT INTO threads (source_id, remote_id, title, created_at, last_activity_at) "
            "SELECT 1, 't' || n, 'a question', 'now', 'now' FROM generate_series(1, 6) n"
        )


def _next(listener: notify.Listener) -> list[notify.Event]:
    events = listener.events(timeout=WAIT)
    assert events, f"no notification within {WAIT} s"
    return events


def test_a_claim_and_a_decision_reach_another_connection(pg_cluster: Cluster, team_db: str) -> None:
    _seed(pg_cluster, team_db)
    ann = login_role(pg_cluster, "pd-team-ann", "moderator")
    bob = login_role(pg_cluster, "pd-team-bob", "moderator")
    with (
        notify.Listener(pg_cluster.url(team_db, ann)) as listener,
        connect(pg_cluster.url(team_db, bob), autocommit=True) as conn,
    ):
        assert listener.events() == []  # nothing yet, and no wait
        taken = work.claim(conn, 5)
        [event] = _next(listener)
        assert (event.kind, event.data) == (
            "claim",
            {"thread_id": 5, "holder": bob, "expires_at": taken.expires_at},
        )
        assert event.thread_id == 5 and event.pid == notify.session_of(conn)

        with conn.transaction():  # a decision: its audit entry and the thread, one transaction
            conn.execute("UPDATE threads SET status = 'closed' WHERE id = 5")
            conn.execute("SELECT peerdesk_audit_append('close', 'thread', 5, NULL, '{}')")
        [decided] = _next(listener)
        assert decided.kind == "decision" and decided.thread_id == 5
        assert decided.data == {
            "audit_id": 1,
            "action": "close",
            "actor": bob,
            "target_kind": "thread",
            "target_id": 5,
        }

        assert work.release(conn, 5)
        assert [e.kind for e in _next(listener)] == ["release"]


@contextmanager
def _bob_heard(cluster: Cluster, dbname: str) -> Iterator[tuple[notify.Listener, Connection]]:
    """A seeded team database, a listener and a connection (not autocommit) of moderator bob."""
    _seed(cluster, dbname)
    bob = login_role(cluster, "pd-team-bob", "moderator")
    with (
        notify.Listener(cluster.url(dbname, bob)) as listener,
        connect(cluster.url(dbname, bob)) as conn,
    ):
        yield listener, conn


def test_a_rolled_back_claim_sends_nothing(pg_cluster: Cluster, team_db: str) -> None:
    with _bob_heard(pg_cluster, team_db) as (listener, conn):
        conn.execute("INSERT INTO claims VALUES (3, session_user, 'x', peerdesk_time())")
        conn.rollback()
        work.claim(conn, 4)
        conn.commit()
        events = _next(listener)
    assert [(e.kind, e.thread_id) for e in events] == [("claim", 4)]


def test_a_subscription_calls_back_from_its_thread_and_stops_on_close(
    pg_cluster: Cluster, team_db: str
) -> None:
    _seed(pg_cluster, team_db)
    bob = login_role(pg_cluster, "pd-team-bob", "moderator")
    got: queue.Queue[list[notify.Event]] = queue.Queue()
    subscription = notify.subscribe(pg_cluster.url(team_db, bob), got.put)
    assert subscription is not None
    try:
        with connect(pg_cluster.url(team_db, bob), autocommit=True) as conn:
            work.claim(conn, 2)
            work.claim(conn, 3)
        seen: list[int | None] = []
        while len(seen) < 2:
            seen += [e.thread_id for e in got.get(timeout=WAIT)]
        assert seen == [2, 3]
    finally:
        subscription.close()
    assert not subscription.thread.is_alive()
    assert subscription.listener.conn.closed


def test_a_subscription_leaves_out_its_own_sessions_events_not_a_teammates(
    pg_cluster: Cluster, team_db: str
) -> None:
    """A console already shows its own claims and decisions: what its own connection sent is
    left out, even in the same burst as a teammate's, which still comes through. Notifications
    arrive in commit order, so by the time bob's last one is handed over every one of ann's
    was read before it."""
    _seed(pg_cluster, team_db)
    ann = login_role(pg_cluster, "pd-team-ann", "moderator")
    bob = login_role(pg_cluster, "pd-team-bob", "moderator")
    got: queue.Queue[list[notify.Event]] = queue.Queue()
    with (
        connect(pg_cluster.url(team_db, ann), autocommit=True) as own,
        connect(pg_cluster.url(team_db, bob), autocommit=True) as teammate,
    ):
        pid = notify.session_of(own)
        assert pid is not None and pid != notify.session_of(teammate)
        subscription = notify.subscribe(pg_cluster.url(team_db, ann), got.put, own=[pid])
        assert subscription is not None
        try:
            work.claim(own, 1)  # alone in its burst
            work.claim(teammate, 2)
            with own.transaction():  # ann's decision and bob's claim, one after the other
                own.execute("UPDATE threads SET status = 'closed' WHERE id = 1")
                own.execute("SELECT peerdesk_audit_append('close', 'thread', 1, NULL, '{}')")
            work.claim(teammate, 3)
            handed: list[notify.Event] = []
            while not any(e.thread_id == 3 for e in handed):
                handed += got.get(timeout=WAIT)
        finally:
            subscription.close()
    assert [(e.kind, e.thread_id, e.data.get("holder")) for e in handed] == [
        ("claim", 2, bob),
        ("claim", 3, bob),
    ]
    assert got.empty()


def test_a_consoles_workers_connections_are_its_own_sessions_too(
    pg_cluster: Cluster, team_db: str
) -> None:
    """A console pushes, syncs and scans escalations on connections reopened from its own (its
    workers', from the pool): what they send is the console's own too, left out like its main
    connection's, also for a connection opened after the subscription; a teammate's still
    comes through."""
    from console.storage.pool import close_all
    from console.storage.postgres import PgConnection, open_team

    _seed(pg_cluster, team_db)
    ann = login_role(pg_cluster, "pd-team-ann", "moderator")
    bob = login_role(pg_cluster, "pd-team-bob", "moderator")
    got: queue.Queue[list[notify.Event]] = queue.Queue()
    console = open_team(pg_cluster.url(team_db, ann))
    try:
        own = notify.sessions_of(console)
        subscription = notify.subscribe(pg_cluster.url(team_db, ann), got.put, own=own)
        assert subscription is not None
        try:
            worker = console.reopen()  # after the subscription, as a push's would be
            try:
                assert isinstance(worker.conn, PgConnection)
                assert worker.conn_pid() != console.conn_pid()
                assert set(own) == {console.conn_pid(), worker.conn_pid()}
                work.claim(worker.conn.raw, 1)  # the worker's claim: the console's own
                with worker.transaction() as conn:  # and its decision
                    conn.execute("SELECT peerdesk_audit_append('close', 'thread', 2, NULL, '{}')")
            finally:
                worker.close()
            with connect(pg_cluster.url(team_db, bob), autocommit=True) as teammate:
                work.claim(teammate, 3)
            handed: list[notify.Event] = []
            while not any(e.thread_id == 3 for e in handed):
                handed += got.get(timeout=WAIT)
        finally:
            subscription.close()
    finally:
        console.close()
        close_all()
    assert [(e.kind, e.thread_id, e.data.get("holder")) for e in handed] == [("claim", 3, bob)]
    assert got.empty()


def test_no_subscription_for_a_sqlite_cache(tmp_path: object) -> None:
    assert notify.subscribe(f"{tmp_path}/cache.sqlite3", lambda events: None) is None


def test_a_quiet_transaction_notifies_nobody(pg_cluster: Cluster, team_db: str) -> None:
    """migrate-to's copy is quiet: copied claims and entries are not news."""
    with _bob_heard(pg_cluster, team_db) as (listener, conn):
        conn.execute("SET LOCAL peerdesk.quiet = 'on'")
        work.claim(conn, 1)
        conn.commit()
        work.claim(conn, 2)
        conn.commit()
        events = _next(listener)
    assert [e.thread_id for e in events] == [2]


def test_payloads_that_are_not_ours_are_kept_as_unknown() -> None:
    assert notify.parse("not json", 7) == notify.Event("unknown", {"payload": "not json"}, 7)
    assert notify.parse("[1]").kind == "unknown"
    assert notify.parse('{"kind": "claim", "thread_id": 7}').thread_id == 7
