"""The audit log is hash-chained: edits, deletions and truncation are detected and named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from console.db import Cache
from console.desk import Desk
from tests.backends import location, tamper

pytestmark = pytest.mark.backends  # tampering on the team database: as its superuser


def make_history(desk: Desk, ids: dict[str, int]) -> list[int]:
    """A few decisions; the ids of the audit entries they wrote, in order."""
    desk.close([ids["t1"]])
    desk.add_note(ids["t2"], "first note")
    desk.close([ids["t5"]])
    desk.undo()
    desk.add_note(ids["t2"], "second note")
    return [int(r[0]) for r in desk.cache.query("SELECT id FROM audit ORDER BY id")]


def test_intact_chain_verifies(desk: Desk, ids: dict[str, int]) -> None:
    make_history(desk, ids)
    assert desk.verify_audit() == []


def test_edited_row_is_named(
    desk: Desk, cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest
) -> None:
    second = make_history(desk, ids)[1]
    tamper(cache, request, "UPDATE audit SET actor = 'mallory' WHERE id = ?", (second,))
    problems = desk.verify_audit()
    assert [(p.audit_id, "edited" in p.problem) for p in problems] == [(second, True)]


def test_rewritten_row_with_recomputed_hash_is_caught_by_the_next(
    desk: Desk, cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest
) -> None:
    from console.audit import _digest

    second = make_history(desk, ids)[1]
    row = dict(cache.one("SELECT * FROM audit WHERE id = ?", (second,)))
    row["actor"] = "mallory"
    forged = _digest(row["prev_hash"], row)
    statement = "UPDATE audit SET actor = 'mallory', hash = ? WHERE id = ?"
    tamper(cache, request, statement, (forged, second))
    problems = desk.verify_audit()
    assert problems and problems[0].audit_id == second


def test_deleted_rows_are_named(
    desk: Desk, cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest
) -> None:
    third = make_history(desk, ids)[2]
    tamper(cache, request, "DELETE FROM audit WHERE id = ?", (third,))
    problems = desk.verify_audit()
    assert problems[0].audit_id == third and "deleted" in problems[0].problem


def test_rows_cut_off_the_end_are_detected(
    desk: Desk, cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest
) -> None:
    last = make_history(desk, ids)[-1]
    tamper(cache, request, "DELETE FROM audit WHERE id = ?", (last,))
    problems = desk.verify_audit()
    assert problems and problems[0].audit_id == last and "end" in problems[0].problem


@pytest.mark.slow
def test_cli_verify_exits_nonzero_on_tampering(
    desk: Desk, cache: Cache, ids: dict[str, int], cache_path: Path, request: pytest.FixtureRequest
) -> None:
    first = make_history(desk, ids)[0]
    db = location(cache, cache_path)
    ok = subprocess.run(
        [sys.executable, "-m", "console", "--db", db, "audit", "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and "intact" in ok.stdout
    tamper(cache, request, "UPDATE audit SET detail = '{}' WHERE id = ?", (first,))
    bad = subprocess.run(
        [sys.executable, "-m", "console", "--db", db, "audit", "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and f"audit entry {first}: row edited" in bad.stdout


def test_cli_verify_since_a_kept_head_says_how_far_the_log_grew(
    desk: Desk,
    cache: Cache,
    ids: dict[str, int],
    cache_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from console.cli import main

    desk.close([ids["t1"]])
    kept = str(desk.audit_head())
    kept_entry = desk.audit_head().entry
    desk.add_note(ids["t2"], "written after the head was kept")
    desk.close([ids["t5"]])
    db = location(cache, cache_path)
    assert main(["--db", db, "audit", "verify", "--since-head", kept]) == 0
    lines = capsys.readouterr().out.splitlines()
    total = desk.audit_count()
    assert lines[0].startswith("audit log intact") and f": {total} entries," in lines[0]
    assert lines[1].startswith(f"entry {kept_entry} still has the hash you kept")
    assert lines[1].endswith(f"({total - kept_entry} entries since)") and total - kept_entry == 2
