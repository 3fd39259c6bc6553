"""Opening the cache: one SQLite file, WAL mode, foreign keys, a busy timeout, migrations.

Every failure to open becomes a `CacheError` that names the file and says what to do; nothing
here writes to a file before it has been recognised as a peerdesk cache of a version we know.
"""

from __future__ import annotations

import errno
import os
import re
import resource
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console import sqltext
from console.errors import CacheError, DiskFull
from console.files import make_private, tighten
from console.migrations import LATEST_VERSION, MIGRATIONS
from console.storage.dialect import SQLITE, Dialect
from console.storage.protocol import Connection, Row

BUSY_TIMEOUT_MS = 5000
APPLICATION_ID = 0x50445348  # "PDSH": marks a file as a peerdesk cache


if TYPE_CHECKING:
    import sqlite_utils


@dataclass
class Cache:
    """An open store: the cache file (this class) or the team database (its subclass
    console.storage.postgres.TeamCache). The domain reads and writes through `conn` (the
    console.storage protocol) and asks `dialect` what differs between the two engines."""

    path: Path
    conn: Connection
    _db: sqlite_utils.Database | None = field(default=None, repr=False, compare=False)
    dialect: Dialect = field(default=SQLITE, compare=False)

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The cache's own sqlite3 connection, for what only SQLite has (PRAGMAs, functions)."""
        if not isinstance(self.conn, sqlite3.Connection):
            raise CacheError(f"{self.path} is not a SQLite cache file")
        return self.conn

    @property
    def db(self) -> sqlite_utils.Database:
        """Made when first used: importing sqlite-utils costs about a tenth of a second, which
        the console's first frame (plain SQL reads) does not need."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.sqlite)
        return self._db

    def reopen(self) -> Cache:
        """Another connection to the same store (for a worker thread of its own)."""
        return open_cache(self.path)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, taken with BEGIN IMMEDIATE so writers queue instead of failing.

        Nested use joins the outer transaction through a savepoint.
        """
        conn = self.sqlite
        if conn.in_transaction:
            with self.db.atomic():
                yield conn
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise explain(error, self.path) from error
        try:
            yield conn
        except BaseException as error:
            if conn.in_transaction:  # (SQLite may have rolled a full disk's back itself)
                conn.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error) and (
                out_of_space(error, self.path) or size_limit_reached(error, self.path)
            ):  # a full disk mid-transaction, as at the COMMIT: said in words, all rolled back
                raise explain(error, self.path) from error
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise explain(error, self.path) from error

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """Reads that all see the store as it was at the first of them (one read transaction):
        a check that reads a chain, its head and its sums in several statements (`ledger
        verify`, `audit verify`) never mistakes an append committed meanwhile for tampering.
        The cache: a deferred BEGIN (in WAL mode the snapshot is taken at the first read, and
        other processes go on writing). Inside a transaction: that transaction."""
        conn = self.sqlite
        if conn.in_transaction:
            yield conn
            return
        try:
            conn.execute("BEGIN")
        except sqlite3.Error as error:
            raise explain(error, self.path) from error
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")  # it only read

    def query(self, sql: str, params: Any = ()) -> list[Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as error:
            raise explain(error, self.path) from error

    def one(self, sql: str, params: Any = ()) -> Row | None:
        try:
            return self.conn.execute(sql, params).fetchone()
        except sqlite3.DatabaseError as error:
            raise explain(error, self.path) from error

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def read_only(self) -> Cache:
        """A second connection to the same store that only reads (the console's counts,
        searches and previews run on it, so they never wait for `conn`)."""
        return open_read_only(self.path)

    def interrupt(self) -> None:
        """Stop the statement running on `conn` now, from another thread (it fails as
        interrupted)."""
        self.sqlite.interrupt()

    def close(self) -> None:
        self.conn.close()


def open_read_only(path: Path) -> Cache:
    """The cache file at `path` on a read-only connection (one thread at a time, any thread)."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    sqltext.register(conn)  # the same NUL-safe SQL as a writing connection
    return Cache(Path(path), conn)


def is_disk_full(error: BaseException) -> bool:
    """A write refused for lack of space (SQLITE_FULL, ENOSPC, EDQUOT) or over a file-size limit."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    return isinstance(error, sqlite3.Error) and (
        getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        or "disk is full" in str(error).lower()
    )


def _free_bytes(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path if path.is_dir() else path.parent).free
    except OSError:
        return None


def free_space(path: Path) -> str:
    """Free space on the disk holding `path`, in words ("1.2 MB free")."""
    free = _free_bytes(path)
    return "free space unknown" if free is None else f"{free / 1_000_000:.1f} MB free"


LOW_SPACE = 1_000_000  # bytes: an I/O error with less free than this is taken as a full disk


def out_of_space(error: BaseException, path: Path) -> bool:
    """A full disk, also when SQLite reports it as an I/O error (growing the -shm file of a WAL
    on a full disk fails as SQLITE_IOERR_SHMSIZE, not SQLITE_FULL)."""
    if is_disk_full(error):
        return True
    code = getattr(error, "sqlite_errorcode", None)
    if (
        isinstance(error, sqlite3.Error)
        and code is not None
        and code & 0xFF == sqlite3.SQLITE_IOERR
    ):
        free = _free_bytes(path)
        return free is not None and free < LOW_SPACE
    return False


def size_limit_reached(error: BaseException, path: Path) -> int | None:
    """The process's file size limit (`ulimit -f`, in bytes) when it refused the write: SQLite
    reports it as an I/O error (EFBIG) on a disk with room, with the cache or its -wal file
    grown to within LOW_SPACE of the limit."""
    code = getattr(error, "sqlite_errorcode", None)
    if not isinstance(error, sqlite3.Error) or code is None or code & 0xFF != sqlite3.SQLITE_IOERR:
        return None
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit == resource.RLIM_INFINITY:
        return None
    for item in (path, path.with_name(path.name + "-wal")):
        try:
            if item.stat().st_size >= limit - LOW_SPACE:
                return limit
        except OSError:
            continue
    return None


def explain(error: sqlite3.Error, path: Path) -> CacheError:
    """Turn an sqlite3 error into a message that names the file and the way out."""
    text = str(error).lower()
    limit = size_limit_reached(error, path)
    if limit is not None:
        return DiskFull(
            f"The cache {path} reached this process's file size limit ({limit:,} bytes, "
            "`ulimit -f`): nothing of the failed step was saved. Raise the limit and run the "
            "command again."
        )
    if out_of_space(error, path):
        return DiskFull(
            f"The disk holding the cache {path} is full ({free_space(path)}): nothing of the "
            "failed step was saved. Free some space and run the command again."
        )
    if "locked" in text or "busy" in text:
        return CacheError(
            f"The cache {path} is locked by another process and stayed locked for "
            f"{BUSY_TIMEOUT_MS // 1000} s. Close the other peerdesk (or the program holding it) "
            "and try again."
        )
    if "readonly" in text or "read-only" in text:
        return CacheError(
            f"The cache {path} is read-only. Make it writable (check its permissions and those "
            "of its folder) or point peerdesk at another file with --db."
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return CacheError(
            f"The cache {path} is damaged ({error}). peerdesk did not change it. Move it aside "
            "(keep it for recovery) and rebuild the cache with `peerdesk sync` or "
            "`peerdesk import`; decisions not yet pushed are only in the old file."
        )
    if "unable to open" in text:
        return CacheError(
            f"The cache {path} cannot be opened ({error}). Check that its folder exists and is "
            "writable, or use --db PATH."
        )
    return CacheError(f"The cache {path} failed: {error}")


def _closed_folder(path: Path) -> Path:
    """The first folder on the way to `path` that this account cannot enter."""
    for folder in reversed(path.absolute().parents):
        if not os.access(folder, os.X_OK):
            return folder
    return path.absolute().parent


def open_cache(path: Path, *, create: bool = False) -> Cache:
    """Open (and, with `create`, make) the cache at `path`, upgrading its schema in place."""
    path = Path(path)
    try:
        found = path.exists()
    except PermissionError:  # (a folder on the way you may not enter: `exists` raises)
        raise CacheError(
            f"The cache {path} is in a folder you cannot reach ({_closed_folder(path)}: "
            "permission denied). Ask an admin to add you to the folder's group, or use --db PATH."
        ) from None
    if not found:
        if not create:
            raise CacheError(
                f"There is no cache at {path}. Build the demo community with `peerdesk demo`, "
                "add a platform with `peerdesk source add`, or use --db PATH."
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            make_private(path)  # SQLite gives the -wal and -shm files this file's mode
        except OSError as error:
            raise CacheError(f"Cannot create the cache {path}: {error}") from error
    elif path.is_dir():
        raise CacheError(f"The cache path {path} is a folder; give a file path with --db.")
    elif not os.access(path, os.R_OK):
        raise CacheError(f"The cache {path} is not readable by you; check its permissions.")
    else:
        for item in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            tighten(item)

    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
    except sqlite3.Error as error:
        raise explain(error, path) from error
    conn.row_factory = sqlite3.Row
    sqltext.register(conn)  # NUL-safe length/substr for the SQL in console.sqltext
    try:
        _check_and_migrate(conn, path)
        # what sqlite-utils sets on a connection it wraps; set here, as `db` is made lazily
        conn.execute("PRAGMA recursive_triggers=on")
    except BaseException:
        conn.close()
        raise
    return Cache(path=path, conn=conn)


def _check_and_migrate(conn: sqlite3.Connection, path: Path) -> None:
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise explain(error, path) from error
    if tables and app_id != APPLICATION_ID:
        raise CacheError(
            f"The file {path} is an SQLite database but not a peerdesk cache; peerdesk did not "
            "change it. Point --db at a peerdesk cache or at a new file."
        )
    if version > LATEST_VERSION:
        raise CacheError(
            f"The cache {path} was written by a newer peerdesk (schema {version}; this one knows "
            f"up to {LATEST_VERSION}). Upgrade peerdesk; the file was left as it is."
        )
    try:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        if version < LATEST_VERSION:
            migrate(conn, version)
    except sqlite3.DatabaseError as error:
        raise explain(error, path) from error


ADD_COLUMN = re.compile(r"\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)", re.IGNORECASE)


def _column_there(conn: sqlite3.Connection, statement: str) -> bool:
    """Whether `statement` adds a column the table has already: a file whose version was set
    back runs its later migrations again and keeps what exists (SQLite has no ADD COLUMN IF NOT
    EXISTS; the other statements say IF NOT EXISTS or fill only what is missing)."""
    found = ADD_COLUMN.match(statement)
    if found is None:
        return False
    table, column = found.groups()
    return any(row[1] == column for row in conn.execute(f"PRAGMA table_info({table})"))


def migrate(conn: sqlite3.Connection, from_version: int, to_version: int = LATEST_VERSION) -> None:
    """Apply migrations from_version+1 .. to_version, all in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the lock.
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        for number in range(current + 1, to_version + 1):
            for statement in MIGRATIONS[number - 1]:
                if not _column_there(conn, statement):
                    conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {max(current, to_version)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
