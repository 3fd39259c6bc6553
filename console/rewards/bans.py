"""Banning a member from rewards: they stop earning, their whole balance is reversed, and their
lines in batches not yet exported are held for good (never returned to the balance)."""

from __future__ import annotations

from console.clock import now_iso
from console.errors import InvalidDecision
from console.identity import Identity
from console.rewards import actions
from console.rewards.accrue import forfeit_for_ban
from console.rewards.payouts import PREPARING, hold_for_ban
from console.rewards.schedule import Schedule
from console.roles import require
from console.storage import Connection, dialect_of


def ban(
    conn: Connection, who: Identity, schedule: Schedule, *, member_id: int, reason: str
) -> int | None:
    """Ban `member_id` from rewards; returns the reversal entry's id (None: nothing to reverse)."""
    require(who, actions.BAN)
    reason = reason.strip()
    if not reason:
        raise InvalidDecision("A ban needs a reason")
    # a ban takes turns with preparing a batch (payouts.prepare): a batch prepared meanwhile
    # reads the balance after the ban's reversal, or the ban holds the line it made
    dialect_of(conn).take_turns(conn, PREPARING)
    if conn.execute("SELECT 1 FROM reward_bans WHERE member_id = ?", (member_id,)).fetchone():
        raise InvalidDecision(f"Member {member_id} is already banned from rewards")
    conn.execute(
        "INSERT INTO reward_bans (member_id, banned_by, banned_at, reason) VALUES (?, ?, ?, ?)",
        (member_id, who.name, now_iso(), reason),
    )
    hold_for_ban(conn, who, member_id=member_id, reason=reason)  # a payout not yet approved waits
    return forfeit_for_ban(conn, member_id, schedule, reason)
