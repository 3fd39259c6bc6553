"""The Escalations panel with Pilot on a real cache: order by SLA, clocks in words, matched text,
every key (acknowledge, assign, send, note, resolve, dismiss with reason, reopen, undo), the
dismiss rate and the sparkline; snapshots at 80x24, 120x40 and in 16 colours. The flows run on a
cache file and on a team database (alice a moderator, erin payout staff, by the server's grants),
where the panel must draw the 120x40 snapshot approved on the cache file."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Sparkline

from console.app import PeerdeskApp
from console.db import Cache
from console.desk import Desk
from console.ingest import ensure_source
from console.screens.escalations import EscalationsScreen
from tests.escalate.conftest import post, store, thread
from tests.ui.helpers import notes, screen_text, settle
from tests.ui.same_snapshot import assert_same_as_snapshot

pytestmark = pytest.mark.anyio


def seed(cache: Cache) -> None:
    store(
        cache,
        [
            thread("1", "Refund never came", "u1", "2026-11-20T08:00:00Z"),
            thread("2", "Number ported without asking", "u1", "2026-11-20T11:00:00Z"),
            thread("3", "Called twice, nobody answers", "u2", "2026-11-19T10:00:00Z"),
        ],
        [
            post(
                "11",
                "1",
                "u1",
                0,
                "I will take you to the ombudsman over this",
                "2026-11-20T08:00:00Z",
            ),
            post(
                "21",
                "2",
                "u1",
                0,
                "Someone ported my number without asking",
                "2026-11-20T11:00:00Z",
            ),
            post("31", "3", "u2", 0, "Reach me at jo@example.com please", "2026-11-19T10:00:00Z"),
        ],
    )
    ensure_source(cache, "zendesk", "support", "https://kestrel.zendesk.example")


@pytest.fixture
def desk(cache: Cache) -> Desk:
    """alice on the seeded store: on the cache file the demo's owner (every role), on the team
    database the moderator the server says she is."""
    seed(cache)
    if cache.dialect.is_sqlite:
        cache.set_meta("demo", "1")
    return Desk.for_cache(cache)


async def open_panel(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("E")
    await settle(pilot)


def _state(desk: Desk, rule: str) -> tuple[str, str | None]:
    row = desk.cache.one("SELECT state, assignee FROM escalations WHERE rule_id = ?", (rule,))
    return row[0], row[1]


@pytest.mark.backends
async def test_list_order_clock_and_detail(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_panel(pilot)
        assert isinstance(app.screen, EscalationsScreen)
        text = screen_text(pilot)
        lines = [line for line in text.splitlines() if "BREACHED" in line or " left" in line]
        # most breached first: personal data of the 19th (1h to acknowledge), the legal threat
        assert "personal-data" in lines[0] and "BREACHED 1d 1h" in lines[0]
        assert "legal-threat" in lines[1] and "BREACHED 3h 00m" in lines[1]
        assert "Matched: " in text and "j***@example.com" in text
        assert "Rule tuning: dismissed 0 of 0 closed" in text
        assert "Escalations · " in text and "breached" in text
        assert "Open escalations, last 30 days: now" in text
        assert app.screen.query_one(Sparkline).data[-1] >= 3


@pytest.mark.backends
async def test_every_key(desk: Desk) -> None:
    messages: list[Any] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await open_panel(pilot)
        await pilot.press("j")  # the legal threat
        await settle(pilot)
        assert "ombudsman" in screen_text(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert _state(desk, "legal-threat") == ("acknowledged", "alice")
        await pilot.press("I")
        await settle(pilot)
        await pilot.press(*"dave", "enter")
        await settle(pilot)
        assert _state(desk, "legal-threat") == ("acknowledged", "dave")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"rang her", "enter")
        await settle(pilot)
        assert "rang her" in screen_text(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert _state(desk, "legal-threat")[0] == "sent_to_support"
        assert desk.cache.one("SELECT count(*) FROM outbox WHERE action = 'ticket_create'")[0] == 1
        await pilot.press("u")
        await settle(pilot)
        assert _state(desk, "legal-threat")[0] == "acknowledged"
        await pilot.press("r")
        await settle(pilot)
        assert _state(desk, "legal-threat")[0] == "resolved"
        assert any("is resolved" in n for n in notes(messages))
        await pilot.press("g")  # the first row (personal data): resolve with a reply
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        await pilot.press(*"Support fixed it", "enter")
        await settle(pilot)
        assert _state(desk, "personal-data")[0] == "resolved"
        reply = desk.cache.one("SELECT action, payload FROM outbox ORDER BY id DESC LIMIT 1")
        assert reply[0] == "reply" and "Support fixed it" in reply[1]


@pytest.mark.backends
async def test_assign_lists_and_completes_who_can_take_it_and_refuses_a_stranger(
    desk: Desk,
) -> None:
    """`I` lists the people who can take escalations (the demo's moderators on the cache file,
    the server's moderators and admins on the team database), completes a name as it is typed
    (→ takes it), and a name nobody has is refused by the decision, with who can."""
    messages: list[Any] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:

        async def keys(*pressed: str) -> str:
            await pilot.press(*pressed)
            await settle(pilot)
            return screen_text(pilot)

        await open_panel(pilot)
        await keys("j")  # the legal threat
        asked = await keys("I")
        listed = next(line for line in asked.splitlines() if "Can take escalations:" in line)
        assert {"alice", "dave"} <= set(listed.replace(",", " ").split()) and "erin" not in listed
        assert "→ completes" in asked
        await keys("d", "a", "right", "enter")  # "da" completed to "dave"
        assert _state(desk, "legal-threat") == ("new", "dave")
        await keys("I")
        await keys(*"daev", "enter")
        assert _state(desk, "legal-threat") == ("new", "dave")
        said = " ".join(notes(messages))
        assert "daev cannot take escalations" in said and "dave" in said


@pytest.mark.backends
async def test_dismiss_needs_a_reason_shows_the_rate_and_reopens(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_panel(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("escape")  # cancelled: nothing happens
        await settle(pilot)
        assert _state(desk, "personal-data")[0] == "new"
        await pilot.press("d")
        await settle(pilot)
        await pilot.press(*"staff address", "enter")
        await settle(pilot)
        assert _state(desk, "personal-data")[0] == "dismissed"
        await pilot.press("c")  # show closed ones
        await settle(pilot)
        await pilot.press("G")
        await settle(pilot)
        text = screen_text(pilot)
        assert "dismissed 1 of 1 closed (100%)" in text and "staff address" in text
        await pilot.press("o")
        await settle(pilot)
        assert _state(desk, "personal-data")[0] == "acknowledged"  # dismissing had seen it


@pytest.mark.backends
async def test_a_read_only_user_sees_no_decision_keys(cache: Cache) -> None:
    from console.config import Config

    seed(cache)
    desk = Desk.for_cache(cache, config=Config(), actor="erin")
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_panel(pilot)
        await pilot.press("a")
        await settle(pilot)
        footer = screen_text(pilot).splitlines()[-1]
        assert "Ack" not in footer and "Dismiss" not in footer
    assert cache.one("SELECT count(*) FROM escalations WHERE state <> 'new'")[0] == 0
    if desk.cache is not cache:  # erin's own connection to the team database
        desk.close_cache()


def test_snapshot_80x24(snap_compare: Any, desk: Desk) -> None:
    assert snap_compare(PeerdeskApp(desk), terminal_size=(80, 24), run_before=open_panel)


def test_snapshot_120x40(snap_compare: Any, desk: Desk) -> None:
    assert snap_compare(PeerdeskApp(desk), terminal_size=(120, 40), run_before=open_panel)


def test_snapshot_16_colours(snap_compare: Any, desk: Desk) -> None:
    app = PeerdeskApp(desk, theme="ansi-dark")
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_panel)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_snapshot_120x40_on_the_team_database(desk: Desk) -> None:
    """The SLA clocks, the rule rates and the sparkline read from the server draw the panel
    approved on the cache file."""
    assert_same_as_snapshot(
        PeerdeskApp(desk),
        Path(__file__).parent / "__snapshots__" / "test_panel" / "test_snapshot_120x40.svg",
        terminal_size=(120, 40),
        run_before=open_panel,
    )


@pytest.mark.backends
async def test_escalated_threads_are_marked_in_the_queue_and_thread(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEERDESK_PREVIEW", "off")  # whole titles: no preview pane beside them
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = screen_text(pilot)
        assert "! Refund never came" in text and "! Number ported without asking" in text
        legal = desk.cache.one("SELECT thread_id FROM escalations WHERE rule_id = 'legal-threat'")
        from console.screens.thread import ThreadScreen

        app.push_screen(ThreadScreen(int(legal[0])))
        await settle(pilot)
        text = screen_text(pilot)
        assert (
            "! Escalated [CRITICAL] Legal or regulator threat — new, BREACHED 3h 00m — "
            "E to review" in text
        )
        await pilot.press("E")
        await settle(pilot)
        assert isinstance(app.screen, EscalationsScreen)
        desk.escalations.resolve(
            int(desk.cache.one("SELECT id FROM escalations WHERE rule_id = 'legal-threat'")[0])
        )
        await pilot.press("escape")
        await settle(pilot)
        if isinstance(app.screen, ThreadScreen):  # back in the Queue's mode, on the thread
            await pilot.press("escape")
            await settle(pilot)
        from console.screens.queue import QueueScreen

        assert isinstance(app.screen, QueueScreen)
        await pilot.press("r")
        await settle(pilot)
        text = screen_text(pilot)
        assert "Refund never came" in text and "! Refund never came" not in text  # resolved


async def test_a_key_acts_on_the_row_under_the_cursor_before_its_detail_has_loaded(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:  # SQLite only: the screen's own race between its list and its detail worker
    """On a busy machine the list can be on screen while the detail below is still being read:
    `a` then acknowledges the row the moderator sees, instead of saying nothing is selected."""
    reading, release = threading.Event(), threading.Event()
    original = EscalationsScreen.read_detail

    def held_detail(self: EscalationsScreen, desk: Desk, key: Hashable) -> Any:
        reading.set()
        assert release.wait(30)
        return original(self, desk, key)

    monkeypatch.setattr(EscalationsScreen, "read_detail", held_detail)
    messages: list[Any] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("E")
        for _ in range(600):  # no settle(): it would wait for the held detail
            if reading.is_set() and isinstance(app.screen, EscalationsScreen) and app.screen.rows:
                break
            await pilot.pause(0.05)
        assert reading.is_set() and app.screen.current is None  # the detail is not shown yet
        await pilot.press("a")  # taken while the detail is held: it runs once the read ends
        release.set()  # (the decision waits for the console's connection, which the read holds)
        await settle(pilot)
        assert _state(desk, "personal-data") == ("acknowledged", "alice")
        assert "No escalation is selected" not in notes(messages)
