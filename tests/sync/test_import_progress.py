"""`peerdesk import`'s progress: one updating line on a terminal; in a log (cron, a redirected
stderr) whole lines, one each PROGRESS_STEP posts, and the search index's catch-up once, instead of
every batch's count run together on one line by `\\r`.
# No store: the CLI's progress printer alone, fed counts by hand.
"""

from __future__ import annotations

import io
from types import SimpleNamespace

from console.cli.sync_cmds import PROGRESS_STEP, ImportProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _import(stream: io.StringIO, batches: int, per_batch: int) -> ImportProgress:
    shown = ImportProgress(stream, quiet=False)
    for batch in range(1, batches + 1):
        shown.stored(SimpleNamespace(posts=batch * per_batch, threads=batch * per_batch // 4))
    for left in (3000, 2000, 1000, 0):
        shown.indexing(None, SimpleNamespace(posts=left))
    shown.end()
    return shown


def test_a_log_gets_a_line_each_step_and_the_index_once() -> None:
    written = _import(io.StringIO(), batches=50, per_batch=PROGRESS_STEP // 10).stream.getvalue()
    assert "\r" not in written and "\x1b" not in written
    lines = written.splitlines()
    stored = [line for line in lines if "stored" in line]
    assert stored == [
        f"{n * PROGRESS_STEP} posts, {n * PROGRESS_STEP // 4} threads stored" for n in range(1, 6)
    ]
    assert lines[-1] == "indexing for search: 3000 posts to go"
    assert len(lines) == 6


def test_a_terminal_gets_one_updating_line_ended_once() -> None:
    written = _import(Terminal(), batches=3, per_batch=10).stream.getvalue()
    assert written.count("\r") == 7 and written.endswith("\n") and written.count("\n") == 1
    assert written.rstrip("\n").split("\r")[-1] == "\x1b[Kindexing for search: 0 posts to go"


def test_quiet_says_nothing() -> None:
    shown = ImportProgress(Terminal(), quiet=True)
    shown.stored(SimpleNamespace(posts=10, threads=2))
    shown.end()
    assert shown.stream.getvalue() == ""
