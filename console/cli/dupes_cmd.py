"""`peerdesk dupes`: duplicate candidates headless.

peerdesk dupes                 threads with proposed duplicates, most likely first
peerdesk dupes THREAD          the thread's proposals with probabilities and explanations
peerdesk dupes THREAD --weaker   ...and the weaker candidates below the proposal threshold
peerdesk dupes THREAD --refresh  recompute that thread's candidates first
peerdesk dupes THREAD --any-source --any-language   look across sources / languages (not stored)
peerdesk dupes --rebuild       rebuild the index and embeddings, then the open threads' candidates
peerdesk dupes --evaluate      precision/recall of today's threshold on the moderators' decisions
peerdesk dupes --catch-up [--background]   embed threads without a vector, then recompute the
                               candidates computed without embeddings
peerdesk dupes --pending [--background]    compute the candidates an import queued
                               (console/dupes/refresh.py; resumable)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from console.cli.core import open_desk
from console.desk import Desk
from console.dupes.thresholds import PROPOSE, STRONG_SCORE  # not candidates: it loads numpy
from console.errors import InvalidDecision, PeerdeskError
from console.safe_text import clip, printable
from console.words import counted


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
    parser.add_argument(
        "--catch-up",
        action="store_true",
        help="embed threads that have no vector yet, then recompute the candidates that were "
        "computed without embeddings",
    )
    parser.add_argument(
        "--pending",
        action="store_true",
        help="compute the duplicate candidates (and embeddings) an import left waiting",
    )
    parser.add_argument(
        "--background",
        action="store_true",
        help="with --catch-up or --pending: run it in a background process (log beside the "
        "cache) and return",
    )
    decide = parser.add_mutually_exclusive_group()
    for flag, text in (
        ("--confirm", "close THREAD as a duplicate of ORIGINAL"),
        ("--reject", "never propose ORIGINAL for THREAD again"),
        ("--merge", "close as duplicate and show THREAD's useful answers under ORIGINAL"),
    ):
        decide.add_argument(flag, type=int, metavar="ORIGINAL", help=text)
    parser.add_argument("--all", action="store_true", help="include decided pairs")
    parser.add_argument(
        "--weaker", action="store_true", help="also candidates below the proposal threshold"
    )
    parser.add_argument(
        "--any-source", action="store_true", help="with THREAD: look in every source (not stored)"
    )
    parser.add_argument(
        "--any-language", action="store_true", help="with THREAD: look across languages"
    )
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="precision and recall of today's threshold on the pairs moderators decided",
    )
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
        if args.evaluate:
            _evaluate(desk, args)
            return 0
        if args.catch_up:
            _catch_up(desk, args)
            return 0
        if args.pending:
            _pending(desk, args)
            return 0
        _say_backlog(desk, args)
        if args.rebuild:
            _rebuild(desk, args)
            if args.thread is None:
                return 0
        if args.thread is not None:
            if args.any_source or args.any_language:
                _across(desk, args.thread, args)
                return 0
            if args.refresh:
                desk.refresh_duplicates(args.thread)
                _note_lexical(args)
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


def _note_lexical(args: argparse.Namespace) -> None:
    """One line on stderr when a model is unavailable: MiniLM (the lexical path is used), or
    e5 (words and MiniLM rank, without the third signal)."""
    from console.dupes import e5, embed

    if args.json:
        return
    if embed.load_encoder() is None:
        print(f"note: {embed.unavailable_reason()}; using words only", file=sys.stderr)
    elif e5.load_e5() is None:
        print(f"note: {e5.unavailable_reason()}; ranking by words and MiniLM", file=sys.stderr)


def _evaluate(desk: Desk, args: argparse.Namespace) -> None:
    _note_lexical(args)
    result = desk.evaluate_duplicates()
    if args.json:
        print(json.dumps(result.as_dict()))
        return
    if not result.confirmed and not result.rejected:
        print(f"no duplicate pair has been confirmed or rejected {desk.cache.dialect.where} yet")
        return

    def share(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    print(
        f"{result.confirmed + result.rejected} decided pairs ({result.confirmed} confirmed or "
        f"merged, {result.rejected} rejected); at today's threshold {result.threshold}:"
    )
    print(
        f"  precision {share(result.precision)} ({result.true_positives} of {result.proposed} "
        "that would be proposed were confirmed)"
    )
    print(
        f"  recall    {share(result.recall)} ({result.true_positives} of {result.confirmed} "
        "confirmed pairs would be proposed)"
    )


def _across(desk: Desk, thread_id: int, args: argparse.Namespace) -> None:
    from console.dupes.candidates import KEEP  # numpy: duplicates_across below loads it anyway

    _note_lexical(args)
    found, titles = desk.duplicates_across(
        thread_id, any_source=args.any_source, any_language=args.any_language, weaker=args.weaker
    )
    for oid, chance, why in found[:KEEP]:
        title, status, source = titles[oid]
        if args.json:
            print(
                json.dumps(
                    {
                        "original_id": oid,
                        "score": chance,
                        "source": source,
                        "status": status,
                        "title": title,
                        "explanation": why,
                    }
                )
            )
            continue
        where = clip(printable(source, single_line=True), 12)
        print(
            f"{chance:5.2f}  #{oid:<7} {status:<8} [{where}] "
            f"{clip(printable(title, single_line=True), 44)}"
        )
        print(f"       {printable(why, single_line=True)}")
    if not found and not args.json:
        print(f"thread {thread_id}: no candidates" + ("" if args.weaker else " (try --weaker)"))


def _catch_up(desk: Desk, args: argparse.Namespace) -> None:
    if args.background and not desk.cache.dialect.is_sqlite:
        raise PeerdeskError(
            "`dupes --catch-up --background` runs beside a cache file; on a team database run "
            "`peerdesk dupes --catch-up` in the foreground (a terminal, or cron)"
        )
    if args.background:
        if not desk.duplicates_catch_up_pending():
            return
        from console.dupes import embed

        reason = embed.quick_reason()  # never loads the model here: that is the child's work
        if reason is not None:
            if not args.json:
                print(f"note: {reason}; using words only", file=sys.stderr)
            return
        from console.cli import background

        log = background.start(desk.cache.path, args, ["dupes", "--catch-up"])
        if not args.json:
            print(
                "embedding the threads in the background (duplicate candidates use words until "
                f"then); log: {log}"
            )
        return
    if not desk.duplicates_catch_up_pending(lexical=True):  # before numpy and the model load
        counts = {"embedded_threads": 0, "refreshed_threads": 0, "pairs_stored": 0}
        _nothing_to_do(args, counts, "every thread has its vector, and its candidates use it")
        return
    _note_lexical(args)
    from console.dupes import vectors

    stale = vectors.stale_note(desk.cache)
    if stale and not args.json:  # the catch-up below moves them
        print(f"note: {stale.split(':')[0]}; re-embedding those that differ", file=sys.stderr)

    summary = desk.catch_up_duplicates(
        _stage(args, "candidates"), embed_progress=_stage(args, "embeddings")
    )
    if args.json:
        print(json.dumps(summary))
    elif summary["skipped"]:
        print(f"nothing done: {summary['skipped']}")
    else:
        print(
            f"embedded {summary['embedded_threads']} threads; recomputed the candidates of "
            f"{summary['refreshed_threads']} ({summary['pairs_stored']} pairs)"
        )


def _nothing_to_do(args: argparse.Namespace, counts: dict[str, object], said: str) -> None:
    """What a catch-up with no work says (as a run that did nothing, for --json)."""
    print(json.dumps({**counts, "skipped": None}) if args.json else f"nothing to do: {said}")


def _stage(
    args: argparse.Namespace, what: str, stream: TextIO | None = None
) -> Callable[[int, int], None]:
    """Progress of one stage of a long run on `stream` (stderr; nothing with --json).

    On a terminal one line that updates itself (`\\r`) and ends when the stage does. Anywhere
    else (the background catch-up writes to `<cache>.catch-up.log`) whole lines: one each time
    another tenth of the stage is done, and the last, so a log reads line by line."""
    out = stream or sys.stderr
    tty = bool(getattr(out, "isatty", lambda: False)())
    said = {"done": -1, "total": -1}

    def report(done: int, total: int) -> None:
        if args.json:
            return
        line = f"{what}: {done}/{total} threads"
        finished = done >= total
        if tty:
            out.write(f"\r{line}" + ("\n" if finished else ""))
        else:
            if total != said["total"]:
                said.update(done=-1, total=total)
            step = max(1, -(-total // 10))
            if done == said["done"] or not (finished or done - max(0, said["done"]) >= step):
                return
            said["done"] = done
            out.write(line + "\n")
        out.flush()

    return report


def _say_backlog(desk: Desk, args: argparse.Namespace) -> None:
    """Never a silent gap: one line on stderr while an import's candidates wait."""
    waiting = desk.duplicate_backlog()
    if not waiting.empty and not args.json:
        print(f"note: {waiting.describe()} (`peerdesk dupes --pending`)", file=sys.stderr)


def _pending(desk: Desk, args: argparse.Namespace) -> None:
    if args.background and desk.cache.dialect.is_sqlite:
        if desk.duplicate_backlog().empty:
            return
        from console.cli import background

        log = background.start(desk.cache.path, args, ["dupes", "--pending"])
        if not args.json:
            print(f"computing the waiting duplicate candidates in the background; log: {log}")
        return
    if desk.duplicate_backlog().empty:  # before numpy and the model load
        counts = {"embedded": 0, "refreshed": 0, "pairs": 0, "stopped": False}
        _nothing_to_do(args, counts, "no import left duplicate candidates waiting")
        return
    _note_lexical(args)

    done = desk.catch_up_duplicate_backlog(
        _stage(args, "candidates"), embed_progress=_stage(args, "embeddings")
    )
    if args.json:
        print(json.dumps(done.__dict__))
    elif done.skipped:
        print(f"nothing done: {done.skipped}")
    else:
        print(
            f"embedded {done.embedded} threads; computed the candidates of {done.refreshed} "
            f"({done.pairs} pairs)"
        )


def _rebuild(desk: Desk, args: argparse.Namespace) -> None:
    _note_lexical(args)
    summary = desk.rebuild_duplicates(
        _stage(args, "candidates"), embed_progress=_stage(args, "embeddings")
    )
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"indexed {summary['indexed_threads']} threads in {summary['index_seconds']} s; "
            f"{summary['pairs_stored']} candidate pairs for {summary['open_threads']} open "
            f"threads ({summary['seconds']} s in all)"
        )


def _show(desk: Desk, thread_id: int, args: argparse.Namespace) -> None:
    found = desk.duplicate_candidates(thread_id, include_decided=args.all, weaker=args.weaker)
    if args.json:
        for c in found:
            print(json.dumps(c.__dict__, ensure_ascii=False))
        return
    if not found:
        hint = "--refresh" if args.weaker else "--weaker or --refresh"
        print(f"thread {thread_id}: no proposed duplicates (try {hint})")
        return
    for c in found:
        title = clip(printable(c.original_title, single_line=True), 56)
        mark = "" if c.decision == "pending" else f" [{c.decision}]"
        if c.decision == "pending" and c.score < PROPOSE:
            mark = " [weaker: not proposed]"
        print(f"{c.score:5.2f}  #{c.original_id:<7} {c.original_status:<8} {title}{mark}")
        print(f"       {printable(c.explanation, single_line=True)}")


def _strong(desk: Desk, args: argparse.Namespace) -> None:
    rows = desk.strong_duplicates(args.limit)
    if args.json:
        for r in rows:
            print(json.dumps({"thread_id": r[0], "title": r[1], "best": r[2], "candidates": r[3]}))
        return
    if not rows:
        print(f"no thread has a proposed duplicate (probability {STRONG_SCORE} or more)")
    for r in rows:
        title = clip(printable(r[1], single_line=True), 60)
        print(f"#{r[0]:<7} best {r[2]:.2f}  ({counted(r[3], 'candidate')})  {title}")
