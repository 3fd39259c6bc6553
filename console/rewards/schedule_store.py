"""The points schedules the cache has loaded: the newest is active, every version is kept.

Entries record the schedule version that produced them, so a version is loaded once: the same
version with other content is refused.
"""

from __future__ import annotations

from console.clock import now_iso
from console.db import Cache
from console.identity import Identity
from console.rewards import actions
from console.rewards.schedule import Schedule, ScheduleError, parse_schedule
from console.roles import require
from console.storage import Connection


def active_schedule(cache: Cache) -> Schedule:
    row = cache.one("SELECT version, body FROM reward_schedules ORDER BY id DESC LIMIT 1")
    if row is None:
        raise ScheduleError(
            "No points schedule is loaded: write one (see README, Rewards) and run "
            "`peerdesk ledger schedule FILE`"
        )
    return parse_schedule(str(row[1]), f"schedule {row[0]}")


def load_schedule(conn: Connection, who: Identity, schedule: Schedule) -> bool:
    """Load a schedule version (admin); False if that very version was already loaded."""
    require(who, actions.SCHEDULE_LOAD)
    return install_schedule(conn, schedule, loaded_by=who.name)


def install_schedule(conn: Connection, schedule: Schedule, *, loaded_by: str) -> bool:
    """Record a schedule version, unchecked: for the demo builder (inside its own role-checked
    operation) and tests. Everything else loads schedules with `load_schedule`."""
    known = conn.execute(
        "SELECT sha256 FROM reward_schedules WHERE version = ?", (schedule.version,)
    ).fetchone()
    if known:
        if known[0] != schedule.sha256:
            raise ScheduleError(
                f"Schedule version {schedule.version} is already loaded with other content; "
                "entries record the version, so a changed schedule needs a new version"
            )
        return False
    conn.execute(
        "INSERT INTO reward_schedules (version, body, sha256, loaded_by, loaded_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (schedule.version, schedule.text, schedule.sha256, loaded_by, now_iso()),
    )
    return True
