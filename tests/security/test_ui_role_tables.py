"""One table of key bindings (console.bindings): every screen builds its keys from it, and the
keys the console hides are decided by the domain's own role table through it, so a key is never
hidden or shown by a guess and no screen keeps a role table of its own."""

from __future__ import annotations

# No store at all: the console's key tables against the domain's roles.
import importlib
import inspect

import pytest
from textual.binding import Binding
from textual.screen import Screen

import console.escalate.actions
import console.verify.actions  # noqa: F401  (registers the verification actions)
from console.bindings import BY_ID, KEYS, role_table
from console.roles import ACTION_ROLES
from console.screens.base import DeskScreen

SCREEN_MODULES = [
    "console.app",
    "console.screens.queue",
    "console.screens.thread",
    "console.screens.duplicates",
    "console.screens.sync",
    "console.screens.escalations",
    "console.screens.verification",
    "console.screens.rewards",
    "console.screens.help",
    "console.screens.member_ledger",
    "console.screens.member",
    "console.screens.confirm",
    "console.screens.note",
    "console.screens.prompt",
    "console.screens.verify_reason",
]


def _classes_with_bindings() -> list[type]:
    found = []
    for name in SCREEN_MODULES:
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and obj.__module__ == name and "BINDINGS" in vars(obj):
                found.append(obj)
    return found


def _reward_actions() -> set[str]:
    """Rewards' actions, registered in ACTION_ROLES by console.rewards.actions."""
    from console.rewards import actions

    return set(actions.REWARD_ACTIONS)


def test_every_domain_action_of_the_table_is_one_the_domain_checks() -> None:
    known = set(ACTION_ROLES) | _reward_actions()
    unknown = {key.id: key.domain for key in KEYS if key.domain and key.domain not in known}
    assert unknown == {}


@pytest.mark.parametrize("cls", _classes_with_bindings(), ids=lambda c: c.__name__)
def test_every_binding_of_the_console_comes_from_the_table(cls: type) -> None:
    bindings = [b for b in cls.BINDINGS if isinstance(b, Binding)]  # type: ignore[attr-defined]
    assert bindings, cls
    for binding in bindings:
        assert binding.id in BY_ID, f"{cls.__name__} binds {binding.key!r} outside the table"
        key = BY_ID[binding.id]
        assert (binding.key, binding.action, binding.description) == (
            key.keys,
            key.action,
            key.description,
        )


@pytest.mark.parametrize(
    "cls",
    [c for c in _classes_with_bindings() if isinstance(c, type) and issubclass(c, DeskScreen)],
    ids=lambda c: c.__name__,
)
def test_a_screens_role_table_is_derived_from_the_one_table(cls: type[DeskScreen]) -> None:
    scopes = {BY_ID[b.id].scope for b in cls.BINDINGS if isinstance(b, Binding) and b.id}
    assert role_table(*scopes) == cls.ROLE_OF_ACTION
    assert issubclass(cls, Screen)


def test_the_queue_hides_what_the_domain_says() -> None:
    from console.screens.queue import QueueScreen

    # "A" selects for a batch close: it needs what closing needs
    assert QueueScreen.ROLE_OF_ACTION["select_author"] == "close"
    assert QueueScreen.ROLE_OF_ACTION["claim"] == "claim"
    assert "search" not in QueueScreen.ROLE_OF_ACTION


def test_panel_keys_are_the_tables() -> None:
    from console.app import PANELS

    for panel in PANELS:
        assert BY_ID[f"panel.{panel.name}"].keys == panel.key
