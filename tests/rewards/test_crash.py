"""kill -9 a real `peerdesk payouts prepare` / `export` at its riskiest moment, run it again, and
end exactly as an uninterrupted run: no half batch, no payout entry without its line, no half
file, the same bytes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from console.rewards import ledger
from tests.conftest import REPO
from tests.rewards.conftest import Store, open_store

pytestmark = pytest.mark.backends

CONFIG = (
    '[roles]\npriya = ["payout_preparer"]\ntom = ["payout_approver"]\nuna = ["payout_approver"]\n'
)


def _env(tmp_path: Path, who: str, **extra: str) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    return {**os.environ, "PEERDESK_USER": who, "PEERDESK_CONFIG": str(config), **extra}


def _peerdesk(db: Store, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "console", "--db", db.location(env["PEERDESK_USER"]), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _ok(db: Store, env: dict[str, str], *args: str) -> str:
    proc = _peerdesk(db, env, *args)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out + err).decode()
    return out.decode()


def _kill_at(db: Store, tmp_path: Path, who: str, point: str, *args: str) -> None:
    marker = tmp_path / f"paused-{point.replace(':', '-')}"
    env = _env(tmp_path, who, PEERDESK_TEST_PAUSE_AT=point, PEERDESK_TEST_PAUSE_FILE=str(marker))
    proc = _peerdesk(db, env, *args)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "the child never reached the pause point"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL


def _state(db: Store, *, numbered: bool = True) -> tuple[object, ...]:
    """The ledger (verified), the payout lines and batches; without `numbered`, leaving out
    what names a batch or line by its id (a team database's ids are not rolled back: a killed
    prepare used up its numbers there)."""
    cache = open_store(db.location("tom"))
    try:
        report = ledger.verify(cache)
        assert report.ok, report.problems
        return (
            [
                tuple(r)
                for r in cache.query(
                    "SELECT member_id, kind, rule, "
                    + ("event_key" if numbered else "kind")
                    + ", points, amount_minor FROM ledger ORDER BY id"
                )
            ],
            [
                tuple(r)
                for r in cache.query(
                    "SELECT b.period, l.member_id, l.points, l.amount_minor, l.state "
                    "FROM payout_lines l JOIN payout_batches b ON b.id = l.batch_id ORDER BY l.id"
                )
            ],
            [
                tuple(r)
                for r in cache.query(
                    "SELECT period, state, "
                    + ("export_sha256" if numbered else "export_sha256 IS NOT NULL")
                    + " FROM payout_batches"
                )
            ],
        )
    finally:
        cache.close()


def _without_ids(data: bytes) -> bytes:
    return re.sub(rb"(batch|line)-[0-9]+", rb"\1-N", data)


@pytest.mark.slow
def test_kill_during_prepare_and_export(
    stores: Callable[[], Store], tmp_path: Path, backend: str
) -> None:
    """A peerdesk killed (SIGKILL) mid-prepare or mid-export leaves nothing behind: the cache's
    transaction, or the team database's (the server rolls back a dead client's)."""
    calm, db_file = stores(), stores()
    folder_calm, folder = tmp_path / "calm-out", tmp_path / "out"
    folder_calm.mkdir()
    folder.mkdir()
    # prepare brings the ledger up to date first (its own transaction); do that in both
    for db in (calm, db_file):
        _ok(db, _env(tmp_path, "priya"), "ledger", "accrue")
    # the uninterrupted run
    _ok(calm, _env(tmp_path, "priya"), "payouts", "prepare", "--period", "2026-10")
    _ok(calm, _env(tmp_path, "tom"), "payouts", "approve", "1")
    _ok(calm, _env(tmp_path, "una"), "payouts", "approve", "1")
    _ok(calm, _env(tmp_path, "tom"), "payouts", "export", "1", "--out", str(folder_calm))

    before = _state(db_file)
    _kill_at(
        db_file, tmp_path, "priya", "prepare:lines", "payouts", "prepare", "--period", "2026-10"
    )
    assert _state(db_file) == before, "a killed prepare leaves nothing behind"
    made = _ok(
        db_file, _env(tmp_path, "priya"), "payouts", "prepare", "--period", "2026-10", "--json"
    )
    batch = str(json.loads(made)["batch_id"])  # 1 on the cache; on PostgreSQL maybe not
    _ok(db_file, _env(tmp_path, "tom"), "payouts", "approve", batch)
    _ok(db_file, _env(tmp_path, "una"), "payouts", "approve", batch)

    approved = _state(db_file)
    _kill_at(
        db_file, tmp_path, "tom", "export:written", "payouts", "export", batch, "--out", str(folder)
    )
    assert not (folder / f"peerdesk-batch-{batch}.csv").exists()
    assert _state(db_file) == approved
    _ok(db_file, _env(tmp_path, "tom"), "payouts", "export", batch, "--out", str(folder))
    for name in ("csv", "json"):
        calm_bytes = (folder_calm / f"peerdesk-batch-1.{name}").read_bytes()
        written = (folder / f"peerdesk-batch-{batch}.{name}").read_bytes()
        if backend == "sqlite":  # the same numbers: the same bytes
            assert written == calm_bytes
        else:  # the same payments, in batch and line numbers of their own
            assert _without_ids(written) == _without_ids(calm_bytes)
    assert _state(db_file, numbered=backend == "sqlite") == _state(
        calm, numbered=backend == "sqlite"
    )
