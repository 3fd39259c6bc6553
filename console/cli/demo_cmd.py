"""`peerdesk demo`: build the demo community into a cache file.

The cache is built in a new file beside the target and moved into place only when complete, so
an interrupted build never leaves half a demo behind, and an existing file is replaced only if it
is itself a demo cache (or with --force). "Complete" is checked, not assumed: the write-ahead log
is checkpointed into the file with the result checked (closing a connection checkpoints silently
and leaves the WAL behind when the disk is full), the file is reopened and verified, and only
then renamed. A failed build says why in one line, exits 1 and leaves no file behind.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import TextIO

from console.db import APPLICATION_ID, free_space, open_cache, out_of_space
from console.demo import (
    DEFAULT_CANDIDATE_LIMIT,
    DEFAULT_SEED,
    DEFAULT_THREADS,
    DemoSummary,
    build_demo,
)
from console.errors import PeerdeskError
from console.paths import default_db_path

MAX_THREADS = 1_000_000
PROGRESS_ABOVE = 10_000  # builds bigger than this report progress even when stderr is no tty


class DemoRefused(PeerdeskError):
    """The target exists and is not a demo cache; nothing was changed."""


class DemoFailed(PeerdeskError):
    """The build failed (a full disk, a failed check); the target was left as it was."""

    exit_code = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="build the demo community (a mobile network's support forum) into the cache",
        description="Build a realistic, deterministic demo community into the --db file: "
        "threads about SIM activation, porting, roaming, billing, outages and more, with "
        "planted near-duplicates, flagged complaints and posts that try to break the terminal.",
    )
    parser.add_argument(
        "--threads",
        type=_count,
        default=DEFAULT_THREADS,
        help=f"number of threads (default {DEFAULT_THREADS}; 100000 for benchmarks)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="random seed; the same seed and --threads give the same cache "
        f"(default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--candidates",
        type=int,
        default=DEFAULT_CANDIDATE_LIMIT,
        metavar="N",
        help="find duplicate candidates for the newest N threads (default "
        f"{DEFAULT_CANDIDATE_LIMIT}; 0 skips, -1 for every thread)",
    )
    parser.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing if the file already holds a demo cache",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the file even if it is not a demo cache (its contents are lost)",
    )
    parser.set_defaults(handler=run_demo)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_THREADS:,}, not {value}")
    return value


def is_demo_cache(path: Path) -> bool:
    """Whether `path` is a peerdesk cache built by `peerdesk demo` (read without changing it)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return False
    try:
        if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            return False
        row = conn.execute("SELECT value FROM meta WHERE key = 'demo'").fetchone()
        return bool(row) and row[0] == "1"
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _remove(path: Path) -> None:
    for item in [path, *_sidecars(path)]:
        with contextlib.suppress(FileNotFoundError):
            item.unlink()


def run_demo(args: argparse.Namespace) -> int:
    path = Path(args.db) if args.db is not None else default_db_path()
    out = sys.stdout
    if path.is_dir():
        raise DemoRefused(f"{path} is a folder; give a file path with --db.")
    replaced = "nothing"
    if path.exists():
        demo = is_demo_cache(path)
        if demo and args.if_missing:
            print(f"The demo cache {path} already exists; left as it is.", file=out)
            return 0
        if not demo and not args.force:
            raise DemoRefused(
                f"{path} exists and is not a demo cache; it was left as it is. Use another "
                "--db path, or --force to replace it (its contents would be lost)."
            )
        _check_may_replace(args, path)
        replaced = "a demo cache" if demo else "a peerdesk cache (--force)"
    summary = build_file(
        path,
        threads=args.threads,
        seed=args.seed,
        candidate_limit=args.candidates,
        progress_to=sys.stderr if _wants_progress(args.threads) else None,
    )
    _record_build(args, path, summary, replaced)
    _print_summary(summary, path, out)
    return 0


def _check_may_replace(args: argparse.Namespace, path: Path) -> None:
    """Replacing an existing cache needs the demo_build role on it (its owner has it on a demo)."""
    from console.cli.core import open_desk

    desk = open_desk(argparse.Namespace(**{**vars(args), "db": path}))
    try:
        desk.door.check("demo_build")
    finally:
        desk.close_cache()


def _record_build(
    args: argparse.Namespace, path: Path, summary: DemoSummary, replaced: str
) -> None:
    """The new cache's first audit entry: who built it, from what, replacing what."""
    from console.cli.core import open_desk

    desk = open_desk(argparse.Namespace(**{**vars(args), "db": path}))
    try:
        detail = {"threads": summary.threads, "seed": summary.seed, "replaced": replaced}
        with desk.door.operation("demo_build", detail=detail):
            pass
    finally:
        desk.close_cache()


def _wants_progress(threads: int) -> bool:
    return threads > PROGRESS_ABOVE or sys.stderr.isatty()


def build_file(
    path: Path,
    *,
    threads: int,
    seed: int,
    candidate_limit: int = DEFAULT_CANDIDATE_LIMIT,
    progress_to: TextIO | None = None,
) -> DemoSummary:
    """Build the demo into a new file beside `path`, then move it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(f".{path.name}.building-{os.getpid()}")
    _remove(building)
    tty = progress_to is not None and progress_to.isatty()
    last = [0.0]

    def progress(done: int, total: int, stage: str = "threads") -> None:
        if progress_to is None:
            return
        now = time.monotonic()
        if done < total and now - last[0] < (0.2 if tty else 2.0):
            return
        last[0] = now
        line = f"peerdesk demo: {stage} {done:,}/{total:,}"
        progress_to.write(f"\r{line}\x1b[K" if tty else line + "\n")
        if tty and done >= total:
            progress_to.write("\n")
        progress_to.flush()

    try:
        cache = open_cache(building, create=True)
        try:
            summary = build_demo(
                cache, threads, seed, progress=progress, candidate_limit=candidate_limit
            )
            settle_into_file(cache.conn, building)
        finally:
            cache.close()
        verify_built(building, summary)
        for stale in _sidecars(path):  # a stale WAL beside the new file would be replayed into it
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        building.replace(path)
    except BaseException as error:
        wrap = isinstance(error, sqlite3.Error | OSError) or (
            isinstance(error, PeerdeskError) and not isinstance(error, DemoFailed)
        )
        failure = _failed(error, path) if wrap else None  # before removing: the free space now
        _remove(building)
        if failure is not None:
            raise failure from None
        raise
    return summary


def settle_into_file(conn: sqlite3.Connection, building: Path) -> None:
    """Copy the write-ahead log into the database file, checked, and stop using a WAL, so that
    the one file is the whole cache. Raises DemoFailed when the checkpoint did not complete."""
    busy, log_frames, moved = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy or log_frames != moved:
        raise DemoFailed(
            f"Could not finish the demo cache {building}: the checkpoint moved {moved} of "
            f"{log_frames} log pages into the file (busy={busy}); nothing was replaced."
        )
    mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    if str(mode).lower() != "delete":
        raise DemoFailed(f"Could not finish the demo cache {building} (journal mode {mode}).")


def verify_built(building: Path, summary: DemoSummary) -> None:
    """The built file alone (no WAL beside it) opens, passes SQLite's check and holds the demo."""
    left = [side.name for side in _sidecars(building) if side.exists()]
    if left:
        raise DemoFailed(f"The demo build left {', '.join(left)} beside the file; not used.")
    conn = sqlite3.connect(f"{building.resolve().as_uri()}?mode=ro", uri=True)
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        threads = conn.execute("SELECT count(*) FROM threads").fetchone()[0]
        demo = conn.execute("SELECT value FROM meta WHERE key = 'demo'").fetchone()
    finally:
        conn.close()
    if check != "ok" or threads != summary.threads or not demo or demo[0] != "1":
        raise DemoFailed(
            f"The demo cache built in {building} failed its check ({check}; {threads} of "
            f"{summary.threads} threads); nothing was replaced."
        )


def _failed(error: BaseException, path: Path) -> DemoFailed:
    if out_of_space(error, path) or out_of_space(error.__cause__ or error, path):
        return DemoFailed(
            f"The demo was not built: the disk holding {path.parent} is full "
            f"({free_space(path.parent)}). {path.name} was left as it was; free some space "
            "and run `peerdesk demo` again."
        )
    return DemoFailed(
        f"The demo was not built in {path} ({error}); {path.name} was left as it was."
    )


def _print_summary(summary: DemoSummary, path: Path, out: TextIO) -> None:
    statuses = ", ".join(f"{count:,} {status}" for status, count in summary.status_counts.items())
    candidates = (
        "not searched"
        if summary.candidate_pairs is None
        else f"{summary.candidate_pairs:,} pairs in {summary.candidate_seconds:.1f} s"
    )
    print(
        f"Built the demo community in {path} (seed {summary.seed}) in {summary.seconds:.1f} s:\n"
        f"  {summary.threads:,} threads ({statuses})\n"
        f"  {summary.posts:,} posts, {summary.members:,} members\n"
        f"  {summary.planted_duplicates:,} planted near-duplicates; duplicate candidates: "
        f"{candidates}\n"
        f"  {summary.hostile_posts:,} hostile posts ({summary.huge_posts} of 200 kB)",
        file=out,
    )
