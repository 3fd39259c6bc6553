"""A clone with only the project (no ../shared beside it) collects cleanly: every test that needs
the shared fixtures skips with one line naming what is missing, and fails only when
PEERDESK_REQUIRE_ALL is set (CI).

The proof runs pytest in a subprocess on a copy of this checkout placed where ../shared does not
exist.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".tools", ".demo", "node_modules", "__pycache__", ".pytest_cache", "*.egg-info"
)
# tests that read ../shared in three different ways: the `shared` fixture, a module-level path
# and the fake Discourse server built from the recorded responses
NEEDS_SHARED = [
    "tests/sync/test_fixtures.py",
    "tests/dupes/test_semeval_bench.py",
    "tests/sync/test_discourse_pull.py",
]


@pytest.fixture(scope="module")
def lone_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clone = tmp_path_factory.mktemp("lone") / "peerdesk"
    shutil.copytree(REPO, clone, ignore=NOT_COPIED, symlinks=True)
    assert not (clone.parent / "shared").exists()
    return clone


def _pytest(clone: Path, *args: str, require_all: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERDESK_")}
    env["PYTHONPATH"] = str(clone)  # the copy's code, not this checkout's
    if require_all:
        env["PEERDESK_REQUIRE_ALL"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_the_whole_suite_collects_without_errors(lone_clone: Path) -> None:
    run = _pytest(lone_clone, "--collect-only", "-q")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "error" not in run.stdout.splitlines()[-1].lower()
    assert "tests collected" in run.stdout or "tests collected" in run.stdout.splitlines()[-1]


def test_tests_needing_shared_skip_with_one_line_naming_it(lone_clone: Path) -> None:
    run = _pytest(lone_clone, "-q", "-rs", "-x", *NEEDS_SHARED)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    skips = [line for line in run.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips, run.stdout[-3000:]
    assert all("../shared" in line and "is missing" in line for line in skips), skips
    for path in ("../shared/fixtures/discourse", "../shared/fixtures is missing", "../shared is"):
        assert any(path in line for line in skips), (path, skips)
    assert " passed" not in run.stdout.splitlines()[-1]  # nothing ran on data it did not have


def test_they_fail_when_everything_is_required(lone_clone: Path) -> None:
    run = _pytest(lone_clone, "-q", *NEEDS_SHARED, require_all=True)
    assert run.returncode not in (0, 5), run.stdout[-3000:]
    assert "PEERDESK_REQUIRE_ALL is set" in run.stdout
    assert "skipped" not in run.stdout.splitlines()[-1]
