"""What differs between the cache's SQLite and the team database's PostgreSQL, in one object.

Everything else is written once: placeholders stay SQLite's (`?`, `:name`; the PostgreSQL
connection translates them), upserts are `INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE`
and new ids come back with `RETURNING id` (SQLite has both since 3.35).
"""

from __future__ import annotations

from dataclasses import dataclass


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

    @property
    def is_sqlite(self) -> bool:
        return self.name == "sqlite"

    def lock(self, select: str) -> str:
        """`select` taking a row lock where the engine needs one (see `lock_suffix`)."""
        return select + self.lock_suffix

    def greatest(self, *terms: str) -> str:
        """The larger of several values (SQLite's two-argument max() is PostgreSQL's greatest)."""
        return f"{'max' if self.is_sqlite else 'greatest'}({', '.join(terms)})"

    def least(self, *terms: str) -> str:
        return f"{'min' if self.is_sqlite else 'least'}({', '.join(terms)})"


SQLITE = Dialect("sqlite", lock_suffix="", server_audit=False)
POSTGRESQL = Dialect("postgresql", lock_suffix=" FOR UPDATE", server_audit=True)
