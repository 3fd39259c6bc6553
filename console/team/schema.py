"""Building and upgrading a team database: peerdesk's migrations, then the grants file.

Everything lives in the schema `peerdesk`, owned by the NOLOGIN role peerdesk_owner. The schema
version is kept in `peerdesk_team` (the team store's own table, with the import switch of
migrate-to); a database at version N gets every migration after N, rendered by
console.team.dialect, in one transaction with the grants file and the notifications file
re-applied at the end.

`install` is the database administrator's step (a role that may create roles, e.g. the
superuser `postgres`): `peerdesk team-install postgresql://...`.
"""

from __future__ import annotations

from importlib.resources import files

import psycopg

from console.migrations import LATEST_VERSION
from console.team import dialect

SCHEMA = "peerdesk"
OWNER = "peerdesk_owner"
TEAM_ONLY_TABLES = ("peerdesk_team", "copy_progress", "audit_import", "ledger_import")
"""Tables the team store has and a SQLite cache does not (the schema version, the import
switch, migrate-to's per-table checkpoints and its staging tables for the two chains)."""

BOOTSTRAP = [
    f"""DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER}') THEN
        CREATE ROLE {OWNER} NOLOGIN;
      END IF;
    END $$""",
    f"GRANT {OWNER} TO current_user",
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA} AUTHORIZATION {OWNER}",
    f"SET ROLE {OWNER}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.peerdesk_team (
        singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
        schema_version BIGINT NOT NULL,
        import_open BOOLEAN NOT NULL DEFAULT true
    )""",
    f"""INSERT INTO {SCHEMA}.peerdesk_team (schema_version) VALUES (0)
        ON CONFLICT (singleton) DO NOTHING""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.copy_progress (
        table_name TEXT PRIMARY KEY,
        rows BIGINT NOT NULL,
        copied_at TEXT NOT NULL
    )""",
    "RESET ROLE",
]


def grants_sql() -> str:
    """The grants file (console/team/grants.sql), as the admin reads it."""
    return files("console.team").joinpath("grants.sql").read_text(encoding="utf-8")


def notify_sql() -> str:
    """The notifications file (console/team/notify.sql): claims and decisions, as they happen."""
    return files("console.team").joinpath("notify.sql").read_text(encoding="utf-8")


def statements(from_version: int, to_version: int = LATEST_VERSION) -> list[str]:
    """Every statement that takes a team database from `from_version` to `to_version`."""
    out = list(BOOTSTRAP)
    out += [f"SET ROLE {OWNER}", f"SET search_path = {SCHEMA}"]
    for number in range(from_version + 1, to_version + 1):
        out += dialect.migration(number)
    out += [
        f"UPDATE {SCHEMA}.peerdesk_team SET schema_version = {to_version}",
        "RESET ROLE",
        grants_sql(),
        notify_sql(),
        "RESET search_path",
    ]
    return out


def version(conn: psycopg.Connection[tuple[object, ...]]) -> int | None:
    """The team schema's version, or None when the database has no peerdesk schema yet."""
    found = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.peerdesk_team",)).fetchone()
    if found is None or found[0] is None:
        return None
    row = conn.execute(f"SELECT schema_version FROM {SCHEMA}.peerdesk_team").fetchone()
    return int(str(row[0])) if row else 0


def install(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[int, int]:
    """Create or upgrade the team schema in one transaction; (version before, version after)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('peerdesk team-install'))")
        before = version(conn) or 0
        if before > LATEST_VERSION:
            raise psycopg.errors.FeatureNotSupported(
                f"the team database is at schema {before}, newer than this peerdesk knows "
                f"({LATEST_VERSION}): upgrade peerdesk"
            )
        for statement in statements(before):
            conn.execute(statement.encode())
        fill_schedule_terms(conn)
    return before, LATEST_VERSION


def fill_schedule_terms(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """The terms of schedules loaded before the server kept them (migration 23), read from
    their TOML as the owner, so their accruals are checked (and accepted) again; inside the
    caller's transaction. Nothing new is decided: the terms are the loaded, audited TOML's."""
    from console.rewards.schedule_store import fill_missing_terms
    from console.storage.postgres import PgConnection

    conn.execute(f"SET LOCAL ROLE {OWNER}")
    conn.execute(f"SET LOCAL search_path = {SCHEMA}")
    try:
        return fill_missing_terms(PgConnection(conn, "team-install"))
    finally:
        conn.execute("RESET ROLE")
        conn.execute("RESET search_path")
