"""`peerdesk verify`: answer verification headless.

peerdesk verify --list [--json]             answers waiting, highest impact first
peerdesk verify --refresh                    rescore every answered thread first
peerdesk verify ANSWER                       one answer: score, why, its competitors
peerdesk verify ANSWER --as verified|rejected|needs-edit|picked --reason R --text T
peerdesk verify ANSWER --confirm | --disagree   the second moderator on a contested proposal
peerdesk verify --agreement | --reviews      calibration: agreement per moderator, disagreements
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from console.errors import InvalidDecision
from console.safe_text import clip, printable
from console.verify.reasons import REJECT_REASONS

if TYPE_CHECKING:  # the Desk brings it when a command runs; the parser does without
    from console.verify.service import Verification

OUTCOMES = ("verified", "rejected", "needs-edit", "picked")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="answer verification: the queue, one answer's signals, verify / reject",
        description="List answers waiting for verification, explain one answer's score, or "
        "decide: verified, rejected (with a reason), needs-edit (a note to the author), or "
        "picked over the asker's accepted answer. Contested decisions need a second moderator.",
    )
    parser.add_argument("answer", nargs="?", type=int, help="an answer's post id (local)")
    parser.add_argument("--list", action="store_true", help="answers waiting, by impact")
    parser.add_argument("--refresh", action="store_true", help="rescore every answered thread")
    parser.add_argument("--as", dest="outcome", choices=OUTCOMES, help="decide ANSWER")
    parser.add_argument(
        "--reason",
        default="",
        help="why: for rejected, one of "
        + "; ".join(f"{k} ({v})" for k, v in REJECT_REASONS.items())
        + ", optionally followed by ': free text'; for the others, free text",
    )
    parser.add_argument("--text", default="", help="free text: the note or the explanation")
    second = parser.add_mutually_exclusive_group()
    second.add_argument("--confirm", action="store_true", help="confirm a contested proposal")
    second.add_argument("--disagree", action="store_true", help="disagree with a proposal")
    second.add_argument(
        "--calibrate",
        choices=("verified", "rejected"),
        help="your blind answer to a calibration item",
    )
    parser.add_argument("--agreement", action="store_true", help="agreement rate per moderator")
    parser.add_argument("--reviews", action="store_true", help="the disagreements review list")
    parser.add_argument("--limit", type=int, default=50, help="rows of --list")
    parser.add_argument("--json", action="store_true", help="JSON (one object per line)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from console.cli.core import open_desk

    desk = open_desk(args)  # the cache, or the team database (console/cli/team_cmd.py)
    try:
        door = desk.verification
        problem = door.settings().problem
        if problem:
            print(f"peerdesk: warning: {problem}", file=sys.stderr)
        if args.refresh:
            kept = door.refresh()
            if not args.json:
                print(f"rescored answered threads: {kept} answers in the queue")
        if args.answer is not None:
            return _answer(door, args)
        if args.agreement:
            _agreement(door, args)
        elif args.reviews:
            _reviews(door, args)
        elif args.list or not args.refresh:
            _list(door, args)
    finally:
        desk.close_cache()
    return 0


def _answer(door: Verification, args: argparse.Namespace) -> int:
    post = int(args.answer)
    code, _, more = str(args.reason).partition(":")
    text = " ".join(t for t in (more.strip(), args.text.strip()) if t)
    if args.confirm or args.disagree:
        result = door.confirm(post, agree=bool(args.confirm))
    elif args.calibrate:
        result = door.calibrate(post, args.calibrate)
    elif args.outcome in ("verified", "picked", "needs-edit"):
        note = " ".join(t for t in (str(args.reason).strip(), args.text.strip()) if t)
        if args.outcome == "verified":
            result = door.verify(post, text=note)
        elif args.outcome == "picked":
            result = door.pick(post, text=note)
        else:
            result = door.needs_edit(post, note)
    elif args.outcome == "rejected":
        if code.strip() not in REJECT_REASONS:
            raise InvalidDecision(
                "--as rejected needs --reason, one of: " + ", ".join(REJECT_REASONS)
            )
        result = door.reject(post, code.strip(), text=text)
    else:
        _show(door, post, args)
        return 0
    view = door.answer(post)
    if args.json:
        print(
            json.dumps(
                {
                    "answer": post,
                    "state": view.state,
                    "status": view.status_line,
                    "batch": result.batch_id,
                    "outbox": result.outbox_ids,
                }
            )
        )
    else:
        print(
            f"answer {post}: {view.status_line} (batch {result.batch_id}; "
            f"outbox items {result.outbox_ids or 'none'})"
        )
    return 0


def _show(door: Verification, post: int, args: argparse.Namespace) -> None:
    view = door.answer(post)
    if args.json:
        data = asdict(view)
        for side in [data["candidate"], *data["competitors"]]:
            side["body"] = clip(side["body"], 2_000)
        print(json.dumps(data, ensure_ascii=False))
        return
    title = clip(printable(view.title, single_line=True), 70)
    print(f"thread #{view.thread_id}: {title}")
    print(
        f"answer {post} by {printable(view.candidate.author, single_line=True)} "
        f"(reply {view.candidate.position}{', accepted' if view.candidate.accepted else ''}): "
        f"score {view.candidate.score} — {view.status_line}"
    )
    for signal in sorted(view.candidate.signals, key=lambda s: -abs(s.points)):
        print(f"  {signal.points:+4d}  {printable(signal.reason, single_line=True)}")
    print(f"  {clip(printable(view.candidate.body, single_line=True), 300)}")
    if view.competitors:
        print("competing answers:")
    for other in view.competitors:
        mark = " accepted" if other.accepted else ""
        print(
            f"  {other.post_id:>7} score {other.score:3d}{mark}  by "
            f"{printable(other.author, single_line=True)}: "
            f"{printable(other.why(3), single_line=True)}"
        )


def _list(door: Verification, args: argparse.Namespace) -> None:
    rows = door.queue(limit=args.limit)
    if args.json:
        for row in rows:
            print(json.dumps(asdict(row), ensure_ascii=False))
        return
    if not rows:
        print("no answer waits for verification (try --refresh)")
    for row in rows:
        title = clip(printable(row.title, single_line=True), 44)
        mark = "A" if row.accepted else " "
        kind = "" if row.kind == "answer" else f" [{row.kind}]"
        print(
            f"{row.post_id:>7} {mark} score {row.score:3d} impact {row.impact:6.1f}  "
            f"#{row.thread_id:<6} {title}{kind}"
        )


def _agreement(door: Verification, args: argparse.Namespace) -> None:
    rows = door.agreement()
    if args.json:
        for a in rows:
            print(json.dumps({**asdict(a), "rate": round(a.rate, 4)}))
        return
    if not rows:
        print("no calibrated decision yet")
    for a in rows:
        print(f"{a.moderator:<20} {a.agreed}/{a.calibrated} agreed ({a.rate:.0%})")


def _reviews(door: Verification, args: argparse.Namespace) -> None:
    rows = door.disagreements()
    if args.json:
        for d in rows:
            print(json.dumps(asdict(d), ensure_ascii=False))
        return
    if not rows:
        print("no disagreement to review")
    for d in rows:
        title = clip(printable(d.title, single_line=True), 40)
        print(
            f"{d.post_id:>7} {d.kind:<11} {d.first_by} {d.first_state} / "
            f"{d.reviewer} {d.review_state}  #{d.thread_id} {title}"
        )
