"""A user with no role sees, at 80 columns, that the console is read-only, which file gives
roles and `peerdesk whoami`; a moderator sees no such notice."""

from __future__ import annotations

# SQLite only: the notice names the roles file; on a team database roles are the server's grants
# and a login with none is refused when the console opens the database.
from collections.abc import Callable
from pathlib import Path

import pytest

from console.app import PeerdeskApp
from console.cli import main
from console.db import open_cache
from console.desk import Desk
from tests.ui.helpers import screen_text, settle

pytestmark = pytest.mark.anyio


@pytest.fixture
def roles_file(ui_db: Path, grant_roles: Callable[[dict[str, list[str]]], Path]) -> Path:
    cache = open_cache(ui_db)
    cache.set_meta("demo", "0")  # not a demo: roles come from the roles file only
    cache.close()
    return grant_roles({"alice": ["moderator"]})


async def test_no_role_says_read_only_the_file_to_edit_and_whoami(
    ui_db: Path, roles_file: Path
) -> None:
    desk = Desk.open(ui_db, actor="mallory")
    try:
        async with PeerdeskApp(desk).run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            text = screen_text(pilot)
            lines = text.splitlines()
            assert "mallory (override) has no role: read-only" in lines[0]
            flat = " ".join(text.split())
            assert "Read-only: mallory has no role here, so nothing can be changed." in flat
            assert f'add mallory = ["moderator"] under [roles] in {roles_file};' in flat
            assert "`peerdesk whoami` says where roles come from." in flat
            assert all(len(line) <= 80 for line in lines)
    finally:
        desk.close_cache()


async def test_a_moderator_sees_no_notice(ui_db: Path, roles_file: Path) -> None:
    desk = Desk.open(ui_db)
    try:
        async with PeerdeskApp(desk).run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert "Read-only" not in screen_text(pilot)
    finally:
        desk.close_cache()


def test_whoami_names_the_file_too(
    ui_db: Path, roles_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(ui_db), "--as", "mallory", "whoami"]) == 0
    out = capsys.readouterr().out
    assert f'To moderate, add mallory = ["moderator"] under [roles] in {roles_file}' in out
