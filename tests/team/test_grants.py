"""What each peerdesk role may do on the team database, logged in as its own role: the payout
roles write payout tables, a read-only role writes nothing, payees' details are not for
moderators, and what the server chains with its functions verifies with peerdesk's own code."""

from __future__ import annotations

import psycopg
import pytest

from console.team import audit as team_audit
from console.team.connect import OPTIONS, connect

from .cluster import Cluster
from .conftest import login_role, superuser

pytestmark = pytest.mark.xdist_group("teamdb")

BATCH = (
    "INSERT INTO payout_batches (period, period_start, period_end, currency, schedule_version, "
    "threshold_points, second_approver_over_minor, prepared_by, prepared_at) VALUES "
    "('2026-11', 'a', 'b', 'GBP', 'v1', 0, 0, session_user, 'now') RETURNING id"
)
# an admin's `ledger schedule`: 10 points at 25p for an accepted answer, two approvers over 0
V1_SCHEDULE = (
    "SET search_path = peerdesk; "
    "INSERT INTO reward_schedules (version, body, sha256, loaded_by, loaded_at) "
    "VALUES ('v1', '', '', 'root', 'now'); "
    "INSERT INTO reward_schedule_terms VALUES ('v1', 'GBP', 25, 100, 100, 1, 0); "
    "INSERT INTO reward_schedule_points VALUES ('v1', 'accepted_answer', 10)"
)
LEDGER = (
    "SELECT peerdesk_ledger_append(%s, 'accrual', 'accepted_answer', %s, %s, 10, 250, 'GBP', "
    "'v1', '2026-11-20T12:00:00Z', NULL, NULL, %s)"
)
# what those accruals pay for: member N's answer, post N, accepted in thread N (asked by 9)
ACCEPTED_ANSWERS = (
    "SET search_path = peerdesk; "
    "INSERT INTO sources (kind, name, created_at) VALUES ('discourse', 'f', 'now'); "
    "INSERT INTO members (id, source_id, remote_id, username) "
    "SELECT n, 1, 'm' || n, 'member' || n FROM generate_series(1, 9) n; "
    "INSERT INTO threads (id, source_id, remote_id, title, author_id, created_at, "
    "last_activity_at) SELECT n, 1, 't' || n, 'Roaming', 9, 'now', 'now' "
    "FROM generate_series(1, 5) n; "
    "INSERT INTO posts (id, thread_id, source_id, remote_id, author_id, position, body_text, "
    "body_raw, created_at) SELECT n, n, 1, 'p' || n, n, 1, 'Restart', '', "
    "'2026-11-20T12:00:00Z' FROM generate_series(1, 5) n; "
    "UPDATE threads SET accepted_post_id = id"
)


def login(cluster: Cluster, dbname: str, role: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(cluster.conninfo(dbname, role), autocommit=True, options=OPTIONS)


def refused(conn: psycopg.Connection[tuple[object, ...]], statement: str) -> bool:
    try:
        conn.execute(statement.encode())
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def test_payout_roles_write_payout_tables(pg_cluster: Cluster, team_db: str) -> None:
    login_role(pg_cluster, "pd-team-priya", "payout_preparer")
    login_role(pg_cluster, "pd-team-tom", "payout_approver")
    with superuser(pg_cluster, team_db) as owner:  # a batch is prepared under a schedule's terms
        owner.execute(V1_SCHEDULE)
    with login(pg_cluster, team_db, "pd-team-priya") as priya:
        row = priya.execute(BATCH).fetchone()
        assert row is not None
        priya.execute("UPDATE payout_batches SET state = 'prepared' WHERE id = %s", (row[0],))
        assert refused(priya, "UPDATE threads SET status = 'closed'")  # not a moderator
    with login(pg_cluster, team_db, "pd-team-tom") as tom:
        tom.execute("INSERT INTO payout_approvals VALUES (%s, session_user, 'now')", (row[0],))
    with superuser(pg_cluster, team_db) as conn:
        approvals = conn.execute("SELECT approver FROM peerdesk.payout_approvals").fetchall()
    assert approvals == [("pd-team-tom",)]


def test_readonly_reads_and_writes_nothing(pg_cluster: Cluster, team_db: str) -> None:
    login_role(pg_cluster, "pd-team-ro", "readonly")
    with login(pg_cluster, team_db, "pd-team-ro") as ro:
        assert ro.execute("SELECT count(*) FROM threads").fetchone() == (0,)
        assert refused(ro, "INSERT INTO meta VALUES ('k', 'v')")
        assert refused(ro, "UPDATE claims SET holder = 'x'")
        assert refused(ro, "SELECT peerdesk_audit_append('close', 'thread', 1, NULL, '{}')")
        assert refused(ro, BATCH)
        assert refused(ro, "SELECT peerdesk_analyze()")  # migrate-to's, for admins only


def test_payees_details_are_not_for_moderators(pg_cluster: Cluster, team_db: str) -> None:
    login_role(pg_cluster, "pd-team-mod0", "moderator")
    login_role(pg_cluster, "pd-team-priya", "payout_preparer")
    with login(pg_cluster, team_db, "pd-team-mod0") as mod:
        assert refused(mod, "SELECT receiver FROM reward_payees")
    with login(pg_cluster, team_db, "pd-team-priya") as priya:
        assert priya.execute("SELECT count(*) FROM reward_payees").fetchone() == (0,)


def test_server_chained_entries_verify_with_peerdesks_code(
    pg_cluster: Cluster, team_db: str
) -> None:
    login_role(pg_cluster, "pd-team-priya", "payout_preparer")  # the ledger is theirs
    url = pg_cluster.url(team_db, "pd-team-priya")
    with superuser(pg_cluster, team_db) as owner:
        owner.execute(V1_SCHEDULE)
        owner.execute(ACCEPTED_ANSWERS)
    with connect(url, autocommit=True) as conn:
        for n in range(1, 6):
            conn.execute(
                "SELECT peerdesk_audit_append('close', 'thread', %s, NULL, %s)",
                (n, '{"why": "said \\"spam\\" \\u00e9"}'),
            )
            conn.execute(LEDGER, (n, f"post:{n}", n, '{"note": "ok"}'))
        assert team_audit.verify(conn) == []
        assert team_audit.ledger_problems(conn) == []
        assert str(team_audit.head(conn)).startswith("5:")
    with superuser(pg_cluster, team_db) as owner:  # the owner could; the check notices
        owner.execute("UPDATE peerdesk.audit SET target_id = 99 WHERE id = 2")
        owner.execute("ALTER TABLE peerdesk.ledger DISABLE TRIGGER ledger_no_update")
        owner.execute("UPDATE peerdesk.ledger SET amount_minor = 99999 WHERE id = 4")
    with connect(url) as conn:
        assert [p.audit_id for p in team_audit.verify(conn)] == [2]
        assert team_audit.ledger_problems(conn) == ["ledger entry 4: its hash does not match"]


def test_the_owner_cannot_be_logged_in_as(pg_cluster: Cluster, team_db: str) -> None:
    with superuser(pg_cluster, team_db) as conn:
        row = conn.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'peerdesk_owner'"
        ).fetchone()
    assert row == (False,)
