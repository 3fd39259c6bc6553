"""migrate-to's fast path for the two chains: entries COPYed into a staging table, then one
set-based check on the server (ids without a gap after the newest, each prev_hash the hash
before it, each hash right) appends them, or refuses all of them with the first bad entry."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from console.rewards import ledger
from console.team.connect import OPTIONS

from .cluster import Cluster
from .conftest import login_role

pytestmark = pytest.mark.xdist_group("teamdb")

COLUMNS = (*ledger.FIELDS, "prev_hash", "hash")


def _entries(count: int, first: int = 1, prev: str = ledger.GENESIS) -> list[dict[str, Any]]:
    out = []
    for n in range(first, first + count):
        row: dict[str, Any] = {
            "id": n,
            "member_id": 7,
            "kind": "accrual",
            "rule": "accepted_answer",
            "event_key": f"post:{n}",
            "thread_id": n,
            "points": 10,
            "amount_minor": 250,
            "currency": "GBP",
            "schedule_version": "v1",
            "occurred_at": "2026-11-20T12:00:00Z",
            "recorded_at": "2026-11-20T12:00:00Z",
            "reverses": None,
            "line_id": None,
            "detail": '{"why": "accepted \\u2713"}',
        }
        row["prev_hash"] = prev
        row["hash"] = prev = ledger.digest(prev, row)
        out.append(row)
    return out


def _stage(conn: psycopg.Connection[tuple[object, ...]], rows: list[dict[str, Any]]) -> int:
    """COPY `rows` into the staging table and import them, in one transaction."""
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(f"COPY ledger_import ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in COLUMNS])
        found = cur.execute("SELECT peerdesk_import_staged('ledger')").fetchone()
    return int(str(found[0])) if found else 0


def _admin(cluster: Cluster, dbname: str) -> psycopg.Connection[tuple[object, ...]]:
    role = login_role(cluster, "pd-team-carol", "admin")
    return psycopg.connect(cluster.conninfo(dbname, role), autocommit=True, options=OPTIONS)


def test_a_sound_chain_is_appended_in_one_call_and_continued_by_the_next(
    pg_cluster: Cluster, team_db: str
) -> None:
    first = _entries(500)
    more = _entries(3, first=501, prev=first[-1]["hash"])
    with _admin(pg_cluster, team_db) as conn:
        assert _stage(conn, first) == 500
        assert _stage(conn, more) == 3
        assert _stage(conn, []) == 0
        rows = conn.execute("SELECT count(*), max(id) FROM ledger").fetchone()
        head = conn.execute("SELECT value FROM meta WHERE key = 'ledger_head'").fetchone()
        staged = conn.execute("SELECT count(*) FROM ledger_import").fetchone()
    assert rows == (503, 503)
    assert head == (f"503:{more[-1]['hash']}",)
    assert staged == (0,)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda rows: rows[5].update(points=1000), "ledger entry 6: its hash does not match"),
        (lambda rows: rows[7].update(prev_hash="f" * 64), "ledger entry 8: does not continue"),
        (lambda rows: rows.pop(4), "ledger entries 1 to 10 do not continue the chain"),
        (lambda rows: [r.update(id=r["id"] + 1) for r in rows], "entries 2 to 11 do not continue"),
    ],
    ids=["edited amount", "broken link", "a gap", "not after the newest"],
)
def test_a_spoiled_chain_is_refused_whole(
    pg_cluster: Cluster, team_db: str, spoil: Any, message: str
) -> None:
    rows = _entries(10)
    spoil(rows)
    with _admin(pg_cluster, team_db) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match=message):
            _stage(conn, rows)
        assert conn.execute("SELECT count(*) FROM ledger").fetchone() == (0,)


def test_only_the_two_chains_are_imported(pg_cluster: Cluster, team_db: str) -> None:
    with _admin(pg_cluster, team_db) as conn:
        with pytest.raises(
            psycopg.errors.RaiseException, match="no chain named 'threads'|no chain named threads"
        ):
            conn.execute("SELECT peerdesk_import_staged('threads')")


def test_only_an_admin_stages_and_only_before_the_first_live_entry(
    pg_cluster: Cluster, team_db: str
) -> None:
    mod = login_role(pg_cluster, "pd-team-mod0", "moderator")
    with psycopg.connect(
        pg_cluster.conninfo(team_db, mod), autocommit=True, options=OPTIONS
    ) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _stage(conn, _entries(2))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT peerdesk_import_staged('audit')")
        conn.execute("SELECT peerdesk_audit_append('note', 'thread', 1, NULL, '{}')")  # live
    with _admin(pg_cluster, team_db) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="no longer takes imported"):
            _stage(conn, _entries(2))
