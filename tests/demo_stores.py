"""The demo community on either backend, for the tiers that check what the demo shows them: on
SQLite built into a cache file with `build_demo`; on PostgreSQL by `peerdesk --db postgresql://…
demo` into an empty team database (built in a temporary cache file, copied by migrate-to, the
candidates computed by the server), then opened as alice, a moderator by the server's grant."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from console.demo import DEFAULT_SEED, build_demo
from tests.backends import TeamServer


@contextmanager
def demo_store(
    backend: str,
    path: Path,
    request: pytest.FixtureRequest,
    *,
    threads: int,
    seed: int = DEFAULT_SEED,
    candidates: int = 0,
) -> Iterator[Cache]:
    """The demo of `threads` threads: a cache file at `path`, or a team database of its own."""
    if backend == "sqlite":
        cache = open_cache(path, create=True)
        try:
            build_demo(cache, threads, seed, candidate_limit=candidates)
            yield cache
        finally:
            cache.close()
        return
    from console.cli import main
    from console.storage.postgres import open_team

    server: TeamServer = request.getfixturevalue("team_server")
    name = server.copy_of(server.template)
    try:
        argv = ["demo", "--threads", str(threads), "--seed", str(seed)]
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main(
                [
                    "--db",
                    server.cluster.url(name, "postgres"),
                    *argv,
                    "--candidates",
                    str(candidates),
                ]
            )
        assert code == 0, err.getvalue()
        team = open_team(server.cluster.url(name, "alice"))
        try:
            yield team
        finally:
            team.close()
    finally:
        server.drop(name)
