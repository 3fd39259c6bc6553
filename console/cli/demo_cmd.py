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
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from console.demo_defaults import DEFAULT_CANDIDATE_LIMIT, DEFAULT_SEED, DEFAULT_THREADS
from console.errors import PeerdeskError
from console.paths import default_db_path

if TYPE_CHECKING:  # the builder, its corpus and the ingest path: only when a demo is built
    from console.demo import DemoSummary

MAX_THREADS = 1_000_000
PROGRESS_ABOVE = 10_000  # builds bigger than this report progress even when stderr is no tty


class DemoRefused(PeerdeskError):
    """The target exists and is not a demo cache; nothing was changed."""


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
        "--embed-later",
        action="store_true",
        help="skip the embeddings (word-based duplicate candidates for now); "
        "`peerdesk dupes --catch-up` computes them later (make demo runs it in the background)",
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


def run_demo(args: argparse.Namespace) -> int:
    if getattr(args, "team_url", None):
        return _run_demo_on_team(args)
    # the semantic graphs' folder (console.dupes.ann) brings numpy: not for the parser, nor for
    # `demo --if-missing` on a demo cache (each `make demo`)
    from console.demo_file import build_file, is_demo_cache

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
        embeddings=not args.embed_later,
    )
    _record_build(args, path, summary, replaced)
    _print_summary(summary, path, out)
    return 0


def _run_demo_on_team(args: argparse.Namespace) -> int:
    """The demo community in an empty team database (console.team.demo: built in a temporary
    cache file, copied by migrate-to, candidates computed again by the server)."""
    from console.storage.postgres import open_team
    from console.team.demo import build_into_team
    from console.team.location import redact
    from console.team.no_role import require_a_role

    team = open_team(args.team_url)  # a login with no peerdesk role is refused before the build
    try:
        require_a_role(team.conn.execute, args.team_url)
    finally:
        team.close()
    local = argparse.Namespace(**{**vars(args), "team_url": None})  # the build's own file
    summary = build_into_team(
        args.team_url,
        threads=args.threads,
        seed=args.seed,
        candidate_limit=args.candidates,
        embeddings=not args.embed_later,
        progress_to=sys.stderr if _wants_progress(args.threads) else None,
        record=lambda path, built: _record_build(local, path, built, "nothing"),
    )
    _print_summary(summary, f"the team database {redact(args.team_url)}", sys.stdout)
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


def _print_summary(summary: DemoSummary, path: Path | str, out: TextIO) -> None:
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
