"""Every command that changes or exports the cache, run by a user with no role in a real
`peerdesk` process: each is refused in one line and the cache is byte-for-byte the same."""

from __future__ import annotations

# SQLite only: every command refused for a user with no role, the cache FILE byte-for-byte the
# same after; on a team database the grants refuse such a login (tests/team/test_attacks.py).
import os
from pathlib import Path

import pytest

from console.db import open_cache
from console.ingest import ensure_source
from tests.conftest import database_dump, write_roles
from tests.domain.conftest import seed_community

from .conftest import run_peerdesk


@pytest.fixture
def community(cache_path: Path) -> dict[str, int]:
    cache = open_cache(cache_path, create=True)
    ids = seed_community(cache)
    ensure_source(cache, "demo", "demo", None)
    cache.close()
    return ids


def commands(ids: dict[str, int], tmp_path: Path) -> list[list[str]]:
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("{}\n")
    t1, t2, t4 = str(ids["t1"]), str(ids["t2"]), str(ids["t4"])
    return [
        ["sync"],
        ["sync", "forum", "--full"],
        ["push"],
        ["push", "demo"],
        ["import", str(jsonl)],
        ["export"],
        ["export", "--source", "forum", "-o", str(tmp_path / "stolen.jsonl")],
        ["source", "add", "evil", "--kind", "demo"],
        ["source", "remove", "forum"],
        ["dupes", "--rebuild"],
        ["dupes", t1, "--refresh"],
        ["dupes", t1, "--confirm", t2],
        ["dupes", t1, "--reject", t2],
        ["dupes", t1, "--merge", t2],
        ["claim", t1],
        ["claim", t1, "--release"],
        ["close", t1],
        ["close", t1, "--same-author"],
        ["reopen", t4],
        ["hide", str(ids.get("p11", 1))],
        ["note", t1, "hello"],
        ["undo"],
        ["demo", "--threads", "10", "--force"],
    ]


def test_every_write_and_export_is_refused_without_a_role(
    cache_path: Path, community: dict[str, int], tmp_path: Path
) -> None:
    write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"somebody-else": ["admin"]})
    before = database_dump(cache_path)
    for argv in commands(community, tmp_path):
        done = run_peerdesk("--db", str(cache_path), *argv)
        assert done.code == 2, (argv, done.out, done.err)
        assert "alice may not" in done.err, (argv, done.err)
        assert done.err.count("\n") == 1, (argv, done.err)
        assert "records" not in done.err and not done.out.strip(), argv
    assert database_dump(cache_path) == before
    assert not (tmp_path / "stolen.jsonl").exists()


def test_reading_the_queue_needs_no_role(cache_path: Path, community: dict[str, int]) -> None:
    done = run_peerdesk("--db", str(cache_path), "queue")
    assert done.code == 0 and done.out.strip()


def test_source_remove_refuses_while_decisions_wait_and_is_audited(
    cache_path: Path, community: dict[str, int]
) -> None:
    write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"alice": ["moderator", "admin"]})
    assert run_peerdesk("--db", str(cache_path), "close", str(community["t1"])).code == 0
    refused = run_peerdesk("--db", str(cache_path), "source", "remove", "forum")
    assert refused.code == 2 and "1 decisions not yet pushed" in refused.err
    assert "--force" not in run_peerdesk("source", "remove", "--help").out
    assert run_peerdesk("--db", str(cache_path), "source", "remove", "demo").code == 0
    cache = open_cache(cache_path)
    entry = cache.one("SELECT actor, action, detail FROM audit ORDER BY id DESC LIMIT 1")
    threads = cache.one("SELECT count(*) FROM threads WHERE source_id = 1")[0]
    cache.close()
    assert (entry["actor"], entry["action"]) == ("alice", "source_remove")
    assert '"threads":0' in entry["detail"].replace(" ", "") or '"threads": 0' in entry["detail"]
    assert threads == 5  # forum's threads are all still there


def test_each_operation_leaves_one_audit_entry(
    cache_path: Path, community: dict[str, int], tmp_path: Path
) -> None:
    write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"alice": ["moderator", "admin"]})
    out = tmp_path / "forum.jsonl"
    steps = [
        (["export", "--source", "forum", "-o", str(out)], "export"),
        (["dupes", "--rebuild"], "dupes_rebuild"),
        (["dupes", str(community["t1"]), "--refresh"], "dupes_rebuild"),
        (["claim", str(community["t1"])], "claim"),
        (["claim", str(community["t1"]), "--release"], "release"),
        (["source", "add", "other", "--kind", "demo"], "source_add"),
        (["push", "demo"], "push"),
    ]
    for argv, action in steps:
        done = run_peerdesk("--db", str(cache_path), *argv)
        assert done.code == 0, (argv, done.err)
        cache = open_cache(cache_path)
        rows = cache.query("SELECT actor, action FROM audit ORDER BY id DESC LIMIT 2")
        count = cache.one("SELECT count(*) FROM audit")[0]
        cache.close()
        assert (rows[0]["actor"], rows[0]["action"]) == ("alice", action), argv
        assert count == steps.index((argv, action)) + 1, argv
