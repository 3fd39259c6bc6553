"""`peerdesk demo`: builds, --if-missing, refuses to overwrite a cache that is not a demo."""

from __future__ import annotations

# SQLite only: the demo's cache FILE (its path, overwriting, a file that is not SQLite);
# `demo` on a team database: tests/demo/test_team_demo.py.
import json
import sqlite3
from pathlib import Path

import pytest

from console.cli import main
from console.db import open_cache
from console.demo_file import is_demo_cache
from console.ingest import ensure_source


def run(*args: str) -> int:
    return main(list(args))


def threads_in(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM threads").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.slow
def test_builds_a_demo_cache_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sub" / "demo.sqlite3"
    assert run("--db", str(path), "demo", "--threads", "150", "--candidates", "50") == 0
    out = capsys.readouterr()
    assert "150 threads" in out.out and "posts" in out.out and "members" in out.out
    assert out.err == ""  # no progress for a small build when stderr is not a terminal
    assert is_demo_cache(path)
    assert threads_in(path) == 150
    assert sorted(p.name for p in path.parent.iterdir()) == ["demo.sqlite3"]  # no leftovers
    cache = open_cache(path)
    try:
        assert cache.one("SELECT count(*) FROM duplicate_links")[0] > 0
        assert json.loads(cache.meta("demo_planted_duplicates") or "[]")
    finally:
        cache.close()


def test_default_path_comes_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # conftest points PEERDESK_DB at tmp_path / "default-cache.sqlite3"
    assert run("demo", "--threads", "40", "--candidates", "0") == 0
    assert is_demo_cache(tmp_path / "default-cache.sqlite3")


def test_if_missing_leaves_an_existing_demo_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "demo.sqlite3"
    assert run("--db", str(path), "demo", "--threads", "60", "--candidates", "0") == 0
    before = path.read_bytes()
    capsys.readouterr()
    assert run("--db", str(path), "demo", "--threads", "400", "--if-missing") == 0
    assert "already exists" in capsys.readouterr().out
    assert path.read_bytes() == before
    # without --if-missing an existing demo is rebuilt
    assert run("--db", str(path), "demo", "--threads", "80", "--candidates", "0") == 0
    assert threads_in(path) == 80


def test_refuses_to_overwrite_a_real_cache_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], grant_roles
) -> None:
    grant_roles({"alice": ["admin"]})  # replacing a real cache takes its admin
    path = tmp_path / "work.sqlite3"
    cache = open_cache(path, create=True)
    ensure_source(cache, "discourse", "production", "https://forum.example.com")
    cache.close()
    before = path.read_bytes()
    for flags in ((), ("--if-missing",)):
        assert run("--db", str(path), "demo", "--threads", "100", *flags) == 2
        err = capsys.readouterr().err
        assert "not a demo cache" in err and "--force" in err
        assert path.read_bytes() == before
    assert run("--db", str(path), "demo", "--threads", "100", "--candidates", "0", "--force") == 0
    assert is_demo_cache(path)
    cache = open_cache(path)
    try:
        assert [r[0] for r in cache.query("SELECT name FROM sources")] == ["demo"]
    finally:
        cache.close()


def test_refuses_a_file_that_is_not_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes, not a database\n")
    assert run("--db", str(path), "demo", "--threads", "50") == 2
    assert "not a demo cache" in capsys.readouterr().err
    assert path.read_text() == "my notes, not a database\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_rejects_a_bad_thread_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "-5", "lots"):
        with pytest.raises(SystemExit) as exit_info:
            run("--db", str(tmp_path / "x.sqlite3"), "demo", "--threads", bad)
        assert exit_info.value.code == 2
    assert not (tmp_path / "x.sqlite3").exists()


@pytest.mark.slow
def test_big_builds_report_progress_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from console.cli import demo_cmd

    monkeypatch.setattr(demo_cmd, "PROGRESS_ABOVE", 100)
    path = tmp_path / "demo.sqlite3"
    assert run("--db", str(path), "demo", "--threads", "120", "--candidates", "20") == 0
    err = capsys.readouterr().err.splitlines()
    assert "peerdesk demo: threads 120/120" in err
    assert "peerdesk demo: candidates 20/20" in err
    assert all("\x1b" not in line and "\r" not in line for line in err)  # not a terminal


def test_the_demo_modules_do_not_import_textual() -> None:
    import subprocess
    import sys

    code = (
        "import sys, console.demo, console.demo_corpus, console.cli.demo_cmd\n"
        "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == "False"
