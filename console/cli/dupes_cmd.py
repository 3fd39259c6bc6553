"""`peerdesk dupes`: duplicate candidates headless.

peerdesk dupes                 threads with strong pending candidates, strongest first
peerdesk dupes THREAD          the thread's candidates with scores and explanations
peerdesk dupes THREAD --refresh  recompute that thread's candidates first
peerdesk dupes --rebuild       rebuild the full-text index, then the candidates of open threads
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from console.cli.core import open_desk
from console.desk import Desk
from console.errors import InvalidDecision
from console.safe_text import clip, printable


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dupes",
        help="duplicate candidates: list, explain, rebuild",
        description="Show likely originals of a thread with scores and explanations, list "
        "threads with strong candidates, or rebuild the duplicate index.",
    )
    parser.add_argument("thread", nargs="?", type=int, help="a thread id (local)")
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild the index and the open threads' candidates"
    )
    parser.add_argument(
        "--refresh", action="store_true", help="recompute THREAD's candidates before showing them"
    )
    decide = parser.add_mutually_exclusive_group()
    for flag, text in (
        ("--confirm", "close THREAD as a duplicate of ORIGINAL"),
        ("--reject", "never propose ORIGINAL for THREAD again"),
        ("--merge", "close as duplicate and show THREAD's useful answers under ORIGINAL"),
    ):
        decide.add_argument(flag, type=int, metavar="ORIGINAL", help=text)
    parser.add_argument("--all", action="store_true", help="include decided pairs")
    parser.add_argument("--limit", type=int, default=50, help="rows listed without THREAD")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    for action in ("confirm", "reject", "merge"):
        original = getattr(args, action)
        if original is not None:
            return _decide(args, action, original)
    desk = open_desk(args)
    try:
        if args.rebuild:
            _rebuild(desk, args)
            if args.thread is None:
                return 0
        if args.thread is not None:
            if args.refresh:
                desk.refresh_duplicates(args.thread)
            _show(desk, args.thread, args)
        else:
            _strong(desk, args)
    finally:
        desk.close_cache()
    return 0


def _decide(args: argparse.Namespace, action: str, original: int) -> int:
    if args.thread is None:
        raise InvalidDecision(f"--{action} needs the duplicate THREAD id before it")
    desk = open_desk(args)
    try:
        decide = {
            "confirm": desk.confirm_duplicate,
            "reject": desk.reject_duplicate,
            "merge": desk.merge_duplicate,
        }[action]
        result = decide(args.thread, original)
    finally:
        desk.close_cache()
    print(f"{result.message} (batch {result.batch_id}; outbox items {result.outbox_ids or 'none'})")
    return 0


def _rebuild(desk: Desk, args: argparse.Namespace) -> None:
    def progress(done: int, total: int) -> None:
        if not args.json:
            print(f"\rcandidates: {done}/{total} threads", end="", file=sys.stderr)

    summary = desk.rebuild_duplicates(progress)
    if summary["open_threads"] and not args.json:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"indexed {summary['indexed_threads']} threads in {summary['index_seconds']} s; "
            f"{summary['pairs_stored']} candidate pairs for {summary['open_threads']} open "
            f"threads ({summary['seconds']} s in all)"
        )


def _show(desk: Desk, thread_id: int, args: argparse.Namespace) -> None:
    found = desk.duplicate_candidates(thread_id, include_decided=args.all)
    if args.json:
        for c in found:
            print(json.dumps(c.__dict__, ensure_ascii=False))
        return
    if not found:
        print(f"thread {thread_id}: no duplicate candidates (try --refresh)")
        return
    for c in found:
        title = clip(printable(c.original_title, single_line=True), 56)
        mark = "" if c.decision == "pending" else f" [{c.decision}]"
        print(f"{c.score:5.2f}  #{c.original_id:<7} {c.original_status:<8} {title}{mark}")
        print(f"       {printable(c.explanation, single_line=True)}")


def _strong(desk: Desk, args: argparse.Namespace) -> None:
    rows = desk.strong_duplicates(args.limit)
    if args.json:
        for r in rows:
            print(json.dumps({"thread_id": r[0], "title": r[1], "best": r[2], "candidates": r[3]}))
        return
    if not rows:
        print(f"no thread has a pending candidate scoring {desk.strong_score()} or more")
    for r in rows:
        title = clip(printable(r[1], single_line=True), 60)
        print(f"#{r[0]:<7} best {r[2]:.2f}  ({r[3]} candidates)  {title}")
