"""A console test's community on a team database of the test's own: what `seed` writes into a
cache file, copied in by migrate-to once per session (tests/backends.py), opened as alice, a
moderator by the server's grant. dave's claim in the community is taken again there by the
server's clock: claims run out by it, and it is not frozen as the tests' own clock is."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from console import claims
from console.db import Cache, open_cache
from console.desk import Desk, load_config_for
from tests.backends import TeamServer, team_database


@contextmanager
def team_desk(
    request: pytest.FixtureRequest,
    key: str,
    seed: Callable[[Cache], dict[str, int]],
    daves: str,
) -> Iterator[tuple[Desk, dict[str, int]]]:
    """alice's Desk on a copy of the `key` community and its ids; dave holds `daves` (an id's
    name in the ids) for 30 minutes from now on the server's clock."""
    server: TeamServer = request.getfixturevalue("team_server")
    folder = request.getfixturevalue("tmp_path_factory").mktemp("seed")
    template, ids = server.seeded_template(key, seed, folder)
    with team_database(server, template) as team:
        dave = Desk.for_cache(team, actor="dave")
        claims.claim(dave.cache, ids[daves], dave.who, minutes=30)
        dave.close_cache()
        yield Desk.for_cache(team, config=load_config_for(None)), dict(ids)


def seeded_file(path: Path, seed: Callable[[Cache], dict[str, int]]) -> Path:
    """A new cache file at `path` holding what `seed` writes."""
    cache = open_cache(path, create=True)
    try:
        seed(cache)
    finally:
        cache.close()
    return path


@contextmanager
def desk_on(
    backend: str,
    request: pytest.FixtureRequest,
    file: str,
    seed: Callable[[Cache], dict[str, int]],
    daves: str,
) -> Iterator[Desk]:
    """alice's Desk on a community: on SQLite the cache file the fixture named `file` made
    with `seed`; on PostgreSQL (a `backends` test's second run) a team database of the test's
    own holding the same (`team_desk`)."""
    if backend == "sqlite":
        opened = Desk.open(request.getfixturevalue(file))
        try:
            yield opened
        finally:
            opened.close_cache()
        return
    with team_desk(request, file, seed, daves) as (team, _):
        yield team
