"""What a moderator is shown as a proposed duplicate, on a whole demo community: every stored
score is a probability (never 1 or more, whatever bonuses the lexical score adds), and a solved or
closed thread is never proposed as the new duplicate of an original that is not solved, neither
when the candidates are computed nor after the thread is solved later."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from console.dupes import candidates as cands
from console.dupes import embed, panel
from console.store import QueueFilter, queue
from tests.backends import TeamServer, pytest_generate_tests, team_database
from tests.conftest import BuiltOnce
from tests.conftest import demo_file as shared_demo

pytestmark = pytest.mark.backends
__all__ = ["pytest_generate_tests"]

THREADS = 240


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory, built_once: BuiltOnce) -> Path:
    if embed.load_encoder() is None:
        pytest.fail(f"the model must load offline in tests: {embed.unavailable_reason()}")
    path: Path = tmp_path_factory.mktemp("rules") / "demo.sqlite3"
    # every thread's candidates; built once per run (the module's tests spread over workers)
    return shared_demo(built_once, path, THREADS, candidate_limit=THREADS)


@pytest.fixture(scope="module")
def demo_cache(demo_file: Path) -> Iterator[Cache]:
    """The SQLite runs share the module's cache (a test that changes it puts it back)."""
    cache = open_cache(demo_file)
    yield cache
    cache.close()


@pytest.fixture
def demo(demo_file: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Cache]:
    """The demo on a cache file, or on a team database of the test's own copied from it by
    migrate-to (the stored pairs are the cache's; the Thread band, the panel and the Queue read
    them with the team database's SQL, and recall runs on its own indexes)."""
    if backend == "sqlite":
        yield request.getfixturevalue("demo_cache")
        return
    server: TeamServer = request.getfixturevalue("team_server")
    with team_database(server, server.template_of_file("rules-demo", demo_file)) as team:
        yield team


def _forbidden(cache: Cache, thread_id: int, original_id: int) -> bool:
    new = cache.one("SELECT status FROM threads WHERE id = ?", (thread_id,))
    old = cache.one("SELECT status, accepted_post_id FROM threads WHERE id = ?", (original_id,))
    assert new is not None and old is not None
    solved = old[0] == "solved" or old[1] is not None
    return new[0] in cands.CLOSED_STATUSES and not solved


def _shown(cache: Cache) -> set[tuple[int, int]]:
    """Every pair proposed anywhere: the Thread band (`candidates`, weaker ones included), the
    Duplicates panel, the `dupes` list."""
    ids = [r[0] for r in cache.query("SELECT DISTINCT thread_id FROM duplicate_links")]
    shown = {(c.thread_id, c.original_id) for t in ids for c in cands.candidates(cache, t)}
    shown |= {
        (c.thread_id, c.original_id) for t in ids for c in cands.candidates(cache, t, weaker=True)
    }
    shown |= {(p.thread_id, p.original_id) for p in panel.pending_pairs(cache, limit=10_000)}
    strong = {t for t, *_ in panel.strong_threads(cache, limit=10_000)}
    shown |= {(t, c.original_id) for t in strong for c in cands.candidates(cache, t)}
    return shown


def _forbidden_once_solved(cache: Cache, original_id: int) -> bool:
    """Whether a pair with this original stops being proposed once its new thread is solved."""
    old = cache.one("SELECT status, accepted_post_id FROM threads WHERE id = ?", (original_id,))
    assert old is not None
    return old[0] != "solved" and old[1] is None


def _marked_in_queue(cache: Cache) -> set[int]:
    """Threads the Queue marks `≈` or lists under "likely duplicates" (solved ones included)."""
    everything = queue(cache, QueueFilter(everything=True), limit=10_000)
    assert len(everything) == THREADS
    marked = {item.thread_id for item in everything if item.strong_duplicate}
    likely = QueueFilter(everything=True, strong_duplicates=True)
    return marked | {item.thread_id for item in queue(cache, likely, limit=10_000)}


def test_every_stored_score_is_a_probability_below_one(demo: Cache) -> None:
    scores = [float(r[0]) for r in demo.query("SELECT score FROM duplicate_links")]
    assert len(scores) > THREADS  # candidates were computed for the whole community
    assert all(0.0 < s < 1.0 for s in scores)
    assert any(s >= cands.PROPOSE for s in scores)  # and some are proposed


def test_a_solved_or_closed_thread_is_never_proposed_as_a_new_duplicate(
    demo: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = _shown(demo)
    assert shown
    assert not [pair for pair in shown if _forbidden(demo, *pair)]
    # the rule is what keeps them out: without it, such pairs would be proposed in this demo
    finished = [
        r[0] for r in demo.query("SELECT id FROM threads WHERE status IN ('solved', 'closed')")
    ]
    monkeypatch.setattr(cands, "CLOSED_STATUSES", ())
    stats = cands.VocabStats(demo.conn)
    would = [
        (t, o)
        for t in finished
        for o, chance, _ in cands.find_candidates(demo, t, stats=stats, keep=cands.KEEP)
        if chance >= cands.PROPOSE
    ]
    monkeypatch.undo()
    assert [pair for pair in would if _forbidden(demo, *pair)]


def test_a_thread_solved_after_its_candidates_were_stored_is_no_longer_proposed(
    demo: Cache,
) -> None:
    pending = demo.query(
        "SELECT d.thread_id, d.original_id FROM duplicate_links d "
        "JOIN threads t ON t.id = d.thread_id JOIN threads o ON o.id = d.original_id "
        "WHERE d.decision = 'pending' AND d.score >= ? AND t.status IN ('open', 'answered') "
        "AND o.status != 'solved' AND o.accepted_post_id IS NULL ORDER BY d.score DESC",
        (cands.PROPOSE,),
    )
    assert pending, "the demo should propose an unsolved original for an open thread"
    shown = _shown(demo)
    # a thread all of whose proposals stop once it is solved (none has a solved original)
    keeps_one = {t for t, o in shown if not _forbidden_once_solved(demo, o)}
    thread_id, original_id = next((t, o) for t, o in pending if t not in keeps_one)
    assert (thread_id, original_id) in shown
    assert thread_id in _marked_in_queue(demo)
    # the platform marks the thread solved (a sync or an import that does not recompute it)
    with demo.transaction() as conn:
        conn.execute("UPDATE threads SET status = 'solved' WHERE id = ?", (thread_id,))
    try:
        assert (thread_id, original_id) not in _shown(demo)
        assert not [p for p in _shown(demo) if _forbidden(demo, *p)]
        # nor marked in the Queue, nor listed as a likely duplicate (it has no other proposal)
        assert thread_id not in _marked_in_queue(demo)
    finally:
        with demo.transaction() as conn:
            conn.execute("UPDATE threads SET status = 'open' WHERE id = ?", (thread_id,))
