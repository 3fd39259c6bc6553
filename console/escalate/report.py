"""SLA report: breaches and median times to acknowledge and to resolve, per rule and per
moderator. An acknowledgement is breached when it came after its due time (or has not come and
the due time has passed); a resolution likewise. Dismissed escalations count for acknowledging,
not for resolving."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from statistics import median

from console.clock import iso, now, parse
from console.db import Cache
from console.escalate.engine import OPEN_STATES
from console.safe_text import clip, printable
from console.spreadsheet import spreadsheet_safe


@dataclass
class SlaLine:
    group: str  # "rule" | "moderator"
    key: str
    raised: int = 0
    open: int = 0
    dismissed: int = 0
    acknowledge_breaches: int = 0
    resolve_breaches: int = 0
    median_acknowledge_minutes: float | None = None
    median_resolve_minutes: float | None = None
    _ack: list[float] = field(default_factory=list, repr=False)
    _res: list[float] = field(default_factory=list, repr=False)

    def finish(self) -> None:
        self.median_acknowledge_minutes = round(median(self._ack), 1) if self._ack else None
        self.median_resolve_minutes = round(median(self._res), 1) if self._res else None

    def public(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass
class SlaReport:
    at: str
    total: int
    open: int
    breached_open: int
    lines: list[SlaLine]

    def to_json(self) -> str:
        return json.dumps(
            {
                "at": self.at,
                "total": self.total,
                "open": self.open,
                "breached_open": self.breached_open,
                "per_rule": [x.public() for x in self.lines if x.group == "rule"],
                "per_moderator": [x.public() for x in self.lines if x.group == "moderator"],
            },
            indent=2,
        )

    def to_csv(self) -> str:
        """The lines as CSV for a spreadsheet: each text cell (a rule id, a moderator's name)
        spreadsheet-safe, the counts and medians as numbers. Rows end in CRLF (RFC 4180), so a
        cell holding a carriage return is quoted rather than read as the end of its row."""
        out = io.StringIO()
        columns = list(self.lines[0].public()) if self.lines else ["group", "key"]
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        for line in self.lines:
            writer.writerow(
                {
                    key: spreadsheet_safe(value) if isinstance(value, str) else value
                    for key, value in line.public().items()
                }
            )
        return out.getvalue()

    def to_text(self) -> str:
        """The report for a terminal: a rule id or a moderator's name with a control character
        (an escape sequence, a line break) or an invisible one shows it as an escape (`\\x1b`),
        never sends it to the terminal."""

        def minutes(value: float | None) -> str:
            if value is None:
                return "-"
            return f"{value / 60:.1f}h" if value >= 90 else f"{value:.0f}m"

        rows = [
            f"SLA report at {self.at}: {self.total} escalations, {self.open} open, "
            f"{self.breached_open} of them breached",
            "",
        ]
        for group, title in (("rule", "rule"), ("moderator", "moderator")):
            lines = [x for x in self.lines if x.group == group]
            if not lines:
                continue
            rows.append(
                f"{title:<26} {'raised':>6} {'open':>5} {'dism.':>5} {'ack br.':>7} "
                f"{'res br.':>7} {'med ack':>8} {'med res':>8}"
            )
            for x in lines:
                key = clip(printable(x.key, single_line=True), 26)
                rows.append(
                    f"{key:<26} {x.raised:>6} {x.open:>5} {x.dismissed:>5} "
                    f"{x.acknowledge_breaches:>7} {x.resolve_breaches:>7} "
                    f"{minutes(x.median_acknowledge_minutes):>8} "
                    f"{minutes(x.median_resolve_minutes):>8}"
                )
            rows.append("")
        return "\n".join(rows).rstrip() + "\n"


def _minutes(start: str, end: str) -> float:
    return (parse(end) - parse(start)).total_seconds() / 60


def build(cache: Cache, at: datetime | None = None) -> SlaReport:
    at = at or now()
    stamp = iso(at)
    per_rule: dict[str, SlaLine] = {}
    per_mod: dict[str, SlaLine] = {}
    total = open_count = breached_open = 0
    for r in cache.query("SELECT * FROM escalations ORDER BY id"):
        total += 1
        is_open = r["state"] in OPEN_STATES
        rule = per_rule.setdefault(r["rule_id"], SlaLine("rule", r["rule_id"]))
        rule.raised += 1
        ack_at, closed_at = r["acknowledged_at"], r["closed_at"]
        ack_breach = (ack_at or stamp) > r["acknowledge_due"]
        resolved = r["state"] == "resolved"
        res_breach = r["state"] != "dismissed" and (
            (closed_at if resolved else stamp) > r["resolve_due"]
        )
        if is_open:
            open_count += 1
            rule.open += 1
            if (not ack_at and ack_breach) or (ack_at and res_breach):
                breached_open += 1
        if r["state"] == "dismissed":
            rule.dismissed += 1
        rule.acknowledge_breaches += int(ack_breach)
        rule.resolve_breaches += int(res_breach)
        if ack_at:
            took = _minutes(r["raised_at"], ack_at)
            rule._ack.append(took)
            who = r["acknowledged_by"] or "?"
            mod = per_mod.setdefault(who, SlaLine("moderator", who))
            mod._ack.append(took)
            mod.acknowledge_breaches += int(ack_breach)
        if resolved and closed_at:
            took = _minutes(r["raised_at"], closed_at)
            rule._res.append(took)
            who = r["closed_by"] or "?"
            mod = per_mod.setdefault(who, SlaLine("moderator", who))
            mod._res.append(took)
            mod.resolve_breaches += int(res_breach)
        if r["assignee"] and is_open:
            mod = per_mod.setdefault(r["assignee"], SlaLine("moderator", r["assignee"]))
            mod.open += 1
            mod.raised += 1
    lines = [*per_rule.values(), *sorted(per_mod.values(), key=lambda x: x.key)]
    for line in lines:
        line.finish()
    return SlaReport(stamp, total, open_count, breached_open, lines)
