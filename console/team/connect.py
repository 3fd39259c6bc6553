"""Connections to a team database: psycopg 3, the schema `peerdesk` first on the search path.

Who connects decides what the server allows: on the database host, peer authentication maps
the OS account to the database role of the same name; from a laptop, a password or a client
certificate named in the URL or in libpq's own files (~/.pgpass, PGSSLCERT). peerdesk never
stores either. Every failure to connect becomes one line naming the database, without a
password.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from console.errors import PeerdeskError
from console.team.location import redact
from console.team.schema import SCHEMA

Connection = psycopg.Connection[TupleRow]
OPTIONS = f"-c search_path={SCHEMA}"


class TeamStoreError(PeerdeskError):
    """The team database cannot be reached or refused a step; the text says which and why."""


def explain(error: psycopg.Error, url: str) -> TeamStoreError:
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return TeamStoreError(f"The team database {redact(url)} failed: {first}")


def connect(url: str, **kwargs: Any) -> Connection:
    """One connection to the team database at `url`."""
    try:
        return psycopg.connect(url, options=OPTIONS, **kwargs)
    except psycopg.Error as error:
        raise explain(error, url) from error


def pool(url: str, *, max_size: int = 4) -> ConnectionPool[Connection]:
    """A small pool of connections (one console or command: a few threads at most)."""
    return ConnectionPool(
        url, min_size=1, max_size=max_size, kwargs={"options": OPTIONS}, open=True
    )
