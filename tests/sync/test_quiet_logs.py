"""`peerdesk sync -q` prints the outcome only: the retry library's log lines go to the rotated
log file (without credentials), and a failure is still one clear line on the terminal; on a
cache file and on a team database (whose driver and server have log lines of their own)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from console.db import Cache
from tests.backends import location, pytest_generate_tests
from tests.sync.conftest import REPO, add_source
from tests.sync.fake_discourse import API_KEY, API_USER, community

pytestmark = pytest.mark.backends
__all__ = ["pytest_generate_tests"]


def _sync(db: str, log: Path, key: str = API_KEY) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PEERDESK_FORUM_API_KEY": key,
        "PEERDESK_FORUM_API_USERNAME": API_USER,
        "PEERDESK_NO_KEYRING": "1",
        "PEERDESK_LOG": str(log),
    }
    return subprocess.run(
        [sys.executable, "-m", "console", "--db", db, "sync", "forum", "-q"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_retries_are_logged_to_the_file_not_the_terminal(cache: Cache, tmp_path: Path) -> None:
    server = community(n_topics=3, posts_per_topic=2).start()
    try:
        db = location(cache, tmp_path / "cache.sqlite3")  # the sync conftest's cache file
        add_source(cache, "forum", "discourse", server.url)
        server.state.faults["/latest.json"] = ["500", "429"]  # two retries, then fine
        log = tmp_path / "logs" / "peerdesk.log"
        done = _sync(db, log)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stderr == ""
        assert done.stdout.startswith("forum: ok: ") and done.stdout.count("\n") == 1
        assert stat.S_IMODE(log.stat().st_mode) == 0o600  # its lines name threads and members
        text = log.read_text(encoding="utf-8")
        assert text.count("stamina.retry_scheduled") == 2
        assert "/latest.json" in text or "HTTP 500" in text

        bad = _sync(db, log, key="wrong-key-7777777")
        assert bad.returncode == 1
        lines = (bad.stdout + bad.stderr).strip().splitlines()
        assert len(lines) == 1 and "credentials" in lines[0]
        assert "wrong-key-7777777" not in bad.stdout + bad.stderr
        assert "wrong-key-7777777" not in log.read_text(encoding="utf-8")
        assert API_KEY not in log.read_text(encoding="utf-8")
        assert cache.one("SELECT count(*) FROM threads")[0] == 3  # synced into this store
    finally:
        server.stop()
