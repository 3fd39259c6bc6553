"""What the domain may do with a connection: the part of sqlite3's API both backends offer.

`sqlite3.Connection` satisfies `Connection` as it is; `console.storage.postgres.PgConnection`
implements it over psycopg. Rows (`Row`) are read by index (`row[0]`) and by column name
(`row["status"]`), turned into dicts with `dict(row)` and unpacked like tuples.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

Row = Any
"""A result row: sqlite3.Row on the cache, console.storage.rows.NamedRow on the team database.
Both index by position and by name, and both have keys(); typed Any because sqlite3's own
cursor is typed so."""


class Cursor(Protocol):
    """The result of one statement."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = 1, /) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """One connection; outside a transaction every statement commits by itself."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor: ...

    def close(self) -> None: ...
