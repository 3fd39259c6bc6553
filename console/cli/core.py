"""Core commands: the console itself, the Queue and decisions headless, audit verification."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import MutableMapping, Sequence
from typing import Any

from console import quiet_start
from console.claims import claim_line
from console.decisions import DEFAULT_ORIGIN
from console.desk import Desk, QueueFilter
from console.errors import ConfigError, InvalidDecision
from console.filters import parse_filter
from console.models import AuditProblem, member_label
from console.safe_text import clip, printable


def open_desk(args: argparse.Namespace, *, create: bool = False) -> Desk:
    """The Desk for a command: the cache, the config and who is acting (--as is an override).
    A team database (args.team_url, set by console/cli/team_cmd.py for the commands that run
    on it) is opened as the database role the URL logs in as."""
    team_url = getattr(args, "team_url", None)
    if team_url:
        return Desk.open_team(
            team_url, config_path=args.config, actor=getattr(args, "as_user", None)
        )
    return Desk.open(
        args.db, config_path=args.config, create=create, actor=getattr(args, "as_user", None)
    )


# Textual draws a changed screen on the next tick of its frame clock (TEXTUAL_FPS, 60 by default):
# up to 16.7 ms after a key's change is made, 8 ms on average. Screens are drawn only when
# something changed, so a faster clock costs nothing while idle; it shortens every key's time to
# its frame (`j` at 100 threads, load 18: p50 35 -> 22 ms). A TEXTUAL_FPS the user set is kept.
FRAMES_PER_SECOND = "240"


def frame_clock(environ: MutableMapping[str, str]) -> None:
    """Set Textual's frame clock for the console, unless the user chose one (read when Textual
    is first imported)."""
    environ.setdefault("TEXTUAL_FPS", FRAMES_PER_SECOND)


def run_console(args: argparse.Namespace) -> int:
    """Open the Textual console on the cache."""
    quiet_start.pause()  # (`peerdesk tui`; plain `peerdesk` paused before importing the Desk)
    try:
        desk = open_desk(args)
        frame_clock(os.environ)
        # the Queue's first page is read while Textual is imported (console.quiet_start)
        first_page = quiet_start.FirstPage(desk, threading.Lock())
        from console.app import PeerdeskApp  # Textual is imported only for the console itself

        PeerdeskApp(desk, first_page=first_page).run()
    finally:
        quiet_start.resume()  # the console has ended, or never started (an error)
    return 0


def _ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of thread ids: {text!r}") from None


def _print_items(items: list[Any], as_json: bool) -> None:
    if as_json:
        for item in items:
            print(json.dumps(item.__dict__, ensure_ascii=False))
        return
    for item in items:
        claim = f" [claimed by {item.claimed_by}]" if item.claimed_by else ""
        title = clip(printable(item.title, single_line=True), 60)
        print(
            f"{item.thread_id:>7}  {item.urgency:>7.1f}  {item.status:<9} "
            f"{item.reply_count:>3}r {item.flag_count}f {item.report_count}rep  {title}{claim}"
        )


def cmd_queue(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    flt = QueueFilter(
        text=args.search or "",
        flagged_only=args.flagged,
        unanswered_only=args.unanswered,
        source=args.source,
    )
    if args.view:  # a saved view of the config ([views]), then --filter narrows it
        if args.view not in desk.config.views:
            known = ", ".join(desk.config.views) or "none in the config"
            raise ConfigError(f"No view {args.view!r} in the config ([views]: {known})")
        flt = parse_filter(desk.config.views[args.view]).to_filter(desk.actor, flt)
    if args.filter:
        flt = parse_filter(args.filter).to_filter(desk.actor, flt)
    _print_items(desk.queue(flt, limit=args.limit), args.json)
    if flt.text and not (waiting := desk.search_backlog()).empty:  # never a silent miss
        sys.stderr.write(
            f"note: {waiting.describe()}; starting the console or running the import again "
            "indexes them\n"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    view = desk.thread(args.thread)
    print(f"#{view.thread_id} [{view.status}] {printable(view.title, single_line=True)}")
    author = printable(member_label(view.author, view.author_name), single_line=True)
    source = printable(view.source, single_line=True)
    print(f"source {source} · started by {author} · {view.created_at}")
    if view.claimed_by and view.claim_expires_at:
        print(claim_line(view.claimed_by, view.claim_expires_at, desk.actor, full=True))
    for post in view.posts:
        marks = " ✔ accepted" if post.accepted else ""
        marks += f" (hidden: {post.hidden_reason})" if post.hidden else ""
        by = printable(member_label(post.author, post.author_name), single_line=True)
        print(f"\n--- post {post.post_id} by {by} ({post.score:+d}){marks}")
        print(printable(clip(post.body, args.max_chars)))
    for note in view.notes:
        print(f"\n--- internal note by {note.author}: {printable(note.body)}")
    return 0


def _decision(action: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        desk = open_desk(args)
        ids = args.ids
        if getattr(args, "same_author", False):
            ids = sorted({i for t in ids for i in desk.threads_by_same_author(t)})
        if action == "close":
            result = desk.close(ids, reason=args.reason or "")
        elif action == "reopen":
            result = desk.reopen(ids)
        else:
            result = desk.hide_posts(ids, reason=args.reason or "spam")
        print(result.message)
        return 0

    return run


def cmd_note(args: argparse.Namespace) -> int:
    print(open_desk(args).add_note(args.thread, args.text).message)
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    """Show what undo takes back; refuse over someone's later decision; ask (or need --yes)
    unless it is a decision made on the command line that has not reached the platform."""
    desk = open_desk(args)
    preview = desk.undo_preview()
    print(f"undo: {preview.describe()}")
    if preview.blocked:
        raise InvalidDecision(preview.refusal())
    own = preview.batch_id if preview.origin == DEFAULT_ORIGIN else None
    why = preview.why_ask(own)
    if why and not args.yes:
        if not sys.stdin.isatty():
            raise InvalidDecision(f"Not undone: {why} Run `peerdesk undo --yes` to take it back")
        print(why)
        answer = input("Undo it? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("nothing undone")
            return 1
    print(desk.undo(expect_batch=preview.batch_id).message)
    return 0


def cmd_claim(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    if args.release:
        print("released" if desk.release(args.thread) else "you held no claim on it")
        return 0
    claim = desk.claim(args.thread)
    print(f"claimed thread {claim.thread_id} until {claim.expires_at}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    problems = desk.verify_audit(args.since_head)
    kept = None
    if args.since_head:
        from console.audit import parse_head

        kept = parse_head(args.since_head).entry
    return report_audit(problems, desk.audit_count() if not problems else 0, kept, "")


def report_audit(problems: Sequence[AuditProblem], count: int, kept: int | None, where: str) -> int:
    """What `audit verify` prints, for the cache file or (`where`) the team database: the exit
    status is 1 when the chain was tampered with."""
    if not problems:
        print(f"audit log intact{where}: {count} entries, chain verified")
        if kept is not None:
            print(
                f"entry {kept} still has the hash you kept: nothing up to it changed and the "
                f"log only grew ({count - kept} entries since)"
            )
        return 0
    for problem in problems:
        print(f"audit entry {problem.audit_id}: {problem.problem}")
    print(f"audit log TAMPERED: {len(problems)} problem(s)", file=sys.stderr)
    return 1


def cmd_audit_head(args: argparse.Namespace) -> int:
    print(open_desk(args).audit_head())
    return 0


def cmd_audit_log(args: argparse.Namespace) -> int:
    for entry in open_desk(args).audit_entries(limit=args.limit):
        detail = printable(json.dumps(entry["detail"], ensure_ascii=False), single_line=True)
        print(
            f"{entry['id']:>6} {entry['ts']} {entry['actor']:<12} {entry['action']:<16} "
            f"{entry['target_kind']} {entry['target_id']}  {clip(detail, 80)}"
        )
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    for line in open_desk(args).whoami():
        print(line)
    return 0


def register(subparsers: Any) -> None:
    tui = subparsers.add_parser("tui", help="open the console (the default command)")
    tui.set_defaults(handler=run_console)

    q = subparsers.add_parser("queue", help="print the Queue, most urgent first")
    q.add_argument("--search", "-s", help="full-text search words (all must match)")
    q.add_argument("--flagged", action="store_true", help="only flagged or reported threads")
    q.add_argument("--unanswered", action="store_true", help="only threads with no reply")
    q.add_argument("--source", help="only this source")
    q.add_argument(
        "--filter", help='a filter expression, as on the console\'s / line: "tag:sim age>2d"'
    )
    q.add_argument("--view", help="a saved view of the config ([views])")
    q.add_argument("--limit", type=int, default=30, help="how many rows (default 30)")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(handler=cmd_queue)

    show = subparsers.add_parser("show", help="print a whole thread")
    show.add_argument("thread", type=int, help="the thread id")
    show.add_argument("--max-chars", type=int, default=4000, help="cut each post after this")
    show.set_defaults(handler=cmd_show)

    claim = subparsers.add_parser("claim", help="claim a thread (a lease) or release it")
    claim.add_argument("thread", type=int, help="the thread id")
    claim.add_argument("--release", action="store_true", help="give up your claim")
    claim.set_defaults(handler=cmd_claim)

    for action, noun, text in (
        ("close", "threads", "close threads (one batch)"),
        ("reopen", "threads", "reopen closed threads (one batch)"),
        ("hide", "posts", "hide posts as spam (one batch)"),
    ):
        sub = subparsers.add_parser(action, help=text)
        sub.add_argument("ids", type=int, nargs="+", help=f"the {noun}' ids")
        if action != "reopen":
            sub.add_argument("--reason", help="why (sent to the platform where it takes one)")
        if action == "close":
            sub.add_argument(
                "--same-author",
                action="store_true",
                help="also every open thread by the same author(s)",
            )
        sub.set_defaults(handler=_decision(action if action != "hide" else "hide_post"))

    note = subparsers.add_parser("note", help="add an internal note to a thread")
    note.add_argument("thread", type=int, help="the thread id")
    note.add_argument("text", help="the note")
    note.set_defaults(handler=cmd_note)

    undo = subparsers.add_parser(
        "undo",
        help="take back your last decision or batch (shows it first)",
        description="Shows what undo takes back (kind, items, when, where). Refused if anyone "
        "changed one of the items since. A decision made in the console or already sent to the "
        "platform needs --yes (or a yes at the prompt).",
    )
    undo.add_argument("--yes", "-y", action="store_true", help="do not ask first")
    undo.set_defaults(handler=cmd_undo)

    audit = subparsers.add_parser("audit", help="the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain; exit 1 if tampered")
    verify.add_argument(
        "--since-head",
        metavar="ENTRY:HASH",
        help="a head printed earlier by `peerdesk audit head` and kept outside the cache: prove "
        "every entry up to it is unchanged and the log only grew",
    )
    verify.set_defaults(handler=cmd_audit_verify)
    head = audit_sub.add_parser(
        "head", help="print the newest entry's number and hash (ENTRY:HASH) to keep elsewhere"
    )
    head.set_defaults(handler=cmd_audit_head)
    log = audit_sub.add_parser("log", help="print the newest entries")
    log.add_argument("--limit", type=int, default=50, help="how many entries")
    log.set_defaults(handler=cmd_audit_log)

    who = subparsers.add_parser("whoami", help="who you are and your roles")
    who.set_defaults(handler=cmd_whoami)
