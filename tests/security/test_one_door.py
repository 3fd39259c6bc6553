"""Every command that changes or exports the cache, run by a user with no role: each is refused in
one line and the cache is byte-for-byte the same (in process, through the command line's `main`,
and two of them again as real `peerdesk` processes: the installed entry point refuses the same);
on a team database, a login with no peerdesk role (mallory): every row of every table the same. Each operation leaves one audit entry, on the cache and on a team database (whose server
appends it)."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.cli import main
from console.db import open_cache
from console.ingest import ensure_source
from tests.backends import TeamServer, database_name, everything_in, team_database, team_server
from tests.conftest import database_dump, write_roles
from tests.domain.conftest import seed_community

from .conftest import run_peerdesk

__all__ = ["team_server"]  # the fixture


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


def _peerdesk(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_every_write_and_export_is_refused_without_a_role(
    cache_path: Path, community: dict[str, int], tmp_path: Path
) -> None:
    write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"somebody-else": ["admin"]})
    before = database_dump(cache_path)
    every = commands(community, tmp_path)
    for argv in every:
        code, out, err = _peerdesk("--db", str(cache_path), *argv)
        assert code == 2, (argv, out, err)
        assert "alice may not" in err, (argv, err)
        assert err.count("\n") == 1, (argv, err)
        assert "records" not in err and not out.strip(), argv
    for argv in (every[6], every[16]):  # export to a file, close: as a user runs them
        done = run_peerdesk("--db", str(cache_path), *argv)
        assert (done.code, done.out) == (2, ""), (argv, done.err)
        assert "alice may not" in done.err and done.err.count("\n") == 1, (argv, done.err)
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
    assert refused.code == 2 and "1 decision not yet pushed" in refused.err
    assert "--force" not in run_peerdesk("source", "remove", "--help").out
    assert run_peerdesk("--db", str(cache_path), "source", "remove", "demo").code == 0
    cache = open_cache(cache_path)
    entry = cache.one("SELECT actor, action, detail FROM audit ORDER BY id DESC LIMIT 1")
    threads = cache.one("SELECT count(*) FROM threads WHERE source_id = 1")[0]
    cache.close()
    assert (entry["actor"], entry["action"]) == ("alice", "source_remove")
    assert '"threads":0' in entry["detail"].replace(" ", "") or '"threads": 0' in entry["detail"]
    assert threads == 5  # forum's threads are all still there


def audited_steps(ids: dict[str, int], out: Path) -> list[tuple[list[str], str]]:
    """Commands that each leave one audit entry, with the action it records."""
    t1 = str(ids["t1"])
    return [
        (["export", "--source", "forum", "-o", str(out)], "export"),
        (["dupes", "--rebuild"], "dupes_rebuild"),
        (["dupes", t1, "--refresh"], "dupes_rebuild"),
        (["claim", t1], "claim"),
        (["claim", t1, "--release"], "release"),
        (["source", "add", "other", "--kind", "demo"], "source_add"),
        (["push", "demo"], "push"),
    ]


def test_each_operation_leaves_one_audit_entry(
    cache_path: Path, community: dict[str, int], tmp_path: Path
) -> None:
    write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"alice": ["moderator", "admin"]})
    steps = audited_steps(community, tmp_path / "forum.jsonl")
    for argv, action in steps:
        code, _, err = _peerdesk("--db", str(cache_path), *argv)
        assert code == 0, (argv, err)
        cache = open_cache(cache_path)
        rows = cache.query("SELECT actor, action FROM audit ORDER BY id DESC LIMIT 2")
        count = cache.one("SELECT count(*) FROM audit")[0]
        cache.close()
        assert (rows[0]["actor"], rows[0]["action"]) == ("alice", action), argv
        assert count == steps.index((argv, action)) + 1, argv


def _seeded(cache: object) -> dict[str, int]:
    ids = seed_community(cache)  # type: ignore[arg-type]
    ensure_source(cache, "demo", "demo", None)  # type: ignore[arg-type]
    return ids


@pytest.fixture
def team(
    team_server: TeamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int]]]:
    """A team database of the test's own holding the community: its name and ids."""
    template, ids = team_server.seeded_template(
        "one-door", _seeded, tmp_path_factory.mktemp("seed")
    )
    with team_database(team_server, template) as store:
        yield database_name(store), ids


def test_every_write_and_export_is_refused_for_a_login_with_no_role_on_a_team_database(
    team: tuple[str, dict[str, int]],
    team_server: TeamServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, ids = team
    url = team_server.cluster.url(name, "mallory")
    monkeypatch.setenv("PEERDESK_USER", "mallory")  # the tests' alice would be asked for
    before = everything_in(team_server, name)
    for argv in [*commands(ids, tmp_path), ["queue"]]:  # reading too: no role, no rows
        code, out, err = _peerdesk("--db", url, *argv)
        assert code == 2, (argv, out, err)
        assert "mallory" in err and "no peerdesk role" in err, (argv, err)
        assert err.count("\n") == 1 and not out.strip(), (argv, out, err)
    assert everything_in(team_server, name) == before
    assert not (tmp_path / "stolen.jsonl").exists()


def test_each_operation_leaves_one_audit_entry_on_a_team_database(
    team: tuple[str, dict[str, int]],
    team_server: TeamServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, ids = team
    url = team_server.cluster.url(name, "root")  # an admin (and moderator: every role)
    monkeypatch.setenv("PEERDESK_USER", "root")
    with team_server.superuser(name) as conn:
        conn.execute("GRANT peerdesk_moderator TO root")
        first = int(conn.execute("SELECT count(*) FROM peerdesk.audit").fetchone()[0])
    steps = audited_steps(ids, tmp_path / "forum.jsonl")
    for n, (argv, action) in enumerate(steps, 1):
        code, _, err = _peerdesk("--db", url, *argv)
        assert code == 0, (argv, err)
        with team_server.superuser(name) as conn:
            rows = conn.execute(
                "SELECT actor, action FROM peerdesk.audit ORDER BY id DESC LIMIT 1"
            ).fetchall()
            count = int(conn.execute("SELECT count(*) FROM peerdesk.audit").fetchone()[0])
        assert tuple(rows[0]) == ("root", action), argv
        assert count == first + n, argv
