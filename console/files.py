"""Files peerdesk creates hold members' personal data: they are private to their owner.

A new file is created with mode 0600. On a shared host the admin makes a folder for the cache,
gives it a group and the setgid bit (`chgrp peerdesk-mods DIR && chmod 2770 DIR`); files created
in such a folder get mode 0660 and that group, so every moderator of the group can open them and
nobody else can. SQLite creates the cache's -wal and -shm files with the cache file's own mode.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

PRIVATE = 0o600
SHARED = 0o660
READ_LIMIT = 16 * 1024 * 1024
"""The most a file a person hands peerdesk (a rule file, a schedule, a provider's result file)
may hold: each is some kB."""


def mode_for(path: Path) -> int:
    """0660 in a setgid folder (an admin's shared folder), else 0600."""
    try:
        folder = path.parent.stat()
    except OSError:
        return PRIVATE
    return SHARED if folder.st_mode & stat.S_ISGID else PRIVATE


def make_private(path: Path) -> None:
    """Create an empty file at `path` with `mode_for(path)`; an existing file is left alone."""
    mode = mode_for(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, mode)  # the umask must not widen or narrow it
    finally:
        os.close(fd)


def tighten(path: Path) -> None:
    """Take away what `mode_for` would not give, on a file this account owns (an older peerdesk
    made caches 0644)."""
    try:
        info = path.stat()
    except OSError:
        return
    current = stat.S_IMODE(info.st_mode)
    wanted = current & mode_for(path)
    if info.st_uid == os.getuid() and wanted != current:
        try:
            path.chmod(wanted)
        except OSError:
            return


def create_private(path: Path) -> IO[str]:
    """Open `path` for writing text, created (or truncated) with a private mode."""
    fd = _private_fd(path)
    try:
        return os.fdopen(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def create_private_bytes(path: Path) -> IO[bytes]:
    """Open `path` for writing bytes, created (or truncated) with a private mode."""
    fd = _private_fd(path)
    try:
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def _private_fd(path: Path) -> int:
    mode = mode_for(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        info = os.fstat(fd)
        if info.st_uid == os.getuid():
            os.fchmod(fd, mode)  # the umask must not widen or narrow it
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_given_text(path: Path, limit: int = READ_LIMIT) -> str:
    """A file a person named, read whole as UTF-8 text with universal newlines (as
    `Path.read_text`), but at most `limit` bytes and only from a regular file or a pipe: OSError
    saying why for anything else (a device such as /dev/zero, which read_text would read until
    memory ran out, or a larger file); UnicodeDecodeError for bytes that are not UTF-8."""
    with Path(path).open("rb") as handle:
        if not_readable_kind(os.fstat(handle.fileno()).st_mode) is not None:
            raise OSError("it is not a file (a device or a socket)")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"it is larger than {limit:,} bytes, more than such a file ever holds")
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def not_readable_kind(mode: int) -> str | None:
    """What a file of this `st_mode` is when peerdesk will not read it whole ("a character
    device", "a directory", ...); None for what it reads: a regular file or a pipe."""
    if stat.S_ISREG(mode) or stat.S_ISFIFO(mode):
        return None
    kinds = {
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISDIR: "a directory",
        stat.S_ISSOCK: "a socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a regular file")
