"""Concurrency on the team database: a unique live claim per thread, and outbox sending in
which each item is taken by exactly one sender.

These are the server-side primitives the domain will call once it runs on the team store
(issue #15; today's console still uses console.claims and console.outbox on SQLite):

- `claim`: one INSERT ... ON CONFLICT on the claims table's primary key (one row per thread).
  The row is taken over only when its claim has expired or is the caller's own; PostgreSQL
  locks the conflicting row, so of two moderators claiming at once exactly one wins. The holder
  is the connected database role (`session_user`): nobody claims in someone else's name.
- `take_outbox`: pending items (or items whose sender's lease ran out) are leased with
  SELECT ... FOR UPDATE SKIP LOCKED, so concurrent senders take disjoint items without waiting
  on each other; `finish_outbox` records the result only while the lease is still the
  sender's (a sender whose lease was taken over cannot overwrite the new sender's result).
Times are the cache's ISO-8601 UTC text from the SERVER's clock (`peerdesk_time()`, in
grants.sql): claims and leases run out by one clock for everyone, and the server's row-level
security (which lets a moderator take over someone else's claim or lease only once it has run
out) judges by the same one. The holder of a lease is also recorded by the server: the login
role (`lease_role`), so only that role can finish an item while its lease is live.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.team.connect import Connection


@dataclass(frozen=True)
class ClaimResult:
    thread_id: int
    holder: str
    expires_at: str
    won: bool  # False: someone else holds a live claim (holder/expires_at are theirs)


def claim(conn: Connection, thread_id: int, minutes: int = 15) -> ClaimResult:
    """Claim `thread_id` for the connected role, unless someone else holds a live claim."""
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO claims (thread_id, holder, claimed_at, expires_at) "
            "VALUES (%s, session_user, peerdesk_time(), peerdesk_time(make_interval(mins => %s))) "
            "ON CONFLICT (thread_id) DO UPDATE SET holder = excluded.holder, "
            "claimed_at = excluded.claimed_at, expires_at = excluded.expires_at "
            "WHERE claims.expires_at <= peerdesk_time() OR claims.holder = excluded.holder "
            "RETURNING holder, expires_at",
            (thread_id, minutes),
        ).fetchone()
        if row is not None:
            return ClaimResult(thread_id, str(row[0]), str(row[1]), True)
        held = conn.execute(
            "SELECT holder, expires_at FROM claims WHERE thread_id = %s", (thread_id,)
        ).fetchone()
    holder, until = (str(held[0]), str(held[1])) if held else ("?", "")
    return ClaimResult(thread_id, holder, until, False)


def release(conn: Connection, thread_id: int) -> bool:
    """Give up the connected role's own claim; False if it held none."""
    with conn.transaction():
        gone = conn.execute(
            "DELETE FROM claims WHERE thread_id = %s AND holder = session_user", (thread_id,)
        )
        return gone.rowcount > 0


@dataclass(frozen=True)
class OutboxTask:
    id: int
    action: str
    payload: str
    idempotency_key: str


def take_outbox(
    conn: Connection, sender: str, *, limit: int = 10, lease_seconds: int = 120
) -> list[OutboxTask]:
    """Lease up to `limit` items to `sender` (pending ones, or ones whose lease ran out)."""
    with conn.transaction():
        rows = conn.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, "
            "updated_at = peerdesk_time(), lease_owner = %s, "
            "lease_until = peerdesk_time(make_interval(secs => %s)) "
            "WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' OR (state = 'sending' "
            "AND lease_until <= peerdesk_time()) ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
            "RETURNING id, action, payload, idempotency_key",
            (sender, lease_seconds, limit),
        ).fetchall()
    return sorted(
        (OutboxTask(int(str(r[0])), str(r[1]), str(r[2]), str(r[3])) for r in rows),
        key=lambda t: t.id,
    )


def finish_outbox(
    conn: Connection, item_id: int, sender: str, *, state: str = "applied", error: str = ""
) -> bool:
    """Record an item's result while `sender` still holds its lease; False if it does not."""
    with conn.transaction():
        done = conn.execute(
            "UPDATE outbox SET state = %s, last_error = %s, updated_at = peerdesk_time(), "
            "sent_at = CASE WHEN %s = 'applied' THEN peerdesk_time() ELSE sent_at END, "
            "lease_owner = NULL, lease_until = NULL "
            "WHERE id = %s AND state = 'sending' AND lease_owner = %s",
            (state, error or None, state, item_id, sender),
        )
        return done.rowcount > 0
