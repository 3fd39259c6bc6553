"""A forger with write access rewrites the audit and recomputes every hash: the chain alone
agrees, a head kept outside the store does not. On a cache file the forger is whoever can write
the file; on a team database only its superuser can (the grants let no peerdesk role touch the
audit), and the head kept outside is checked against the server's copy."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from console import audit
from console.db import Cache, open_cache
from tests.backends import (
    TeamServer,
    backend,
    database_name,
    location,
    pytest_generate_tests,
    store_holding,
    team_server,
)
from tests.conftest import write_roles
from tests.domain.conftest import seed_community

from .conftest import run_peerdesk

pytestmark = pytest.mark.backends
__all__ = ["backend", "pytest_generate_tests", "team_server"]  # the hook, fixtures


@dataclass
class Store:
    """Where `--db` finds the test's store (a cache file, or a team database as alice), and
    SQL run on it as the forger: the file opened by sqlite3, or the server's superuser with
    triggers off."""

    db: str
    forge: Any  # Callable[[Callable[[Any], None]], None]: runs f(connection) and commits
    first: int = 1  # the id of alice's first decision's entry (a team database's copy has one
    # entry before: migrate-to's)

    @property
    def last(self) -> int:
        """The id of the third and last decision's entry."""
        return self.first + 2


@pytest.fixture
def store(backend: str, cache_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A store with a few decisions by alice (so a handful of audit entries)."""
    write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"alice": ["moderator"]})
    with store_holding(seed_community, "community", backend, cache_path, request) as cache:
        ids = {
            remote: int(r[0])
            for remote in ("t1", "t2", "t4")
            if (r := cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote,)))
        }
        before = int(cache.one("SELECT count(*) FROM audit")[0])
        found = Store(location(cache, cache_path), _forger(cache, cache_path, request), before + 1)
        for argv in (["close", str(ids["t1"])], ["note", str(ids["t2"]), "watch this"]):
            assert run_peerdesk("--db", found.db, *argv).code == 0
        assert run_peerdesk("--db", found.db, "close", str(ids["t4"])).code == 0
        yield found


def _forger(cache: Cache, cache_path: Path, request: pytest.FixtureRequest) -> Any:
    if cache.dialect.is_sqlite:

        def on_file(change: Any) -> None:
            conn = sqlite3.connect(cache_path)
            conn.row_factory = sqlite3.Row
            change(conn)
            conn.commit()
            conn.close()

        return on_file
    server: TeamServer = request.getfixturevalue("team_server")
    name = database_name(cache)

    def as_superuser(change: Any) -> None:
        from psycopg.rows import dict_row

        with server.superuser(name) as conn:
            conn.execute("SET search_path = peerdesk")
            conn.execute("SET session_replication_role = replica")  # triggers off
            conn.row_factory = dict_row  # type: ignore[assignment]
            change(_Qmarks(conn))

    return as_superuser


class _Qmarks:
    """A psycopg connection taking sqlite3's `?` placeholders (the forger's SQL is written once)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), params)


def kept_head(store: Store) -> str:
    done = run_peerdesk("--db", store.db, "audit", "head")
    assert done.code == 0
    line = done.out.strip()
    assert audit.HEAD_PATTERN.fullmatch(line), line
    return line


def rewrite_and_rehash(store: Store, entry: int, change: dict[str, object]) -> None:
    """What a forger with write access does: edit an entry, recompute every hash after it,
    and the head in meta."""

    def forge(conn: Any) -> None:
        rows = [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY id")]
        prev = audit.GENESIS
        for row in rows:
            if row["id"] == entry:
                detail = json.loads(row["detail"])
                detail.update(change)
                row["detail"] = json.dumps(detail, sort_keys=True, ensure_ascii=False)
            row["prev_hash"] = prev
            row["hash"] = audit._digest(prev, row)
            prev = row["hash"]
            conn.execute(
                "UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE id = ?",
                (row["detail"], row["prev_hash"], row["hash"], row["id"]),
            )
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{rows[-1]['id']}:{prev}",)
        )

    store.forge(forge)


def test_head_is_a_line_to_keep_and_verify_since_passes_when_the_log_only_grew(
    store: Store,
) -> None:
    head = kept_head(store)
    assert head.startswith(f"{store.last}:")
    open_threads: list[int] = []
    store.forge(
        lambda conn: open_threads.extend(
            int(dict(r)["id"]) for r in conn.execute("SELECT id FROM threads WHERE status = 'open'")
        )
    )
    assert run_peerdesk("--db", store.db, "claim", str(open_threads[0])).code == 0
    done = run_peerdesk("--db", store.db, "audit", "verify", "--since-head", head)
    assert done.code == 0, done.out + done.err
    assert "only grew" in done.out and "1 entries since" in done.out


def test_a_rewritten_and_rehashed_log_passes_the_chain_but_not_the_kept_head(
    store: Store,
) -> None:
    head = kept_head(store)
    rewrite_and_rehash(store, store.first, {"before": {"status": "closed"}})
    plain = run_peerdesk("--db", store.db, "audit", "verify")
    assert plain.code == 0  # the chain alone cannot tell: this is why the head is kept outside
    anchored = run_peerdesk("--db", store.db, "audit", "verify", "--since-head", head)
    assert anchored.code == 1
    assert f"audit entry {store.last}: its hash is not the one you kept" in anchored.out
    assert "TAMPERED" in anchored.err


def test_cutting_the_tail_and_fixing_meta_is_caught_by_the_kept_head(store: Store) -> None:
    head = kept_head(store)

    def cut(conn: Any) -> None:
        last = dict(
            conn.execute("SELECT id, hash FROM audit WHERE id = ?", (store.last - 1,)).fetchone()
        )
        conn.execute("DELETE FROM audit WHERE id = ?", (store.last,))
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{last['id']}:{last['hash']}",)
        )

    store.forge(cut)
    assert run_peerdesk("--db", store.db, "audit", "verify").code == 0
    anchored = run_peerdesk("--db", store.db, "audit", "verify", "--since-head", head)
    assert anchored.code == 1 and f"({store.last}) is gone" in anchored.out


def test_a_head_that_is_not_one_is_a_usage_error(cache_path: Path) -> None:
    open_cache(cache_path, create=True).close()  # the argument is refused before any store
    done = run_peerdesk("--db", str(cache_path), "audit", "verify", "--since-head", "3:nothex")
    assert done.code == 2 and "is not an audit head" in done.err
    assert done.err.count("\n") == 1
