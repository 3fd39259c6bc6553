"""Building the demo community into a file safely: a hidden file beside the target, the write-ahead
log checkpointed into it with the result checked, the file reopened and verified, and only then
renamed over the target. A failed build raises DemoFailed (exit 1) and leaves no file behind.
The CLI (`peerdesk demo`) checks roles and records the build through the Desk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import TextIO

from console.db import APPLICATION_ID, free_space, open_cache, out_of_space
from console.demo import DEFAULT_CANDIDATE_LIMIT, DemoSummary, build_demo
from console.errors import PeerdeskError


class DemoFailed(PeerdeskError):
    """The build failed (a full disk, a failed check); the target was left as it was."""

    exit_code = 1


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


def _graphs(path: Path) -> Path:
    """The folder of the cache's saved semantic graphs."""
    from console.dupes.ann import folder_of  # numpy: not for `demo --if-missing` on a demo cache

    return folder_of(path)


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _remove(path: Path) -> None:
    for item in [path, *_sidecars(path)]:
        with contextlib.suppress(FileNotFoundError):
            item.unlink()
    shutil.rmtree(_graphs(path), ignore_errors=True)


def _move_graphs(building: Path, path: Path) -> None:
    """The saved semantic graphs (console.dupes.ann) follow the cache to its name; the replaced
    cache's go."""
    shutil.rmtree(_graphs(path), ignore_errors=True)
    if _graphs(building).is_dir():
        _graphs(building).replace(_graphs(path))


def build_file(
    path: Path,
    *,
    threads: int,
    seed: int,
    candidate_limit: int = DEFAULT_CANDIDATE_LIMIT,
    progress_to: TextIO | None = None,
    embeddings: bool = True,
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
                cache,
                threads,
                seed,
                progress=progress,
                candidate_limit=candidate_limit,
                embeddings=embeddings,
            )
            settle_into_file(cache.sqlite, building)
        finally:
            cache.close()
        verify_built(building, summary)
        for stale in _sidecars(path):  # a stale WAL beside the new file would be replayed into it
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        building.replace(path)
        _move_graphs(building, path)
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
