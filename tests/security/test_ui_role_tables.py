"""The keys the console hides are decided by the domain's own role table: every screen's role
table names actions the domain knows, so a key is never hidden or shown by a guess."""

from __future__ import annotations

import importlib

import pytest

from console.roles import ACTION_ROLES

TABLES = [
    ("console.screens.base", "ROLE_OF_ACTION"),
    ("console.screens.sync", "ROLE_OF_SYNC_ACTION"),
    ("console.screens.duplicates", "ROLE_OF_DUPE_ACTION"),
    ("console.screens.escalations", "ROLE_OF_ACTION"),
    ("console.screens.rewards", "ROLE_OF_ACTION"),
]


@pytest.mark.parametrize(("module", "name"), TABLES)
def test_every_screen_role_names_a_domain_action(module: str, name: str) -> None:
    table = getattr(importlib.import_module(module), name)
    assert table, (module, name)
    unknown = {screen: action for screen, action in table.items() if action not in ACTION_ROLES}
    assert unknown == {}, f"{module}.{name} names actions the domain does not check: {unknown}"
