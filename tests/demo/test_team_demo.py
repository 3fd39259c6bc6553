"""`peerdesk --db postgresql://… demo`: the demo community in an empty team database, the same
community a cache file gets, with candidates the server computed itself."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.cli import main
from console.db import open_cache
from tests.backends import TeamServer, team_server

__all__ = ["team_server"]

THREADS = 80


@pytest.fixture
def empty_team(team_server: TeamServer) -> Iterator[str]:
    """The URL of a new team database (schema and grants, no community), as its admin."""
    name = team_server.copy_of(team_server.template)
    yield team_server.cluster.url(name, "postgres")
    team_server.drop(name)


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_the_demo_builds_into_an_empty_team_database(empty_team: str, tmp_path: Path) -> None:
    from console.storage.postgres import open_team

    code, out, err = _run(
        "--db", empty_team, "demo", "--threads", str(THREADS), "--candidates", "30"
    )
    assert code == 0, err
    assert "Built the demo community in the team database postgresql:" in out
    file = tmp_path / "demo.sqlite3"
    assert _run("--db", str(file), "demo", "--threads", str(THREADS), "--candidates", "0")[0] == 0
    cache = open_cache(file)
    team = open_team(empty_team)
    try:
        counted = (
            "SELECT (SELECT count(*) FROM threads), (SELECT count(*) FROM posts), "
            "(SELECT count(*) FROM members)"
        )
        assert tuple(team.one(counted)) == tuple(cache.one(counted))  # the same community
        assert team.one("SELECT count(*) FROM thread_vectors")[0] == THREADS  # in the database
        assert team.one("SELECT count(*) FROM thread_vectors_e5")[0] == THREADS  # both models
        assert json.loads(team.meta("demo_planted_duplicates") or "[]") == json.loads(
            cache.meta("demo_planted_duplicates") or "[]"
        )
        # the candidates are the server's: computed after the copy, for the newest 30 threads
        links = team.query("SELECT DISTINCT thread_id, method FROM duplicate_links")
        assert links and len({r[0] for r in links}) <= 30
        assert {r[1] for r in links} == {"hybrid+e5"}  # words, MiniLM and e5
        actions = [r[0] for r in team.query("SELECT action FROM audit ORDER BY id")]
        assert "demo_build" in actions and actions[-1] == "migrate_to"
        # the word counts are the server's own (ts_stat), not the file's (fts5vocab)
        assert team.one("SELECT count(*) FROM dupe_terms")[0] > 0
    finally:
        team.close()
        cache.close()
    # a team database that holds a community is never overwritten by a demo
    code, out, err = _run("--db", empty_team, "demo", "--threads", "5")
    assert code != 0 and err.count("\n") == 1 and "peerdesk:" in err
