"""What differs between the cache's SQLite and the team database's PostgreSQL, in one object.

Everything else is written once: placeholders stay SQLite's (`?`, `:name`; the PostgreSQL
connection translates them), upserts are `INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE`
and new ids come back with `RETURNING id` (SQLite has both since 3.35).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.storage.protocol import Connection


@dataclass(frozen=True)
class Dialect:
    name: str
    lock_suffix: str
    """Appended to a SELECT that reads a row the transaction goes on to change. SQLite's
    BEGIN IMMEDIATE already serialises writers; PostgreSQL locks the row (FOR UPDATE), so two
    moderators deciding on one thread at once take turns."""
    server_audit: bool
    """Audit entries are appended by the server (peerdesk_audit_append: its clock, the
    connected role as the actor, the hash chained under a lock), not written by peerdesk."""

    clock: str
    """SQL for "now" on the clock claims and leases run by, as ISO-8601 UTC text (how the
    cache stores times). The cache: peerdesk's own clock (console.clock, which tests freeze),
    bound by the caller as the named parameter `:now` (`clock_parameters`). The team
    database: the server's, `peerdesk_time()`, the clock its row-level security decides
    takeovers by; a laptop's clock a week behind (or ahead) counts for nothing there. (In a
    transaction the server's now() is the transaction's start, so one decision sees one time.)
    """

    @property
    def is_sqlite(self) -> bool:
        return self.name == "sqlite"

    def clock_parameters(self) -> dict[str, str]:
        """The named parameters a statement using `clock` binds (the cache's :now)."""
        if not self.is_sqlite:
            return {}
        from console.clock import now_iso

        return {"now": now_iso()}

    def lease_time(self, conn: Connection, *, ahead: timedelta = timedelta()) -> str:
        """The time on the `clock`, `ahead` from now, as a value (to stamp a claim or a lease
        and return it): on the team database asked of the server."""
        if self.is_sqlite:
            from console.clock import iso, now

            return iso(now() + ahead)
        row = conn.execute(
            "SELECT peerdesk_time(make_interval(secs => ?))", (ahead.total_seconds(),)
        ).fetchone()
        return str(row[0])

    def lock(self, select: str) -> str:
        """`select` taking a row lock where the engine needs one (see `lock_suffix`)."""
        return select + self.lock_suffix

    def greatest(self, *terms: str) -> str:
        """The larger of several values (SQLite's two-argument max() is PostgreSQL's greatest)."""
        return f"{'max' if self.is_sqlite else 'greatest'}({', '.join(terms)})"

    def least(self, *terms: str) -> str:
        return f"{'min' if self.is_sqlite else 'least'}({', '.join(terms)})"

    def searchable(self, column: str, limit: int) -> str:
        """The first `limit` characters of `column` as full-text search indexes them. SQLite
        keeps NULs in text and its substr() stops at one (console.sqltext); PostgreSQL text has
        none (the team database stores U+FFFD instead)."""
        if self.is_sqlite:
            from console import sqltext

            return sqltext.searchable_sql(column, limit)
        return f"left({column}, {limit})"

    def leading_integer(self, column: str) -> str:
        """The integer a text starts with, 0 if none: SQLite's CAST(... AS INTEGER) (which
        PostgreSQL refuses for text that is not a number)."""
        if self.is_sqlite:
            return f"CAST({column} AS INTEGER)"
        return f"coalesce(CAST(substring({column} from '^[0-9]+') AS BIGINT), 0)"

    def json_each(self, column: str) -> str:
        """A FROM item with one row per element of the JSON array in `column`, its text in
        `json_each.value` (SQLite's json_each; PostgreSQL's jsonb_array_elements_text)."""
        if self.is_sqlite:
            return f"json_each({column})"
        return f"jsonb_array_elements_text({column}::jsonb) AS json_each(value)"

    def fts_match(self, table: str) -> str:
        """The condition that `table` (a full-text table of the migrations) matches the query
        given as the next parameter (made by `fts_terms`). SQLite: FTS5's MATCH; PostgreSQL:
        the table's `document` tsvector (console/team/dialect.py) under its GIN index."""
        if self.is_sqlite:
            return f"{table} MATCH ?"
        return f"{table}.document @@ to_tsquery('simple', ?)"

    def fts_terms(self, words: list[str], *, prefix_last: bool) -> str:
        """The query text for `fts_match` requiring every word (`words` hold only word
        characters, as console.store tokenises them), the last as a prefix if asked."""
        if self.is_sqlite:
            quoted = [f'"{w}"' for w in words]
            if prefix_last:
                quoted[-1] += "*"
            return " ".join(quoted)
        lexemes = [f"'{w}'" for w in words]
        if prefix_last:
            lexemes[-1] += ":*"
        return " & ".join(lexemes)


SQLITE = Dialect("sqlite", lock_suffix="", server_audit=False, clock=":now")
POSTGRESQL = Dialect(
    "postgresql", lock_suffix=" FOR UPDATE", server_audit=True, clock="peerdesk.peerdesk_time()"
)
