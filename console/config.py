"""The TOML config file: who has which role, and a few settings.

    # ~/.config/peerdesk/config.toml (see `peerdesk config path`)
    [roles]
    alice = ["moderator"]
    bob = ["payout_preparer"]
    carol = ["payout_approver", "admin"]

    [claims]
    lease_minutes = 15

A missing file is an empty config (nobody has a role, except on the demo community). A bad file
raises ConfigError naming the file and the line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from console.errors import ConfigError
from console.models import Role

VALID_ROLES = {role.value for role in Role}


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    roles: dict[str, frozenset[Role]] = field(default_factory=dict)
    lease_minutes: int = 15


def _line_of(text: str, key: str) -> int:
    pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=', re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 0


def load_config(path: Path) -> Config:
    """Read `path`; a missing file gives the empty config."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(path=None)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"Cannot read the config {path}: {error}") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        where = f" line {found.group(1)}" if found else ""
        raise ConfigError(f"The config {path}{where} is not valid TOML: {error}") from error

    roles: dict[str, frozenset[Role]] = {}
    table = data.get("roles", {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"The config {path} line {_line_of(text, 'roles')}: [roles] must be a table"
        )
    for user, names in table.items():
        line = _line_of(text, user)
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(
                f"The config {path} line {line}: roles of {user!r} must be a list of names"
            )
        unknown = [n for n in names if n not in VALID_ROLES]
        if unknown:
            raise ConfigError(
                f"The config {path} line {line}: unknown role {unknown[0]!r} for {user!r} "
                f"(known: {', '.join(sorted(VALID_ROLES))})"
            )
        roles[user] = frozenset(Role(n) for n in names)

    lease = data.get("claims", {}).get("lease_minutes", 15)
    if not isinstance(lease, int) or isinstance(lease, bool) or not 1 <= lease <= 24 * 60:
        raise ConfigError(
            f"The config {path} line {_line_of(text, 'lease_minutes')}: lease_minutes must be a "
            "whole number of minutes from 1 to 1440"
        )
    return Config(path=path, roles=roles, lease_minutes=lease)
