"""The cache, its WAL and SHM files and exports hold members' personal data: 0600 (0660 with
the group of an admin's setgid folder), whatever the umask."""

from __future__ import annotations

# SQLite only: the cache file's modes (a team database's files are the server's).
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.db import open_cache
from console.desk import Desk
from tests.conftest import write_roles
from tests.domain.conftest import seed_community

from .conftest import ATTACKER, account, mode, need_root, run_as, run_peerdesk


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o000)  # the most careless umask there is
    yield
    os.umask(old)


def _write_something(path: Path) -> None:
    cache = open_cache(path, create=True)
    seed_community(cache)
    return cache.close()


def test_cache_wal_and_shm_are_private(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "new" / "cache.sqlite3"
    cache = open_cache(path, create=True)
    seed_community(cache)  # writes, so the WAL and SHM files exist while it is open
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    assert wal.exists() and shm.exists()
    assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    assert mode(path.parent) == 0o700
    cache.close()


def test_a_setgid_folder_shares_with_its_group(tmp_path: Path, open_umask: None) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o2770)
    path = shared / "cache.sqlite3"
    cache = open_cache(path, create=True)
    seed_community(cache)
    assert {mode(p) for p in shared.iterdir()} == {0o660}
    assert {p.stat().st_gid for p in shared.iterdir()} == {shared.stat().st_gid}
    cache.close()


def test_an_old_world_readable_cache_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _write_something(path)
    path.chmod(0o644)
    open_cache(path).close()
    assert mode(path) == 0o600


def test_an_export_file_is_private(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "c.sqlite3"
    _write_something(path)
    write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"alice": ["moderator"]})
    out = tmp_path / "forum.jsonl"
    done = run_peerdesk("--db", str(path), "export", "--source", "forum", "-o", str(out))
    assert done.code == 0, done.err
    assert mode(out) == 0o600 and out.read_text().count("\n") > 5


def test_the_demo_cache_is_private(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "demo.sqlite3"
    done = run_peerdesk("--db", str(path), "demo", "--threads", "20", "--candidates", "0")
    assert done.code == 0, done.err
    assert mode(path) == 0o600
    desk = Desk.open(path)
    assert desk.audit_entries()[0]["action"] == "demo_build"
    desk.close_cache()


def test_a_cache_in_a_folder_you_cannot_enter_is_named_in_one_line(shared_dir: Path) -> None:
    """A moderator outside the group of a shared host's cache folder (2770) runs peerdesk on
    it: before, `Path.exists` raised PermissionError and the command printed a traceback; now
    one line names the file and what to check, and the exit code is the refusal's."""
    need_root()
    mallory = account(ATTACKER)
    folder = shared_dir / "srv"
    folder.mkdir(mode=0o770)
    db = folder / "cache.sqlite3"
    _write_something(db)
    for argv in (["whoami"], ["queue"], ["payouts", "show"]):
        done = run_as(mallory, ["--db", str(db), *argv], {})
        assert done.code == 2, (argv, done)
        assert "Traceback" not in done.err and "child failed" not in done.err
        assert done.err.count("\n") == 1 and str(db) in done.err
        assert "cannot reach" in done.err and str(folder) in done.err
