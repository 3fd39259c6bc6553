"""Headless sync commands: `source add|list|remove`, `sync`, `push`, `import`, `export`.

Exit codes: 0 done; 1 failed (the message says why; wrong credentials, platform errors);
2 a usage error; 3 offline (nothing lost: decisions wait in the outbox); 4 the sync completed
but some items could not be read (listed in `peerdesk sync --errors`).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from console.cli.core import open_desk
from console.desk import Desk
from console.errors import PeerdeskError
from console.files import create_private
from console.safe_text import printable
from console.words import counted


def _err(text: str) -> None:
    print(text, file=sys.stderr)


# ---------------------------------------------------------------------------- sources


def cmd_source_add(args: argparse.Namespace) -> int:
    from sync import credentials

    options: dict[str, Any] = {}
    if args.options:
        try:
            options = json.loads(args.options)
        except ValueError as error:
            raise PeerdeskError(f"--options is not a JSON object: {error}") from None
        if not isinstance(options, dict):
            raise PeerdeskError("--options must be a JSON object")
    if args.kind == "stackexchange":
        options.setdefault("site", args.site or "stackoverflow")
    if args.kind == "discourse" and not args.url:
        raise PeerdeskError("a Discourse source needs --url https://forum.example.com")
    if args.kind in ("zendesk", "webhook") and not args.url:
        raise PeerdeskError(f"a {args.kind} source needs --url (e.g. https://YOURS.zendesk.com)")
    url = args.url
    if args.kind == "stackexchange" and not url:
        url = "https://api.stackexchange.com/2.3"
    desk = open_desk(args, create=True)
    try:
        desk.add_source(args.name, kind=args.kind, base_url=url, options=options)
    finally:
        desk.close_cache()
    if args.store_key:
        key = getpass.getpass(f"API key for {args.name} (stored in the OS keyring): ")
        asks_user = args.kind in ("discourse", "zendesk")  # Zendesk: the agent's email
        user = input("API username: ").strip() if asks_user else None
        credentials.store_in_keyring(args.name, key, user or None)
    prefix = credentials.env_prefix(args.name)
    print(f"added {args.kind} source {args.name!r}")
    if args.kind in ("discourse", "stackexchange") and not args.store_key:
        print(
            f"credentials: set {prefix}API_KEY (and {prefix}API_USERNAME for Discourse) or "
            f"run `peerdesk source add ... --store-key` to keep them in the OS keyring"
        )
    return 0


def cmd_source_list(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    try:
        info = desk.sync_summary()
    finally:
        desk.close_cache()
    if args.json:
        for s in info.sources:
            print(json.dumps(s.__dict__, ensure_ascii=False))
        return 0
    if not info.sources:
        print("no sources; add one with `peerdesk source add NAME --kind discourse --url URL`")
    for s in info.sources:
        last = s.last_sync_at or "never"
        name, url = (printable(text or "", single_line=True) for text in (s.name, s.base_url))
        result = printable(s.result or "-", single_line=True)
        print(
            f"{name:<20} {s.kind:<14} last sync {last:<20} {result:<8} "
            f"{s.waiting} waiting, {s.conflicts} conflicts  {url}"
        )
    return 0


def cmd_source_remove(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    try:
        removed = desk.remove_source(args.name)
    finally:
        desk.close_cache()
    print(
        f"removed source {args.name!r}: {removed.threads} cached threads, {removed.posts} posts "
        f"and {removed.outbox_items} settled outbox items (audited)"
    )
    return 0


# ---------------------------------------------------------------------------- sync / push


class _Progress:
    def __init__(self, stream: Any, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def __call__(self, source: str, page: Any) -> None:
        if self.quiet:
            return
        total = f"/{page.total}" if page.total else ""
        text = (
            f"{source}: {page.label or 'page'} · {page.done}{total} topics checked · "
            f"+{len(page.threads)} threads +{len(page.posts)} posts"
        )
        if self.tty:
            self.stream.write("\r\x1b[2K" + text[:120])
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\n")


def cmd_sync(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    try:
        if args.errors:
            for e in desk.sync_errors(source=args.source):
                field = f" field {e.field}" if e.field else ""
                said = f"{e.endpoint}{field}: {e.message}"  # the platform's words, as text
                print(f"{e.created_at} {e.source or '-'} {printable(said, single_line=True)}")
            return 0
        if not args.source and not desk.source_names():
            raise PeerdeskError("no sources to sync; add one with `peerdesk source add`")
        progress = _Progress(sys.stderr, args.quiet)
        reports = desk.run_sync(args.source, full=args.full, on_page=progress)
        progress.end()
        code = 0
        for report in reports:
            print(
                f"{report.source}: {report.result}: {printable(report.message, single_line=True)} "
                f"({report.requests} requests, {report.seconds:.1f} s)"
            )
            if report.result == "offline":
                waiting = desk.sync_summary().waiting
                waits = f"{counted(waiting, 'decision')} {'waits' if waiting == 1 else 'wait'}"
                print(f"{report.source}: working offline; {waits} in the outbox")
            code = max(code, report.exit_code)
        return code
    finally:
        desk.close_cache()


def cmd_push(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    try:
        code = 0
        for report in desk.run_push(source_name=args.source):
            parts = report.counts(conflicts_hint=" (see the Sync screen)")
            print(f"{report.source}: " + ", ".join(parts))
            for message in report.messages:
                print(f"  {printable(message, single_line=True)}")
            if report.offline:
                print(f"{report.source}: offline; the waiting decisions will be sent next time")
            elif report.stopped:
                _err(f"{report.source}: push stopped: {printable(report.stopped)}")
            code = max(code, report.exit_code)
        return code
    finally:
        desk.close_cache()


# ---------------------------------------------------------------------------- import / export

IMPORT_DUPES_ENV = "PEERDESK_IMPORT_DUPES"
IMPORT_DUPES_MODES = ("background", "wait", "later")


PROGRESS_STEP = 100_000  # posts between two of an import's progress lines in a log


class ImportProgress:
    """An import's progress on `stream` (stderr). On a terminal one line that updates itself
    (posts and threads stored, then the search index's catch-up) and ends once; anywhere else
    (cron, a redirected stderr) whole lines: one each PROGRESS_STEP posts, and the index's
    catch-up when it starts."""

    def __init__(self, stream: Any, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.said_posts = 0
        self.said_index = False

    def _say(self, text: str) -> None:
        self.stream.write(f"\r{text}" if self.tty else text + "\n")
        self.stream.flush()

    def stored(self, report: Any) -> None:
        if self.quiet or not (self.tty or report.posts >= self.said_posts + PROGRESS_STEP):
            return
        self.said_posts = report.posts - report.posts % PROGRESS_STEP
        self._say(f"{report.posts} posts, {report.threads} threads stored")

    def indexing(self, _done: object, left: Any) -> None:
        if self.quiet or not (self.tty or not self.said_index):
            return
        self.said_index = True
        self._say(("\x1b[K" if self.tty else "") + f"indexing for search: {left.posts} posts to go")

    def end(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\n")


def cmd_import(args: argparse.Namespace) -> int:

    desk = open_desk(args, create=True)
    try:
        desk.door.check("import")  # refused before any progress line

        shown = ImportProgress(sys.stderr, args.quiet)
        try:
            report, queued = desk.import_jsonl(
                args.file,
                source_name=args.source,
                candidates_for=args.candidates,
                progress=shown.stored,
                index_progress=shown.indexing,
            )
        finally:
            shown.end()  # the progress line ends, also before an error's line
        print(
            f"{report.source}: imported {report.members} members, {report.threads} threads, "
            f"{report.posts} posts; {report.skipped} lines skipped"
        )
        if queued.candidates:
            print(
                f"duplicate candidates: queued for the {queued.candidates} newest open threads "
                f"({queued.embed} threads to embed)"
            )
            _duplicates_after_import(desk, args)
        if queued.left:
            print(f"  {queued.left} older open threads have none: run `peerdesk dupes --rebuild`")
    finally:
        desk.close_cache()
    if report.resumed_from:
        print(f"  resumed after line {report.resumed_from} (stored by an earlier, stopped run)")
    for problem in report.problems[:10]:
        print(f"  {problem}")
    if report.mended:
        print(f"  {report.mended} records kept with lone surrogates replaced by U+FFFD:")
        for note in report.notes[:10]:
            print(f"  {note}")
    return 4 if report.skipped else 0


def _duplicates_after_import(desk: Desk, args: argparse.Namespace) -> None:
    """The refresh the import queued runs after it (console/dupes/refresh.py): in a background
    process beside a cache file (`--dupes background`, the default), here (`wait`), or at the
    next `peerdesk dupes --pending`, sync or console start (`later`, and on a team database
    when not waiting). Killed, it resumes from its rows."""
    mode = args.dupes or os.environ.get(IMPORT_DUPES_ENV) or "background"
    if mode == "wait":
        done = desk.catch_up_duplicate_backlog()
        print(f"  computed: {done.pairs} pairs for {done.refreshed} threads")
    elif mode == "background" and desk.cache.dialect.is_sqlite:
        from console.cli import background

        log = background.start(desk.cache.path, args, ["dupes", "--pending"])
        print(
            f"  computing them in the background (log: {log}); `peerdesk dupes` says how many wait"
        )
    else:
        print("  left for `peerdesk dupes --pending`, the next sync or the console's start")


def cmd_export(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    try:
        names = [args.source] if args.source else desk.source_names()
        if not names:
            raise PeerdeskError(f"nothing to export: no sources {desk.cache.dialect.where}")
        if args.output and len(names) > 1:
            raise PeerdeskError("several sources: give --source NAME with --output")
        desk.door.check("export")  # refused before any file is created
        with contextlib.ExitStack() as stack:
            if args.output:
                out = stack.enter_context(create_private(Path(args.output)))
                destination = str(args.output)
            else:
                out, destination = sys.stdout, "standard output"
            for name in names:
                count = desk.export_jsonl(name, out, destination=destination)
                _err(f"{name}: exported {count} records")
    finally:
        desk.close_cache()
    return 0


def register(subparsers: Any) -> None:
    source = subparsers.add_parser("source", help="add, list or remove platforms to sync with")
    sub = source.add_subparsers(dest="source_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a platform")
    add.add_argument("name", help="a short name, e.g. community")
    add.add_argument("--kind", required=True, help="discourse | stackexchange | demo | jsonl")
    add.add_argument("--url", help="the forum's base URL (Discourse)")
    add.add_argument("--site", help="the Stack Exchange site, e.g. superuser")
    add.add_argument("--options", help="JSON object of adapter options (e.g. per_page)")
    add.add_argument(
        "--store-key", action="store_true", help="ask for the API key and keep it in the OS keyring"
    )
    add.set_defaults(handler=cmd_source_add)
    lst = sub.add_parser("list", help="list the platforms, last sync and waiting actions")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=cmd_source_list)
    rm = sub.add_parser(
        "remove", help="remove a platform and its cached threads (refused while decisions wait)"
    )
    rm.add_argument("name")
    rm.set_defaults(handler=cmd_source_remove)

    sync = subparsers.add_parser("sync", help="fetch what changed on the platforms")
    sync.add_argument("source", nargs="?", help="only this source")
    sync.add_argument("--full", action="store_true", help="reconcile everything, not only news")
    sync.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    sync.add_argument("--errors", action="store_true", help="list recorded sync errors")
    sync.set_defaults(handler=cmd_sync)

    push = subparsers.add_parser("push", help="send waiting decisions to the platforms")
    push.add_argument("source", nargs="?", help="only this source")
    push.set_defaults(handler=cmd_push)

    imp = subparsers.add_parser("import", help="load a peerdesk JSONL file into the cache")
    imp.add_argument("file", type=Path)
    imp.add_argument("--source", help="store under this source name (default: the file's)")
    imp.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    imp.add_argument(
        "--candidates",
        type=int,
        default=2000,
        metavar="N",
        help="queue duplicate candidates for the N newest open threads (default 2000; 0: none)",
    )
    imp.add_argument(
        "--dupes",
        choices=IMPORT_DUPES_MODES,
        help="when the queued candidates are computed: background (default), wait (before "
        f"returning) or later (dupes --pending, a sync, the console); env {IMPORT_DUPES_ENV}",
    )
    imp.set_defaults(handler=cmd_import)

    exp = subparsers.add_parser("export", help="write the cache as peerdesk JSONL")
    exp.add_argument("--source", help="only this source")
    exp.add_argument("--output", "-o", help="the file (default: standard output)")
    exp.set_defaults(handler=cmd_export)
