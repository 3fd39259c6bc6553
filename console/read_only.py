"""What a user without any role is told: that the console is read-only, which file gives roles,
and how to see why (`peerdesk whoami`). Plain Python: the console and the CLI both use it."""

from __future__ import annotations

import os
from pathlib import Path

from console.identity import ROLES_FILE_ENV, SYSTEM_ROLES_FILE, Identity
from console.paths import default_config_path
from console.team.location import sql_identifier


def roles_file_to_edit(config_path: Path | None, cache_path: Path | None = None) -> Path:
    """Where this user's roles would be given: the roles file in force (PEERDESK_ROLES_FILE or
    /etc/peerdesk/roles.toml), else the user's own config, if it can give roles on this cache
    (the cache is theirs: a laptop with no roles file; or the config is root's or the cache
    owner's); else the system roles file, which an admin would create."""
    hook = os.environ.get(ROLES_FILE_ENV)
    if hook:
        return Path(hook).expanduser()
    if SYSTEM_ROLES_FILE.exists():
        return SYSTEM_ROLES_FILE
    config = config_path or default_config_path()
    if cache_path is None:
        return config
    try:
        owner = cache_path.stat().st_uid
    except OSError:
        return config
    try:
        config_owner = config.stat().st_uid
    except OSError:
        config_owner = os.getuid()  # not written yet: it would be this account's
    return config if config_owner in (0, owner) else SYSTEM_ROLES_FILE


def notice(
    who: Identity,
    config_path: Path | None,
    *,
    team: bool = False,
    cache_path: Path | None = None,
) -> tuple[str, str] | None:
    """Two short lines for a user with no role (None for anyone with one). On a team database
    (`team`) roles are the server's grants, not a roles file: the second line says so."""
    if who.roles:
        return None
    name = who.name
    first = f"Read-only: {name} has no role here, so nothing can be changed."
    if team:
        return (
            first,
            f"To moderate, an admin of the team database runs `GRANT peerdesk_moderator TO "
            f"{sql_identifier(name)};`; `peerdesk whoami` says where roles come from.",
        )
    where = roles_file_to_edit(config_path, cache_path)
    return (
        first,
        f'To moderate, add {name} = ["moderator"] under [roles] in {where}; '
        "`peerdesk whoami` says where roles come from.",
    )
