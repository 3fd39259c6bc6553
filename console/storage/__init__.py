"""One storage layer, two dialects: a local SQLite cache file or a shared PostgreSQL team database.

The domain and sync talk to a `Cache` (console.db) whose `conn` is a `Connection` (this
package's protocol: `execute(sql, params)` returning rows readable by name and by index) and
whose `dialect` says what differs (search, row locks, the audit append). Domain SQL is written
once, in the subset both engines run, with SQLite's `?` / `:name` placeholders; the PostgreSQL
connection translates them (console.storage.placeholders). SQLite's connection is the
sqlite3.Connection itself, so the local cache pays nothing for the layer.

A path opens the cache file (console.db.open_cache); a postgresql:// URL the team database
(console.storage.postgres.open_team, or Desk.open_team; psycopg is imported only then).
"""

from console.storage.dialect import POSTGRESQL, SQLITE, Dialect
from console.storage.protocol import Connection, Cursor, Row

__all__ = ["POSTGRESQL", "SQLITE", "Connection", "Cursor", "Dialect", "Row", "dialect_of"]


def dialect_of(conn: Connection) -> Dialect:
    """The dialect of a connection the domain was handed (a transaction's, usually)."""
    found = getattr(conn, "dialect", SQLITE)
    return found if isinstance(found, Dialect) else SQLITE
