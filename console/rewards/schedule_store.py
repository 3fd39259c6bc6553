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
    """Load a schedule version (admin); False if that very version was already loaded (with
    its terms: see install_schedule)."""
    require(who, actions.SCHEDULE_LOAD)
    return install_schedule(conn, schedule, loaded_by=who.name)


def install_schedule(conn: Connection, schedule: Schedule, *, loaded_by: str) -> bool:
    """Record a schedule version, unchecked: for the demo builder (inside its own role-checked
    operation) and tests. Everything else loads schedules with `load_schedule`.

    Its terms are written as rows too (`record_terms`): the team database checks every accrual
    against them. Loading a version again writes the terms it lacks (one loaded before they
    were kept) and nothing else. True if anything was written (so the load is audited)."""
    known = conn.execute(
        "SELECT sha256 FROM reward_schedules WHERE version = ?", (schedule.version,)
    ).fetchone()
    if known:
        if known[0] != schedule.sha256:
            raise ScheduleError(
                f"Schedule version {schedule.version} is already loaded with other content; "
                "entries record the version, so a changed schedule needs a new version"
            )
        return record_terms(conn, schedule)
    conn.execute(
        "INSERT INTO reward_schedules (version, body, sha256, loaded_by, loaded_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (schedule.version, schedule.text, schedule.sha256, loaded_by, now_iso()),
    )
    record_terms(conn, schedule)
    return True


def record_terms(conn: Connection, schedule: Schedule) -> bool:
    """Write `schedule`'s terms (reward_schedule_terms, one reward_schedule_points row per
    rule) unless its version has them; whether it wrote them. On the team database only an
    admin may (console/team/grants.sql), and they are never changed."""
    if conn.execute(
        "SELECT 1 FROM reward_schedule_terms WHERE version = ?", (schedule.version,)
    ).fetchone():
        return False
    conn.execute(
        "INSERT INTO reward_schedule_terms (version, currency, point_value_minor, cap_per_day, "
        "cap_per_thread, threshold_points, second_approver_over_minor) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            schedule.version,
            schedule.currency,
            schedule.point_value_minor,
            schedule.cap_per_day,
            schedule.cap_per_thread,
            schedule.threshold_points,
            schedule.second_approver_over_minor,
        ),
    )
    conn.executemany(
        "INSERT INTO reward_schedule_points (version, rule, points) VALUES (?, ?, ?)",
        [(schedule.version, rule, points) for rule, points in sorted(schedule.points.items())],
    )
    return True


def fill_missing_terms(conn: Connection) -> list[str]:
    """The terms of every loaded schedule that lacks them (loaded before migration 23), read
    from its TOML; the versions filled in. A body that no longer parses is left out (its
    accruals are then refused on the team database until an admin loads a good version)."""
    filled: list[str] = []
    rows = conn.execute(
        "SELECT s.version, s.body FROM reward_schedules s WHERE NOT EXISTS "
        "(SELECT 1 FROM reward_schedule_terms t WHERE t.version = s.version) ORDER BY s.id"
    ).fetchall()
    for version, body in rows:
        try:
            schedule = parse_schedule(str(body), f"schedule {version}")
        except ScheduleError:
            continue
        if schedule.version == version and record_terms(conn, schedule):
            filled.append(str(version))
    return filled
