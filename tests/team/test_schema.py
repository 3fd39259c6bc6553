"""One migration list, two dialects: the team database ends with the cache's tables and columns,
and the server computes the audit's and the ledger's hashes exactly as peerdesk does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console import audit
from console.db import open_cache
from console.migrations import LATEST_VERSION, MIGRATIONS, SQLITE_ONLY
from console.rewards import ledger
from console.team import dialect, schema

from .cluster import Cluster
from .conftest import superuser

pytestmark = pytest.mark.xdist_group("teamdb")

FTS_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")


def sqlite_columns(path: Path) -> dict[str, list[str]]:
    cache = open_cache(path, create=True)
    try:
        rows = cache.query("SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'view')")
        virtual = {r["name"] for r in rows if (r["sql"] or "").upper().startswith("CREATE VIRTUAL")}
        tables = {
            r["name"]
            for r in rows
            if not r["name"].startswith("sqlite_")
            and not any(r["name"] == v + s for v in virtual for s in FTS_SHADOWS)
        }
        return {t: [c["name"] for c in cache.query(f"PRAGMA table_info({t})")] for t in tables}
    finally:
        cache.close()


def postgres_columns(cluster: Cluster, dbname: str) -> dict[str, list[str]]:
    with superuser(cluster, dbname) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'peerdesk' ORDER BY table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(str(table), []).append(str(column))
    return out


def test_every_migration_renders_for_postgresql() -> None:
    for number in range(1, LATEST_VERSION + 1):
        if dialect.sqlite_only(number):  # marked as the cache's own: nothing to render
            assert dialect.migration(number) == []
            continue
        assert dialect.migration(number), f"migration {number} rendered to nothing"


def test_a_statement_marked_sqlite_only_renders_as_nothing() -> None:
    statement = f"{SQLITE_ONLY} DROP TABLE thread_fts"
    assert dialect.render(statement) == []
    assert dialect.render("DROP TABLE thread_fts") == ["DROP TABLE thread_fts"]


def test_both_backends_end_with_the_same_tables_and_columns(
    tmp_path: Path, pg_cluster: Cluster, team_db: str
) -> None:
    lite = sqlite_columns(tmp_path / "cache.sqlite3")
    pg = postgres_columns(pg_cluster, team_db)
    assert set(pg) - set(lite) == set(schema.TEAM_ONLY_TABLES)
    assert set(lite) - set(pg) == set()
    for table, columns in lite.items():
        expected = columns
        if table in ("thread_fts", "post_fts"):
            expected = ["rowid", *columns, "document"]
        assert pg[table] == expected, table
    with superuser(pg_cluster, team_db) as conn:
        row = conn.execute("SELECT schema_version FROM peerdesk.peerdesk_team").fetchone()
    assert row == (LATEST_VERSION,)


def test_install_is_idempotent_and_refuses_a_newer_schema(
    pg_cluster: Cluster, team_db: str
) -> None:
    with superuser(pg_cluster, team_db) as conn:
        assert schema.install(conn) == (LATEST_VERSION, LATEST_VERSION)
        conn.execute(f"UPDATE peerdesk.peerdesk_team SET schema_version = {LATEST_VERSION + 1}")
        with pytest.raises(Exception, match="newer than this peerdesk"):
            schema.install(conn)


def test_a_trigger_without_a_rendering_is_named() -> None:
    bad = "CREATE TRIGGER brand_new AFTER INSERT ON threads BEGIN SELECT 1; END"
    with pytest.raises(dialect.DialectError, match="brand_new .*console/team/dialect.py"):
        dialect.render(bad)
    assert MIGRATIONS  # the list the renderer reads is the cache's own


HOSTILE = [
    'quote " and backslash \\ and slash /',
    "control \x01\x1f\b\f\n\r\t and DEL \x7f",
    "emoji 🦊, right-to-left \u202e\u05d0, line sep \u2028, é",
    "",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_server_audit_hash_is_peerdesks(pg_cluster: Cluster, team_db: str, text: str) -> None:
    row = {
        "id": 7,
        "ts": "2026-11-20T12:00:00Z",
        "actor": text or "alice",
        "action": "close",
        "target_kind": text,
        "target_id": None if text else 42,
        "batch_id": 3,
        "detail": json.dumps({"why": text}, sort_keys=True, ensure_ascii=False),
    }
    prev = "ab" * 32
    with superuser(pg_cluster, team_db) as conn:
        server = conn.execute(
            "SELECT peerdesk.peerdesk_audit_digest(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                prev,
                *(
                    row[k]
                    for k in (
                        "id",
                        "ts",
                        "actor",
                        "action",
                        "target_kind",
                        "target_id",
                        "batch_id",
                        "detail",
                    )
                ),
            ),
        ).fetchone()
    assert server == (audit._digest(prev, row),)


@pytest.mark.parametrize("text", HOSTILE)
def test_server_ledger_hash_is_peerdesks(pg_cluster: Cluster, team_db: str, text: str) -> None:
    row = {
        "id": 1,
        "member_id": 9,
        "kind": "accrual",
        "rule": text,
        "event_key": f"e:{text}",
        "thread_id": None,
        "points": 10,
        "amount_minor": 250,
        "currency": "GBP",
        "schedule_version": "v1",
        "occurred_at": "2026-11-20T12:00:00Z",
        "recorded_at": "2026-11-20T12:00:01Z",
        "reverses": None,
        "line_id": 4,
        "detail": json.dumps({"note": text}, ensure_ascii=False),
    }
    prev = "cd" * 32
    columns = ", ".join(f"%({k})s" for k in ledger.FIELDS)
    with superuser(pg_cluster, team_db) as conn:
        server = conn.execute(
            f"SELECT peerdesk.peerdesk_ledger_digest(%(prev)s, ROW({columns}, NULL, NULL)"
            "::peerdesk.ledger)",
            {**row, "prev": prev},
        ).fetchone()
    assert server == (ledger.digest(prev, row),)


def test_team_install_command(pg_cluster: Cluster, empty_db: str) -> None:
    import contextlib
    import io

    from console.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
        return code, out.getvalue(), err.getvalue()

    url = pg_cluster.url(empty_db, "postgres")
    assert run("team-install", url)[1].startswith(f"team schema 0 -> {LATEST_VERSION}")
    assert run("team-install", url)[1].startswith(f"team schema already at {LATEST_VERSION}")
    code, out, _ = run("team-install", "--print-sql")
    assert code == 0 and "peerdesk_audit_append" in out and "GRANT" in out
    from .conftest import login_role

    mod = pg_cluster.url(empty_db, login_role(pg_cluster, "pd-team-mod0", "moderator"))
    code, _, err = run("team-install", mod)
    assert code == 2 and err.count("\n") == 1 and "failed" in err


def test_both_backends_have_the_same_indexes_and_triggers(
    tmp_path: Path, pg_cluster: Cluster, team_db: str
) -> None:
    cache = open_cache(tmp_path / "cache.sqlite3", create=True)
    try:
        named = {
            (str(r["type"]), str(r["name"]))
            for r in cache.query(
                "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger') "
                "AND sql IS NOT NULL"
            )
        }
    finally:
        cache.close()
    with superuser(pg_cluster, team_db) as conn:
        indexes = {
            str(r[0])
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'peerdesk'"
            ).fetchall()
        }
        triggers = {
            str(r[0])
            for r in conn.execute(
                "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'peerdesk' AND NOT t.tgisinternal"
            ).fetchall()
        }
    assert {name for kind, name in named if kind == "index"} <= indexes
    # triggers made by statements marked as the cache's own (SQLITE_ONLY) keep cache-only
    # tables; the team database has what they keep another way (migration 30: a view)
    cache_only = {
        match.group(1)
        for statements in MIGRATIONS
        for statement in statements
        if dialect.is_sqlite_only(statement)
        and (match := dialect.TRIGGER_PATTERN.search(statement)) is not None
    }
    assert cache_only >= {"dupe_features_thread_added", "dupe_features_analysis_removed"}
    assert {name for kind, name in named if kind == "trigger"} - cache_only <= triggers


def test_a_huge_post_is_indexed_by_its_beginning(pg_cluster: Cluster, team_db: str) -> None:
    body = "roaming " + " ".join(f"w{n}" for n in range(600_000))  # ~4.6 MB of distinct words
    with superuser(pg_cluster, team_db) as conn:
        conn.execute("INSERT INTO peerdesk.post_fts (rowid, body) VALUES (1, %s)", (body,))
        found = conn.execute(
            "SELECT rowid FROM peerdesk.post_fts WHERE document @@ to_tsquery('simple', 'roaming')"
        ).fetchall()
        stored = conn.execute("SELECT length(body) FROM peerdesk.post_fts").fetchone()
    assert found == [(1,)]
    assert stored == (len(body),)  # the text itself is kept whole
