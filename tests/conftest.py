"""Fixtures shared by every test tier: a frozen clock, a private config, a real cache file."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.db import Cache, open_cache

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FROZEN_NOW = "2026-11-20T12:00:00Z"


def require_tool(name: str) -> str:
    """Path of an external tool; skip without it, fail if PEERDESK_REQUIRE_ALL is set (CI)."""
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("PEERDESK_REQUIRE_ALL"):
        pytest.fail(f"{name} is required (PEERDESK_REQUIRE_ALL is set) but was not found")
    pytest.skip(f"{name} is not installed")
    raise AssertionError  # unreachable


@pytest.fixture
def env_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test's own config and roles file live here (not in tmp_path, which tests list)."""
    return tmp_path_factory.mktemp("peerdesk-env")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env_dir: Path) -> None:
    """Keep the developer's own config, roles, cache and clock out of every test.

    Tests act as "alice" (and others) honestly: the override is allowed because the account
    running the tests owns the temporary cache files. Roles come from a roles file in the test's
    own folder (see `grant_roles`); nobody has a role until a test grants one.
    """
    monkeypatch.setenv("PEERDESK_NOW", FROZEN_NOW)
    monkeypatch.setenv("PEERDESK_USER", "alice")
    config = env_dir / "config.toml"
    if not config.exists():
        config.write_text("# the test's own (empty) config\n", encoding="utf-8")
    monkeypatch.setenv("PEERDESK_CONFIG", str(config))
    monkeypatch.setenv("PEERDESK_DB", str(tmp_path / "default-cache.sqlite3"))
    roles = env_dir / "roles.toml"
    if not roles.exists():
        roles.write_text("[roles]\n", encoding="utf-8")
        roles.chmod(0o600)
    monkeypatch.setenv("PEERDESK_ROLES_FILE", str(roles))
    monkeypatch.setenv("TZ", "UTC")


def write_roles(path: Path, roles: dict[str, list[str]]) -> Path:
    """Write a roles file (TOML, mode 0600) granting `roles` by user name."""
    lines = ["[roles]"] + [
        f"{user} = {list(names)!r}".replace("'", '"') for user, names in roles.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture
def grant_roles(env_dir: Path) -> Callable[[dict[str, list[str]]], Path]:
    """grant_roles({"alice": ["moderator"]}): the test's roles file (PEERDESK_ROLES_FILE)."""

    def grant(roles: dict[str, list[str]]) -> Path:
        return write_roles(env_dir / "roles.toml", roles)

    return grant


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "cache.sqlite3"


@pytest.fixture
def cache(cache_path: Path) -> Iterator[Cache]:
    """A new cache file, opened (and closed after the test) through the real open path."""
    opened = open_cache(cache_path, create=True)
    yield opened
    opened.close()


@pytest.fixture
def shared() -> Iterator[Path]:
    if not SHARED.is_dir():
        pytest.fail(f"../shared is expected beside the checkout at {SHARED}")
    yield SHARED
