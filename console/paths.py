"""Where peerdesk keeps its files. Nothing is created at import time."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "peerdesk"
DB_ENV = "PEERDESK_DB"
CONFIG_ENV = "PEERDESK_CONFIG"


def default_db_path() -> Path:
    """The cache file: PEERDESK_DB if set, else the platform's user data dir."""
    override = os.environ.get(DB_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME)) / "cache.sqlite3"


def default_config_path() -> Path:
    """The config file: PEERDESK_CONFIG if set, else the platform's user config dir."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"
