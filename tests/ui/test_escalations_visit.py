"""A later visit of the Escalations panel (`E` again): its first frame shows the SLA clocks, the
detail and the breached count as they stand now, worked out from what the panel kept (no read
waited for); the reads that follow draw only what they find changed, so with nothing raised or
decided meanwhile they draw no row again."""

# SQLite only: what is drawn is the console's, whatever the store (the panel itself is tested
# on both engines in tests/escalate)

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.clock import iso, parse
from console.desk import Desk
from console.escalate import pages
from console.escalate.panel import clock_text
from console.escalate.service import Escalations
from console.screens.escalations import EscalationsScreen
from tests.conftest import FROZEN_NOW
from tests.ui.helpers import held, screen_text, settle, wait_for
from tests.ui.test_lines_drawn import frames_of, lines_drawn, ready

pytestmark = pytest.mark.anyio


async def _visit_and_leave(pilot: Pilot[Any], app: PeerdeskApp) -> EscalationsScreen:
    await pilot.press("E")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, EscalationsScreen) and screen.rows
    await pilot.press("escape")
    await settle(pilot)
    return screen


async def test_a_later_visit_shows_the_clocks_as_they_stand_before_any_read(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        screen = await _visit_and_leave(pilot, app)  # its clock scan raises escalations
        # a visit half an hour before the first of their clocks runs out, then back a minute
        # after it (within pages.AHEAD of the count: the breached count is known without a read)
        due = desk.cache.one(
            f"SELECT min({pages.CLOCK}) FROM escalations e "
            f"WHERE {pages.OPEN} AND {pages.CLOCK} > ?",
            (FROZEN_NOW,),
        )
        assert due is not None and due[0] is not None
        before = parse(str(due[0])) - timedelta(minutes=30)
        monkeypatch.setenv("PEERDESK_NOW", iso(before))
        assert await _visit_and_leave(pilot, app) is screen
        counted_before = pages.tally(desk.cache, at=before)
        later = before + timedelta(minutes=31)
        assert later - before <= pages.AHEAD
        monkeypatch.setenv("PEERDESK_NOW", iso(later))
        counted_later = pages.tally(desk.cache, at=later)
        assert counted_later.breached > counted_before.breached  # clocks ran out meanwhile
        # every read of the visit held: what it shows comes from what the panel kept
        with (
            held(monkeypatch, pages, "page") as page,
            held(monkeypatch, pages, "tally") as tally,
            held(monkeypatch, Escalations, "refresh_apart"),
        ):
            await pilot.press("E")
            started = (page.started, tally.started)  # a later visit counts before its page
            assert await wait_for(
                pilot, lambda: app.screen is screen and any(s.is_set() for s in started)
            )
            text = screen_text(pilot)
            shown = [screen.table.row_at(i) for i in range(screen.table.rows_visible)]
            for row in shown:
                assert row is not None
                kept = screen.rows[int(str(row.key))]
                assert kept.due_at is not None
                left = int((parse(kept.due_at) - later).total_seconds())
                assert row.cells[0] == clock_text(left)
                assert f" {clock_text(left)} " in text
            assert f"{counted_later.breached:,} breached" in text
            current = screen.current
            assert current is not None and current.due_at is not None
            left = int((parse(current.due_at) - later).total_seconds())
            assert f"— {clock_text(left)}" in text  # the detail's SLA line
        await settle(pilot)


async def test_a_visit_long_after_the_count_says_counting_until_its_new_count(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past pages.AHEAD of the panel's count, how many more clocks ran out is not kept: the
    first frame says the breached count is being counted (not a stale figure), the new count
    says it."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        screen = await _visit_and_leave(pilot, app)
        later = parse(FROZEN_NOW) + pages.AHEAD + timedelta(hours=7)
        monkeypatch.setenv("PEERDESK_NOW", iso(later))
        counted_later = pages.tally(desk.cache, at=later)
        with held(monkeypatch, pages, "tally") as tally:
            await pilot.press("E")
            assert await wait_for(pilot, lambda: app.screen is screen and tally.started.is_set())
            text = screen_text(pilot)
            assert "breached: counting…" in text
            assert f"{counted_later.open:,} open" in text
            tally.release.set()
            await settle(pilot)
        assert f"{counted_later.breached:,} breached" in screen_text(pilot)


async def test_a_visit_whose_reads_find_the_same_draws_no_row_after_its_first_frame(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        screen = await _visit_and_leave(pilot, app)
        # a second later: clocks read again differ by a second, their words do not
        monkeypatch.setenv("PEERDESK_NOW", iso(parse(FROZEN_NOW) + timedelta(seconds=1)))
        generation = screen.table.generation
        with held(monkeypatch, pages, "page") as page:
            await pilot.press("E")
            assert await wait_for(pilot, lambda: app.screen is screen and page.started.is_set())
            await pilot.pause()
            table = screen.table
            rows = set(range(table.region.y + 1, table.region.y + table.region.height))
            with frames_of(app) as frames:
                page.release.set()
                await settle(pilot)
        assert screen.table.generation == generation  # the list was not started over
        assert not any(frame.whole for frame in frames)
        assert not lines_drawn(frames) & rows


async def test_a_later_visit_scans_what_changed_before_its_page_and_no_more(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the visit's scan raises is in its first page and tally (one frame), not in a second
    read after it: the scan of what changed comes first, then the counts and the page, read
    together; the full scan, after the list."""
    calls: list[str] = []

    def recorded(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def record(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, record)

    for owner, name in (
        (Escalations, "refresh_apart"),
        (Escalations, "refresh_changes"),
        (pages, "page"),
        (pages, "tally"),
    ):
        recorded(owner, name)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await _visit_and_leave(pilot, app)
        assert calls[:2] == ["page", "refresh_apart"]  # the first scan is full: after the list
        calls.clear()
        monkeypatch.setenv("PEERDESK_NOW", iso(parse(FROZEN_NOW) + timedelta(minutes=1)))
        await _visit_and_leave(pilot, app)
    # the counts come with the page, read before it (one frame), not apart after it
    assert calls[:3] == ["refresh_changes", "tally", "page"]
    assert "refresh_apart" not in calls and calls.count("tally") == 1
