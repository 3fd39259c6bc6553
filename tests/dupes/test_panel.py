"""The Duplicates panel: its reads (console.dupes.panel), the side-by-side widget, Pilot flows
(open from the Queue, confirm, undo; reject; another candidate; Stack Exchange stays local) and
a snapshot at 80x24.

Time is frozen and the user is alice (tests/conftest.py); the caches are marked as demos, so
alice has every role.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.db import Cache, open_cache
from console.desk import Desk
from console.dupes import panel
from console.dupes.candidates import candidates, update_candidates
from console.safe_text import printable
from console.screens.duplicates import DuplicatesScreen
from console.screens.thread import ThreadScreen
from tests.backends import pytest_generate_tests
from tests.conftest import BuiltOnce, demo_file
from tests.dupes.conftest import seed
from tests.plans import query_plan
from tests.ui.helpers import held, notes, screen_text, settle
from widgets.side_by_side import STACK_BELOW, Side, SideBySide, compare, words

pytestmark = pytest.mark.anyio
__all__ = ["pytest_generate_tests"]  # `backends` tests: the panel's reads on either engine


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def _seeded(path: Path, kind: str) -> dict[str, int]:
    cache = open_cache(path, create=True)
    ids = seed(cache, kind=kind, name=kind)
    update_candidates(cache, ids.values())
    cache.set_meta("demo", "1")
    cache.close()
    return ids


@pytest.fixture
def forum(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Desk, dict[str, int]]]:
    """The seeded forum with its candidates: a cache file (a demo one: every role), or (the
    PostgreSQL run of a `backends` test) a team database of the test's own, as alice."""
    if backend == "postgresql":
        team: Cache = request.getfixturevalue("cache")  # tests/dupes/conftest.py: empty
        ids = seed(team, kind="discourse", name="discourse")
        update_candidates(team, ids.values())
        yield Desk.for_cache(team), ids
        return
    path = tmp_path / "forum.sqlite3"
    ids = _seeded(path, "discourse")
    desk = Desk.open(path)
    yield desk, ids
    desk.close_cache()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Desk, dict[str, int]]]:
    path = tmp_path / "se.sqlite3"
    ids = _seeded(path, "stackexchange")
    desk = Desk.open(path)
    yield desk, ids
    desk.close_cache()


def _thread(cache: Cache, thread_id: int) -> tuple[str, int | None]:
    row = cache.one("SELECT status, duplicate_of FROM threads WHERE id = ?", (thread_id,))
    assert row is not None
    return row[0], row[1]


def _link(cache: Cache, thread_id: int, original_id: int) -> str | None:
    row = cache.one(
        "SELECT decision FROM duplicate_links WHERE thread_id = ? AND original_id = ?",
        (thread_id, original_id),
    )
    return None if row is None else str(row[0])


async def _open_panel(pilot: Pilot[Any]) -> DuplicatesScreen:
    await settle(pilot)
    await pilot.press("D")  # from the Queue
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, DuplicatesScreen)
    return screen


# ---- reads ----
@pytest.mark.backends
def test_pending_pairs_best_first_one_row_per_thread(forum: tuple[Desk, dict[str, int]]) -> None:
    desk, ids = forum
    rows = desk.duplicate_pairs(0, 100)
    assert desk.duplicate_pairs_count() == len(rows) > 0
    assert [r.score for r in rows] == sorted((r.score for r in rows), reverse=True)
    assert len({r.thread_id for r in rows}) == len(rows)
    best = {r.thread_id: r.original_id for r in rows}
    # the planted duplicates point at their originals
    assert best[ids["d1"]] == ids["o1"]
    assert best[ids["d2"]] == ids["o2"]
    for row in rows:
        top = candidates(desk.cache, row.thread_id)[0]
        assert (top.original_id, top.score) == (row.original_id, row.score)
    assert desk.duplicate_pairs(1, 100) == rows[1:]


def test_a_page_reads_each_threads_best_pair_by_its_own_links(
    forum: tuple[Desk, dict[str, int]],
) -> None:  # SQLite only: its query plan
    """The best pair of each thread on the page is found among that thread's links (its
    (thread_id, original_id) key), not by reading every pending link of the cache per row."""
    desk, _ids = forum
    statements: list[str] = []
    desk.cache.conn.set_trace_callback(statements.append)
    try:
        rows = desk.duplicate_pairs(0, 100)
    finally:
        desk.cache.conn.set_trace_callback(None)
    assert rows
    page = next(s for s in statements if "ORDER BY d.score DESC" in s)
    plan = query_plan(desk.cache.conn, page)
    assert f"SEARCH d2 USING INDEX {panel.THREAD_KEY_INDEX} (thread_id=?)" in plan, plan


@pytest.mark.backends
def test_pair_view_has_both_questions_and_the_accepted_answer(
    forum: tuple[Desk, dict[str, int]],
) -> None:
    desk, ids = forum
    view = desk.duplicate_pair(pair=(ids["d1"], ids["o1"]))
    assert view.thread.title == "iPhone 15 eSIM stuck activating"
    assert view.original.title == "eSIM activation stuck on iPhone 15"
    assert "E-4012" in view.thread.body and "E-4012" in view.original.body
    assert view.original.status == "solved"
    assert view.accepted_answer == "Try this."  # o1-a1 is accepted
    assert view.decision == "pending" and view.link_id is not None and view.score > 0.55
    assert view.explanation
    assert ids["o1"] not in [c.original_id for c in view.others]
    assert "Discourse gets a reply linking the original" in view.platform_note
    same = desk.duplicate_pair(view.link_id)
    assert same == view


@pytest.mark.backends
def test_decided_and_closed_threads_leave_the_list(forum: tuple[Desk, dict[str, int]]) -> None:
    desk, ids = forum
    before = {r.thread_id for r in desk.duplicate_pairs()}
    assert ids["d1"] in before
    desk.confirm_duplicate(ids["d1"], ids["o1"])
    after = {r.thread_id for r in desk.duplicate_pairs()}
    assert ids["d1"] not in after
    assert desk.duplicate_pairs_count() == len(after) == len(before) - 1


# ---- the widget ----
def test_compare_highlights_shared_words_and_dims_the_rest() -> None:
    same, differ = Style(bold=True), Style(dim=True)
    left, right, ratio = compare(
        "My eSIM is stuck, error E-4012.",
        "The eSIM stuck: error e-4012 again",
        same=same,
        differ=differ,
    )

    def styled(text: Text) -> dict[str, str]:
        found = {}
        for span in text.spans:
            found[text.plain[span.start : span.end]] = "same" if span.style == same else "differ"
        return found

    assert styled(left) == {
        "My": "differ",
        "eSIM": "same",
        "is": "differ",
        "stuck,": "same",
        "error": "same",
        "E-4012.": "same",
    }
    assert styled(right) == {
        "The": "differ",
        "eSIM": "same",
        "stuck:": "same",
        "error": "same",
        "e-4012": "same",
        "again": "differ",
    }
    assert ratio == pytest.approx(2 * 4 / 12)
    assert compare("a b", "a b")[2] == 1.0
    assert compare("", "")[2] == 1.0


def test_compare_never_parses_markup_and_caps_huge_texts() -> None:
    hostile = "[bold red]ALERT[/] [@click=app.quit]x[/] " + "spam " * 40_000
    left, right, _ = compare(hostile, "[bold red]ALERT[/] nothing", limit=3_000)
    assert left.plain.startswith("[bold red]ALERT[/] [@click=app.quit]x[/]")
    assert len(left.plain) == 3_000
    assert right.plain == "[bold red]ALERT[/] nothing"
    assert [w[2] for w in words("Hello, WORLD!  ...")] == ["hello", "world", "..."]


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield SideBySide(sanitise=printable, id="sbs")


@pytest.mark.parametrize(("width", "stacked"), [(80, True), (STACK_BELOW + 20, False)])
async def test_side_by_side_stacks_when_narrow_and_sanitises(width: int, stacked: bool) -> None:
    app = _Host()
    async with app.run_test(size=(width, 30)) as pilot:
        widget = app.query_one(SideBySide)
        widget.show(
            Side("new", "Roaming \x1b[31m charges", "a b c"),
            Side("old", "Roaming charges", "a x c", length=5_000),
        )
        await pilot.pause()
        assert widget.has_class("-stacked") is stacked
        text = screen_text(pilot)
        assert "Roaming \\x1b[31m charges" in text
        assert "\x1b[31m" not in text
        assert "2,000 more characters not compared" in text
        assert widget.similarity == pytest.approx(2 * 2 / 6)


# ---- Pilot flows ----
async def test_open_confirm_then_undo(forum: tuple[Desk, dict[str, int]]) -> None:
    desk, ids = forum
    top = desk.duplicate_pairs(0, 1)[0]
    thread_id, original_id = top.thread_id, top.original_id
    assert (thread_id, original_id) in {(ids["d1"], ids["o1"]), (ids["d2"], ids["o2"])}
    before = _thread(desk.cache, thread_id)
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        screen = await _open_panel(pilot)
        assert screen.view is not None
        assert (screen.view.thread.thread_id, screen.view.original.thread_id) == (
            thread_id,
            original_id,
        )
        assert f"#{thread_id}" in screen_text(pilot)

        await pilot.press("y")
        await settle(pilot)
        assert _thread(desk.cache, thread_id) == ("duplicate", original_id)
        assert _link(desk.cache, thread_id, original_id) == "confirmed"
        audit = desk.cache.one(
            "SELECT id, action, target_id, detail FROM audit ORDER BY id DESC LIMIT 1"
        )
        assert audit is not None and audit["action"] == "dupe_confirm"
        assert audit["target_id"] == thread_id
        assert json.loads(audit["detail"])["after"]["duplicate_of"] == original_id
        out = desk.cache.one("SELECT action, state, payload, audit_id FROM outbox")
        assert out is not None
        assert (out["action"], out["state"], out["audit_id"]) == (
            "close_duplicate",
            "pending",
            audit["id"],
        )
        assert json.loads(out["payload"])["original_id"] == original_id
        said = (
            f"confirmed: thread {thread_id} is a duplicate of {original_id}; Discourse will be told"
        )
        assert any(said in n for n in notes(messages))
        assert thread_id not in {r.thread_id for r in desk.duplicate_pairs()}

        await pilot.press("u")
        await settle(pilot)
        assert _thread(desk.cache, thread_id) == before
        assert _link(desk.cache, thread_id, original_id) == "pending"
        undo = desk.cache.one("SELECT action, target_id FROM audit ORDER BY id DESC LIMIT 1")
        assert undo is not None and tuple(undo) == ("undo_dupe_confirm", thread_id)
        states = [r[0] for r in desk.cache.query("SELECT state FROM outbox ORDER BY id")]
        assert states == ["cancelled"]  # never sent, so nothing to take back on Discourse
        assert any("undid dupe confirm" in n.lower() for n in notes(messages))
        assert thread_id in {r.thread_id for r in desk.duplicate_pairs()}
    assert desk.verify_audit() == []


async def test_d_in_a_thread_opens_the_panel_on_that_threads_pair(
    forum: tuple[Desk, dict[str, int]],
) -> None:
    """The Thread screen's band says "D to review": D shows that thread's pair, not the top of
    the list; on a later visit too, and from a thread opened on top of the panel after the
    cursor moved elsewhere."""
    desk, _ = forum
    rows = desk.duplicate_pairs(0, 100)
    assert len(rows) == 2
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ThreadScreen(rows[1].thread_id))
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DuplicatesScreen)
        assert screen.table.cursor_row == 1
        assert screen.view is not None and screen.view.thread.thread_id == rows[1].thread_id
        screen.open_thread(rows[1].thread_id)  # the thread of the row under the cursor
        await settle(pilot)
        await pilot.press("D")  # lands on the row the cursor already was on: its pair is shown
        await settle(pilot)
        assert app.screen is screen and screen.table.cursor_row == 1
        assert screen.view.thread.thread_id == rows[1].thread_id
        await pilot.press("home")
        await settle(pilot)
        assert screen.view.thread.thread_id == rows[0].thread_id
        screen.open_thread(rows[1].thread_id)  # as enter on its row does
        await settle(pilot)
        await pilot.press("D")  # the panel under the thread, popped back to
        await settle(pilot)
        assert app.screen is screen and screen.table.cursor_row == 1
        assert screen.view.thread.thread_id == rows[1].thread_id
        await pilot.press("escape")  # to the Queue, then a thread from there
        await settle(pilot)
        await pilot.press("end")  # the panel keeps its cursor on the last row
        await settle(pilot)
        app.push_screen(ThreadScreen(rows[0].thread_id))
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        assert app.screen is screen and screen.table.cursor_row == 0
        assert screen.view.thread.thread_id == rows[0].thread_id


async def test_reject_is_never_proposed_again(forum: tuple[Desk, dict[str, int]]) -> None:
    desk, _ = forum
    top = desk.duplicate_pairs(0, 1)[0]
    messages: list[Message] = []
    async with PeerdeskApp(desk).run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await _open_panel(pilot)
        await pilot.press("n")
        await settle(pilot)
    assert _link(desk.cache, top.thread_id, top.original_id) == "rejected"
    assert _thread(desk.cache, top.thread_id)[0] != "duplicate"
    # recorded as an internal outbox item: nothing is ever sent to the platform
    assert [tuple(r) for r in desk.cache.query("SELECT action, state FROM outbox")] == [
        ("dupe_reject", "local_only")
    ]
    assert any("the pair will not be proposed again" in n for n in notes(messages))
    update_candidates(desk.cache, [top.thread_id])
    assert top.original_id not in [c.original_id for c in candidates(desk.cache, top.thread_id)]
    rows = desk.duplicate_pairs()
    assert (top.thread_id, top.original_id) not in {(r.thread_id, r.original_id) for r in rows}


async def test_pick_another_candidate_then_merge(tmp_path: Path, built_once: BuiltOnce) -> None:
    path = demo_file(built_once, tmp_path / "demo.sqlite3", 300)
    desk = Desk.open(path)
    try:
        top = next(r for r in desk.duplicate_pairs() if r.candidates > 1)
        index = desk.duplicate_pairs().index(top)
        second = desk.duplicate_pair(top.link_id).others[0].original_id
        messages: list[Message] = []
        async with PeerdeskApp(desk).run_test(size=(80, 24), message_hook=messages.append) as pilot:
            screen = await _open_panel(pilot)
            await pilot.press(*["j"] * index)
            await settle(pilot)
            await pilot.press("p")
            await settle(pilot)
            assert screen.view is not None and screen.view.original.thread_id == second
            assert "candidate 2 of" in screen_text(pilot)
            await pilot.press("m")
            await settle(pilot)
        assert _thread(desk.cache, top.thread_id) == ("duplicate", second)
        assert _link(desk.cache, top.thread_id, second) == "merged"
        assert _link(desk.cache, top.thread_id, top.original_id) == "pending"
        merged = desk.cache.one(
            "SELECT count(*) FROM dupe_merged_posts WHERE from_thread_id = ? AND original_id = ?",
            (top.thread_id, second),
        )
        assert merged is not None
        said = f"merged: thread {top.thread_id} is a duplicate of {second}; {merged[0]} answer"
        assert any(said in n for n in notes(messages))
    finally:
        desk.close_cache()


async def test_stack_exchange_confirm_stays_local_with_the_reason(
    stack: tuple[Desk, dict[str, int]],
) -> None:
    desk, _ = stack
    messages: list[Message] = []
    async with PeerdeskApp(desk).run_test(size=(80, 24), message_hook=messages.append) as pilot:
        screen = await _open_panel(pilot)
        assert screen.view is not None
        assert "kept in peerdesk only" in screen.view.platform_note
        thread_id = screen.view.thread.thread_id
        await pilot.press("y")
        await settle(pilot)
    assert _thread(desk.cache, thread_id)[0] == "duplicate"
    out = desk.cache.one("SELECT state, last_error FROM outbox")
    assert out is not None and out["state"] == "local_only"
    assert "Stack Exchange API offers no write access" in out["last_error"]
    assert any("kept in peerdesk only: the Stack Exchange API" in n for n in notes(messages))


async def test_a_pair_changed_elsewhere_is_refused_not_applied(
    forum: tuple[Desk, dict[str, int]],
) -> None:
    desk, _ = forum
    top = desk.duplicate_pairs(0, 1)[0]
    messages: list[Message] = []
    async with PeerdeskApp(desk).run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await _open_panel(pilot)
        # another moderator closes the thread meanwhile
        desk.cache.conn.execute(
            "UPDATE threads SET status = 'closed' WHERE id = ?", (top.thread_id,)
        )
        await pilot.press("y")
        await settle(pilot)
    assert _thread(desk.cache, top.thread_id) == ("closed", None)
    assert any("Conflict" in n for n in notes(messages))


# ---- snapshot ----
@pytest.fixture
def demo_desk(tmp_path: Path, built_once: BuiltOnce) -> Iterator[Desk]:
    path = demo_file(built_once, tmp_path / "demo.sqlite3", 300)
    desk = Desk.open(path)
    yield desk
    desk.close_cache()


def test_panel_snapshot(snap_compare: Any, demo_desk: Desk) -> None:
    async def open_panel(pilot: Pilot[Any]) -> None:
        await _open_panel(pilot)

    assert snap_compare(PeerdeskApp(demo_desk), terminal_size=(80, 24), run_before=open_panel)


def test_panel_reads_never_import_textual() -> None:
    import subprocess
    import sys

    code = "import sys, console.dupes.panel; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert panel.BODY_LIMIT > 0


async def test_a_key_typed_before_the_pair_loads_acts_on_the_row_under_the_cursor(
    forum: tuple[Desk, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`j` then `n` before the second row's pair is read (keys in one burst over SSH, a slow
    read): before, `n` rejected the pair still shown, the row the moderator had left; now
    it rejects the pair of the row under the cursor. (Every read is held until `n` has been
    pressed.)"""
    desk, _ = forum
    first, second = desk.duplicate_pairs(0, 2)
    async with PeerdeskApp(desk).run_test(size=(80, 24)) as pilot:
        screen = await _open_panel(pilot)
        with held(monkeypatch, screen, "read_detail"):
            await pilot.press("j", "n")
        await settle(pilot)
    assert _link(desk.cache, first.thread_id, first.original_id) != "rejected"
    assert _link(desk.cache, second.thread_id, second.original_id) == "rejected"
