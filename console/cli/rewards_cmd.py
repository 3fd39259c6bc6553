"""`peerdesk ledger ...` and `peerdesk payouts ...`: rewards headless, each with --json.

Exit codes as the other commands: 0 done, 1 failed (a tampered ledger, flags found by
`ledger checks --fail-on-flags`), 2 refused or bad input (one line on stderr, nothing changed).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from console.desk import Desk
from console.safe_text import clip, printable


def _desk(args: argparse.Namespace) -> Desk:
    from console.cli.core import open_desk

    return open_desk(args)  # the cache, or the team database (console/cli/team_cmd.py)


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False, sort_keys=True))
    else:
        print(text)


def _safe(text: object, width: int = 60) -> str:
    return clip(printable(str(text), single_line=True), width)


# ---- ledger ---------------------------------------------------------------------------------


def cmd_schedule(args: argparse.Namespace) -> int:
    rewards = _desk(args).rewards
    if args.file is None:
        schedule = rewards.schedule()
        _out(
            args,
            {
                "version": schedule.version,
                "currency": schedule.currency,
                "point_value_minor": schedule.point_value_minor,
                "points": schedule.points,
                "cap_per_day": schedule.cap_per_day,
                "cap_per_thread": schedule.cap_per_thread,
                "threshold_points": schedule.threshold_points,
                "second_approver_over_minor": schedule.second_approver_over_minor,
                "sha256": schedule.sha256,
            },
            schedule.text.rstrip(),
        )
        return 0
    schedule, new = rewards.load_schedule(args.file)
    _out(
        args,
        {"version": schedule.version, "loaded": new, "sha256": schedule.sha256},
        f"schedule {schedule.version} "
        + ("loaded; it is now the active schedule" if new else "was already loaded (same content)"),
    )
    return 0


def cmd_accrue(args: argparse.Namespace) -> int:
    desk = _desk(args)
    report = desk.rewards.accrue(allow_mass_reversal=args.allow_mass_reversal)
    data = report.as_dict()
    text = (
        f"{report.accrued} new accruals ({report.points:+d} points in all), "
        f"{report.reversed} reversals, {report.capped} capped, "
        f"{report.skipped_banned} skipped (banned)"
    )
    _out(args, data, text)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    report = _desk(args).rewards.verify(args.since_head)
    data = {
        "ok": report.ok,
        "entries": report.entries,
        "members": report.members,
        "total_minor": report.total_minor,
        "problems": [asdict(p) for p in report.problems],
    }
    if report.ok:
        text = (
            f"ledger intact: {report.entries} entries, chain verified, {report.members} "
            "balances re-derived"
        )
        kept = report.kept_entry
        if kept is not None:
            text += (
                f"\nentry {kept} still has the hash you kept: nothing up to it changed and the "
                f"ledger only grew ({report.entries - kept} entries since)"
            )
        _out(args, data, text)
        return 0
    if args.json:
        print(json.dumps(data, sort_keys=True))
    else:
        for problem in report.problems:
            print(f"ledger entry {problem.entry_id}: {problem.problem}")
    print(f"ledger TAMPERED or inconsistent: {len(report.problems)} problem(s)", file=sys.stderr)
    return 1


def cmd_head(args: argparse.Namespace) -> int:
    kept = _desk(args).rewards.head()
    _out(args, {"entry": kept.entry, "hash": kept.hash}, str(kept))
    return 0


def cmd_balances(args: argparse.Namespace) -> int:
    desk = _desk(args)
    rewards = desk.rewards
    if args.member:
        member = rewards.member_id(args.member)
        points, amount = rewards.balance(member)
        schedule = rewards.schedule()
        _out(
            args,
            {"member_id": member, "points": points, "amount_minor": amount},
            f"{rewards.member_name(member)}: {points} points, "
            f"{schedule.money(amount)} {schedule.currency}",
        )
        return 0
    rows = rewards.balances(limit=args.limit)
    if args.json:
        for b in rows:
            print(json.dumps(asdict(b), ensure_ascii=False))
        return 0
    schedule = rewards.schedule()
    for b in rows:
        print(
            f"{b.member_id:>7}  {_safe(b.username, 24):<24} {b.points:>8} pts "
            f"{schedule.money(b.amount_minor):>10} {schedule.currency}  ({b.entries} entries)"
        )
    return 0


def cmd_lines(args: argparse.Namespace) -> int:
    rewards = _desk(args).rewards
    member = rewards.member_id(args.member)
    entries = rewards.lines_of(member, limit=args.limit)
    if args.json:
        for e in entries:
            print(json.dumps(e, ensure_ascii=False, sort_keys=True))
        return 0
    for e in entries:
        why = e["detail"].get("why") or e["detail"].get("capped_from") or ""
        print(
            f"{e['id']:>7} {e['occurred_at']} {e['kind']:<13} {e['rule']:<26} "
            f"{e['points']:>+6} pts {e['amount_minor']:>+8}  {e['event_key']}  {_safe(why, 40)}"
        )
    return 0


def cmd_ban(args: argparse.Namespace) -> int:
    rewards = _desk(args).rewards
    member = rewards.member_id(args.member)
    entry = rewards.ban(member, args.reason)
    _out(
        args,
        {"member_id": member, "ledger_entry": entry},
        f"{rewards.member_name(member)} banned from rewards"
        + (f"; balance reversed in ledger entry {entry}" if entry else "; no balance to reverse"),
    )
    return 0


def cmd_checks(args: argparse.Namespace) -> int:
    rewards = _desk(args).rewards
    run = rewards.checks(args.period)
    if args.json:
        for flag in run.flags:
            print(json.dumps({**asdict(flag), "member": rewards.member_name(flag.member_id)}))
    else:
        for flag in run.flags:
            print(
                f"{flag.check:<24} {_safe(rewards.member_name(flag.member_id), 20):<20} "
                f"{_safe(flag.summary, 90)}"
            )
        times = ", ".join(f"{k} {v:.2f}s" for k, v in run.seconds.items())
        print(f"{len(run.flags)} flag(s); {times}", file=sys.stderr)
        for name, why in run.skipped.items():
            print(f"{name}: skipped ({why})", file=sys.stderr)
    return 1 if (run.flags and args.fail_on_flags) else 0


# ---- payouts --------------------------------------------------------------------------------


def _batch_data(view: Any) -> dict[str, Any]:
    data = asdict(view)
    data["sender_batch_id"] = view.sender_batch_id
    data["approval_status"] = view.approval_status
    return data


def _print_batch(view: Any) -> None:
    print(
        f"batch {view.batch_id}  period {view.period} ({view.period_start[:10]} to "
        f"{view.period_end[:10]})  {view.state}  schedule {view.schedule_version}"
    )
    print(f"  prepared by {view.prepared_by} at {view.prepared_at}; {view.approval_status}")
    print(
        f"  {view.lines} lines: ready {view.money(view.ready_minor)}, held "
        f"{view.money(view.held_minor)}, paid {view.money(view.paid_minor)}, failed "
        f"{view.money(view.failed_minor)}, returned {view.money(view.returned_minor)}"
    )
    print(
        f"  counts {view.counts}; two approvers over {view.money(view.second_approver_over_minor)}"
    )


def cmd_prepare(args: argparse.Namespace) -> int:
    view = _desk(args).rewards.prepare(args.period, args.threshold)
    if args.json:
        print(json.dumps(_batch_data(view), sort_keys=True))
    else:
        _print_batch(view)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    rewards = _desk(args).rewards
    if args.batch is None:
        views = rewards.batches()
        for view in views:
            if args.json:
                print(json.dumps(_batch_data(view), sort_keys=True))
            else:
                print(
                    f"batch {view.batch_id:<4} {view.period:<8} {view.state:<9} "
                    f"{view.lines:>6} lines  ready {view.money(view.ready_minor):>14}  "
                    f"held {view.money(view.held_minor):>12}  {view.approval_status}"
                )
        if not views and not args.json:
            print("no payout batches yet: `peerdesk payouts prepare --period 2026-10`")
        return 0
    view = rewards.batch(args.batch)
    rows = rewards.lines(args.batch, states=("held",) if args.held else None, limit=args.limit)
    if args.json:
        print(json.dumps(_batch_data(view), sort_keys=True))
        for line in rows:
            print(json.dumps(asdict(line), ensure_ascii=False, sort_keys=True))
        if args.flags:
            for flag in rewards.flags(args.batch):
                print(json.dumps(flag, ensure_ascii=False, sort_keys=True))
        return 0
    _print_batch(view)
    for line in rows:
        marks = "; ".join(f["check"] for f in line.flags)
        print(
            f"  line {line.line_id:<6} {_safe(line.username, 20):<20} {line.points:>7} pts "
            f"{view.money(line.amount_minor):>14}  {line.state:<8} {marks}"
        )
        if args.flags:
            for f in line.flags:
                print(f"      {f['check']}: {_safe(f['summary'], 100)}")
    if args.flags:
        for flag in rewards.flags(args.batch):
            if flag["line_id"] is None:
                print(
                    f"  (no line) {_safe(flag['member'], 20)} {flag['check']}: "
                    f"{_safe(flag['summary'], 90)}"
                )
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    text = _desk(args).rewards.approve(args.batch)
    _out(args, {"batch": args.batch, "result": text}, text)
    return 0


def _line_change(hold: bool) -> Any:
    def run(args: argparse.Namespace) -> int:
        rewards = _desk(args).rewards
        if hold:
            rewards.hold(args.line, args.reason)
        else:
            rewards.release(args.line, args.reason)
        verb = "held" if hold else "released"
        _out(args, {"line": args.line, "state": verb}, f"line {args.line} {verb}")
        return 0

    return run


def cmd_export(args: argparse.Namespace) -> int:
    rewards = _desk(args).rewards
    folder = Path(args.out)
    csv_path = folder / f"peerdesk-batch-{args.batch}.csv"
    json_path = folder / f"peerdesk-batch-{args.batch}.json"
    made = rewards.export(args.batch, csv_path, json_path)
    notice = f"\n{made.notice}" if made.notice else ""
    _out(
        args,
        {
            "batch": args.batch,
            "csv": str(csv_path),
            "json": str(json_path),
            "sha256": made.sha256,
            "held": [{"line": line, "member": name} for line, name in made.held],
        },
        f"wrote {csv_path} and {json_path} (sha256 {made.sha256[:16]}…){notice}",
    )
    return 0


def _not_returned(counts: dict[str, int]) -> str:
    kept = counts.get("not_returned", 0)
    return f", but {kept} of a banned member not returned" if kept else ""


def cmd_mark(args: argparse.Namespace) -> int:
    counts = _desk(args).rewards.mark_results(args.batch, Path(args.results))
    _out(
        args,
        {"batch": args.batch, **counts},
        f"batch {args.batch}: {counts['paid']} paid, {counts['failed']} failed (returned to "
        f"balances{_not_returned(counts)}), {counts['still_open']} still waiting",
    )
    return 0


def cmd_appeal(args: argparse.Namespace) -> int:
    rewards = _desk(args).rewards
    if args.decide is not None:
        text = rewards.decide_appeal(args.decide, args.uphold, args.reason or "")
        _out(args, {"appeal": args.decide, "result": text}, text)
        return 0
    if args.line is None:
        rows = rewards.appeals()
        for row in rows:
            if args.json:
                print(json.dumps(row, ensure_ascii=False, sort_keys=True))
            else:
                print(
                    f"appeal {row['id']:<4} line {row['line_id']:<6} {_safe(row['member'], 18):<18}"
                    f" {row['decision'] or 'waiting':<8} {_safe(row['text'], 60)}"
                )
        return 0
    appeal_id = rewards.appeal(args.line, args.text or "")
    _out(args, {"appeal": appeal_id}, f"appeal {appeal_id} filed for line {args.line}")
    return 0


def register(subparsers: Any) -> None:
    ledger = subparsers.add_parser(
        "ledger", help="the rewards ledger: schedule, accrue, balances, verify, checks"
    )
    sub = ledger.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)

    def add(name: str, handler: Any, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--json", action="store_true", help="JSON output")
        p.set_defaults(handler=handler)
        return p

    p = add("schedule", cmd_schedule, "show the active points schedule, or load FILE as a new one")
    p.add_argument("file", nargs="?", type=Path, help="a schedule TOML file to load")
    p = add("accrue", cmd_accrue, "pay new events once and reverse undone ones")
    p.add_argument(
        "--allow-mass-reversal",
        action="store_true",
        help="reverse even when more than half of a rule's paid events vanished at once",
    )
    p = add(
        "verify", cmd_verify, "check the hash chain and re-derive every balance (exit 1 if not)"
    )
    p.add_argument(
        "--since-head",
        metavar="ENTRY:HASH",
        help="a head printed earlier by `peerdesk ledger head` and kept outside the store: prove "
        "every entry up to it is unchanged and the ledger only grew",
    )
    add("head", cmd_head, "print the newest entry's number and hash (ENTRY:HASH) to keep elsewhere")
    p = add("balances", cmd_balances, "members by balance, or one member's balance")
    p.add_argument("member", nargs="?", help="a member name or id")
    p.add_argument("--limit", type=int, default=50)
    p = add("lines", cmd_lines, "a member's ledger lines, newest first")
    p.add_argument("member", help="a member name or id")
    p.add_argument("--limit", type=int, default=200)
    p = add("ban", cmd_ban, "ban a member from rewards: their balance is reversed")
    p.add_argument("member", help="a member name or id")
    p.add_argument("--reason", required=True)
    p = add("checks", cmd_checks, "run the fraud and quality checks for a period")
    p.add_argument("--period", required=True, help="2026-10, 2026-Q3, 2026-H2 or 2026")
    p.add_argument("--fail-on-flags", action="store_true", help="exit 1 when anything is flagged")

    payouts = subparsers.add_parser("payouts", help="payout batches with four-eyes approval")
    psub = payouts.add_subparsers(dest="payouts_command", metavar="ACTION", required=True)

    def padd(name: str, handler: Any, text: str) -> argparse.ArgumentParser:
        p = psub.add_parser(name, help=text, description=text)
        p.add_argument("--json", action="store_true", help="JSON output")
        p.set_defaults(handler=handler)
        return p

    p = padd("prepare", cmd_prepare, "prepare the batch of a period (flags hold lines)")
    p.add_argument("--period", required=True, help="2026-10, 2026-Q3, 2026-H2 or 2026")
    p.add_argument("--threshold", type=int, default=None, help="points (default: the schedule's)")
    p = padd("show", cmd_show, "list batches, or show one with its lines")
    p.add_argument("batch", nargs="?", type=int)
    p.add_argument("--held", action="store_true", help="only held lines")
    p.add_argument("--flags", action="store_true", help="with every flag's summary")
    p.add_argument("--limit", type=int, default=200)
    p = padd(
        "approve", cmd_approve, "approve a batch (never your own; two approvers over the limit)"
    )
    p.add_argument("batch", type=int)
    for name, hold in (("hold", True), ("release", False)):
        p = padd(name, _line_change(hold), f"{name} a line, with a reason")
        p.add_argument("line", type=int)
        p.add_argument("--reason", required=True)
    p = padd("export", cmd_export, "write the CSV and PayPal-Payouts JSON (byte-identical re-runs)")
    p.add_argument("batch", type=int)
    p.add_argument("--out", default=".", help="folder for the two files (default: here)")
    p = padd("mark-paid", cmd_mark, "mark lines paid/failed from the provider's result file")
    p.add_argument("batch", type=int)
    p.add_argument("results", help="the result file (PayPal batch JSON or CSV)")
    p = padd("appeal", cmd_appeal, "list appeals, file one for a held line, or decide one")
    p.add_argument("line", nargs="?", type=int, help="the held line to appeal")
    p.add_argument("--text", help="the member's words")
    p.add_argument("--decide", type=int, metavar="APPEAL", help="decide this appeal")
    p.add_argument("--uphold", action="store_true", help="with --decide: uphold (else deny)")
    p.add_argument("--reason", help="with --decide: why")
