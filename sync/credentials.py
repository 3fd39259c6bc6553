"""API credentials: from the environment, else the OS keyring. Never stored in the cache, the
config or logs; `Credentials` hides its values from repr/str so they cannot leak by accident.

Environment variables, for a source named e.g. "community":

    PEERDESK_COMMUNITY_API_KEY, PEERDESK_COMMUNITY_API_USERNAME   (Discourse)
    PEERDESK_COMMUNITY_API_KEY    (Stack Exchange: the app key, optional)

(the name upper-cased, non-alphanumerics replaced by "_"). Keyring: service "peerdesk:<name>",
usernames "api_key" and "api_username".
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field

KEYRING_SERVICE = "peerdesk:{name}"


def env_prefix(source_name: str) -> str:
    return "PEERDESK_" + re.sub(r"[^A-Za-z0-9]", "_", source_name).upper() + "_"


@dataclass(frozen=True)
class Credentials:
    api_key: str | None = field(default=None, repr=False)
    api_username: str | None = field(default=None, repr=False)
    origin: str = "none"  # "environment" | "keyring" | "none"

    def __str__(self) -> str:
        return f"Credentials(from {self.origin})"

    def secrets(self) -> list[str]:
        return [s for s in (self.api_key,) if s]


def _keyring_get(service: str, key: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        return keyring.get_password(service, key)
    except (KeyringError, RuntimeError, OSError):
        return None


def load(source_name: str) -> Credentials:
    prefix = env_prefix(source_name)
    key = os.environ.get(prefix + "API_KEY")
    user = os.environ.get(prefix + "API_USERNAME")
    if key:
        return Credentials(key, user, "environment")
    if os.environ.get("PEERDESK_NO_KEYRING"):
        return Credentials(origin="none")
    service = KEYRING_SERVICE.format(name=source_name)
    key = _keyring_get(service, "api_key")
    if key:
        return Credentials(key, user or _keyring_get(service, "api_username"), "keyring")
    return Credentials(origin="none")


def store_in_keyring(source_name: str, api_key: str, api_username: str | None) -> None:
    """Save credentials in the OS keyring (raises keyring errors if there is no keyring)."""
    import keyring

    service = KEYRING_SERVICE.format(name=source_name)
    keyring.set_password(service, "api_key", api_key)
    if api_username:
        keyring.set_password(service, "api_username", api_username)


def forget(source_name: str) -> None:
    try:
        import keyring
        from keyring.errors import KeyringError, PasswordDeleteError
    except ImportError:  # pragma: no cover
        return
    service = KEYRING_SERVICE.format(name=source_name)
    for key in ("api_key", "api_username"):
        with contextlib.suppress(PasswordDeleteError, KeyringError, RuntimeError, OSError):
            keyring.delete_password(service, key)
