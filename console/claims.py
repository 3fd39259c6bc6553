"""Claims: short leases so two moderators never work the same thread.

A claim is taken in one transaction: on the cache, BEGIN IMMEDIATE serialises two processes
asking at once; on the team database the thread's row is locked first (the dialect's
`lock`), and the upsert itself only takes over a claim that has run out or is the caller's own,
so of two moderators claiming at once exactly one wins on either engine. A lease runs out by
itself; claiming again extends your own.
Taking and giving up a claim are role-checked (`claim`, `release`) and each writes one audit
entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from console import audit
from console.clock import parse
from console.db import Cache
from console.errors import ClaimConflict, NotFound
from console.identity import Identity
from console.roles import require
from console.safe_text import printable
from console.storage import Connection, dialect_of


@dataclass(frozen=True)
class Claim:
    thread_id: int
    holder: str
    expires_at: str


def local_hhmm(iso_time: str) -> str:
    return parse(iso_time).astimezone().strftime("%H:%M")


def claim_line(holder: str, expires_at: str, actor: str, *, full: bool = False) -> str:
    """How a claim is said in the Thread header and by `peerdesk show` (`full`: with the date in
    UTC): "claimed by dave until 12:30 — notes welcome; other decisions are theirs".
    The holder is made printable (it is a name from the cache)."""
    who = "you" if holder == actor else printable(holder, single_line=True)
    line = f"claimed by {who} until {local_hhmm(expires_at)}"
    if full:
        line += parse(expires_at).strftime(" (%Y-%m-%d %H:%M UTC)")
    if holder != actor:
        line += " — notes welcome; other decisions are theirs"
    return line


def conflict_message(thread_id: int, holder: str, expires_at: str) -> str:
    return f"Thread {thread_id} is claimed by {holder} until {local_hhmm(expires_at)}"


def holder_of(cache: Cache, thread_id: int) -> Claim | None:
    """Who holds `thread_id` now, by the clock claims run on (the dialect's: on the team
    database the server's)."""
    row = cache.one(
        f"SELECT holder, expires_at FROM claims WHERE thread_id = :id "
        f"AND expires_at > {cache.dialect.clock}",
        {"id": thread_id, **cache.dialect.clock_parameters()},
    )
    return Claim(thread_id, row[0], row[1]) if row else None


def anyone_holds_one(cache: Cache) -> bool:
    """Whether any thread is claimed now (the Queue shows its Claim column only then)."""
    found = cache.one(
        f"SELECT 1 FROM claims WHERE expires_at > {cache.dialect.clock} LIMIT 1",
        cache.dialect.clock_parameters(),
    )
    return found is not None


def check_free(cache: Cache, thread_id: int, actor: str) -> None:
    """Raise ClaimConflict if someone else holds `thread_id` (call inside the transaction)."""
    current = holder_of(cache, thread_id)
    if current and current.holder != actor:
        raise ClaimConflict(conflict_message(thread_id, current.holder, current.expires_at))


def lock_thread(conn: Connection, thread_id: int) -> None:
    """Make sure the thread exists and, on the team database, hold its row until the
    transaction ends, so claims and decisions on one thread take turns."""
    found = conn.execute(
        dialect_of(conn).lock("SELECT 1 FROM threads WHERE id = ?"), (thread_id,)
    ).fetchone()
    if found is None:
        raise NotFound(f"There is no thread {thread_id} {dialect_of(conn).where}")


def lock_threads(conn: Connection, threads: Iterable[int], others: Iterable[int] = ()) -> None:
    """`lock_thread` for every one of `threads` and, with them, every thread of `others` that
    exists (a decision's own checks say what a missing one means), all in id order: two
    decisions that name the same threads in another order (a batch of t1 and t5 and one of t5
    and t1; t1 a duplicate of t5 and t5 of t1) take turns instead of each holding one and
    waiting for the other."""
    must = set(threads)
    lock = dialect_of(conn).lock("SELECT 1 FROM threads WHERE id = ?")
    for each in sorted(must | set(others)):
        if each in must:
            lock_thread(conn, each)
        else:
            conn.execute(lock, (each,)).fetchone()


def claim(cache: Cache, thread_id: int, who: Identity, minutes: int = 15) -> Claim:
    """Take or extend the lease on `thread_id` for `who` (audited). Its times are on the
    dialect's clock: on the team database the server's, which its row-level security judges
    takeovers by, whatever this machine's clock says."""
    require(who, "claim")
    actor = who.name
    with cache.transaction() as conn:
        lock_thread(conn, thread_id)
        check_free(cache, thread_id, actor)
        dialect = dialect_of(conn)
        at = dialect.lease_time(conn)
        expires = dialect.lease_time(conn, ahead=timedelta(minutes=minutes))
        taken = conn.execute(
            "INSERT INTO claims (thread_id, holder, claimed_at, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (thread_id) DO UPDATE SET holder = excluded.holder, "
            "claimed_at = excluded.claimed_at, expires_at = excluded.expires_at "
            "WHERE claims.expires_at <= ? OR claims.holder = excluded.holder RETURNING holder",
            (thread_id, actor, at, expires, at),
        ).fetchone()
        if taken is None:  # someone else's live claim (check_free saw it, or it just came)
            check_free(cache, thread_id, actor)
            raise ClaimConflict(f"Thread {thread_id} is claimed by someone else")
        audit.append(
            conn,
            actor=actor,
            action="claim",
            target_kind="thread",
            target_id=thread_id,
            detail={"expires_at": expires},
            os_user=who.audit_os_user,
        )
    return Claim(thread_id, actor, expires)


def release(cache: Cache, thread_id: int, who: Identity) -> bool:
    """Give up your own claim; returns whether there was one (audited when there was)."""
    require(who, "release")
    with cache.transaction() as conn:
        cursor = conn.execute(
            "DELETE FROM claims WHERE thread_id = ? AND holder = ?", (thread_id, who.name)
        )
        if cursor.rowcount == 0:
            return False
        audit.append(
            conn,
            actor=who.name,
            action="release",
            target_kind="thread",
            target_id=thread_id,
            detail={},
            os_user=who.audit_os_user,
        )
        return True
