"""The Verification panel with Pilot: the queue by impact, signals with reasons, the keys
verify / reject / needs-edit / pick / confirm / undo, the Thread screen's V, and the known answer
beside a duplicate. On a cache file and on a team database (where alice is a moderator by the
server's grant and zoe, the second moderator, logs in as herself)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.db import Cache
from console.desk import Desk
from console.screens.thread import ThreadScreen
from console.screens.verification import AnswerRequested, VerificationScreen
from console.screens.verify_reason import ReasonScreen
from console.verify.settings import VerifySettings
from tests.ui.helpers import held, notes, screen_text, settle
from tests.verify.conftest import Community, add_thread, door

pytestmark = [pytest.mark.anyio, pytest.mark.backends]


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


@pytest.fixture
def panel_desk(community: Community) -> Iterator[Desk]:
    cache = community.cache
    if cache.dialect.is_sqlite:
        with cache.transaction():
            cache.set_meta("demo", "1")  # alice has every role, as in `make demo`
    desk = Desk.for_cache(cache)
    desk.verification.refresh()
    yield desk


def state(cache: Cache, post: int) -> str:
    row = cache.one("SELECT state FROM verifications WHERE post_id = ?", (post,))
    return str(row[0]) if row else "none"


async def open_panel(pilot: Pilot[Any]) -> VerificationScreen:
    await settle(pilot)
    await pilot.press("V")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, VerificationScreen)
    return screen


async def test_panel_shows_the_queue_signals_and_competitors(
    panel_desk: Desk, community: Community
) -> None:
    app = PeerdeskApp(panel_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_panel(pilot)
        first = screen.rows[0]
        assert [r.impact for r in screen.rows] == sorted(
            (r.impact for r in screen.rows), reverse=True
        )
        assert screen.view is not None and screen.view.candidate.post_id == first.post_id
        text = screen_text(pilot)
        assert "Verification" in text and "Competing answers" in text
        assert "+15 the asker accepted it" in text or "on the question's topic" in text


async def test_verify_reject_and_needs_edit_keys(panel_desk: Desk, community: Community) -> None:
    messages: list[Any] = []
    app = PeerdeskApp(panel_desk)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        screen = await open_panel(pilot)
        staff = community.posts["t2-2"]
        index = next(i for i, r in enumerate(screen.rows) if r.post_id == staff)
        await pilot.press(*["j"] * index)
        await settle(pilot)
        assert screen.view is not None and screen.view.candidate.post_id == staff
        await pilot.press("v")
        await settle(pilot)
        assert state(community.cache, staff) == "verified"
        assert any("verified by alice" in n for n in notes(messages))
        # reject the copy: a reason from the list, then free text
        copy = community.posts["t1-3"]
        screen.post_message(AnswerRequested(copy))
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press("down", "down", "down", "enter")  # wrong, unsafe, no_answer, copied
        await pilot.press(*"same as reply 2", "enter")
        await settle(pilot)
        row = community.cache.one(
            "SELECT state, reject_reason, note FROM verifications WHERE post_id = ?", (copy,)
        )
        assert tuple(row) == ("rejected", "copied", "same as reply 2")
        # undo takes it back and it is pending again
        await pilot.press("u")
        await settle(pilot)
        assert state(community.cache, copy) == "pending"


async def test_pick_needs_a_second_moderator(panel_desk: Desk, community: Community) -> None:
    accepted, right = community.posts["t1-1"], community.posts["t1-2"]
    app = PeerdeskApp(panel_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_panel(pilot)
        index = next(i for i, r in enumerate(screen.rows) if r.post_id == accepted)
        await pilot.press(*["j"] * index)
        await settle(pilot)
        assert screen.view is not None and screen.view.candidate.post_id == accepted
        while screen.view.competitors[screen.highlighted].post_id != right:
            await pilot.press("right_square_bracket")
        await pilot.press("p")
        await settle(pilot)
        row = community.cache.one(
            "SELECT state, proposed_state, proposed_by FROM verifications WHERE post_id = ?",
            (right,),
        )
        assert tuple(row) == ("pending", "verified", "alice")
    zoe = Desk.for_cache(panel_desk.cache, actor="zoe")
    app = PeerdeskApp(zoe)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_panel(pilot)
        index = next(i for i, r in enumerate(screen.rows) if r.post_id == right)
        assert screen.rows[index].kind == "four_eyes"
        await pilot.press(*["j"] * index)
        await settle(pilot)
        assert "alice proposes verified" in screen_text(pilot)
        await pilot.press("c")
        await settle(pilot)
    row = community.cache.one(
        "SELECT state, decided_by, second_by FROM verifications WHERE post_id = ?", (right,)
    )
    assert tuple(row) == ("verified", "alice", "zoe")


async def test_thread_screen_v_opens_the_focused_answer(
    panel_desk: Desk, community: Community
) -> None:
    app = PeerdeskApp(panel_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(ThreadScreen(community.threads["t1"]))
        await settle(pilot)
        await pilot.press("V")  # on the question: refused with a hint
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        await pilot.press("j", "j", "j")  # the third reply: the copy
        await pilot.press("V")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, VerificationScreen)
        assert screen.view is not None
        assert screen.view.candidate.post_id == community.posts["t1-3"]
        assert "near-copy of reply no. 2" in screen_text(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)


def duplicate_of_a_verified_answer(desk: Desk, community: Community) -> None:
    """t2's second post verified, and t9 (open) a duplicate of t2."""
    desk.verification.verify(community.posts["t2-2"])
    add_thread(
        community,
        "t9",
        "Roaming in Spain again",
        "Is data roaming free in Spain?",
        "asker",
        [],
        status="open",
        duplicate_of="t2",
    )


async def test_known_answer_beside_a_duplicate(panel_desk: Desk, community: Community) -> None:
    duplicate_of_a_verified_answer(panel_desk, community)
    app = PeerdeskApp(panel_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(ThreadScreen(community.threads["t9"]))
        await settle(pilot)
        text = screen_text(pilot)
        assert f"Known answer on #{community.threads['t2']}" in text
        assert "verified by alice" in text


async def test_known_answer_shown_when_the_queue_opens_the_thread(
    panel_desk: Desk, community: Community
) -> None:
    """The Queue's enter (the thread read before the kept screen is pushed) shows the known
    answer too, and only for the thread it belongs to: the next thread opened (the original)
    has no band."""
    duplicate_of_a_verified_answer(panel_desk, community)
    keys = [item.thread_id for item in panel_desk.queue(limit=100)]
    duplicate = community.threads["t9"]
    other = community.threads["t2"]  # the original: no band of its own
    app = PeerdeskApp(panel_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)

        async def open_row(thread_id: int) -> str:
            await pilot.press("g", *["j"] * keys.index(thread_id), "enter")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, ThreadScreen) and screen.thread_id == thread_id
            text = screen_text(pilot)
            await pilot.press("escape")
            await settle(pilot)
            return text

        for _ in range(2):  # the kept screen's first push, then a push of it again
            text = await open_row(duplicate)
            assert f"Known answer on #{community.threads['t2']}" in text
            assert "verified by alice" in text
            assert "Known answer" not in await open_row(other)


async def test_a_calibration_item_names_the_keys_that_decide_it(
    panel_desk: Desk, community: Community
) -> None:
    """alice's verification is re-queued blind to zoe. The panel told zoe "v verified / r
    rejected", but `r` reloads the queue (reject is `x`): pressing it rejected nothing. The
    hint now names the keys bound to verify and reject, and the one it names rejects."""
    post = community.posts["t2-2"]
    door(panel_desk.cache, "alice", VerifySettings(calibration_share=1.0)).verify(post)
    zoe = Desk.for_cache(panel_desk.cache, actor="zoe")
    app = PeerdeskApp(zoe)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_panel(pilot)
        index = next(i for i, r in enumerate(screen.rows) if r.kind == "calibration")
        await pilot.press(*["j"] * index)
        await settle(pilot)
        assert screen.view is not None and screen.view.blind
        hint = re.search(r"decide blind \((\S+) verified / (\S+) rejected\)", screen_text(pilot))
        assert hint is not None, screen_text(pilot)
        await pilot.press(hint.group(2))
        await settle(pilot)
    row = panel_desk.cache.one(
        "SELECT reviewer, review_state, state FROM verification_reviews "
        "WHERE post_id = ? AND kind = 'calibration'",
        (post,),
    )
    assert tuple(row) == ("zoe", "rejected", "disagreed")


async def test_a_key_typed_before_the_answer_loads_acts_on_the_row_under_the_cursor(
    panel_desk: Desk, community: Community, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`j` then `v` before the second answer's detail is read (a fast typist, keys in one
    burst over SSH, a slow read): the cursor is on the second answer, the first one's detail
    still shown. Before, `v` verified the answer shown, the one the moderator had just moved
    away from; now it acts on the cursor's row. (Every read is held until `v` has been
    pressed.)"""
    app = PeerdeskApp(panel_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_panel(pilot)
        first, second = screen.rows[0].post_id, screen.rows[1].post_id
        assert screen.view is not None and screen.view.candidate.post_id == first
        with held(monkeypatch, screen, "read_detail"):
            await pilot.press("j", "v")
        await settle(pilot)
    assert decided(panel_desk.cache, first) is None
    assert decided(panel_desk.cache, second) == "verified"


def decided(cache: Cache, post: int) -> str | None:
    """What a moderator decided on `post` (final, or proposed for a second moderator)."""
    row = cache.one("SELECT state, proposed_state FROM verifications WHERE post_id = ?", (post,))
    assert row is not None
    return str(row[1] or row[0]) if (row[1] or row[0] != "pending") else None
