"""The demo opens before its embeddings exist; `dupes --catch-up` computes them afterwards and
ends where building them at once would have."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from console.demo import build_demo
from console.dupes import candidates as cands
from console.dupes import catch_up, embed
from tests.backends import pytest_generate_tests, store_copied_from
from tests.conftest import BuiltOnce, demo_file

__all__ = ["pytest_generate_tests"]

THREADS = 150


@pytest.fixture(scope="module")
def later_file(tmp_path_factory: pytest.TempPathFactory, built_once: BuiltOnce) -> Path:
    """The demo built without embeddings (as `make demo` opens it), once per run."""
    path = tmp_path_factory.mktemp("catch-up") / "later.sqlite3"
    return demo_file(built_once, path, THREADS, embeddings=False)


@pytest.fixture
def later(
    later_file: Path, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Cache]:
    """The test's own copy of it: a cache file, or a team database copied from it (alice)."""
    with store_copied_from(
        later_file, "catch-up-later", backend, tmp_path / "later.sqlite3", request
    ) as store:
        yield store


def _links(cache: Cache) -> list[tuple[int, int, float, str]]:
    return [
        (r[0], r[1], r[2], r[3])
        for r in cache.query(
            "SELECT thread_id, original_id, score, method FROM duplicate_links "
            "ORDER BY thread_id, original_id"
        )
    ]


def _vectors(cache: Cache) -> int:
    return int(cache.one("SELECT count(*) FROM thread_vectors")[0])


# SQLite only: the at-once build's pairs are the cache's recall; on a team database (its own
# recall) the catch-up is checked by the next test
def test_catching_up_ends_where_embedding_at_once_would_have(
    tmp_path: Path, later_file: Path
) -> None:
    at_once = open_cache(tmp_path / "now.sqlite3", create=True)
    shutil.copyfile(later_file, tmp_path / "later.sqlite3")
    later = open_cache(tmp_path / "later.sqlite3")
    try:
        build_demo(at_once, THREADS)
        assert _vectors(later) == 0
        methods = {link[3] for link in _links(later)}
        assert methods == {cands.LEXICAL_METHOD}
        assert catch_up.pending(later)

        done = catch_up.catch_up(later)

        assert done.skipped is None
        assert done.embedded == THREADS == _vectors(later) == _vectors(at_once)
        assert done.refreshed >= len({link[0] for link in _links(at_once)})
        assert _links(later) == _links(at_once)
        assert not catch_up.pending(later)
        assert catch_up.catch_up(later).embedded == 0  # nothing left to do
    finally:
        at_once.close()
        later.close()


@pytest.mark.backends
def test_catching_up_embeds_every_thread_and_recomputes_every_word_only_pair(
    later: Cache,
) -> None:
    assert _vectors(later) == 0 and catch_up.pending(later)
    assert {link[3] for link in _links(later)} == {cands.LEXICAL_METHOD}

    done = catch_up.catch_up(later)

    assert done.skipped is None
    assert done.embedded == THREADS == _vectors(later)
    assert done.refreshed >= len({link[0] for link in _links(later)}) > 0
    assert cands.LEXICAL_METHOD not in {link[3] for link in _links(later)}  # all recomputed
    assert cands.METHOD in {link[3] for link in _links(later)}
    assert not catch_up.pending(later)
    assert catch_up.catch_up(later).embedded == 0  # nothing left to do


# No store question: without the model the catch-up stops before it reads the store
def test_without_the_model_the_lexical_candidates_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = open_cache(tmp_path / "later.sqlite3", create=True)
    try:
        build_demo(cache, 60, embeddings=False)
        before = _links(cache)
        monkeypatch.setenv(embed.OFF_ENV, "off")
        done = catch_up.catch_up(cache)
        assert done.skipped is not None and "off" in done.skipped
        assert (done.embedded, done.refreshed) == (0, 0)
        assert _links(cache) == before and _vectors(cache) == 0
    finally:
        cache.close()


@pytest.mark.backends
def test_one_catch_up_at_a_time_on_a_cache_file_any_number_on_a_team_database(
    later: Cache, backend: str
) -> None:
    with catch_up.only_one(later) as mine, catch_up.only_one(later) as another:
        assert mine
        # a file lock beside the cache; the team database has no file, and every step of a
        # catch-up is safe to run twice there
        assert another == (backend == "postgresql")
    if backend == "sqlite":
        with catch_up.only_one(later):
            done = catch_up.catch_up(later)
        assert done.skipped == "another catch-up is running on this cache"
        assert _vectors(later) == 0


@pytest.mark.slow
def test_make_demo_steps_open_first_and_embed_in_the_background(tmp_path: Path) -> None:
    """The Makefile's three commands: build with --embed-later, start the catch-up in the
    background (the command returns at once), and the cache catches up by itself."""
    db = tmp_path / "demo.sqlite3"
    peerdesk = [sys.executable, "-m", "console", "--db", str(db)]
    env = {**os.environ, "PEERDESK_NOW": "2026-11-20T12:00:00Z"}
    subprocess.run([*peerdesk, "demo", "--threads", "80", "--embed-later"], check=True, env=env)
    cache = open_cache(db)
    try:
        assert _vectors(cache) == 0
    finally:
        cache.close()
    started = subprocess.run(
        [*peerdesk, "dupes", "--catch-up", "--background"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "in the background" in started.stdout
    deadline = time.monotonic() + 240
    while True:
        cache = open_cache(db)
        try:
            if not catch_up.pending(cache):
                break
        finally:
            cache.close()
        assert time.monotonic() < deadline, (tmp_path / "demo.sqlite3.catch-up.log").read_text()
        time.sleep(0.5)
    cache = open_cache(db)
    try:
        assert _vectors(cache) == 80
        assert cands.METHOD in {link[3] for link in _links(cache)}
    finally:
        cache.close()
    again = subprocess.run(
        [*peerdesk, "dupes", "--catch-up", "--background"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.stdout == ""  # nothing pending: no process started
