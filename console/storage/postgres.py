"""The team database behind the storage protocol: psycopg 3 in autocommit, SQLite's SQL
translated (console.storage.placeholders), rows like sqlite3.Row, errors in one line.

Imported only when a postgresql:// URL is opened, so the console's start on a cache file does
not load psycopg.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg.abc import AdaptContext
from psycopg.adapt import Buffer, Dumper, Loader
from psycopg.pq import TransactionStatus
from psycopg.types.string import StrDumperUnknown
from psycopg_pool import ConnectionPool, PoolTimeout

from console.db import Cache
from console.errors import CacheError
from console.identity import Identity, establish_from_database
from console.models import Role
from console.storage.dialect import POSTGRESQL
from console.storage.placeholders import translate
from console.storage.pool import connection_pool
from console.storage.rows import NamedRow, maker
from console.team.connect import OPTIONS
from console.team.location import redact


class TeamStoreFailed(CacheError):
    """A statement on the team database failed; the text names the database and the reason."""


def explain(error: psycopg.Error, url: str) -> TeamStoreFailed:
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if isinstance(error, psycopg.errors.InsufficientPrivilege):
        return TeamStoreFailed(
            f"The team database {redact(url)} refused this for your database role: {first}"
        )
    return TeamStoreFailed(f"The team database {redact(url)} failed: {first}")


class _NumericLoader(Loader):
    """numeric (what sum() and avg() of integers give) as int when whole, else float, as SQLite
    gives them; json and the domain's arithmetic never see a Decimal."""

    def load(self, data: Buffer) -> Any:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


class _TextWithoutNul(StrDumperUnknown):
    """PostgreSQL text cannot hold NUL: stored as U+FFFD, as migrate-to copies it. (Still of
    unknown type, psycopg's default, so the server types the parameter from its use.)"""

    def dump(self, obj: str) -> Buffer:
        dumped = super().dump(obj.replace("\0", "\ufffd") if "\0" in obj else obj)
        assert dumped is not None
        return dumped


class _BoolAsInteger(Dumper):
    """Python booleans as 0/1 integers: the schema keeps SQLite's integer flags."""

    def __init__(self, cls: type, context: AdaptContext | None = None) -> None:
        super().__init__(cls, context)
        self.oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> Buffer:
        return b"1" if obj else b"0"


def _named_rows(cursor: psycopg.Cursor[Any]) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    row: type[NamedRow] = maker([column.name for column in description])
    return row


def _params(parameters: Any) -> Any:
    if isinstance(parameters, Mapping):
        return parameters
    return tuple(parameters)


class PgConnection:
    """A psycopg connection that takes the domain's SQL (see console.storage.protocol)."""

    dialect = POSTGRESQL

    def __init__(
        self,
        raw: psycopg.Connection[Any],
        url: str,
        *,
        pool: ConnectionPool[psycopg.Connection[Any]] | None = None,
    ) -> None:
        self.raw = raw
        self.url = url
        self.pool = pool  # closing gives the connection back to it
        raw.adapters.register_loader("numeric", _NumericLoader)
        raw.adapters.register_dumper(bool, _BoolAsInteger)
        raw.adapters.register_dumper(str, _TextWithoutNul)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        try:
            return self.raw.cursor(row_factory=_named_rows).execute(
                translate(sql), _params(parameters)
            )
        except psycopg.Error as error:
            raise explain(error, self.url) from error

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Any:
        cursor = self.raw.cursor(row_factory=_named_rows)
        try:
            cursor.executemany(translate(sql), [_params(p) for p in parameters])
        except psycopg.Error as error:
            raise explain(error, self.url) from error
        return cursor

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """One transaction (a savepoint inside another); rolled back by an exception."""
        try:
            with self.raw.transaction():
                yield self
        except psycopg.Error as error:
            raise explain(error, self.url) from error

    def interrupt(self) -> None:
        """Cancel the statement running on this connection now, from another thread (it fails
        with query_canceled); nothing happens when none is running."""
        self.raw.cancel_safe()

    def close(self) -> None:
        if self.pool is not None:  # back to the pool (rolled back there if it was mid-way)
            pool, self.pool = self.pool, None
            pool.putconn(self.raw)
            return
        self.raw.close()


SESSION_OPTIONS = f"{OPTIONS} -c jit=off"
"""The schema first on the search path; no JIT compilation: the console's queries are short
reads and small writes, where compiling a plan costs more than it saves."""

ROLES = {f"peerdesk_{role.value}": role for role in Role}
"""The database group roles that carry peerdesk's roles (console/team/grants.sql)."""


class TeamCache(Cache):
    """The team database as a Cache: same reads and writes, the server's dialect."""

    url: str = ""
    user: str | None = None
    sessions: set[int]
    """The server processes of this connection and of every one reopened from it (and from
    those): the console's own sessions, whose notifications it leaves out (console.team.notify).
    One set, shared by the family and growing as it does."""

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        assert isinstance(self.conn, PgConnection)
        with self.conn.transaction() as conn:
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """Reads that all see one snapshot of the team database: a REPEATABLE READ, READ ONLY
        transaction (see Cache.snapshot); inside a transaction, that transaction."""
        assert isinstance(self.conn, PgConnection)
        if self.conn.in_transaction:
            yield self.conn
            return
        with self.conn.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    def reopen(self) -> TeamCache:
        """Another connection as the same role, for a worker or a second reader: taken from
        the pool of this URL and role (console.storage.pool), given back by `close`."""
        other = open_team(self.url, user=self.user, pooled=True)
        other.sessions = self.sessions
        self.sessions.add(other.conn_pid())
        return other

    def conn_pid(self) -> int:
        """The server process (session) of this connection: what its notifications carry."""
        assert isinstance(self.conn, PgConnection)
        return int(self.conn.raw.info.backend_pid)

    def read_only(self) -> TeamCache:
        """A second connection, as the same role, whose transactions only read (the console's
        counts, searches and previews)."""
        return open_team(self.url, user=self.user, read_only=True)

    def interrupt(self) -> None:
        assert isinstance(self.conn, PgConnection)
        self.conn.interrupt()

    def acting_as(self, requested: str | None) -> tuple[TeamCache, Identity]:
        """The connection and identity for `requested` (--as, PEERDESK_USER): this connection
        when it is that role (or nothing was asked), else a new one that logs in as that
        database role, which the server authenticates (peer authentication on the host: only
        the OS account of that name, or whom the server's ident map allows)."""
        if requested:
            row = self.one("SELECT session_user")
            if row is not None and str(row[0]) != requested:
                other = open_team(self.url, user=requested)
                return other, other.identity(None)
        return self, self.identity(requested)

    def identity(self, requested: str | None) -> Identity:
        """Who is connected, by the server's word, with the peerdesk roles of their role."""
        row = self.one("SELECT session_user")
        name = str(row[0]) if row else ""
        granted = frozenset(
            ROLES[str(r[0])]
            for r in self.query(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE 'peerdesk\\_%' "
                "AND pg_has_role(session_user, oid, 'MEMBER')"
            )
            if str(r[0]) in ROLES
        )
        return establish_from_database(name, granted, redact(self.url), requested=requested)


def open_team(
    url: str, *, user: str | None = None, read_only: bool = False, pooled: bool = False
) -> TeamCache:
    """Open the team database at `url` (built by `peerdesk team-install`), as the database
    role `user` if given (else the URL's, else libpq's default: the OS account's name); with
    `read_only`, a session whose transactions cannot write.

    The first connection of a process is made directly, so a wrong URL or password is said at
    once in one line; `pooled` ones (a console's workers: `TeamCache.reopen`) come from the
    psycopg_pool pool of that URL, role and session options and go back to it when closed."""
    extra: dict[str, Any] = {"user": user} if user else {}
    options = SESSION_OPTIONS + (" -c default_transaction_read_only=on" if read_only else "")
    pool = None
    try:
        if pooled:
            pool = connection_pool(url, user, options)
            raw = pool.getconn()
        else:
            raw = psycopg.connect(url, options=options, autocommit=True, **extra)
    except PoolTimeout as waited:
        raise TeamStoreFailed(
            f"The team database {redact(url)} gave no connection in time ({waited})"
        ) from waited
    except psycopg.Error as error:
        raise explain(error, url) from error
    conn = PgConnection(raw, url, pool=pool)
    cache = TeamCache(path=Path(redact(url)), conn=conn, dialect=POSTGRESQL)
    cache.url = url
    cache.user = user
    cache.sessions = {int(raw.info.backend_pid)}
    try:
        installed = cache.one(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'peerdesk' AND c.relname = 'threads'"
        )
    except CacheError:
        conn.close()
        raise
    if installed is None:
        conn.close()
        raise TeamStoreFailed(
            f"The team database {redact(url)} has no peerdesk schema: the "
            "administrator runs `peerdesk team-install` on it first."
        )
    return cache
