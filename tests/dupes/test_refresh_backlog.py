"""An import queues its duplicate refresh and returns; the catch-up computes it afterwards, and
killed anywhere then resumed it ends where an uninterrupted run ends (console/dupes/refresh.py);
on a cache file and on a team database (each slice its own transaction on the server).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.cli import background, main
from console.db import Cache, open_cache
from console.dupes import candidates as cands
from console.dupes import refresh, vectors
from sync import jsonl
from tests.backends import empty_store, location, pytest_generate_tests, store_copied_from
from tests.dupes.conftest import FILLER, THREADS

pytestmark = pytest.mark.backends
__all__ = ["pytest_generate_tests"]


def _write(path: Path) -> Path:
    """FILLER and THREADS (two planted duplicates) as a peerdesk JSONL file."""
    head = {"type": "header", "format": "peerdesk-jsonl", "version": 1, "source": {"name": "f"}}
    lines: list[dict[str, object]] = [head]
    everything = {
        f"f{i}": (title, body, "open", f"2025-06-{1 + i:02d}T10:00:00Z")
        for i, (title, body) in enumerate(FILLER)
    }
    everything.update(THREADS)
    for remote, (title, body, _status, created) in everything.items():
        lines.append({"type": "thread", "remote_id": remote, "title": title, "created_at": created})
        for position, text in enumerate((body, "Try this.")):
            lines.append(
                {
                    "type": "post",
                    "remote_id": f"{remote}-{position}",
                    "thread": remote,
                    "position": position,
                    "body_text": text,
                    "created_at": created,
                }
            )
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


def _links(cache: Cache) -> list[tuple[int, int, float, str, str]]:
    return [
        (int(r[0]), int(r[1]), float(r[2]), str(r[3]), str(r[4]))
        for r in cache.query(
            "SELECT thread_id, original_id, score, method, explanation FROM duplicate_links "
            "ORDER BY thread_id, original_id"
        )
    ]


def _count(cache: Cache, table: str) -> int:
    return int(cache.one(f"SELECT count(*) FROM {table}")[0])


@pytest.fixture(scope="module")
def imported_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache right after the import of the file, its refresh queued and nothing computed."""
    folder = tmp_path_factory.mktemp("imported")
    path = folder / "imported.sqlite3"
    cache = open_cache(path, create=True)
    try:
        jsonl.import_file(cache, _write(folder / "f.jsonl"))
        source = int(cache.one("SELECT id FROM sources WHERE name = 'f'")[0])
        queued = refresh.queue_newest(cache, source, 12)
        assert (queued.candidates, queued.embed, queued.left) == (12, 18, 6)
    finally:
        cache.close()
    return path


@dataclass
class Copies:
    """`copies(name)`: a store of its own holding the imported file (a copy of it, or a team
    database copied from it, as alice), closed after the test."""

    built: Path
    backend: str
    folder: Path
    request: pytest.FixtureRequest
    stack: ExitStack

    def __call__(self, name: str) -> Cache:
        made = store_copied_from(
            self.built, "refresh-imported", self.backend, self.folder / name, self.request
        )
        return self.stack.enter_context(made)


@pytest.fixture
def copies(
    imported_file: Path, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Copies]:
    with ExitStack() as stack:
        yield Copies(imported_file, backend, tmp_path, request, stack)


def test_a_killed_catch_up_resumes_to_the_candidates_of_an_uninterrupted_one(
    copies: Copies, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(refresh, "SLICE", 3)
    monkeypatch.setattr(refresh, "EMBED_SLICE", 4)
    whole = copies("whole.sqlite3")
    done = refresh.catch_up(whole)
    assert (done.embedded, done.refreshed, done.stopped) == (18, 12, False)
    expected = _links(whole)
    assert refresh.backlog(whole).empty
    # the planted pairs are found (the run is worth comparing against)
    assert len(expected) > 0 and {link[3] for link in expected} == {cands.METHOD}

    class Killed(Exception):
        pass

    real_embed = vectors.embed_threads
    real_update = cands.update_candidates
    for kill_at in ("embedding", "candidates"):
        calls = [0]

        def dies(
            *args: object, _stage: str = kill_at, _calls: list[int] = calls, **kwargs: object
        ) -> int:
            _calls[0] += 1
            if _calls[0] == 2:  # the second slice: after the first one's work was committed
                raise Killed(_stage)
            real = real_embed if _stage == "embedding" else real_update
            return real(*args, **kwargs)  # type: ignore[arg-type]

        target = "embed_threads" if kill_at == "embedding" else "update_candidates"
        owner = vectors if kill_at == "embedding" else cands
        resumed = copies(f"resumed-{kill_at}.sqlite3")
        monkeypatch.setattr(owner, target, dies)
        with pytest.raises(Killed):
            refresh.catch_up(resumed)
        monkeypatch.setattr(owner, target, real_embed if owner is vectors else real_update)
        waiting = refresh.backlog(resumed)
        assert waiting.candidates == (12 if kill_at == "embedding" else 9)
        assert waiting.describe().startswith("duplicate candidates catching up: ")
        again = refresh.catch_up(resumed)
        assert again.refreshed == (12 if kill_at == "embedding" else 9)
        assert _links(resumed) == expected
        assert refresh.backlog(resumed).empty
        assert _count(resumed, "thread_vectors") == 18


def test_a_stopped_catch_up_goes_on_from_its_rows(
    copies: Copies, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(refresh, "SLICE", 5)
    cache = copies("stopped.sqlite3")
    asked = [0]

    def after_two_slices() -> bool:
        asked[0] += 1
        return bool(cache.one("SELECT count(*) FROM dupes_backlog")[0] <= 2)

    first = refresh.catch_up(cache, should_stop=after_two_slices)
    assert first.stopped and first.refreshed == 10
    assert refresh.backlog(cache).candidates == 2
    rest = refresh.catch_up(cache)
    assert rest.refreshed == 2 and not rest.stopped and refresh.backlog(cache).empty
    assert refresh.catch_up(cache).refreshed == 0  # nothing left


@pytest.fixture
def admin_store(
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    grant_roles: object,
) -> Iterator[tuple[str, Cache]]:
    """An empty store an admin imports into: where `--db` finds it, and the store. On a cache
    file alice administers (the roles file); on a team database root does (its grants)."""
    grant_roles({"alice": ["admin"]})  # type: ignore[operator]
    path = tmp_path / "c.sqlite3"
    with empty_store(backend, path, request, role="root") as store:
        if not store.dialect.is_sqlite:
            monkeypatch.setenv("PEERDESK_USER", "root")
        yield location(store, path), store


def test_the_import_command_returns_without_embedding_and_says_what_waits(
    admin_store: tuple[str, Cache],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(
        background, "start", lambda path, _args, command: started.append(command) or path
    )
    db, cache = admin_store
    source = _write(tmp_path / "f.jsonl")
    assert (
        main(
            [
                "--db",
                db,
                "import",
                str(source),
                "-q",
                "--dupes",
                "background",
                "--candidates",
                "12",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "duplicate candidates: queued for the 12 newest open threads" in out
    if cache.dialect.is_sqlite:
        assert started == [["dupes", "--pending"]]  # the catch-up is another process's work
    else:  # no file to run a process beside: left for `dupes --pending` (or a sync, a console)
        assert started == [] and "left for `peerdesk dupes --pending`" in out
    assert _count(cache, "thread_vectors") == 0  # nothing embedded by the import
    assert _count(cache, "duplicate_links") == 0
    assert refresh.backlog(cache).candidates == 12

    assert main(["--db", db, "dupes"]) == 0
    err = capsys.readouterr().err
    assert "duplicate candidates catching up: 12 threads" in err

    assert main(["--db", db, "dupes", "--pending"]) == 0
    assert "computed the candidates of 12" in capsys.readouterr().out
    assert main(["--db", db, "dupes"]) == 0
    captured = capsys.readouterr()
    assert "catching up" not in captured.err
    assert "best" in captured.out  # the planted duplicates are proposed now


def test_a_rebuild_leaves_nothing_waiting(
    admin_store: tuple[str, Cache], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, cache = admin_store
    source = _write(tmp_path / "f.jsonl")
    assert main(["--db", db, "import", str(source), "-q", "--candidates", "12"]) == 0
    assert "left for `peerdesk dupes --pending`" in capsys.readouterr().out  # (the tests' mode)
    assert refresh.backlog(cache).candidates == 12
    assert main(["--db", db, "dupes", "--rebuild"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "dupes"]) == 0
    assert "catching up" not in capsys.readouterr().err
    assert refresh.backlog(cache).empty


def test_a_sync_finishes_what_an_import_left(copies: Copies) -> None:
    from sync import runner

    cache = copies("synced.sqlite3")
    row = runner.source(cache, "f")
    runner.sync_source(cache, row)  # a JSONL source: nothing to pull, then the catch-up
    assert refresh.backlog(cache).empty
    assert _count(cache, "thread_vectors") == 18
    assert _count(cache, "duplicate_links") > 0
