"""Payout batches: prepare, hold and release lines, four-eyes approval, export, results.

- prepare: one transaction. The ledger is brought up to date, every member whose payable balance
  for the period reaches the threshold gets a line and a `payout` ledger entry (so the same money
  can never be put in a second batch), the fraud checks run and every flagged line is held with
  its evidence. A second batch for the same period, or a period before or overlapping one already
  batched, is refused.
- hold / release a line with a reason, only before the first approval.
- approve: never by the preparer; a batch paying more than the schedule's amount needs two
  different approvers. When approved, held lines are returned to the members' balances, except
  a banned member's: it stays held (a ban only takes money out; README "A ban only takes money
  out").
- export: CSV and PayPal-Payouts-shaped JSON (the batch id is `sender_batch_id`), written
  atomically; byte-identical every time (the first export's SHA-256 is kept and checked).
- mark paid / failed from the provider's result file: refused whole if it names unknown lines,
  different amounts or another batch; a failed line's money is returned to the member (not to
  a member banned from rewards).

Every function that changes something takes `who` (an Identity from console.identity.establish),
checks its action with `roles.require(who, ...)` and runs inside the caller's transaction: the
Desk runs it through its door (console.door), which writes the one audit entry with the detail
the function returns. Nothing here takes a name or roles from its caller.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.clock import PAUSE_ENV, now_iso
from console.db import Cache
from console.errors import InvalidDecision, NotFound
from console.identity import Identity, same_person
from console.member_links import linked_accounts
from console.rewards import actions
from console.rewards.accrue import AccrualReport, accrue_in
from console.rewards.fraud import CHECKS, run_checks
from console.rewards.ledger import Appender, Entry, digest
from console.rewards.periods import parse_period
from console.rewards.schedule import Schedule, format_minor
from console.roles import require
from console.storage import Connection, Row, dialect_of

NO_ADDRESS = "no_payout_address"
PREPARING = "payout_prepare"  # what preparing a batch and a ban take turns on


@dataclass(frozen=True)
class LineView:
    line_id: int
    member_id: int
    username: str
    points: int
    amount_minor: int
    state: str
    receiver: str | None
    flags: list[dict[str, Any]]
    history: list[dict[str, Any]]
    receiver_hidden: bool = False  # a payout address kept from a reader without a payout role


@dataclass(frozen=True)
class BatchView:
    batch_id: int
    period: str
    period_start: str
    period_end: str
    currency: str
    exponent: int
    schedule_version: str
    threshold_points: int
    second_approver_over_minor: int
    state: str
    prepared_by: str
    prepared_at: str
    approvals: list[tuple[str, str]]
    approvals_needed: int
    lines: int
    ready_minor: int
    held_minor: int
    paid_minor: int
    failed_minor: int
    returned_minor: int
    counts: dict[str, int]
    export_sha256: str | None
    seen: str = ""  # the lines as read (`lines_digest`): what an approval of this view approves

    @property
    def sender_batch_id(self) -> str:
        return sender_batch_id(self.batch_id, self.period)

    def money(self, minor: int) -> str:
        return f"{format_minor(minor, self.exponent)} {self.currency}"

    @property
    def approval_status(self) -> str:
        if self.state != "prepared":
            return f"{self.state} (approved by {', '.join(a for a, _ in self.approvals)})"
        got = len(self.approvals)
        return f"awaiting approval: {got} of {self.approvals_needed}"


def sender_batch_id(batch_id: int, period: str) -> str:
    return f"peerdesk-{period}-batch-{batch_id}"


def _pause(point: str) -> None:
    """Test hook for the kill -9 tests: with PEERDESK_TEST_PAUSE_AT=point, say so and wait
    (only on a cache the account owns: `identity.establish` refuses it elsewhere)."""
    if os.environ.get(PAUSE_ENV) == point:
        marker = os.environ.get("PEERDESK_TEST_PAUSE_FILE")
        if marker:
            with open(marker, "w", encoding="utf-8") as out:
                out.write(point)
        time.sleep(60)


# ---- prepare ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    batch_id: int
    detail: dict[str, Any]


def prepare(
    conn: Connection,
    who: Identity,
    schedule: Schedule,
    *,
    period: str,
    threshold_points: int | None = None,
    checks: tuple[str, ...] = CHECKS,
) -> Prepared:
    """Bring the ledger up to date and prepare the period's batch, in the caller's transaction."""
    require(who, actions.PREPARE)
    span = parse_period(period)
    if span.end > now_iso():
        raise InvalidDecision(
            f"Period {span.name} ends {span.end[:10]}: prepare its batch once it has ended"
        )
    threshold = schedule.threshold_points if threshold_points is None else threshold_points
    if threshold < 1:
        raise InvalidDecision("The threshold must be at least 1 point")
    # two preparers take turns (and a ban, console.rewards.bans): the second reads the
    # balances after the first's payout entries or the ban's reversal (on the team database
    # the same points would otherwise be paid twice, one batch each, or a banned member's
    # money taken twice) and its batches (a period paid or overlapped meanwhile is refused)
    dialect_of(conn).take_turns(conn, PREPARING)
    accrued = accrue_in(conn, schedule, AccrualReport())
    existing = conn.execute(
        "SELECT id FROM payout_batches WHERE period = ?", (span.name,)
    ).fetchone()
    if existing:
        raise InvalidDecision(
            f"Period {span.name} already has a batch (batch {existing[0]}); a period is paid once"
        )
    later = conn.execute(
        "SELECT id, period FROM payout_batches WHERE period_end > ? ORDER BY id LIMIT 1",
        (span.start,),
    ).fetchone()
    if later:
        raise InvalidDecision(
            f"Batch {later[0]} for {later[1]} already covers time after {span.start[:10]}; "
            "periods are paid in order and never overlap"
        )
    now = now_iso()
    cursor = conn.execute(
        "INSERT INTO payout_batches (period, period_start, period_end, currency, "
        "schedule_version, threshold_points, second_approver_over_minor, prepared_by, "
        "prepared_os_user, prepared_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            span.name,
            span.start,
            span.end,
            schedule.currency,
            schedule.version,
            threshold,
            schedule.second_approver_over_minor,
            who.name,
            who.os_user,
            now,
        ),
    )
    batch_id = int(cursor.fetchone()[0])
    payable = _payable(conn, span.end, threshold)
    run = run_checks(conn, span.start, span.end, checks)
    flagged = run.by_member()
    # set-based: every line in one statement, their ids by member, every payout entry in one
    conn.executemany(
        "INSERT INTO payout_lines (batch_id, member_id, points, amount_minor, state, "
        "recipient_type, receiver) VALUES (?, ?, ?, ?, 'ready', ?, ?)",
        [
            (batch_id, m, pts, amount, rtype, receiver)
            for m, pts, amount, rtype, receiver in payable
        ],
    )
    line_of = {
        int(r[0]): int(r[1])
        for r in conn.execute(
            "SELECT member_id, id FROM payout_lines WHERE batch_id = ?", (batch_id,)
        )
    }
    Appender(conn).append_new(
        [
            Entry(
                member_id=int(member),
                kind="payout",
                rule="payout",
                event_key=f"line:{line_of[int(member)]}",
                points=-int(points),
                amount_minor=-int(amount),
                currency=schedule.currency,
                schedule_version=schedule.version,
                occurred_at=span.end,
                line_id=line_of[int(member)],
                detail={"batch": batch_id, "period": span.name},
            )
            for member, points, amount, _rtype, _receiver in payable
        ]
    )
    _pause("prepare:lines")  # the lines and their payout entries written, not committed
    total = sum(int(row[2]) for row in payable)
    held = 0
    for member, _points, _amount, _rtype, receiver in payable:
        line_id = line_of[int(member)]
        reasons = [f.summary for f in flagged.get(int(member), [])]
        if receiver is None:
            conn.execute(
                "INSERT INTO payout_flags (batch_id, line_id, member_id, check_name, summary, "
                "evidence) VALUES (?, ?, ?, ?, ?, '{}')",
                (batch_id, line_id, member, NO_ADDRESS, "no payout address on file"),
            )
            reasons.append("no payout address on file")
        if reasons:
            held += 1
            conn.execute("UPDATE payout_lines SET state = 'held' WHERE id = ?", (line_id,))
            _history(conn, line_id, "hold", "peerdesk", "; ".join(reasons), now)
    conn.executemany(
        "INSERT INTO payout_flags (batch_id, line_id, member_id, check_name, "
        "summary, evidence) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
            (
                batch_id,
                line_of.get(flag.member_id),
                flag.member_id,
                flag.check,
                flag.summary,
                flag.evidence_json(),
            )
            for flag in run.flags
        ],
    )
    detail = {
        "period": span.name,
        "lines": len(payable),
        "total_minor": total,
        "currency": schedule.currency,
        "threshold_points": threshold,
        "flags": len(run.flags),
        "held": held,
        "checks_skipped": run.skipped,
        "accrued": accrued.accrued,
        "reversed": accrued.reversed,
    }
    return Prepared(batch_id, detail)


def _payable(conn: Connection, end: str, threshold: int) -> list[Row]:
    """(member, points, amount, recipient type, receiver) of every member to pay at `end`."""
    return conn.execute(
        # Accruals after the period wait for the next one; every reversal, payout and
        # return counts at once, so money taken back before the batch is never paid out.
        "SELECT member_id, pay_points, pay_amount, recipient_type, receiver FROM ("
        "SELECT l.member_id, sum(CASE WHEN l.kind = 'accrual' AND l.occurred_at >= :end "
        "THEN 0 ELSE l.points END) AS pay_points, sum(CASE WHEN l.kind = 'accrual' AND "
        "l.occurred_at >= :end THEN 0 ELSE l.amount_minor END) AS pay_amount, "
        "y.recipient_type, y.receiver FROM ledger l "
        "LEFT JOIN reward_payees y ON y.member_id = l.member_id "
        "WHERE l.member_id NOT IN (SELECT member_id FROM reward_bans) "
        "GROUP BY l.member_id, y.recipient_type, y.receiver) p "
        "WHERE pay_points >= :threshold AND pay_amount > 0 ORDER BY member_id",
        {"end": end, "threshold": threshold},
    ).fetchall()


def _history(conn: Connection, line_id: int, action: str, actor: str, reason: str, at: str) -> None:
    conn.execute(
        "INSERT INTO payout_line_history (line_id, action, actor, reason, at) "
        "VALUES (?, ?, ?, ?, ?)",
        (line_id, action, actor, reason, at),
    )


# ---- reading ------------------------------------------------------------------------------


def _batch_row(conn: Connection, batch_id: int, *, lock: bool = False) -> Row:
    select = "SELECT * FROM payout_batches WHERE id = ?"
    row: Row | None = conn.execute(
        dialect_of(conn).lock(select) if lock else select, (batch_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no payout batch {batch_id}")
    return row


def _approvals_needed(conn: Connection, batch: Row) -> int:
    ready = conn.execute(
        "SELECT coalesce(sum(amount_minor), 0) FROM payout_lines "
        "WHERE batch_id = ? AND state != 'held' AND state != 'returned'",
        (batch["id"],),
    ).fetchone()[0]
    return 2 if int(ready) > int(batch["second_approver_over_minor"]) else 1


def batch_view(cache: Cache, batch_id: int) -> BatchView:
    from console.rewards.schedule import CURRENCY_EXPONENT

    conn = cache.conn
    row = _batch_row(conn, batch_id)
    sums = {
        str(r[0]): (int(r[1]), int(r[2]))
        for r in conn.execute(
            "SELECT state, count(*), sum(amount_minor) FROM payout_lines WHERE batch_id = ? "
            "GROUP BY state",
            (batch_id,),
        )
    }
    approvals = [
        (str(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT approver, approved_at FROM payout_approvals WHERE batch_id = ? "
            "ORDER BY approved_at, approver",
            (batch_id,),
        )
    ]
    return BatchView(
        batch_id=batch_id,
        period=row["period"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        currency=row["currency"],
        exponent=CURRENCY_EXPONENT.get(row["currency"], 2),
        schedule_version=row["schedule_version"],
        threshold_points=row["threshold_points"],
        second_approver_over_minor=row["second_approver_over_minor"],
        state=row["state"],
        prepared_by=row["prepared_by"],
        prepared_at=row["prepared_at"],
        approvals=approvals,
        approvals_needed=_approvals_needed(conn, row),
        lines=sum(c for c, _ in sums.values()),
        ready_minor=sums.get("ready", (0, 0))[1],
        held_minor=sums.get("held", (0, 0))[1],
        paid_minor=sums.get("paid", (0, 0))[1],
        failed_minor=sums.get("failed", (0, 0))[1],
        returned_minor=sums.get("returned", (0, 0))[1],
        counts={k: c for k, (c, _) in sums.items()},
        export_sha256=row["export_sha256"],
        seen=lines_digest(conn, batch_id),
    )


def lines_digest(conn: Connection, batch_id: int) -> str:
    """A digest of the batch's lines as they stand: whom each pays, how much, and whether it is
    held. An approver approves the batch they saw (`approve(seen=...)`), not one a preparer
    changed in the meantime."""
    digest = hashlib.sha256()
    for row in conn.execute(
        "SELECT id, member_id, points, amount_minor, state FROM payout_lines "
        "WHERE batch_id = ? ORDER BY id",
        (batch_id,),
    ):
        digest.update(("|".join(str(value) for value in row) + "\n").encode())
    return digest.hexdigest()


def batches(cache: Cache) -> list[BatchView]:
    return [
        batch_view(cache, int(r[0]))
        for r in cache.query("SELECT id FROM payout_batches ORDER BY id DESC")
    ]


def lines(
    cache: Cache, batch_id: int, *, states: tuple[str, ...] | None = None, limit: int = 100_000
) -> list[LineView]:
    _batch_row(cache.conn, batch_id)
    where = "l.batch_id = ?"
    params: list[Any] = [batch_id]
    if states:
        where += f" AND l.state IN ({','.join('?' * len(states))})"
        params.extend(states)
    rows = cache.query(
        "SELECT l.id, l.member_id, coalesce(m.username, '#' || l.member_id), l.points, "
        "l.amount_minor, l.state, l.receiver FROM payout_lines l "
        f"LEFT JOIN members m ON m.id = l.member_id WHERE {where} "
        "ORDER BY (l.state = 'held') DESC, l.amount_minor DESC, l.id LIMIT ?",
        (*params, limit),
    )
    flags: dict[int, list[dict[str, Any]]] = {}
    for f in cache.query(
        "SELECT line_id, check_name, summary, evidence FROM payout_flags "
        "WHERE batch_id = ? AND line_id IS NOT NULL ORDER BY id",
        (batch_id,),
    ):
        flags.setdefault(int(f[0]), []).append(
            {"check": f[1], "summary": f[2], "evidence": _json(f[3])}
        )
    history: dict[int, list[dict[str, Any]]] = {}
    for h in cache.query(
        "SELECT h.line_id, h.action, h.actor, h.reason, h.at FROM payout_line_history h "
        "JOIN payout_lines l ON l.id = h.line_id WHERE l.batch_id = ? ORDER BY h.id",
        (batch_id,),
    ):
        history.setdefault(int(h[0]), []).append(
            {"action": h[1], "actor": h[2], "reason": h[3], "at": h[4]}
        )
    return [
        LineView(
            int(r[0]),
            int(r[1]),
            str(r[2]),
            int(r[3]),
            int(r[4]),
            str(r[5]),
            r[6],
            flags.get(int(r[0]), []),
            history.get(int(r[0]), []),
        )
        for r in rows
    ]


def flags(cache: Cache, batch_id: int) -> list[dict[str, Any]]:
    """Every flag of the batch, on a line or not (a flagged member below the threshold)."""
    rows = cache.query(
        "SELECT f.id, f.line_id, f.member_id, coalesce(m.username, '#' || f.member_id), "
        "f.check_name, f.summary, f.evidence, l.state FROM payout_flags f "
        "LEFT JOIN members m ON m.id = f.member_id LEFT JOIN payout_lines l ON l.id = f.line_id "
        "WHERE f.batch_id = ? ORDER BY f.check_name, f.member_id",
        (batch_id,),
    )
    return [
        {
            "flag_id": r[0],
            "line_id": r[1],
            "member_id": r[2],
            "member": r[3],
            "check": r[4],
            "summary": r[5],
            "evidence": _json(r[6]),
            "line_state": r[7],
        }
        for r in rows
    ]


def _json(text: str) -> Any:
    import json

    return json.loads(text)


# ---- hold, release, appeals -------------------------------------------------------------


def _line_for_change(conn: Connection, line_id: int, *, lock: bool = False) -> tuple[Row, Row]:
    """The line and its batch. With `lock` (to change the line's state) the batch's row is
    locked first, as `approve` locks it, and the line read again after: a hold or a release
    waits for an approval being written and sees it (on the team database it would otherwise
    go through past it, a held line left in an approved batch)."""
    select = "SELECT * FROM payout_lines WHERE id = ?"
    line = conn.execute(select, (line_id,)).fetchone()
    if line is None:
        raise NotFound(f"There is no payout line {line_id}")
    batch = _batch_row(conn, int(line["batch_id"]), lock=lock)
    if lock:
        line = conn.execute(select, (line_id,)).fetchone()
    return line, batch


def _frozen(conn: Connection, batch: Row) -> str | None:
    if batch["state"] != "prepared":
        return f"batch {batch['id']} is {batch['state']}"
    approvers = dialect_of(conn).joined("approver", "', '")
    got = conn.execute(
        f"SELECT {approvers} FROM payout_approvals WHERE batch_id = ?",
        (batch["id"],),
    ).fetchone()[0]
    if got:
        return f"batch {batch['id']} already has an approval (by {got})"
    return None


def set_line_state(
    conn: Connection, who: Identity, *, line_id: int, hold: bool, reason: str
) -> dict[str, Any]:
    """Hold (or release) a line with a reason, before the batch's first approval."""
    require(who, actions.HOLD if hold else actions.RELEASE)
    reason = reason.strip()
    if not reason:
        raise InvalidDecision(f"{'Holding' if hold else 'Releasing'} a line needs a reason")
    line, batch = _line_for_change(conn, line_id, lock=True)
    frozen = _frozen(conn, batch)
    if frozen:
        raise InvalidDecision(f"Line {line_id} cannot change: {frozen}")
    want_from, want_to = ("ready", "held") if hold else ("held", "ready")
    if line["state"] != want_from:
        raise InvalidDecision(f"Line {line_id} is {line['state']}, not {want_from}")
    conn.execute("UPDATE payout_lines SET state = ? WHERE id = ?", (want_to, line_id))
    _history(conn, line_id, "hold" if hold else "release", who.name, reason, now_iso())
    return {"batch": int(batch["id"]), "reason": reason, "before": line["state"]}


def hold_for_ban(conn: Connection, who: Identity, *, member_id: int, reason: str) -> int:
    """Hold every line paying `member_id` in a batch not yet exported (prepared, whatever
    approvals it has, or approved: a ban only takes money out); returns how many. The lines
    stay held: their money never goes back to a banned member's balance (`_return_held`), and
    a banned member is never in a batch again. Once exported, the provider has the line."""
    require(who, actions.BAN)
    # the batches first, locked as an export's record locks them: a batch being recorded
    # exported is waited for and then left alone (the provider has its file)
    conn.execute(
        dialect_of(conn).lock(
            "SELECT b.id FROM payout_batches b WHERE b.state IN ('prepared', 'approved') "
            "AND b.id IN (SELECT batch_id FROM payout_lines WHERE member_id = ? "
            "AND state = 'ready') ORDER BY b.id"
        ),
        (member_id,),
    ).fetchall()
    lines = [
        int(r[0])
        for r in conn.execute(
            "SELECT l.id FROM payout_lines l JOIN payout_batches b ON b.id = l.batch_id "
            "WHERE l.member_id = ? AND l.state = 'ready' AND b.state IN ('prepared', 'approved') "
            "ORDER BY l.id",
            (member_id,),
        )
    ]
    now = now_iso()
    for line_id in lines:
        conn.execute("UPDATE payout_lines SET state = 'held' WHERE id = ?", (line_id,))
        _history(conn, line_id, "hold", who.name, f"member banned from rewards: {reason}", now)
    return len(lines)


def is_banned(conn: Connection, member_id: int) -> bool:
    return bool(
        conn.execute("SELECT 1 FROM reward_bans WHERE member_id = ?", (member_id,)).fetchone()
    )


def banned_ready_lines(conn: Connection, batch_id: int) -> list[tuple[int, str]]:
    """(line, member's name) of every line of the batch still to be paid to a member banned
    from rewards, by line."""
    return [
        (int(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT l.id, coalesce(m.username, '#' || l.member_id) FROM payout_lines l "
            "JOIN reward_bans b ON b.member_id = l.member_id "
            "LEFT JOIN members m ON m.id = l.member_id "
            "WHERE l.batch_id = ? AND l.state = 'ready' ORDER BY l.id",
            (batch_id,),
        )
    ]


def refuse_banned(batch_id: int, banned: list[tuple[int, str]], then: str) -> None:
    """InvalidDecision naming the first (line, member) of `banned`, if any, and what to do."""
    if banned:
        line, name = banned[0]
        raise InvalidDecision(
            f"Batch {batch_id} pays {name} (line {line}), who is banned from rewards: {then}"
        )


def refuse_changed_lines(conn: Connection, batch_id: int) -> None:
    """InvalidDecision if a line of the batch still to be paid is no longer what was prepared:
    its member, points and amount must be exactly its payout entry in the ledger (append-only
    and hash-chained), as `ledger verify` checks. A line changed past peerdesk (a hand edit of
    the cache file) is never approved or exported."""
    changed = conn.execute(
        "SELECT l.id, coalesce(m.username, '#' || l.member_id) FROM payout_lines l "
        "LEFT JOIN ledger e ON e.kind = 'payout' AND e.rule = 'payout' "
        "AND e.event_key = 'line:' || l.id "
        "LEFT JOIN members m ON m.id = l.member_id "
        "WHERE l.batch_id = ? AND l.state NOT IN ('held', 'returned') AND (e.id IS NULL "
        "OR e.member_id <> l.member_id OR e.points <> -l.points "
        "OR e.amount_minor <> -l.amount_minor) ORDER BY l.id LIMIT 1",
        (batch_id,),
    ).fetchone()
    if changed:
        raise InvalidDecision(
            f"Batch {batch_id}'s line {changed[0]} ({changed[1]}) is not what was prepared: its "
            "member, points or amount differ from its payout entry in the ledger, so it was "
            "changed outside peerdesk. Nothing was written; run `peerdesk ledger verify`."
        )
    # ...and each of those entries is as the ledger chained it: its hash is its content's, and
    # the entry after it still chains to that hash (an entry edited to match a changed line)
    for entry in conn.execute(
        "SELECT e.*, l.id AS paid_line, coalesce(m.username, '#' || l.member_id) AS payee, "
        "(SELECT n.prev_hash FROM ledger n WHERE n.id > e.id ORDER BY n.id LIMIT 1) AS next_prev "
        "FROM payout_lines l JOIN ledger e ON e.kind = 'payout' AND e.rule = 'payout' "
        "AND e.event_key = 'line:' || l.id LEFT JOIN members m ON m.id = l.member_id "
        "WHERE l.batch_id = ? AND l.state NOT IN ('held', 'returned') ORDER BY l.id",
        (batch_id,),
    ):
        hash_ = entry["hash"]
        if digest(entry["prev_hash"], entry) != hash_ or entry["next_prev"] not in (None, hash_):
            raise InvalidDecision(
                f"Batch {batch_id}'s line {entry['paid_line']} ({entry['payee']}) is paid by "
                f"ledger entry {entry['id']}, which was edited outside peerdesk (it no longer "
                "chains). Nothing was written; run `peerdesk ledger verify`."
            )


def hold_banned(conn: Connection, who: Identity, *, batch_id: int) -> dict[str, Any] | None:
    """Before an approved batch's first export: hold every line of it that pays a member banned
    from rewards since its approval (a ban peerdesk did not write: an older client, a hand edit;
    peerdesk's own ban holds them at once). The audit detail, or None if there was none."""
    require(who, actions.HOLD)
    batch = _batch_row(conn, batch_id, lock=True)
    if batch["state"] != "approved":
        return None
    found = banned_ready_lines(conn, batch_id)
    now = now_iso()
    for line_id, _name in found:
        conn.execute("UPDATE payout_lines SET state = 'held' WHERE id = ?", (line_id,))
        _history(conn, line_id, "hold", who.name, "member banned from rewards after approval", now)
    if not found:
        return None
    return {
        "batch": batch_id,
        "lines": [line for line, _ in found],
        "members": [name for _, name in found],
        "reason": "member banned from rewards after approval: held at export",
    }


@dataclass(frozen=True)
class Appealed:
    appeal_id: int
    detail: dict[str, Any]


def appeal(conn: Connection, who: Identity, *, line_id: int, text: str) -> Appealed:
    """Record a member's appeal against a held (or returned) line, filed by staff."""
    require(who, actions.APPEAL)
    text = text.strip()
    if not text:
        raise InvalidDecision("An appeal needs the member's words")
    line, _batch = _line_for_change(conn, line_id)
    if line["state"] not in ("held", "returned"):
        raise InvalidDecision(f"Line {line_id} is {line['state']}: only held lines are appealed")
    if conn.execute(
        "SELECT 1 FROM payout_appeals WHERE line_id = ? AND decision IS NULL", (line_id,)
    ).fetchone():
        raise InvalidDecision(f"Line {line_id} already has an appeal waiting for a decision")
    cursor = conn.execute(
        "INSERT INTO payout_appeals (line_id, text, filed_by, filed_at) VALUES (?, ?, ?, ?) "
        "RETURNING id",
        (line_id, text, who.name, now_iso()),
    )
    appeal_id = int(cursor.fetchone()[0])
    _history(conn, line_id, "appeal", who.name, text, now_iso())
    return Appealed(appeal_id, {"appeal": appeal_id, "text": text})


@dataclass(frozen=True)
class Outcome:
    """What a decision did: in words, the row it was about, and its audit detail."""

    text: str
    target_id: int
    detail: dict[str, Any]


def decide_appeal(
    conn: Connection, who: Identity, *, appeal_id: int, uphold: bool, reason: str
) -> Outcome:
    """Uphold (the line is released if its batch is still open) or deny an appeal."""
    require(who, actions.APPEAL_DECIDE)
    reason = reason.strip()
    if not reason:
        raise InvalidDecision("Deciding an appeal needs a reason")
    # locked (on the team database): two people deciding it at once take turns, and the
    # second finds it decided
    select = dialect_of(conn).lock("SELECT * FROM payout_appeals WHERE id = ?")
    row = conn.execute(select, (appeal_id,)).fetchone()
    if row is None:
        raise NotFound(f"There is no appeal {appeal_id}")
    if row["decision"]:
        raise InvalidDecision(f"Appeal {appeal_id} was already {row['decision']}")
    if row["filed_by"] in (who.name, who.os_user):
        raise InvalidDecision(f"{who.name} filed appeal {appeal_id}; another person must decide it")
    line, batch = _line_for_change(conn, int(row["line_id"]), lock=uphold)
    decision = "upheld" if uphold else "denied"
    now = now_iso()
    conn.execute(
        "UPDATE payout_appeals SET decision = ?, decided_by = ?, decided_at = ?, reason = ? "
        "WHERE id = ?",
        (decision, who.name, now, reason, appeal_id),
    )
    outcome = f"appeal {appeal_id} {decision}"
    if uphold and is_banned(conn, int(line["member_id"])):
        outcome += f"; line {line['id']} stays {line['state']}: the member is banned from rewards"
    elif uphold and line["state"] == "held" and not _frozen(conn, batch):
        conn.execute("UPDATE payout_lines SET state = 'ready' WHERE id = ?", (line["id"],))
        _history(conn, int(line["id"]), "release", who.name, f"appeal upheld: {reason}", now)
        outcome += f"; line {line['id']} released into batch {batch['id']}"
    elif uphold:
        outcome += "; the points are on the member's balance for the next batch"
    _history(conn, int(line["id"]), f"appeal_{decision}", who.name, reason, now)
    return Outcome(
        outcome,
        int(line["id"]),
        {"appeal": appeal_id, "decision": decision, "reason": reason},
    )


def appeals(cache: Cache, *, open_only: bool = False) -> list[dict[str, Any]]:
    rows = cache.query(
        "SELECT a.*, l.batch_id, l.member_id, coalesce(m.username, '#' || l.member_id) AS member, "
        "l.amount_minor, l.state AS line_state FROM payout_appeals a "
        "JOIN payout_lines l ON l.id = a.line_id LEFT JOIN members m ON m.id = l.member_id "
        + ("WHERE a.decision IS NULL " if open_only else "")
        + "ORDER BY a.decision IS NOT NULL, a.id DESC"
    )
    return [dict(r) for r in rows]


# ---- four-eyes approval -------------------------------------------------------------------


def _accounts_of(conn: Connection, who: Identity) -> set[int]:
    """The community accounts `who` answers to: every member whose username (any case) is the
    name `who` acts under or its OS account, and every account one person with one of those
    (console.member_links: a moderator's link, the same platform identity, the same username)."""
    names = sorted({n.lower() for n in (who.name, who.os_user)})
    marks = ", ".join("?" * len(names))
    named = [
        int(r[0])
        for r in conn.execute(
            f"SELECT id FROM members WHERE lower(username) IN ({marks}) ORDER BY id", names
        )
    ]
    if not named:
        return set()
    view = Cache(Path(dialect_of(conn).where), conn, dialect=dialect_of(conn))
    return {a.member_id for m in named for a in linked_accounts(view, m)}


def _refuse_conflicts(conn: Connection, who: Identity, batch_id: int) -> None:
    """InvalidDecision if the batch would pay `who` (an account they answer to) or a member
    banned from rewards: an approver never approves their own money, and a ban stops a payout
    still waiting for approval (console.rewards.bans holds such lines; this is the backstop)."""
    payable = [
        (int(r[0]), int(r[1]), str(r[2]), r[3] is not None)
        for r in conn.execute(
            "SELECT l.id, l.member_id, coalesce(m.username, '#' || l.member_id), b.member_id "
            "FROM payout_lines l LEFT JOIN members m ON m.id = l.member_id "
            "LEFT JOIN reward_bans b ON b.member_id = l.member_id "
            "WHERE l.batch_id = ? AND l.state NOT IN ('held', 'returned') ORDER BY l.id",
            (batch_id,),
        )
    ]
    banned = [(line, name) for line, _member, name, is_banned in payable if is_banned]
    refuse_banned(batch_id, banned, "hold the line before approving")
    mine = _accounts_of(conn, who)
    own = [(line, name) for line, member, name, _ in payable if member in mine]
    if own:
        line, name = own[0]
        raise InvalidDecision(
            f"{who.label} cannot approve batch {batch_id}: it pays {name} (line {line}), an "
            "account that is theirs (same name or linked); four-eyes needs another approver"
        )


def approve(conn: Connection, who: Identity, *, batch_id: int, seen: str | None = None) -> Outcome:
    """One approval of a batch; the approval that completes four-eyes approves it. With `seen`
    (the `BatchView.seen` the approver was shown), refused if the lines changed since.

    The batch's row is locked first (on the team database; the cache's writers take turns
    anyway), so two consoles approving at once take turns: the second counts the first's
    approval, and a batch is never left short of its state with enough approvals."""
    require(who, actions.APPROVE)
    batch = _batch_row(conn, batch_id, lock=True)
    if batch["state"] != "prepared":
        raise InvalidDecision(f"Batch {batch_id} is already {batch['state']}")
    if seen is not None and seen != lines_digest(conn, batch_id):
        raise InvalidDecision(
            f"Batch {batch_id} changed since you looked at it (a line held, released or "
            "changed); nothing was approved. Look at it again, then approve."
        )
    refuse_changed_lines(conn, batch_id)
    _refuse_conflicts(conn, who, batch_id)
    if same_person(str(batch["prepared_by"]), batch["prepared_os_user"], who.name, who.os_user):
        raise InvalidDecision(
            f"{who.label} prepared batch {batch_id} (as {batch['prepared_by']}) and cannot "
            "approve it: four-eyes needs another person"
        )
    for approver, approver_os in conn.execute(
        "SELECT approver, approver_os_user FROM payout_approvals WHERE batch_id = ?", (batch_id,)
    ):
        if same_person(str(approver), approver_os, who.name, who.os_user):
            raise InvalidDecision(
                f"{who.label} has already approved batch {batch_id} (as {approver}); the second "
                "approval must come from someone else"
            )
    needed = _approvals_needed(conn, batch)
    now = now_iso()
    conn.execute(
        "INSERT INTO payout_approvals (batch_id, approver, approver_os_user, approved_at) "
        "VALUES (?, ?, ?, ?)",
        (batch_id, who.name, who.os_user, now),
    )
    got = conn.execute(
        "SELECT count(*) FROM payout_approvals WHERE batch_id = ?", (batch_id,)
    ).fetchone()[0]
    returned = kept = 0
    if got >= needed:
        returned, kept = _return_held(conn, batch, who.name, now)
        conn.execute(
            "UPDATE payout_batches SET state = 'approved', approved_at = ? WHERE id = ?",
            (now, batch_id),
        )
        extra = f"; {returned} held line(s) returned to balances" if returned else ""
        if kept:
            whose = "line of a banned member stays" if kept == 1 else "lines of banned members stay"
            extra += f"; {kept} {whose} held (not returned to a balance)"
        text = f"batch {batch_id} approved ({got} of {needed}){extra}"
    else:
        text = f"batch {batch_id}: approval {got} of {needed} recorded; it needs another approver"
    detail = {"approval": got, "needed": needed, "returned_lines": returned}
    if kept:
        detail["kept_held_banned"] = kept
    return Outcome(text, batch_id, detail)


def _return_held(conn: Connection, batch: Row, actor: str, now: str) -> tuple[int, int]:
    """Give the batch's held lines back to their members' balances at approval, except a
    banned member's: that line stays held, its money neither paid nor on the balance (the ban
    reversed the rest). (returned, kept held)."""
    held = conn.execute(
        "SELECT l.id, l.member_id, l.points, l.amount_minor, e.id, b.member_id "
        "FROM payout_lines l JOIN ledger e ON e.kind = 'payout' AND e.line_id = l.id "
        "LEFT JOIN reward_bans b ON b.member_id = l.member_id "
        "WHERE l.batch_id = ? AND l.state = 'held' ORDER BY l.id",
        (batch["id"],),
    ).fetchall()
    kept = [int(r[0]) for r in held if r[5] is not None]
    for line_id in kept:
        why = "member banned from rewards: stays held, not returned"
        _history(conn, line_id, "keep", actor, why, now)
    held = [r for r in held if r[5] is None]
    appender = Appender(conn)
    for line_id, member, points, amount, entry_id, _banned in held:
        appender.append(
            Entry(
                member_id=int(member),
                kind="payout_return",
                rule="payout",
                event_key=f"line:{line_id}",
                points=int(points),
                amount_minor=int(amount),
                currency=str(batch["currency"]),
                schedule_version=str(batch["schedule_version"]),
                occurred_at=now,
                reverses=int(entry_id),
                line_id=int(line_id),
                detail={"why": "held when the batch was approved", "batch": int(batch["id"])},
            )
        )
        conn.execute("UPDATE payout_lines SET state = 'returned' WHERE id = ?", (line_id,))
        _history(conn, int(line_id), "return", actor, "held at approval: not paid", now)
    return len(held), len(kept)


def return_failed(conn: Connection, who: Identity, batch: Row, line_id: int, why: str) -> bool:
    """Give a line the provider could not pay back to its member (a `payout_return` entry);
    False (nothing written but the line's history) if the member is banned from rewards: their
    money stays out of their balance."""
    require(who, actions.MARK_PAID)
    entry = conn.execute(
        "SELECT id, member_id, points, amount_minor FROM ledger WHERE kind = 'payout' "
        "AND line_id = ?",
        (line_id,),
    ).fetchone()
    if is_banned(conn, int(entry[1])):
        _history(
            conn,
            line_id,
            "keep",
            who.name,
            "member banned from rewards: not returned to their balance",
            now_iso(),
        )
        return False
    Appender(conn).append(
        Entry(
            member_id=int(entry[1]),
            kind="payout_return",
            rule="payout",
            event_key=f"line:{line_id}",
            points=-int(entry[2]),
            amount_minor=-int(entry[3]),
            currency=str(batch["currency"]),
            schedule_version=str(batch["schedule_version"]),
            occurred_at=now_iso(),
            reverses=int(entry[0]),
            line_id=line_id,
            detail={"why": why, "batch": int(batch["id"])},
        )
    )
    return True
