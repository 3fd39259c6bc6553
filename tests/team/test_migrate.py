"""`peerdesk migrate-to`: a real demo cache copied into a team database, checked on the server."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from console.cli import main
from console.desk import Desk
from console.team.connect import TeamStoreError
from console.team.copy import migrate_to

from .cluster import Cluster
from .conftest import superuser

pytestmark = pytest.mark.xdist_group("teamdb")
PEERDESK = Path(sys.executable).parent / "peerdesk"


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-thread demo community (audit entries, a 1,500-entry ledger, hostile posts), once."""
    folder = tmp_path_factory.mktemp("team-demo")
    path = folder / "demo.sqlite3"
    config = folder / "config.toml"
    config.write_text("", encoding="utf-8")
    env = {
        **os.environ,
        "PEERDESK_NOW": "2026-11-20T12:00:00Z",
        "PEERDESK_SEMANTIC": "off",
        "PEERDESK_CONFIG": str(config),
        "TZ": "UTC",
    }
    env.pop("PEERDESK_USER", None)
    env.pop("PEERDESK_ROLES_FILE", None)
    subprocess.run(
        [str(PEERDESK), "--db", str(path), "demo", "--threads", "60"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return path


@pytest.fixture
def cache_copy(demo_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "cache.sqlite3"
    shutil.copy(demo_file, path)
    return path


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("threads", "posts", "audit", "ledger", "outbox", "thread_fts", "members")
        }
    finally:
        conn.close()


def run(*argv: str) -> tuple[int, str, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_migrate_to_copies_counts_and_chain(
    cache_copy: Path, pg_cluster: Cluster, team_db: str
) -> None:
    url = pg_cluster.url(team_db, "postgres")
    before = counts(cache_copy)
    code, _, _ = run("--db", str(cache_copy), "audit", "head")
    assert code == 0
    code, out, err = run("--db", str(cache_copy), "migrate-to", url, "--quiet")
    assert code == 0, err
    assert "counts match" in out and "audit entry" in out
    with superuser(pg_cluster, team_db) as conn:
        for table, rows in before.items():
            found = conn.execute(f"SELECT count(*) FROM peerdesk.{table}").fetchone()
            expected = rows + 1 if table == "audit" else rows  # + the migrate_to entry
            assert found == (expected,), table
        entry = conn.execute(
            "SELECT actor, action, detail FROM peerdesk.audit ORDER BY id DESC LIMIT 1"
        ).fetchone()
        hits = conn.execute(
            "SELECT count(*) FROM peerdesk.thread_fts WHERE document @@ to_tsquery('simple', "
            "'roaming')"
        ).fetchone()
        closed = conn.execute("SELECT import_open FROM peerdesk.peerdesk_team").fetchone()
    assert entry is not None and entry[1] == "migrate_to" and '"outcome": "done"' in entry[2]
    assert hits is not None and int(str(hits[0])) > 0  # full-text search works on the copy
    assert closed == (False,)
    # the server's copy verifies, and still holds the head the cache had before the copy
    kept = run("--db", str(cache_copy), "audit", "head")[1].strip()
    code, out, _ = run("--db", url, "audit", "verify", "--since-head", kept)
    assert code == 0 and "intact on the team database" in out
    code, out, _ = run("--db", url, "audit", "head")
    assert code == 0 and out.startswith(f"{before['audit'] + 1}:")
    # a second copy into the same database is refused: it is no longer empty
    code, _, err = run("--db", str(cache_copy), "migrate-to", url, "--quiet")
    assert code == 2


def test_migrate_to_resumes_after_an_interruption(
    cache_copy: Path, pg_cluster: Cluster, team_db: str
) -> None:
    url = pg_cluster.url(team_db, "postgres")
    desk = Desk.open(cache_copy)
    copied: list[str] = []

    def stop_after_five(table: str, rows: int) -> None:
        copied.append(table)
        if len(copied) == 5:
            raise KeyboardInterrupt  # the process is interrupted between two tables

    with pytest.raises(KeyboardInterrupt):
        migrate_to(desk.door, url, progress=stop_after_five)
    with superuser(pg_cluster, team_db) as conn:
        done = conn.execute("SELECT count(*) FROM peerdesk.copy_progress").fetchone()
    assert done == (5,)
    report = migrate_to(desk.door, url)
    assert set(report.resumed) == set(copied) - {"audit", "ledger"}
    assert report.tables["posts"] == counts(cache_copy)["posts"]
    desk.cache.close()


def test_a_tampered_server_copy_fails_verify(
    cache_copy: Path, pg_cluster: Cluster, team_db: str
) -> None:
    url = pg_cluster.url(team_db, "postgres")
    assert run("--db", str(cache_copy), "migrate-to", url, "-q")[0] == 0
    with superuser(pg_cluster, team_db) as conn:  # only the owner (here: a superuser) can
        conn.execute("UPDATE peerdesk.audit SET actor = 'mallory' WHERE id = 3")
    code, out, err = run("--db", url, "audit", "verify")
    assert code == 1
    assert "audit entry 3: row edited" in out and "TAMPERED" in err


def test_migrate_to_is_admin_only(
    cache_copy: Path,
    pg_cluster: Cluster,
    team_db: str,
    grant_roles: Callable[[dict[str, list[str]]], Path],
) -> None:
    conn = sqlite3.connect(cache_copy)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'demo'")  # an ordinary cache
    conn.commit()
    conn.close()
    grant_roles({"alice": ["moderator"]})
    code, _, err = run("--db", str(cache_copy), "migrate-to", pg_cluster.url(team_db, "postgres"))
    assert code == 2 and "may not migrate to" in err
    with superuser(pg_cluster, team_db) as server:
        assert server.execute("SELECT count(*) FROM peerdesk.threads").fetchone() == (0,)


def test_migrate_to_needs_the_schema(cache_copy: Path, pg_cluster: Cluster, empty_db: str) -> None:
    desk = Desk.open(cache_copy)
    with pytest.raises(TeamStoreError, match="team-install"):
        migrate_to(desk.door, pg_cluster.url(empty_db, "postgres"))
    last = desk.audit_entries(limit=1)[0]
    assert last["action"] == "migrate_to" and last["detail"]["outcome"].startswith("failed")
    desk.cache.close()
