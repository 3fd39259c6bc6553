"""Rewards for the console and the CLI (`Desk.rewards`): reads, and every change through the door.

Each change is a domain function that takes `who` and checks its action (console.rewards.actions,
in console.roles.ACTION_ROLES); this facade runs it through the Desk's door, so the role check, the
change and its one audit entry are one transaction. Four-eyes is checked on the identities
(console.rewards.payouts.approve).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from console.db import Cache
from console.door import Door
from console.errors import NotFound
from console.files import read_given_text
from console.identity import Identity
from console.rewards import actions, bans, fraud, ledger, payouts
from console.rewards import export as exports
from console.rewards.accrue import AccrualReport, accrue_in
from console.rewards.periods import parse_period
from console.rewards.schedule import Schedule, ScheduleError, parse_schedule
from console.rewards.schedule_store import active_schedule, load_schedule

__all__ = ["Rewards", "active_schedule"]


@dataclass
class Rewards:
    cache: Cache
    door: Door  # the Desk's door: who acts, the role check, the audit entry

    @property
    def who(self) -> Identity:
        return self.door.who

    @property
    def actor(self) -> str:
        return self.door.who.name

    def can(self, action: str) -> bool:
        return self.door.can(action)

    # ---- schedule and ledger ----
    def load_schedule(self, path: Path) -> tuple[Schedule, bool]:
        self.door.check(actions.SCHEDULE_LOAD)
        try:
            text = read_given_text(Path(path))
        except (OSError, UnicodeDecodeError) as error:
            raise ScheduleError(f"Cannot read the schedule {path}: {error}") from error
        schedule = parse_schedule(text, str(path))
        new = self.door.act(
            actions.SCHEDULE_LOAD,
            lambda conn: load_schedule(conn, self.who, schedule),
            target_kind="reward_schedule",
            detail=lambda new: (
                {"version": schedule.version, "sha256": schedule.sha256} if new else None
            ),
        )
        return schedule, new

    def schedule(self) -> Schedule:
        return active_schedule(self.cache)

    def accrue(self, allow_mass_reversal: bool = False) -> AccrualReport:
        self.door.check(actions.ACCRUE)  # refused before reading (a roleless team role reads none)
        schedule = self.schedule()
        return self.door.act(
            actions.ACCRUE,
            lambda conn: accrue_in(conn, schedule, AccrualReport(), allow_mass_reversal),
            target_kind="ledger",
            detail=lambda report: (
                {
                    "accrued": report.accrued,
                    "reversed": report.reversed,
                    "schedule": schedule.version,
                }
                if report.accrued or report.reversed
                else None
            ),
        )

    def verify(self, since_head: str | None = None) -> ledger.VerifyReport:
        """`ledger.verify`; with `since_head` (ENTRY:HASH from `head`), also that entry's hash."""
        kept = ledger.parse_head(since_head) if since_head else None
        return ledger.verify(self.cache, kept)

    def head(self) -> ledger.Head:
        return ledger.head(self.cache)

    def balances(self, **kw: Any) -> list[ledger.Balance]:
        return ledger.balances(self.cache, **kw)

    def member_id(self, name_or_id: str) -> int:
        text = name_or_id.strip().lstrip("#")
        row = self.cache.one("SELECT id FROM members WHERE username = ? LIMIT 1", (text,))
        if row is None and text.isdecimal() and int(text) < 2**63:
            row = self.cache.one("SELECT id FROM members WHERE id = ?", (int(text),))
        if row is None:
            raise NotFound(f"There is no member {name_or_id!r}")
        return int(row[0])

    def member_name(self, member_id: int) -> str:
        row = self.cache.one("SELECT username FROM members WHERE id = ?", (member_id,))
        return str(row[0]) if row else f"#{member_id}"

    def lines_of(self, member_id: int, limit: int = 500) -> list[dict[str, Any]]:
        return ledger.entries_of(self.cache, member_id, limit)

    def member_lines(self, member_id: int, limit: int = 500) -> ledger.MemberLedger:
        return ledger.member_lines(self.cache, member_id, limit=limit)

    def balance(self, member_id: int) -> tuple[int, int]:
        return ledger.balance(self.cache, member_id)

    def activity(self, member_id: int, start: str, days: int) -> list[int]:
        return ledger.daily_points(self.cache, member_id, start, days)

    def ban(self, member_id: int, reason: str) -> int | None:
        """Stop a member earning and reverse their whole balance (one entry); audited."""
        self.door.check(actions.BAN)
        schedule = self.schedule()
        return self.door.act(
            actions.BAN,
            lambda conn: bans.ban(conn, self.who, schedule, member_id=member_id, reason=reason),
            target_kind="member",
            target_id=member_id,
            detail=lambda entry: {"reason": reason.strip(), "ledger_entry": entry},
        )

    def checks(self, period: str) -> fraud.CheckRun:
        span = parse_period(period)
        return fraud.run_checks(self.cache.conn, span.start, span.end)

    # ---- payouts ----
    def prepare(self, period: str, threshold_points: int | None = None) -> payouts.BatchView:
        self.door.check(actions.PREPARE)
        schedule = self.schedule()
        prepared = self.door.act(
            actions.PREPARE,
            lambda conn: payouts.prepare(
                conn, self.who, schedule, period=period, threshold_points=threshold_points
            ),
            target_kind="payout_batch",
            target_id=lambda done: done.batch_id,
            detail=lambda done: done.detail,
        )
        return payouts.batch_view(self.cache, prepared.batch_id)

    def batches(self) -> list[payouts.BatchView]:
        return payouts.batches(self.cache)

    def batch(self, batch_id: int) -> payouts.BatchView:
        return payouts.batch_view(self.cache, batch_id)

    def lines(self, batch_id: int, **kw: Any) -> list[payouts.LineView]:
        """The batch's lines; a line's payout address (an email or a phone number) only for the
        roles that pay it, as on the team database, whose grants keep it from the others."""
        found = payouts.lines(self.cache, batch_id, **kw)
        if self.can(actions.EXPORT):
            return found
        return [replace(line, receiver=None, receiver_hidden=True) for line in found]

    def flags(self, batch_id: int) -> list[dict[str, Any]]:
        return payouts.flags(self.cache, batch_id)

    def _line_state(self, line_id: int, hold: bool, reason: str) -> None:
        self.door.act(
            actions.HOLD if hold else actions.RELEASE,
            lambda conn: payouts.set_line_state(
                conn, self.who, line_id=line_id, hold=hold, reason=reason
            ),
            target_kind="payout_line",
            target_id=line_id,
            detail=lambda detail: detail,
        )

    def hold(self, line_id: int, reason: str) -> None:
        self._line_state(line_id, True, reason)

    def release(self, line_id: int, reason: str) -> None:
        self._line_state(line_id, False, reason)

    def approve(self, batch_id: int, seen: str | None = None) -> str:
        """Approve the batch; with `seen` (`BatchView.seen` as shown), only if it is unchanged."""
        outcome = self.door.act(
            actions.APPROVE,
            lambda conn: payouts.approve(conn, self.who, batch_id=batch_id, seen=seen),
            target_kind="payout_batch",
            target_id=batch_id,
            detail=lambda done: done.detail,
        )
        return outcome.text

    def export(
        self, batch_id: int, csv_path: Path | None, json_path: Path | None
    ) -> exports.Export:
        self.door.check(actions.EXPORT)
        # a member banned since the approval is not paid: their lines are held first, in a
        # transaction of their own with its audit entry (payout_hold), and the export says so
        held = self.door.act(
            actions.HOLD,
            lambda conn: payouts.hold_banned(conn, self.who, batch_id=batch_id),
            target_kind="payout_batch",
            target_id=batch_id,
            detail=lambda detail: detail,
        )
        made = exports.write(
            self.cache.conn, self.who, batch_id=batch_id, csv_path=csv_path, json_path=json_path
        )
        if held:
            made = replace(made, held=tuple(zip(held["lines"], held["members"], strict=True)))
        try:
            self.door.act(
                actions.EXPORT,
                lambda conn: exports.record(conn, self.who, batch_id=batch_id, made=made),
                target_kind="payout_batch",
                target_id=batch_id,
                detail=lambda detail: detail,
            )
        except exports.ChangedWhileWritten:  # not what the batch pays: never to be sent
            for path in (csv_path, json_path):
                if path is not None:
                    Path(path).unlink(missing_ok=True)
            raise
        return made

    def mark_results(self, batch_id: int, path: Path) -> dict[str, int]:
        self.door.check(actions.MARK_PAID)
        results = exports.read_results(path)
        outcome = self.door.act(
            actions.MARK_PAID,
            lambda conn: exports.mark_results(conn, self.who, batch_id=batch_id, results=results),
            target_kind="payout_batch",
            target_id=batch_id,
            detail=lambda done: done.detail,
        )
        return {k: int(v) for k, v in outcome.detail.items() if k != "file"}

    def appeal(self, line_id: int, text: str) -> int:
        appealed = self.door.act(
            actions.APPEAL,
            lambda conn: payouts.appeal(conn, self.who, line_id=line_id, text=text),
            target_kind="payout_line",
            target_id=line_id,
            detail=lambda done: done.detail,
        )
        return appealed.appeal_id

    def decide_appeal(self, appeal_id: int, uphold: bool, reason: str) -> str:
        outcome = self.door.act(
            actions.APPEAL_DECIDE,
            lambda conn: payouts.decide_appeal(
                conn, self.who, appeal_id=appeal_id, uphold=uphold, reason=reason
            ),
            target_kind="payout_line",
            target_id=lambda done: done.target_id,
            detail=lambda done: done.detail,
        )
        return outcome.text

    def appeals(self, open_only: bool = False) -> list[dict[str, Any]]:
        return payouts.appeals(self.cache, open_only=open_only)
