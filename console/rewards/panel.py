"""What the Rewards panel shows, read in one go (plain Python: the screen only draws it)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from console.clock import iso, now, parse
from console.rewards import payouts
from console.rewards.periods import parse_period
from console.rewards.schedule import ScheduleError, format_minor
from console.rewards.service import Rewards
from console.words import counted

SPARK = "▁▂▃▄▅▆▇█"
ACTIVITY_DAYS = 28


def sparkline(values: list[int]) -> str:
    """One character per value, from ▁ (nothing) to █ (the most)."""
    top = max(values, default=0)
    if top <= 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(7, max(0, v) * 7 // top)] if v > 0 else " " for v in values)


@dataclass(frozen=True)
class MemberRow:
    member_id: int
    username: str
    points: int
    amount: str
    earned: int
    activity: str
    entries: int


@dataclass
class RewardsData:
    currency: str = ""
    schedule: str = ""
    period: str = ""
    members: list[MemberRow] = field(default_factory=list)
    batch: payouts.BatchView | None = None
    batches: int = 0
    lines: list[payouts.LineView] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    appeals: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""


def suggested_period(rewards: Rewards) -> str:
    """The demo's payout period, else the last month that has ended."""
    demo = rewards.cache.meta("demo_payout_period")
    if demo:
        return demo
    first = now().replace(day=1)
    last = first - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def load(rewards: Rewards, batch_id: int | None = None, limit: int = 300) -> RewardsData:
    data = RewardsData()
    try:
        schedule = rewards.schedule()
    except ScheduleError as error:
        data.problem = str(error)
        return data
    data.currency, data.schedule = schedule.currency, schedule.version
    batches = rewards.batches()
    data.batches = len(batches)
    chosen = next((b for b in batches if b.batch_id == batch_id), batches[0] if batches else None)
    data.batch = chosen
    data.period = chosen.period if chosen else suggested_period(rewards)
    span = parse_period(data.period)
    start = iso(parse(span.end) - timedelta(days=ACTIVITY_DAYS))
    for b in rewards.balances(earned_from=span.start, earned_to=span.end, limit=limit):
        activity = rewards.activity(b.member_id, start, ACTIVITY_DAYS)
        data.members.append(
            MemberRow(
                b.member_id,
                b.username,
                b.points,
                format_minor(b.amount_minor, schedule.exponent),
                b.earned_points,
                sparkline(activity),
                b.entries,
            )
        )
    if chosen is not None:
        data.lines = rewards.lines(chosen.batch_id)
        data.flags = rewards.flags(chosen.batch_id)
    data.appeals = rewards.appeals()
    return data


def evidence_text(flag: dict[str, Any]) -> str:
    """A flag's evidence as indented lines (the panel shows it as text, never as markup)."""
    return json.dumps(flag.get("evidence", {}), indent=1, ensure_ascii=False, sort_keys=True)


def batch_summary(batch: payouts.BatchView) -> tuple[str, str]:
    """The panel's two summary lines for `batch`: where it stands and who prepared it, then
    its amounts.

    Apart so that each fits 80 columns and an amount is never cut from its currency (at 80x24
    one line of both lost the held and paid amounts' currencies)."""
    heading = (
        f"Batch {batch.batch_id} {batch.period} · {batch.approval_status} · "
        f"prepared by {batch.prepared_by}"
    )
    amounts = " · ".join(
        f"{label} {batch.money(minor)}"
        for label, minor in (
            ("ready", batch.ready_minor),
            ("held", batch.held_minor),
            ("paid", batch.paid_minor),
        )
    )
    return heading, amounts


def approval_question(batch: payouts.BatchView) -> tuple[str, str]:
    """What the moderator is asked before approving `batch` (money: never on one key)."""
    ready, held = batch.counts.get("ready", 0), batch.counts.get("held", 0)
    got = len(batch.approvals)
    after = (
        "it is then approved: `e` exports the payment files"
        if got + 1 >= batch.approvals_needed
        else f"{batch.approvals_needed - got - 1} more approval needed after yours"
    )
    detail = (
        f"Pays {batch.money(batch.ready_minor)} on {counted(ready, 'ready line')}; "
        f"{counted(held, 'line')} held ({batch.money(batch.held_minor)}) are not paid. "
        f"Approval {got + 1} of {batch.approvals_needed}: {after}. Nothing is sent now."
    )
    return f"Approve payout batch {batch.batch_id} ({batch.period})?", detail


def payout_address(line: payouts.LineView) -> str:
    """A line's payout address as the panel says it (kept from readers without a payout role)."""
    if line.receiver_hidden:
        return "payout address: payout roles only"
    return line.receiver or "no payout address"
