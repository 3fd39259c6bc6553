"""The TOML config file: who has which role, and a few settings.

    # ~/.config/peerdesk/config.toml (see `peerdesk whoami`)
    [roles]
    alice = ["moderator"]
    bob = ["payout_preparer"]
    carol = ["payout_approver", "admin"]

    [claims]
    lease_minutes = 15

The default path that does not exist is an empty config; a path the user named (`--config`,
PEERDESK_CONFIG) that does not exist is an error. A bad file raises ConfigError naming the file
and the line. Whether the `[roles]` of a config count for anything is decided by
`console.identity` (the file's owner and mode are kept here for that): on a shared host they can
only narrow the roles of the system roles file.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.errors import ConfigError
from console.models import Role

VALID_ROLES = {role.value for role in Role}


@dataclass(frozen=True)
class FileFacts:
    """Who owns a file peerdesk read, and its mode, taken when it was read."""

    uid: int
    mode: int

    @property
    def writable_by_others(self) -> bool:
        return bool(self.mode & (stat.S_IWGRP | stat.S_IWOTH))


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    roles: dict[str, frozenset[Role]] = field(default_factory=dict)
    lease_minutes: int = 15
    facts: FileFacts | None = None  # None: not read from a file (no authority over roles)
    keys: dict[str, object] = field(default_factory=dict)  # [keys]: id -> keys (console.keymap)
    views: dict[str, str] = field(default_factory=dict)  # [views]: name -> a Queue filter


def _line_of(text: str, key: str) -> int:
    pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=', re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 0


def read_toml(path: Path, what: str) -> tuple[str, dict[str, Any], FileFacts]:
    """The text, parsed table and owner/mode of a TOML file; FileNotFoundError if missing."""
    try:
        with path.open("rb") as handle:
            facts_raw = os.fstat(handle.fileno())
            raw = handle.read()
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"Cannot read the {what} {path}: {error}") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        where = f" line {found.group(1)}" if found else ""
        raise ConfigError(f"The {what} {path}{where} is not valid TOML: {error}") from error
    return text, data, FileFacts(facts_raw.st_uid, facts_raw.st_mode)


def parse_roles(
    text: str, data: dict[str, Any], path: Path, what: str = "config"
) -> dict[str, frozenset[Role]]:
    """The `[roles]` table: user name -> a list of role names (a bare string is an error)."""
    roles: dict[str, frozenset[Role]] = {}
    table = data.get("roles", {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"The {what} {path} line {_line_of(text, 'roles')}: [roles] must be a table"
        )
    for user, names in table.items():
        line = _line_of(text, user)
        if isinstance(names, str):
            raise ConfigError(
                f"The {what} {path} line {line}: roles of {user!r} must be a list, "
                f'e.g. {user} = ["{names}"]'
            )
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(
                f"The {what} {path} line {line}: roles of {user!r} must be a list of names"
            )
        unknown = [n for n in names if n not in VALID_ROLES]
        if unknown:
            raise ConfigError(
                f"The {what} {path} line {line}: unknown role {unknown[0]!r} for {user!r} "
                f"(known: {', '.join(sorted(VALID_ROLES))})"
            )
        roles[str(user)] = frozenset(Role(n) for n in names)
    return roles


def load_config(path: Path, *, must_exist: bool = False) -> Config:
    """Read `path`; a missing file gives the empty config unless `must_exist` (a named path)."""
    try:
        text, data, facts = read_toml(path, "config")
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(
                f"The config {path} does not exist. Check the path given with --config or "
                "PEERDESK_CONFIG (without either, peerdesk uses its default config path)."
            ) from None
        return Config(path=None)
    roles = parse_roles(text, data, path)
    claims = data.get("claims", {})
    lease = claims.get("lease_minutes", 15) if isinstance(claims, dict) else None
    if not isinstance(lease, int) or isinstance(lease, bool) or not 1 <= lease <= 24 * 60:
        raise ConfigError(
            f"The config {path} line {_line_of(text, 'lease_minutes')}: lease_minutes must be a "
            "whole number of minutes from 1 to 1440"
        )
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise ConfigError(
            f"The config {path} line {_line_of(text, 'keys')}: [keys] must be a table"
        )
    views = parse_views(text, data, path)
    return Config(
        path=path, roles=roles, lease_minutes=lease, facts=facts, keys=dict(keys), views=views
    )


def parse_views(text: str, data: dict[str, Any], path: Path) -> dict[str, str]:
    """`[views]`: name -> a Queue filter expression (console.filters), checked here."""
    from console.filters import FilterError, parse_filter

    table = data.get("views", {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"The config {path} line {_line_of(text, 'views')}: [views] must be a table"
        )
    views: dict[str, str] = {}
    for name, expression in table.items():
        where = f"The config {path} line {_line_of(text, name)}: view {name!r}"
        if not isinstance(expression, str):
            raise ConfigError(f'{where} must be a filter string, e.g. "tag:sim flagged"')
        try:
            parse_filter(expression)
        except FilterError as error:
            raise ConfigError(f"{where}: {error}") from None
        views[str(name)] = expression
    return views
