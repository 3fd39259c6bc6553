"""A console test's community on a team database of the test's own: what `seed` writes into a
cache file, copied in by migrate-to once per session (tests/backends.py), opened as alice, a
moderator by the server's grant. dave's claim in the community is taken again there by the
server's clock: claims run out by it, and it is not frozen as the tests' own clock is."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from console import claims
from console.db import Cache
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
