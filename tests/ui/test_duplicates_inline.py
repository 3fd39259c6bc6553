"""Duplicates inline: the Thread screen's banner, its `D` key, and the Queue's "likely duplicates".

The community is tests.ui.conftest's (its titles repeat every ten threads), with duplicate
candidates found by console.dupes.candidates.update_candidates, plus one hand-made pending pair
whose original has a hostile title. What the store holds and the Queue and Thread screens show of
it also run on a team database holding the same pairs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.app import PeerdeskApp
from console.db import Cache
from console.desk import Desk
from console.dupes.candidates import STRONG_SCORE, update_candidates
from console.dupes.stored import Candidate
from console.screens.duplicates import DuplicatesScreen
from console.screens.queue import FILTERS, STRONG_MARK, QueueScreen
from console.screens.queue_layout import TITLE
from console.screens.thread import ThreadScreen, banner
from console.store import QueueFilter
from tests.conftest import BuiltOnce
from tests.ui.conftest import seed_ui
from tests.ui.helpers import screen_text, settle
from tests.ui.team_desk import desk_on, seeded_file
from widgets.lazy_table import LazyTable

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def add_link(cache: Cache, thread_id: int, original_id: int, score: float, why: str) -> None:
    """A pending duplicate pair, written as the candidate finder writes it."""
    with cache.transaction() as conn:
        conn.execute(
            "INSERT INTO duplicate_links (thread_id, original_id, score, method, explanation, "
            "decision, created_at) VALUES (?, ?, ?, 'test', ?, 'pending', '2026-11-20T12:00:00Z') "
            "ON CONFLICT (thread_id, original_id) DO UPDATE SET score = excluded.score",
            (thread_id, original_id, score, why),
        )


def strong_threads(cache: Cache) -> list[int]:
    """Queue threads with a pending pair at least STRONG_SCORE, straight from the table."""
    return [
        r[0]
        for r in cache.query(
            "SELECT DISTINCT t.id FROM threads t JOIN duplicate_links d ON d.thread_id = t.id "
            "WHERE t.in_queue = 1 AND d.decision = 'pending' AND d.score >= ? ORDER BY t.id",
            (STRONG_SCORE,),
        )
    ]


def seed_dupes(cache: Cache) -> dict[str, int]:
    """The console community with dave's claim on t1 and the candidates the finder stored."""
    ids = seed_ui(cache)
    update_candidates(cache, ids.values())
    # t4 ("Top-up failed"…) gets a known strong pair whose original is the hostile t3
    add_link(cache, ids["t4"], ids["t3"], 0.91, "shares [bold]top[/], \x1b[2J failed")
    return ids


@pytest.fixture
def dupe_db(tmp_path: Path, built_once: BuiltOnce) -> Path:
    """A cache file of the test's own holding `seed_dupes`' community: a copy of one built once
    per run (the finder's candidates load both models and score every thread: 1-3 s of CPU that
    each of these tests and tests/ui/test_status_line.py's paid again)."""
    return built_once.copy(
        "ui-dupes", lambda path: seeded_file(path, seed_dupes), tmp_path / "dupes.sqlite3"
    )


@pytest.fixture
def desk(backend: str, request: pytest.FixtureRequest) -> Iterator[Desk]:
    """alice's Desk on the community: the file `dupe_db`, or (the PostgreSQL run of a
    `backends` test) a team database holding the same pairs (copied by migrate-to)."""
    with desk_on(backend, request, "dupe_db", seed_dupes, daves="t1") as opened:
        yield opened


def thread_id_of(desk: Desk, remote: str) -> int:
    row = desk.cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote,))
    assert row is not None
    return int(row[0])


def no_candidates(desk: Desk) -> int:
    row = desk.cache.one(
        "SELECT t.id FROM threads t WHERE NOT EXISTS (SELECT 1 FROM duplicate_links d "
        "WHERE d.thread_id = t.id AND d.decision = 'pending') ORDER BY t.id LIMIT 1"
    )
    assert row is not None
    return int(row[0])


def test_the_finder_found_strong_pairs_besides_the_hand_made_one(desk: Desk) -> None:
    strong = strong_threads(desk.cache)
    assert thread_id_of(desk, "t4") in strong
    assert len(strong) >= 3  # titles repeat every ten threads: the finder sees them


@pytest.mark.backends
def test_desk_possible_duplicates_are_the_pending_rows_best_first(desk: Desk) -> None:
    thread = thread_id_of(desk, "t4")
    found = desk.possible_duplicates(thread)
    rows = desk.cache.query(
        "SELECT original_id, score FROM duplicate_links WHERE thread_id = ? "
        "AND decision = 'pending' ORDER BY score DESC, original_id",
        (thread,),
    )
    assert [(c.original_id, c.score) for c in found] == [(r[0], r[1]) for r in rows]
    assert found[0].original_id == thread_id_of(desk, "t3") and found[0].score == 0.91


@pytest.mark.backends
def test_queue_items_mark_exactly_the_strong_threads(desk: Desk) -> None:
    items = desk.queue(limit=1000)
    assert {i.thread_id for i in items if i.strong_duplicate} == set(strong_threads(desk.cache))
    assert desk.queue_count(QueueFilter(strong_duplicates=True)) == len(strong_threads(desk.cache))


def test_banner_fits_the_width_and_keeps_id_score_and_hint() -> None:
    long = Candidate(1, 12345, "x" * 200, "open", 0.876, "shares " + "word, " * 50, "pending")
    weak = Candidate(1, 77, "short\x1b[31m title", "solved", 0.3, "", "pending")
    text = banner([long, weak, long, weak], width=78)
    lines = text.plain.split("\n")
    assert len(lines) == 3
    assert all(len(line) <= 78 for line in lines)
    assert lines[0].startswith("Possible duplicate of #12345 'xxx")
    assert "(0.88: shares" in lines[0] and lines[0].endswith(" — D to review")
    assert "#77 'short\\x1b[31m title' (0.30)" in lines[1]
    assert lines[2].endswith("(+1 more)")
    assert "\x1b" not in text.plain


@pytest.mark.backends
async def test_thread_with_a_strong_candidate_shows_the_banner_and_d_opens_the_panel(
    desk: Desk,
) -> None:
    thread, original = thread_id_of(desk, "t4"), thread_id_of(desk, "t3")
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ThreadScreen(thread))
        await settle(pilot)
        text = screen_text(pilot)
        line = next(li for li in text.splitlines() if "Possible duplicate of" in li)
        assert f"#{original} '[bold red]ALERT" in line  # the hostile title as text
        assert "(0.91" in line and "D to review" in line
        assert "\x1b" not in text
        others = desk.possible_duplicates(thread)[1:3]
        for cand in others:
            assert f"or #{cand.original_id} " in text
        assert "Duplicates" in text  # the footer offers D
        await pilot.press("D")
        await settle(pilot)
        assert isinstance(app.screen, DuplicatesScreen)
        pairs = app.screen.query_one("#pairs", LazyTable)
        assert pairs.total == desk.duplicate_pairs_count() > 0
        assert thread in {p.thread_id for p in desk.duplicate_pairs(0, 1000)}
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)  # back where the moderator was


async def test_thread_without_candidates_shows_nothing_extra(desk: Desk) -> None:
    thread = no_candidates(desk)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ThreadScreen(thread))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ThreadScreen)
        assert "Possible duplicate" not in screen_text(pilot)
        assert not screen.query_one("#thread-dupes").display
        assert "duplicates" not in {b.binding.action for b in screen.active_bindings.values()}


@pytest.mark.backends
async def test_queue_filter_cycle_reaches_likely_duplicates(desk: Desk) -> None:
    expected = strong_threads(desk.cache)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        grid = screen.query_one("#queue-table", LazyTable)
        rows = [grid.row_at(i) for i in range(grid.total)]  # 40 threads: one page
        assert all(row is not None for row in rows)
        marked = {row.key for row in rows if str(row.cells[TITLE]).startswith(STRONG_MARK)}
        assert marked == set(expected)
        for _ in range(FILTERS.index("likely duplicates")):
            await pilot.press("f")
            await settle(pilot)
        assert "Queue · likely duplicates" in screen_text(pilot)
        assert grid.total == len(expected)
        assert sorted(grid.row_at(i).key for i in range(grid.total)) == expected
        assert all(str(grid.row_at(i).cells[TITLE]).startswith(STRONG_MARK) for i in range(3))
        await pilot.press("f")
        await settle(pilot)
        assert "Queue · all" in screen_text(pilot)
        assert grid.total == desk.queue_count()
