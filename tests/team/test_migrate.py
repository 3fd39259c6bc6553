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
from .conftest import login_role, superuser

pytestmark = pytest.mark.xdist_group("teamdb")
PEERDESK = Path(sys.executable).parent / "peerdesk"
BLOB = bytes([0, 1, 2, 255, 0, 92, 120]) * 3


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
def admin_url(pg_cluster: Cluster, team_db: str) -> str:
    """The team database as an admin's own login role (peerdesk_admin, not a superuser)."""
    return pg_cluster.url(team_db, login_role(pg_cluster, "pd-team-admin", "admin"))


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
            for t in (
                "threads",
                "posts",
                "audit",
                "ledger",
                "outbox",
                "thread_fts",
                "members",
                "dupe_terms",
                "thread_tags",  # not copied: the server's triggers fill it from the threads
            )
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
    cache_copy: Path, pg_cluster: Cluster, team_db: str, admin_url: str
) -> None:
    url = admin_url
    raw = sqlite3.connect(cache_copy)
    raw.execute("INSERT INTO vector_cells (cell, centroid) VALUES (777, ?)", (BLOB,))
    raw.execute("UPDATE posts SET body_raw = ? WHERE id = 1", ("before\x00after",))
    raw.execute("INSERT INTO dupe_terms VALUES (?, 1)", ("x" * 3000,))  # too long to index
    raw.commit()
    raw.close()
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
            expected -= 1 if table == "dupe_terms" else 0  # the term too long to index
            assert found == (expected,), table
        entry = conn.execute(
            "SELECT actor, action, detail FROM peerdesk.audit ORDER BY id DESC LIMIT 1"
        ).fetchone()
        hits = conn.execute(
            "SELECT count(*) FROM peerdesk.thread_fts WHERE document @@ to_tsquery('simple', "
            "'roaming')"
        ).fetchone()
        closed = conn.execute("SELECT import_open FROM peerdesk.peerdesk_team").fetchone()
        blob = conn.execute(
            "SELECT centroid FROM peerdesk.vector_cells WHERE cell = 777"
        ).fetchone()
        body = conn.execute("SELECT body_raw FROM peerdesk.posts WHERE id = 1").fetchone()
        tags = conn.execute("SELECT tag, thread_id FROM peerdesk.thread_tags").fetchall()
        # the planner knows what arrived (ANALYZE), not "near-empty" until autovacuum runs
        unknown = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'peerdesk' AND c.relkind = 'r' AND c.relname = ANY(%s) "
            "AND c.reltuples < 1",
            (["posts", "threads", "members", "audit"],),
        ).fetchall()
    assert unknown == []
    assert blob == (BLOB,)  # bytes arrive as they were
    raw = sqlite3.connect(cache_copy)
    assert set(tags) == set(raw.execute("SELECT tag, thread_id FROM thread_tags")) != set()
    raw.close()
    assert body == ("before\ufffdafter",)  # PostgreSQL text holds no NUL: U+FFFD, counted
    assert "texts held NUL characters" in out
    assert "left out 1 rows of dupe_terms: terms longer than 2,000 bytes" in out
    assert entry is not None and entry[:2] == ("pd-team-admin", "migrate_to")
    assert '"outcome": "done"' in entry[2]
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
    cache_copy: Path, pg_cluster: Cluster, team_db: str, admin_url: str
) -> None:
    url = admin_url
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
    cache_copy: Path, pg_cluster: Cluster, team_db: str, admin_url: str
) -> None:
    url = admin_url
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
    code, _, err = run("--db", str(cache_copy), "migrate-to", pg_cluster.url(team_db))
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


def test_the_server_refuses_a_copy_by_a_role_outside_peerdesk_admin(
    cache_copy: Path, pg_cluster: Cluster, team_db: str
) -> None:
    """peerdesk's door lets the cache's admin through; the database still says no to a role
    that is not in peerdesk_admin, before anything is copied."""
    url = pg_cluster.url(team_db, login_role(pg_cluster, "pd-team-mod0", "moderator"))
    code, _, err = run("--db", str(cache_copy), "migrate-to", url)
    assert code == 2 and "pd-team-mod0 is not in peerdesk_admin" in err
    with superuser(pg_cluster, team_db) as server:
        assert server.execute("SELECT count(*) FROM peerdesk.threads").fetchone() == (0,)
        assert server.execute("SELECT count(*) FROM peerdesk.copy_progress").fetchone() == (0,)


def test_a_nul_in_an_audit_entry_stops_the_copy(
    cache_copy: Path, pg_cluster: Cluster, team_db: str, admin_url: str
) -> None:
    from console import audit

    desk = Desk.open(cache_copy)
    with desk.cache.transaction() as conn:  # a chained entry PostgreSQL text cannot hold
        audit.append(
            conn, actor="al\x00ice", action="note", target_kind="thread", target_id=1, detail={}
        )
    with pytest.raises(TeamStoreError, match="audit entry .* holds a NUL character"):
        migrate_to(desk.door, admin_url)
    desk.cache.close()
    with superuser(pg_cluster, team_db) as conn:
        assert conn.execute("SELECT count(*) FROM peerdesk.audit").fetchone() == (0,)


def test_migrate_to_indexes_what_an_import_left_before_copying_the_search_tables(
    cache_copy: Path, pg_cluster: Cluster, team_db: str, admin_url: str
) -> None:
    """Posts an import stored but did not index yet (console/search_index.py) are indexed
    first: the team copy's full-text tables are complete."""
    raw = sqlite3.connect(cache_copy)
    posts = raw.execute("SELECT count(*) FROM posts").fetchone()[0]
    waiting_from = raw.execute("SELECT max(id) - 40 FROM posts").fetchone()[0]
    raw.execute("DELETE FROM post_fts WHERE rowid > ?", (waiting_from,))
    raw.execute(
        "UPDATE search_index_state SET indexed_through = ? WHERE index_name = 'post_fts'",
        (waiting_from,),
    )
    raw.commit()
    raw.close()
    code, _, err = run("--db", str(cache_copy), "migrate-to", admin_url, "--quiet")
    assert code == 0, err
    with superuser(pg_cluster, team_db) as conn:
        copied = conn.execute("SELECT count(*) FROM peerdesk.post_fts").fetchone()
    assert copied == (posts,)


def test_a_ledger_entry_that_does_not_fit_stops_the_copy_before_anything_is_written(
    cache_copy: Path, pg_cluster: Cluster, team_db: str, admin_url: str
) -> None:
    """Whoever can write the cache file moves an accrual to another member and recomputes
    every hash after it (and the head): the chain the server's import checks agrees, but the
    server's append would never have taken the entry. Refused in one line naming it; the team
    database stays empty (tests/rewards/test_replay.py tries every kind of entry on both
    engines)."""
    from console.rewards import ledger

    raw = sqlite3.connect(cache_copy)
    raw.row_factory = sqlite3.Row
    rows = [dict(r) for r in raw.execute("SELECT * FROM ledger ORDER BY id")]
    target = next(r for r in rows if r["kind"] == "accrual" and r["points"] > 0)
    other = raw.execute(
        "SELECT id FROM members WHERE id != ? ORDER BY id LIMIT 1", (target["member_id"],)
    ).fetchone()[0]
    target["member_id"] = other
    raw.execute("DROP TRIGGER ledger_no_update")
    prev = target["prev_hash"]
    for row in rows[rows.index(target) :]:
        row["prev_hash"], row["hash"] = prev, ledger.digest(prev, row)
        prev = row["hash"]
        raw.execute(
            "UPDATE ledger SET member_id = ?, prev_hash = ?, hash = ? WHERE id = ?",
            (row["member_id"], row["prev_hash"], row["hash"], row["id"]),
        )
    raw.execute(
        "UPDATE meta SET value = ? WHERE key = 'ledger_head'", (f"{rows[-1]['id']}:{prev}",)
    )
    raw.commit()
    raw.close()
    assert run("--db", str(cache_copy), "ledger", "verify")[0] == 0  # the chain cannot tell
    code, _, err = run("--db", str(cache_copy), "migrate-to", admin_url, "--quiet")
    assert code == 2
    assert f"ledger entry {target['id']} of " in err and "does not fit: There is no " in err
    assert f"of member {other} " in err and "Nothing was copied" in err
    assert len(err.strip().splitlines()) == 1
    with superuser(pg_cluster, team_db) as server:
        for table in ("ledger", "audit", "members", "threads", "posts", "copy_progress"):
            found = server.execute(f"SELECT count(*) FROM peerdesk.{table}").fetchone()
            assert found == (0,), table
