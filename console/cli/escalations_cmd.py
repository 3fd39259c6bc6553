"""`peerdesk escalations`: escalations headless.

peerdesk escalations                     open escalations, least time left on the SLA first
peerdesk escalations ID                  one escalation with its history
peerdesk escalations ID --ack | --assign NAME | --send [SYSTEM] | --note TEXT |
                         --resolve [--reply TEXT] | --dismiss REASON | --reopen
peerdesk escalations --raise THREAD --reason TEXT [--severity S]   escalate a thread by hand
peerdesk escalations --dry-run RULES.toml   what RULES.toml would raise on this cache
peerdesk escalations --load RULES.toml      make RULES.toml the rules in force
peerdesk escalations --rules                the rules in force
peerdesk escalations --report [--csv | --json]   SLA breaches and medians per rule / moderator
peerdesk escalations --scan                 raise what time made true (for cron)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from console.escalate.panel import EscalationRow, clock_text
from console.escalate.rules import format_minutes
from console.escalate.severity import SEVERITIES
from console.safe_text import clip, printable


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "escalations",
        help="escalations: SLA clocks, decisions, rules, dry runs, the SLA report",
        description="List and decide escalations raised by the rules, check or load a rule "
        "file, and report on SLAs.",
    )
    parser.add_argument("escalation", nargs="?", type=int, help="an escalation id")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--dry-run", type=Path, metavar="RULES", help="show what RULES would raise")
    what.add_argument(
        "--load", type=Path, metavar="RULES", help="check RULES and put them in force"
    )
    what.add_argument("--rules", action="store_true", help="list the rules in force")
    what.add_argument("--report", action="store_true", help="the SLA report")
    what.add_argument("--scan", action="store_true", help="raise what time made true")
    what.add_argument(
        "--recount",
        action="store_true",
        help="count the panel's kept figures again from the escalations (admins)",
    )
    what.add_argument("--ack", action="store_true", help="acknowledge ESCALATION")
    what.add_argument(
        "--assign",
        metavar="NAME",
        help="assign ESCALATION to NAME (a moderator or an admin; anyone else is refused, "
        "naming who can)",
    )
    what.add_argument(
        "--send", nargs="?", const="", metavar="SYSTEM", help="hand ESCALATION to support"
    )
    what.add_argument("--note", metavar="TEXT", help="add a note to ESCALATION's history")
    what.add_argument("--resolve", action="store_true", help="resolve ESCALATION")
    what.add_argument("--dismiss", metavar="REASON", help="dismiss ESCALATION (a false alarm)")
    what.add_argument("--reopen", action="store_true", help="reopen ESCALATION")
    what.add_argument(
        "--raise",
        dest="raise_thread",
        type=int,
        metavar="THREAD",
        help="escalate THREAD by hand (with --reason; what the rules missed)",
    )
    parser.add_argument("--reason", default="", help="with --raise: why it needs support")
    parser.add_argument(
        "--severity", choices=SEVERITIES, help="with --raise: instead of the manual rule's"
    )
    parser.add_argument("--reply", default="", help="with --resolve: post this on the thread")
    parser.add_argument("--all", action="store_true", help="include closed escalations")
    parser.add_argument(
        "--everything", action="store_true", help="with --dry-run: old posts as well"
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON output")
    fmt.add_argument("--csv", action="store_true", help="CSV output (--report)")
    parser.set_defaults(handler=run)


DECISIONS = ("ack", "assign", "send", "note", "resolve", "dismiss", "reopen")


def run(args: argparse.Namespace) -> int:
    from console.cli.core import open_desk

    desk = open_desk(args)  # the cache, or the team database (console/cli/team_cmd.py)
    esc = desk.escalations
    try:
        if args.dry_run:
            return _dry_run(desk, args)
        if args.load:
            rules = esc.install_rules(args.load)
            print(f"{len(rules.rules)} rules from {args.load} are now in force")
            return 0
        if args.rules:
            _print_rules(esc.rules())
            return 0
        if args.report:
            esc.refresh()
            report = esc.report()
            sys.stdout.write(
                report.to_json() + "\n"
                if args.json
                else report.to_csv()
                if args.csv
                else report.to_text()
            )
            return 0
        if args.recount:
            done = esc.recount()
            print(
                f"recounted: {done.days_corrected} of the per-day rows and "
                f"{done.states_corrected} of the per-rule-and-state rows were wrong "
                f"({done.days} days, {done.states} rule states now)"
            )
            return 0
        if args.scan:
            print(f"{esc.refresh()} new escalations")
            return 0
        if args.raise_thread is not None:
            esc.raise_thread(args.raise_thread, args.reason, args.severity)
            newest = max(esc.for_thread(args.raise_thread), key=lambda r: r.escalation_id)
            print(f"escalated by hand (peerdesk undo takes it back):\n{_line(newest)}")
            return 0
        chosen = [d for d in DECISIONS if getattr(args, d) not in (None, False)]
        if chosen:
            if args.escalation is None:
                print(f"peerdesk: --{chosen[0]} needs an ESCALATION id", file=sys.stderr)
                return 2
            return _decide(esc, args, chosen[0])
        esc.refresh()
        if args.escalation is not None:
            _show(esc, args.escalation, args.json)
            return 0
        rows = esc.listing(include_closed=args.all)
        if args.json:
            for row in rows:
                print(json.dumps(asdict(row), ensure_ascii=False))
        else:
            for row in rows:
                print(_line(row))
            if not rows:
                print("no open escalations")
        return 0
    finally:
        desk.close_cache()


def _shown(text: str | None, limit: int | None = None) -> str:
    """A name (a moderator's, a rule's, a ticket's) as the terminal may show it: its control
    characters as escapes, on one line, clipped to `limit`."""
    safe = printable(text or "", single_line=True)
    return safe if limit is None else clip(safe, limit)


def _line(row: EscalationRow) -> str:
    clock = clock_text(row.seconds_left) or row.state
    who = _shown(row.assignee) or "-"
    title = _shown(row.title, 38)
    return (
        f"{row.escalation_id:>5}  {row.severity:<8} {clock:<18} {row.state:<19} {who:<10} "
        f"{_shown(row.rule_id):<22} {title}"
    )


def _highlight(context: str, start: int, end: int) -> str:
    """The matching text between » and « (plain output has no colour); an escalation raised
    by hand matched nothing: its context says who raised it."""
    if start == end:
        return printable(context, single_line=True)
    text = context[:start] + "»" + context[start:end] + "«" + context[end:]
    return printable(text, single_line=True)


def _show(esc: Any, escalation_id: int, as_json: bool) -> None:
    row = esc.one(escalation_id)
    history = esc.history(escalation_id)
    if as_json:
        print(
            json.dumps({**asdict(row), "history": [asdict(h) for h in history]}, ensure_ascii=False)
        )
        return
    rule = f"{_shown(row.rule_name)} ({_shown(row.rule_id)})"
    print(f"#{row.escalation_id} [{row.severity}] {rule} — {row.state}")
    print(f"thread {row.thread_id}: {printable(row.title, single_line=True)}")
    print(f"matched: {_highlight(row.context, row.match_start, row.match_end)}")
    print(f"why: {printable(row.detail, single_line=True)}")
    clock = clock_text(row.seconds_left)
    if clock:
        print(f"SLA: {row.clock} by {row.due_at} ({clock})")
    print(f"assignee: {_shown(row.assignee) or '-'}")
    if row.ticket_system:
        print(
            f"ticket: {_shown(row.ticket_system)} "
            f"{_shown(row.ticket_ref) or '(waiting to be sent)'} "
            f"{_shown(row.ticket_status)}".rstrip()
        )
    if row.dismiss_reason:
        print(f"dismissed: {printable(row.dismiss_reason, single_line=True)}")
    print("history:")
    for h in history:
        move = (
            f" {h.from_state or ''}→{h.to_state}"
            if h.to_state and h.from_state != h.to_state
            else ""
        )
        body = f": {printable(h.body, single_line=True)}" if h.body else ""
        print(f"  {h.ts} {_shown(h.actor)} {h.event}{move}{body}")


def _decide(esc: Any, args: argparse.Namespace, action: str) -> int:
    target = args.escalation
    calls = {
        "ack": lambda: esc.acknowledge(target),
        "assign": lambda: esc.assign(target, args.assign),
        "send": lambda: esc.send_to_support(target, args.send or None),
        "note": lambda: esc.note(target, args.note),
        "resolve": lambda: esc.resolve(target, reply=args.reply),
        "dismiss": lambda: esc.dismiss(target, args.dismiss),
        "reopen": lambda: esc.reopen(target),
    }
    calls[action]()
    row = esc.one(target)
    extra = f", assigned to {row.assignee}" if row.assignee else ""
    print(f"escalation {target} is now {row.state.replace('_', ' ')}{extra}")
    return 0


def _print_rules(rules: Any) -> None:
    print(f"rules from {rules.origin or 'the shipped example'}")
    for r in rules.rules:
        scope = f" tags {', '.join(r.tags)}" if r.tags else ""
        ack, res = format_minutes(r.acknowledge_minutes), format_minutes(r.resolve_minutes)
        print(
            f"  {_shown(r.id):<26} {r.kind:<22} {r.severity:<8} acknowledge {ack:>4}"
            f"  resolve {res:>4}{scope}"
        )


def _dry_run(desk: Any, args: argparse.Namespace) -> int:
    from console.escalate import active, engine

    rules = active.read_rules_file(args.dry_run)  # RulesError: one line naming rule and line
    counts: dict[str, int] = {}
    for finding, known in engine.dry_run(desk.cache, rules, everything=args.everything):
        counts[finding.rule.id] = counts.get(finding.rule.id, 0) + 1
        if args.json:
            print(
                json.dumps(
                    {
                        "rule": finding.rule.id,
                        "severity": finding.rule.severity,
                        "thread_id": finding.thread_id,
                        "post_id": finding.post_id,
                        "matched": finding.matched,
                        "context": finding.context,
                        "raised_at": finding.raised_at,
                        "already_raised": known,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        mark = " (already raised)" if known else ""
        where = f"thread {finding.thread_id}" + (
            f" post {finding.post_id}" if finding.post_id else ""
        )
        print(
            f"{finding.rule.id} [{finding.rule.severity}] {where}{mark}: "
            f"{_highlight(finding.context, finding.start, finding.end)}"
        )
    if not args.json:
        total = sum(counts.values())
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing"
        print(f"-- {total} would fire ({parts}); nothing was written")
    return 0
