"""The console on both storage backends: a Desk on a cache file or on a team database holding
the same small community (tests/ui/conftest.py's `build_community`, copied into PostgreSQL by
`migrate-to` through tests/backends.py's template databases).

A UI test marked `@pytest.mark.backends` that takes `any_desk` runs twice; on PostgreSQL it is
connected as alice, a moderator role (the server says who she is: no demo override).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from console.db import Cache
from console.desk import Desk, load_config_for
from tests.backends import TeamServer, team_database
from tests.domain.conftest import store_holding
from tests.ui.conftest import seed_ui

if TYPE_CHECKING:
    from console.storage.postgres import TeamCache


def seed_console_community(cache: Cache) -> dict[str, int]:
    """The console tests' community, with dave holding a claim on t1 (as `ui_db` has it) and
    one proposed duplicate pair: t12 repeats t2 ("Roaming charges in Spain")."""
    ids = seed_ui(cache)
    cache.conn.execute(
        "INSERT INTO duplicate_links (thread_id, original_id, score, method, explanation, "
        "decision, created_at) VALUES (?, ?, 0.9, 'fts5+rerank', 'same title', 'pending', "
        "'2026-11-20T11:00:00Z')",
        (ids["t12"], ids["t2"]),
    )
    return ids


@pytest.fixture
def any_desk(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Desk]:
    """A Desk on the console community: a cache file, or a team database of the test's own."""
    path = tmp_path / "ui.sqlite3"
    with store_holding(seed_console_community, "console", backend, path, request) as store:
        desk = Desk.for_cache(store, config=load_config_for(None))
        yield desk
        if desk.cache is not store:  # acting as another role: a connection of its own
            desk.close_cache()


@contextmanager
def console_team_url(
    server: TeamServer, folder: Path, role: str = "alice"
) -> Iterator[tuple[str, TeamCache]]:
    """A team database of its own holding the console community: its postgresql:// URL (as
    `--db` or PEERDESK_DB name it, logging in as `role`) and a connection to check it with."""
    template, _ = server.seeded_template("console", seed_console_community, folder)
    with team_database(server, template, role) as team:
        yield team.url, team
