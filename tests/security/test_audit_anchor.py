"""A forger with write access rewrites the audit and recomputes every hash: the chain alone
agrees, a head kept outside the cache does not."""

from __future__ import annotations

# SQLite only: a forger who can write the cache FILE rehashes the chain; on a team database only
# its superuser could (tests/domain/test_audit.py tampers as the superuser, on both backends).
import json
import os
import sqlite3
from pathlib import Path

import pytest

from console import audit
from console.db import open_cache
from tests.conftest import write_roles
from tests.domain.conftest import seed_community

from .conftest import run_peerdesk


@pytest.fixture
def db(cache_path: Path) -> Path:
    """A cache with a few decisions by alice (so a handful of audit entries)."""
    cache = open_cache(cache_path, create=True)
    ids = seed_community(cache)
    cache.close()
    write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"alice": ["moderator"]})
    for argv in (["close", str(ids["t1"])], ["note", str(ids["t2"]), "watch this"]):
        assert run_peerdesk("--db", str(cache_path), *argv).code == 0
    assert run_peerdesk("--db", str(cache_path), "close", str(ids["t4"])).code == 0
    return cache_path


def kept_head(db: Path) -> str:
    done = run_peerdesk("--db", str(db), "audit", "head")
    assert done.code == 0
    line = done.out.strip()
    assert audit.HEAD_PATTERN.fullmatch(line), line
    return line


def rewrite_and_rehash(db: Path, entry: int, change: dict[str, object]) -> None:
    """What a forger with write access does: edit an entry, recompute every hash after it,
    and the head in meta."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
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
    conn.commit()
    conn.close()


def test_head_is_a_line_to_keep_and_verify_since_passes_when_the_log_only_grew(db: Path) -> None:
    head = kept_head(db)
    assert head.startswith("3:")
    cache = open_cache(db)
    thread = cache.one("SELECT id FROM threads WHERE status = 'open' LIMIT 1")[0]
    cache.close()
    assert run_peerdesk("--db", str(db), "claim", str(thread)).code == 0
    done = run_peerdesk("--db", str(db), "audit", "verify", "--since-head", head)
    assert done.code == 0, done.out + done.err
    assert "only grew" in done.out and "1 entries since" in done.out


def test_a_rewritten_and_rehashed_log_passes_the_chain_but_not_the_kept_head(db: Path) -> None:
    head = kept_head(db)
    rewrite_and_rehash(db, 1, {"before": {"status": "closed"}})
    plain = run_peerdesk("--db", str(db), "audit", "verify")
    assert plain.code == 0  # the chain alone cannot tell: this is why the head is kept outside
    anchored = run_peerdesk("--db", str(db), "audit", "verify", "--since-head", head)
    assert anchored.code == 1
    assert "audit entry 3: its hash is not the one you kept" in anchored.out
    assert "TAMPERED" in anchored.err


def test_cutting_the_tail_and_fixing_meta_is_caught_by_the_kept_head(db: Path) -> None:
    head = kept_head(db)
    conn = sqlite3.connect(db)
    last = conn.execute("SELECT id, hash FROM audit WHERE id = 2").fetchone()
    conn.execute("DELETE FROM audit WHERE id = 3")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{last[0]}:{last[1]}",))
    conn.commit()
    conn.close()
    assert run_peerdesk("--db", str(db), "audit", "verify").code == 0
    anchored = run_peerdesk("--db", str(db), "audit", "verify", "--since-head", head)
    assert anchored.code == 1 and "(3) is gone" in anchored.out


def test_a_head_that_is_not_one_is_a_usage_error(db: Path) -> None:
    done = run_peerdesk("--db", str(db), "audit", "verify", "--since-head", "3:nothex")
    assert done.code == 2 and "is not an audit head" in done.err
    assert done.err.count("\n") == 1
