"""The one door to rewards for the console and the CLI: who is acting, with which roles.

`Desk.rewards` hands out a `Rewards` for the Desk's actor; every method checks the role in the
domain (console.rewards.permissions) and four-eyes on the identities (console.rewards.payouts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console import audit
from console.clock import now_iso
from console.db import Cache
from console.errors import InvalidDecision, NotFound
from console.models import Role
from console.rewards import export as exports
from console.rewards import fraud, ledger, payouts
from console.rewards.accrue import AccrualReport, accrue, forfeit_for_ban
from console.rewards.periods import parse_period
from console.rewards.permissions import may, require
from console.rewards.schedule import Schedule, ScheduleError, parse_schedule


def active_schedule(cache: Cache) -> Schedule:
    row = cache.one("SELECT version, body FROM reward_schedules ORDER BY id DESC LIMIT 1")
    if row is None:
        raise ScheduleError(
            "No points schedule is loaded: write one (see README, Rewards) and run "
            "`peerdesk ledger schedule FILE`"
        )
    return parse_schedule(str(row[1]), f"schedule {row[0]}")


def store_schedule(cache: Cache, schedule: Schedule, actor: str) -> bool:
    """Record a schedule version; the same version with other content is refused."""
    with cache.transaction() as conn:
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
            (schedule.version, schedule.text, schedule.sha256, actor, now_iso()),
        )
        audit.append(
            conn,
            actor=actor,
            action="reward_schedule_load",
            target_kind="reward_schedule",
            target_id=None,
            detail={"version": schedule.version, "sha256": schedule.sha256},
        )
    return True


@dataclass
class Rewards:
    cache: Cache
    actor: str
    roles: frozenset[Role]

    def can(self, action: str) -> bool:
        return may(self.roles, action)

    # ---- schedule and ledger ----
    def load_schedule(self, path: Path) -> tuple[Schedule, bool]:
        require(self.actor, self.roles, "schedule_load")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ScheduleError(f"Cannot read the schedule {path}: {error}") from error
        schedule = parse_schedule(text, str(path))
        return schedule, store_schedule(self.cache, schedule, self.actor)

    def schedule(self) -> Schedule:
        return active_schedule(self.cache)

    def accrue(self, allow_mass_reversal: bool = False) -> AccrualReport:
        require(self.actor, self.roles, "ledger_accrue")
        return accrue(
            self.cache,
            self.schedule(),
            actor=self.actor,
            allow_mass_reversal=allow_mass_reversal,
        )

    def verify(self) -> ledger.VerifyReport:
        return ledger.verify(self.cache)

    def balances(self, **kw: Any) -> list[ledger.Balance]:
        return ledger.balances(self.cache, **kw)

    def member_id(self, name_or_id: str) -> int:
        text = name_or_id.strip().lstrip("#")
        row = self.cache.one("SELECT id FROM members WHERE username = ? LIMIT 1", (text,))
        if row is None and text.isdigit():
            row = self.cache.one("SELECT id FROM members WHERE id = ?", (int(text),))
        if row is None:
            raise NotFound(f"There is no member {name_or_id!r}")
        return int(row[0])

    def member_name(self, member_id: int) -> str:
        row = self.cache.one("SELECT username FROM members WHERE id = ?", (member_id,))
        return str(row[0]) if row else f"#{member_id}"

    def lines_of(self, member_id: int, limit: int = 500) -> list[dict[str, Any]]:
        return ledger.entries_of(self.cache, member_id, limit)

    def balance(self, member_id: int) -> tuple[int, int]:
        return ledger.balance(self.cache, member_id)

    def activity(self, member_id: int, start: str, days: int) -> list[int]:
        return ledger.daily_points(self.cache, member_id, start, days)

    def ban(self, member_id: int, reason: str) -> int | None:
        """Stop a member earning and reverse their whole balance (one entry); audited."""
        require(self.actor, self.roles, "reward_ban")
        if not reason.strip():
            raise InvalidDecision("A ban needs a reason")
        schedule = self.schedule()
        with self.cache.transaction() as conn:
            if conn.execute(
                "SELECT 1 FROM reward_bans WHERE member_id = ?", (member_id,)
            ).fetchone():
                raise InvalidDecision(f"Member {member_id} is already banned from rewards")
            conn.execute(
                "INSERT INTO reward_bans (member_id, banned_by, banned_at, reason) "
                "VALUES (?, ?, ?, ?)",
                (member_id, self.actor, now_iso(), reason.strip()),
            )
            entry = forfeit_for_ban(conn, member_id, schedule, reason.strip())
            audit.append(
                conn,
                actor=self.actor,
                action="reward_ban",
                target_kind="member",
                target_id=member_id,
                detail={"reason": reason.strip(), "ledger_entry": entry},
            )
        return entry

    def checks(self, period: str) -> fraud.CheckRun:
        span = parse_period(period)
        return fraud.run_checks(self.cache.conn, span.start, span.end)

    # ---- payouts ----
    def prepare(self, period: str, threshold_points: int | None = None) -> payouts.BatchView:
        batch_id = payouts.prepare(
            self.cache,
            self.schedule(),
            actor=self.actor,
            roles=self.roles,
            period=period,
            threshold_points=threshold_points,
        )
        return payouts.batch_view(self.cache, batch_id)

    def batches(self) -> list[payouts.BatchView]:
        return payouts.batches(self.cache)

    def batch(self, batch_id: int) -> payouts.BatchView:
        return payouts.batch_view(self.cache, batch_id)

    def lines(self, batch_id: int, **kw: Any) -> list[payouts.LineView]:
        return payouts.lines(self.cache, batch_id, **kw)

    def flags(self, batch_id: int) -> list[dict[str, Any]]:
        return payouts.flags(self.cache, batch_id)

    def hold(self, line_id: int, reason: str) -> None:
        payouts.set_line_state(
            self.cache,
            actor=self.actor,
            roles=self.roles,
            line_id=line_id,
            hold=True,
            reason=reason,
        )

    def release(self, line_id: int, reason: str) -> None:
        payouts.set_line_state(
            self.cache,
            actor=self.actor,
            roles=self.roles,
            line_id=line_id,
            hold=False,
            reason=reason,
        )

    def approve(self, batch_id: int) -> str:
        return payouts.approve(self.cache, actor=self.actor, roles=self.roles, batch_id=batch_id)

    def export(
        self, batch_id: int, csv_path: Path | None, json_path: Path | None
    ) -> exports.Export:
        return exports.export(
            self.cache,
            actor=self.actor,
            roles=self.roles,
            batch_id=batch_id,
            csv_path=csv_path,
            json_path=json_path,
        )

    def mark_results(self, batch_id: int, path: Path) -> dict[str, int]:
        return exports.mark_results(
            self.cache, actor=self.actor, roles=self.roles, batch_id=batch_id, path=path
        )

    def appeal(self, line_id: int, text: str) -> int:
        return payouts.appeal(
            self.cache, actor=self.actor, roles=self.roles, line_id=line_id, text=text
        )

    def decide_appeal(self, appeal_id: int, uphold: bool, reason: str) -> str:
        return payouts.decide_appeal(
            self.cache,
            actor=self.actor,
            roles=self.roles,
            appeal_id=appeal_id,
            uphold=uphold,
            reason=reason,
        )

    def appeals(self, open_only: bool = False) -> list[dict[str, Any]]:
        return payouts.appeals(self.cache, open_only=open_only)
