"""The attacks of #8 against the team database, with a raw SQL client.

A real OS account (`pd-mod07`, the moderator of tests/security) logs in over the Unix socket;
peer authentication maps it to the database role of the same name, a member of
peerdesk_moderator. From a forked child that dropped root, it runs hand-written SQL with psycopg:
every rewrite of the audit log or the ledger, every write that bypasses the chaining functions
and every write of a payout table is refused by PostgreSQL itself. Needs root (to become
another account); skipped otherwise, failed under PEERDESK_REQUIRE_ALL as CI runs it.
"""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Iterator

import psycopg
import pytest

from console.team.connect import OPTIONS
from tests.security.conftest import MODERATOR, account, need_root

from .cluster import Cluster
from .conftest import login_role, superuser

pytestmark = pytest.mark.xdist_group("teamdb")

AUDIT_ROW = "(99, 'ts', 'mallory', 'close', 'thread', 1, NULL, '{}', 'x', 'y')"
ATTACKS = {
    "update audit": "UPDATE audit SET actor = 'mallory' WHERE id = 1",
    "delete audit": "DELETE FROM audit WHERE id = 1",
    "truncate audit": "TRUNCATE audit",
    "insert audit directly": f"INSERT INTO audit VALUES {AUDIT_ROW}",
    "import a forged entry": (
        "SELECT peerdesk_audit_import(2, 'ts', 'mallory', 'close', 'thread', 1, NULL, '{}', "
        "'x', 'y')"
    ),
    "update ledger": "UPDATE ledger SET amount_minor = 1000000",
    "delete ledger": "DELETE FROM ledger",
    "truncate ledger": "TRUNCATE ledger",
    "insert ledger directly": (
        "INSERT INTO ledger (member_id, kind, rule, event_key, points, amount_minor, currency, "
        "schedule_version, occurred_at, recorded_at, prev_hash, hash) VALUES (1, 'accrual', "
        "'r', 'e', 1, 100000, 'GBP', 'v', 'ts', 'ts', 'x', 'y')"
    ),
    "write payout batch": (
        "INSERT INTO payout_batches (period, period_start, period_end, currency, "
        "schedule_version, threshold_points, second_approver_over_minor, prepared_by, "
        "prepared_at) VALUES ('2026-11', 'a', 'b', 'GBP', 'v', 0, 0, 'pd-mod07', 'now')"
    ),
    "approve payout": "INSERT INTO payout_approvals VALUES (1, 'pd-mod07', 'now')",
    "redirect a payee": "UPDATE reward_payees SET receiver = 'mallory@example.com'",
    "move the audit head": "INSERT INTO meta VALUES ('audit_head', '1:00')",
    "drop the audit": "DROP TABLE audit",
    "disable the ledger trigger": "ALTER TABLE ledger DISABLE TRIGGER ledger_no_update",
}
ALLOWED = {
    "append through the function": (
        "SELECT peerdesk_audit_append('close', 'thread', 1, NULL, '{\"why\": \"spam\"}')"
    ),
    "moderate a thread": "UPDATE threads SET status = 'closed' WHERE id = 1",
    "write meta": "INSERT INTO meta VALUES ('queue_seen', 'x')",
}


def as_os_account(
    user: pwd.struct_passwd, conninfo: str, script: dict[str, str], *, rows: bool = False
) -> dict:
    """Run `script` (name -> SQL) as the OS account `user` in a forked child; per statement
    "ok" (with `rows`: "ok N", the rows it changed) or the SQLSTATE PostgreSQL answered, plus
    who the server says we are."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            result: dict[str, str] = {}
            try:
                conn = psycopg.connect(conninfo, autocommit=True, options=OPTIONS)
            except psycopg.Error as error:
                result["connect"] = str(error).strip().splitlines()[-1]
            else:
                row = conn.execute("SELECT session_user, current_user").fetchone()
                result["whoami"] = f"{row[0]}/{row[1]}" if row else "?"
                for name, statement in script.items():
                    try:
                        done = conn.execute(statement.encode())
                        result[name] = f"ok {done.rowcount}" if rows else "ok"
                    except psycopg.Error as error:
                        result[name] = error.sqlstate or "error"
                conn.close()
            os.write(write, json.dumps(result).encode())
            code = 0
        except BaseException as error:
            os.write(write, json.dumps({"child": repr(error)}).encode())
        finally:
            os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


@pytest.fixture
def moderator(pg_cluster: Cluster, team_db: str) -> Iterator[pwd.struct_passwd]:
    need_root()
    user = account(MODERATOR)
    login_role(pg_cluster, MODERATOR, "moderator")
    with superuser(pg_cluster, team_db) as conn:  # something to attack: one thread, one entry
        conn.execute(
            "SET search_path = peerdesk; "
            "INSERT INTO sources (kind, name, created_at) VALUES ('discourse', 'f', 'now'); "
            "INSERT INTO threads (source_id, remote_id, title, created_at, last_activity_at) "
            "VALUES (1, 't1', 'Roaming', 'now', 'now'); "
            "SET ROLE peerdesk_admin; "
            "SELECT peerdesk_audit_append('note', 'thread', 1, NULL, '{}')"
        )
    yield user


def test_a_moderators_raw_sql_cannot_rewrite_the_audit_ledger_or_payouts(
    pg_cluster: Cluster, team_db: str, moderator: pwd.struct_passwd
) -> None:
    result = as_os_account(moderator, pg_cluster.conninfo(team_db, MODERATOR), ATTACKS)
    assert result.pop("whoami") == f"{MODERATOR}/{MODERATOR}"  # peer auth: OS account = role
    refused = {
        name: state
        for name, state in result.items()
        if state in ("42501", "P0001", "42P17") or state.startswith("42")
    }
    assert refused == result, f"attacks that went through: {set(result) - set(refused)}"
    assert result["update audit"] == "42501"  # insufficient_privilege
    assert result["move the audit head"] == "42501"  # row-level security refuses it
    with superuser(pg_cluster, team_db) as conn:
        rows = conn.execute("SELECT id, actor FROM peerdesk.audit").fetchall()
        payouts = conn.execute("SELECT count(*) FROM peerdesk.payout_batches").fetchone()
    assert rows == [(1, "peerdesk_admin")] or rows == [(1, "postgres")]
    assert payouts == (0,)


def test_the_legitimate_path_records_the_real_role(
    pg_cluster: Cluster, team_db: str, moderator: pwd.struct_passwd
) -> None:
    result = as_os_account(moderator, pg_cluster.conninfo(team_db, MODERATOR), ALLOWED)
    assert {k: v for k, v in result.items() if k != "whoami"} == dict.fromkeys(ALLOWED, "ok")
    with superuser(pg_cluster, team_db) as conn:
        last = conn.execute(
            "SELECT actor, action, detail FROM peerdesk.audit ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert last == (MODERATOR, "close", '{"why": "spam"}')  # the actor is the login, not a claim


def test_peer_authentication_refuses_another_role(
    pg_cluster: Cluster, team_db: str, moderator: pwd.struct_passwd
) -> None:
    result = as_os_account(moderator, pg_cluster.conninfo(team_db, "postgres"), {})
    assert "Peer authentication failed" in result["connect"]
