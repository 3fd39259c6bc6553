"""The progress of `peerdesk dupes --catch-up` / `--pending`: one updating line on a terminal,
separate lines at most every tenth of a stage in a log (the background catch-up's stderr is the
`<cache>.catch-up.log` beside the cache).
# No store: the CLI's progress printer alone, fed counts by hand.
"""

from __future__ import annotations

import io
import itertools
from argparse import Namespace

from console.cli.dupes_cmd import _stage


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(stream: io.StringIO, total: int, step: int, *, json: bool = False) -> str:
    report = _stage(Namespace(json=json), "embeddings", stream)
    for done in range(step, total + step, step):
        report(min(done, total), total)
    return stream.getvalue()


def test_a_log_gets_whole_lines_at_most_every_tenth_and_the_last() -> None:
    written = _run(io.StringIO(), 2000, 7)
    assert "\r" not in written and written.endswith("\n")
    lines = written.splitlines()
    assert lines[-1] == "embeddings: 2000/2000 threads"
    assert 10 <= len(lines) <= 11  # one a tenth, and the last: not one per slice (286 of them)
    counts = [int(line.split(": ")[1].split("/")[0]) for line in lines]
    assert counts == sorted(set(counts))
    before_the_last = counts[:-1]  # the last line may come sooner than a tenth after the one before
    assert all(later - earlier >= 200 for earlier, later in itertools.pairwise(before_the_last))


def test_a_short_stage_in_a_log_is_its_lines_and_an_empty_one_says_so() -> None:
    assert _run(io.StringIO(), 3, 1).splitlines() == [
        f"embeddings: {n}/3 threads" for n in (1, 2, 3)
    ]
    empty = io.StringIO()
    _stage(Namespace(json=False), "candidates", empty)(0, 0)
    assert empty.getvalue() == "candidates: 0/0 threads\n"


def test_a_terminal_gets_one_updating_line_ended_once() -> None:
    written = _run(Terminal(), 1000, 200)
    assert written.count("\r") == 5 and written.count("\n") == 1 and written.endswith("\n")
    assert written.rstrip("\n").split("\r")[-1] == "embeddings: 1000/1000 threads"


def test_json_prints_no_progress() -> None:
    assert _run(io.StringIO(), 1000, 100, json=True) == ""
