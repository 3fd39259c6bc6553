"""The audit log is hash-chained: edits, deletions and truncation are detected and named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from console.db import Cache
from console.desk import Desk


def make_history(desk: Desk, ids: dict[str, int]) -> None:
    desk.close([ids["t1"]])
    desk.add_note(ids["t2"], "first note")
    desk.close([ids["t5"]])
    desk.undo()
    desk.add_note(ids["t2"], "second note")


@pytest.mark.backends
def test_intact_chain_verifies(desk: Desk, ids: dict[str, int]) -> None:
    make_history(desk, ids)
    assert desk.verify_audit() == []


def test_edited_row_is_named(desk: Desk, cache: Cache, ids: dict[str, int]) -> None:
    make_history(desk, ids)
    cache.conn.execute("UPDATE audit SET actor = 'mallory' WHERE id = 2")
    problems = desk.verify_audit()
    assert [(p.audit_id, "edited" in p.problem) for p in problems] == [(2, True)]


def test_rewritten_row_with_recomputed_hash_is_caught_by_the_next(
    desk: Desk, cache: Cache, ids: dict[str, int]
) -> None:
    from console.audit import _digest

    make_history(desk, ids)
    row = dict(cache.one("SELECT * FROM audit WHERE id = 2"))
    row["actor"] = "mallory"
    forged = _digest(row["prev_hash"], row)
    cache.conn.execute("UPDATE audit SET actor = 'mallory', hash = ? WHERE id = 2", (forged,))
    problems = desk.verify_audit()
    assert problems and problems[0].audit_id == 2


def test_deleted_rows_are_named(desk: Desk, cache: Cache, ids: dict[str, int]) -> None:
    make_history(desk, ids)
    cache.conn.execute("PRAGMA foreign_keys = OFF")  # as someone editing the file would
    cache.conn.execute("DELETE FROM audit WHERE id = 3")
    problems = desk.verify_audit()
    assert problems[0].audit_id == 3 and "deleted" in problems[0].problem


def test_rows_cut_off_the_end_are_detected(desk: Desk, cache: Cache, ids: dict[str, int]) -> None:
    make_history(desk, ids)
    last = cache.one("SELECT max(id) FROM audit")[0]
    cache.conn.execute("PRAGMA foreign_keys = OFF")
    cache.conn.execute("DELETE FROM audit WHERE id = ?", (last,))
    problems = desk.verify_audit()
    assert problems and problems[0].audit_id == last and "end" in problems[0].problem


def test_cli_verify_exits_nonzero_on_tampering(
    desk: Desk, cache: Cache, ids: dict[str, int], cache_path: Path
) -> None:
    make_history(desk, ids)
    ok = subprocess.run(
        [sys.executable, "-m", "console", "--db", str(cache_path), "audit", "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and "intact" in ok.stdout
    cache.conn.execute("UPDATE audit SET detail = '{}' WHERE id = 1")
    bad = subprocess.run(
        [sys.executable, "-m", "console", "--db", str(cache_path), "audit", "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and "audit entry 1: row edited" in bad.stdout
