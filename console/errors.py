"""Errors the domain raises on purpose. Each carries a message fit to show a user as it is."""

from __future__ import annotations


class PeerdeskError(Exception):
    """Base of every error peerdesk raises deliberately; its text is for the user."""


class CacheError(PeerdeskError):
    """The cache file cannot be used: missing, locked, read-only, newer or corrupt."""


class DiskFull(CacheError):
    """The disk (or the file-size limit) stopped a write. What was committed before is kept.

    The command exits 1 (failed), not 2 (usage)."""

    exit_code = 1


class ConfigError(PeerdeskError):
    """The config file is wrong; the message names the file and line."""


class PermissionRefused(PeerdeskError):
    """The actor's role does not allow the action. Nothing was written."""


class ClaimConflict(PeerdeskError):
    """Another moderator holds the item."""


class NothingToUndo(PeerdeskError):
    """There is no decision of this actor left to take back."""


class NotFound(PeerdeskError):
    """A thread, post or item that was asked for does not exist in the cache."""


class InvalidDecision(PeerdeskError):
    """The decision does not apply to the item in its current state."""


class IdentityRefused(PeerdeskError):
    """Acting under another name than the OS account was asked for where it is not allowed."""
