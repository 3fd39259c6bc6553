"""kill -9 a real `peerdesk payouts prepare` / `export` at its riskiest moment, run it again, and
end exactly as an uninterrupted run: no half batch, no payout entry without its line, no half
file, the same bytes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.db import open_cache
from console.rewards import ledger
from tests.conftest import REPO

pytestmark = pytest.mark.backends

CONFIG = (
    '[roles]\npriya = ["payout_preparer"]\ntom = ["payout_approver"]\nuna = ["payout_approver"]\n'
)


def _env(tmp_path: Path, who: str, **extra: str) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    return {**os.environ, "PEERDESK_USER": who, "PEERDESK_CONFIG": str(config), **extra}


def _peerdesk(db: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "console", "--db", str(db), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _ok(db: Path, env: dict[str, str], *args: str) -> str:
    proc = _peerdesk(db, env, *args)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out + err).decode()
    return out.decode()


def _kill_at(db: Path, tmp_path: Path, who: str, point: str, *args: str) -> None:
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


def _state(db: Path) -> tuple[object, ...]:
    cache = open_cache(db)
    try:
        report = ledger.verify(cache)
        assert report.ok, report.problems
        return (
            [
                tuple(r)
                for r in cache.query(
                    "SELECT member_id, kind, rule, event_key, points, amount_minor FROM ledger ORDER BY id"
                )
            ],
            [
                tuple(r)
                for r in cache.query(
                    "SELECT batch_id, member_id, points, amount_minor, state FROM payout_lines ORDER BY id"
                )
            ],
            [
                tuple(r)
                for r in cache.query("SELECT period, state, export_sha256 FROM payout_batches")
            ],
        )
    finally:
        cache.close()


@pytest.mark.slow
def test_kill_during_prepare_and_export(db_file: Path, tmp_path: Path) -> None:
    calm = tmp_path / "calm.sqlite3"
    shutil.copy(db_file, calm)
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
    _ok(db_file, _env(tmp_path, "priya"), "payouts", "prepare", "--period", "2026-10")
    _ok(db_file, _env(tmp_path, "tom"), "payouts", "approve", "1")
    _ok(db_file, _env(tmp_path, "una"), "payouts", "approve", "1")

    approved = _state(db_file)
    _kill_at(
        db_file, tmp_path, "tom", "export:written", "payouts", "export", "1", "--out", str(folder)
    )
    assert not (folder / "peerdesk-batch-1.csv").exists()
    assert _state(db_file) == approved
    _ok(db_file, _env(tmp_path, "tom"), "payouts", "export", "1", "--out", str(folder))
    for name in ("peerdesk-batch-1.csv", "peerdesk-batch-1.json"):
        assert (folder / name).read_bytes() == (folder_calm / name).read_bytes()
    assert _state(db_file) == _state(calm)
