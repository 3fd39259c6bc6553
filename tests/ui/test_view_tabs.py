"""Saved views as tabs over the Queue (console.screens.queue_views, widgets.tab_line): each view
of the config's `[views]` is a tab after one for the built-in filters; `]` / `[` (rebindable)
step through them, `f` and ctrl+p still reach them, and the line fits 80 columns."""

from __future__ import annotations

# SQLite only: the tabs' line and keys; the filters they apply on a team database:
# tests/ui/test_filters.py.
import time
from dataclasses import replace
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.desk import Desk
from console.filters import parse_filter
from console.screens.queue import QueueScreen
from tests.ui.helpers import screen_text, settle
from widgets.lazy_table import LazyTable
from widgets.tab_line import TabLine, window

pytestmark = pytest.mark.anyio

VIEWS = {"sim trouble": "tag:sim flagged", "old": "age>4d", "billing": "tag:billing"}


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def with_views(desk: Desk, views: dict[str, str] = VIEWS, **keys: str) -> PeerdeskApp:
    config = replace(desk.config, views=views, keys={**desk.config.keys, **keys})
    return PeerdeskApp(replace(desk, config=config))


def shown(app: PeerdeskApp) -> list[int]:
    table = app.screen.query_one("#queue-table", LazyTable)
    return [int(table.row_at(i).key) for i in range(table.total)]  # type: ignore[call-overload]


def expected(desk: Desk, expression: str) -> list[int]:
    flt = parse_filter(expression).to_filter(desk.actor)
    return [item.thread_id for item in desk.queue(flt, limit=500)]


def tabs(app: PeerdeskApp) -> TabLine:
    return app.screen.query_one("#queue-views", TabLine)


# ---- the line's window ----
def test_every_tab_shows_when_they_fit_and_a_window_around_the_active_one_when_not() -> None:
    labels = ["all", "sim trouble", "old", "billing"]
    assert window(labels, 0, 80) == (0, 4)
    many = [f"view number {n}" for n in range(12)]  # 15 cells a tab: 5 fit in 80 columns
    first, last = window(many, 0, 80)
    assert first == 0 and 3 <= last < 12
    first, last = window(many, 9, 80)
    assert first <= 9 < last and first > 0
    assert window(many, 11, 80)[1] == 12
    cells = sum(len(f" {x} ") + 1 for x in many[first:last]) + 4
    assert cells <= 80 + 1


def test_a_long_view_name_is_cut() -> None:
    first, last = window(["all", "x" * 200], 1, 40)
    assert (first, last) == (0, 2)  # cut to 24 cells, both fit


# ---- in the Queue ----
async def test_brackets_step_through_the_views_with_their_filters(desk: Desk) -> None:
    app = with_views(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        line = tabs(app)
        assert line.labels == ("all", "sim trouble", "old", "billing") and line.active == 0
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert line.active == 1 and "Queue · sim trouble" in screen_text(pilot)
        assert shown(app) == expected(desk, "tag:sim flagged")
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert line.active == 3 and shown(app) == expected(desk, "tag:billing")
        await pilot.press("right_square_bracket")  # round the end: the built-in filters again
        await settle(pilot)
        assert line.active == 0 and "Queue · all" in screen_text(pilot)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert line.active == 3 and shown(app) == expected(desk, "tag:billing")


async def test_the_first_tab_is_the_built_in_filter_used_last(desk: Desk) -> None:
    app = with_views(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f")  # flagged
        await settle(pilot)
        assert tabs(app).labels[0] == "flagged" and tabs(app).active == 0
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert tabs(app).labels[0] == "flagged" and tabs(app).active == 1
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert "Queue · flagged" in screen_text(pilot)
        assert shown(app) == expected(desk, "flagged")


async def test_f_and_the_command_palette_still_reach_the_views_and_the_tab_follows(
    desk: Desk,
) -> None:
    app = with_views(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*["f"] * 6)  # the five built-in filters, then "old"
        await settle(pilot)
        assert tabs(app).active == 2 and shown(app) == expected(desk, "age>4d")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        screen.set_filter("billing")  # what ctrl+p's "Filter: billing" calls
        await settle(pilot)
        assert tabs(app).active == 3 and shown(app) == expected(desk, "tag:billing")
        await pilot.press("slash", *"flagged", "enter")  # the filter line narrows the view
        await settle(pilot)
        assert shown(app) == expected(desk, "tag:billing flagged") != expected(desk, "tag:billing")


async def test_a_click_on_a_tab_chooses_it(desk: Desk) -> None:
    app = with_views(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = str(tabs(app).render())
        await pilot.click("#queue-views", offset=(text.index("old") + 1, 0))
        await settle(pilot)
        assert tabs(app).active == 2 and shown(app) == expected(desk, "age>4d")


async def test_the_view_keys_can_be_rebound(desk: Desk) -> None:
    app = with_views(desk, **{"queue.next_view": "v", "queue.previous_view": "b"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("right_square_bracket")  # no longer bound
        await settle(pilot)
        assert tabs(app).active == 0
        await pilot.press("v")
        await settle(pilot)
        assert tabs(app).active == 1 and shown(app) == expected(desk, "tag:sim flagged")


async def test_without_views_there_is_no_tab_line(desk: Desk) -> None:
    app = with_views(desk, views={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.screen.query("#queue-views")
        await pilot.press("right_square_bracket")  # one tab: stays
        await settle(pilot)
        assert "Queue · all" in screen_text(pilot)


async def _on_second_view(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("right_square_bracket", "right_square_bracket")
    await settle(pilot)
    await pilot.pause(0.1)
    await settle(pilot)


def test_snapshot_view_tabs_80x24(snap_compare: Any, desk: Desk) -> None:
    assert snap_compare(with_views(desk), terminal_size=(80, 24), run_before=_on_second_view)


def test_snapshot_view_tabs_120x40(snap_compare: Any, desk: Desk) -> None:
    assert snap_compare(with_views(desk), terminal_size=(120, 40), run_before=_on_second_view)


def test_snapshot_many_view_tabs_80x24(snap_compare: Any, desk: Desk) -> None:
    views = {f"{name} view": "flagged" for name in ("first", "second", "third", "fourth")}
    views |= {"the last of many saved views": "tag:sim"}
    app = with_views(desk, views=views)

    async def to_last(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("left_square_bracket")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=to_last)
