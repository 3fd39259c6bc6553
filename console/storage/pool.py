"""psycopg_pool's ConnectionPool for the team database's extra connections: one pool per URL
and login role in a process, made when first needed and closed at exit.

A console on the team database reads on more than one connection (the Queue's pages and count,
the preview pane's read-ahead, the member view, a push: `TeamCache.reopen`, each in a worker);
the pool keeps a few open between uses instead of logging in again for each (a TLS handshake
and authentication on a remote server), hands each connection to one user at a time, checks it
is idle when it comes back (a transaction left open is rolled back) and replaces a broken one.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

POOL_SIZE = 4
"""At most this many pooled connections per URL and role: a console's few workers."""
WAIT_SECONDS = 10.0
"""How long a caller waits for a connection before being told the server gave none."""
IDLE_SECONDS = 300.0
"""A pooled connection unused this long is closed (down to none)."""

_POOLS: dict[tuple[str, str | None, str], ConnectionPool[psycopg.Connection[Any]]] = {}
_LOCK = threading.Lock()


def connection_pool(
    url: str, user: str | None, options: str
) -> ConnectionPool[psycopg.Connection[Any]]:
    """The pool of `url` as `user` (None: the URL's or the OS account's role) with the session
    `options` (a read-only session's connections are pooled apart)."""
    key = (url, user, options)
    with _LOCK:
        found = _POOLS.get(key)
        if found is None:
            extra: dict[str, Any] = {"user": user} if user else {}
            found = ConnectionPool(
                url,
                kwargs={"options": options, "autocommit": True, **extra},
                min_size=0,
                max_size=POOL_SIZE,
                timeout=WAIT_SECONDS,
                max_idle=IDLE_SECONDS,
                name=f"peerdesk:{user or ''}",
                num_workers=1,
                open=True,
            )
            if not _POOLS:
                atexit.register(close_all)
            _POOLS[key] = found
        return found


def close_all() -> None:
    """Close every pool of this process (at exit; tests after dropping a database)."""
    with _LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()
