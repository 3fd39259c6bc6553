"""Queue filter expressions (console.filters) and saved views: parsed in the domain, applied on a
real cache, typed on the Queue's filter line (`/`) and cycled with `f`."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from console.app import PeerdeskApp
from console.config import load_config
from console.desk import Desk
from console.errors import ConfigError
from console.filters import Expression, FilterError, describe, parse_filter
from console.screens.queue import QueueScreen
from tests.ui.helpers import screen_text, settle, table

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def rows(desk: Desk, expression: str) -> list[dict[str, Any]]:
    """The threads an expression keeps, read back from the cache with what it filters on."""
    flt = parse_filter(expression).to_filter(desk.actor)
    ids = [item.thread_id for item in desk.queue(flt, limit=500)]
    out = []
    for thread_id in ids:
        r = desk.cache.one(
            "SELECT t.id, t.remote_id, t.status, t.tags, t.flag_count, t.report_count, "
            "t.created_at, s.name FROM threads t JOIN sources s ON s.id = t.source_id "
            "WHERE t.id = ?",
            (thread_id,),
        )
        assert r is not None
        out.append(
            {
                "id": r[0],
                "remote": r[1],
                "status": r[2],
                "tags": r[3],
                "flags": r[4] + r[5],
                "created": r[6],
                "source": r[7],
            }
        )
    return out


# ---- parsing ----
def test_an_expression_reads_every_term() -> None:
    got = parse_filter(
        'source:forum status:open tag:"pay as you go" flagged claimed:bob age>2d roaming'
    )
    assert got == Expression(
        text="roaming",
        source="forum",
        status="open",
        tag="pay as you go",
        flagged=True,
        claimed_by="bob",
        older_than_minutes=2 * 24 * 60,
    )
    assert (
        describe(got)
        == 'source:forum status:open tag:"pay as you go" claimed:bob flagged age>2d roaming'
    )
    assert parse_filter("mine age<3h dupes unanswered") == Expression(
        claimed_by="me", newer_than_minutes=180, strong_duplicates=True, unanswered=True
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("colour:red", "colour: is not a filter"),
        ("status:pending", "status:pending is not a state; one of open, answered"),
        ("age>2", "needs a unit"),
        ("age=2d", "write an age as age>2d"),
        ('tag:"unclosed', "a quote is not closed"),
        ("tag:", "tag: needs a value"),
        ("source:a source:b", "two source: terms"),
        ("age>3d age<1d", "cannot be older than it is newer"),
        # a date that far back does not exist: the Queue's page and count failed on it
        ("age>1000000d", r"'age>1000000d' is more than 100 years \(at most 5218w\)"),
        ("age<99999999h", "is more than 100 years"),
        ("age>" + "9" * 5000 + "m", "is more than 100 years"),  # beyond int()'s digit limit
    ],
)
def test_a_bad_expression_says_what_is_wrong_in_one_line(expression: str, message: str) -> None:
    with pytest.raises(FilterError, match=message) as caught:
        parse_filter(expression)
    assert "\n" not in str(caught.value)


# ---- on a real cache ----
@pytest.mark.backends  # the terms are the engine's SQL
def test_each_term_keeps_exactly_the_matching_threads(desk: Desk) -> None:
    everything = rows(desk, "")
    sim = rows(desk, "tag:sim")
    assert sim and all('"sim"' in r["tags"] for r in sim)
    assert {r["id"] for r in sim} == {r["id"] for r in everything if '"sim"' in r["tags"]}
    flagged = rows(desk, "flagged tag:billing")
    assert flagged and all(r["flags"] and '"billing"' in r["tags"] for r in flagged)
    old = rows(desk, "age>2d")
    assert old and all(r["created"] <= "2026-11-18T12:00:00Z" for r in old)
    young = rows(desk, "age<10h")
    assert {r["remote"] for r in young} == {"t0", "t1", "t2"}  # 1, 4, 7 h ago; t3 is 10 h old
    assert rows(desk, "source:elsewhere") == []
    assert {r["remote"] for r in rows(desk, "claimed:dave")} == {"t1"}
    closed_ones = rows(desk, "status:solved")
    assert closed_ones and all(r["status"] == "solved" for r in closed_ones)  # beyond the Queue


@pytest.mark.backends
def test_claimed_me_means_whoever_looks(desk: Desk) -> None:
    desk.claim(desk.queue(limit=1)[0].thread_id)
    mine = parse_filter("claimed:me").to_filter(desk.actor)
    assert mine.claimed_by == "alice"
    assert len(desk.queue(mine)) == 1


def test_views_in_the_config_are_checked_when_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[views]\n"sim trouble" = "tag:sim flagged"\n', encoding="utf-8")
    assert load_config(path).views == {"sim trouble": "tag:sim flagged"}
    path.write_text('[views]\nold = "age>2"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2: view 'old': 'age>2' needs a unit"):
        load_config(path)


# ---- in the console ----
def shown(app: PeerdeskApp) -> list[int]:
    grid = table(app)
    return [int(grid.row_at(i).key) for i in range(grid.total)]  # type: ignore[call-overload]


async def type_filter(pilot: Pilot[Any], text: str) -> None:
    await pilot.press("slash", *text, "enter")
    await settle(pilot)


@pytest.mark.backends
async def test_the_filter_line_applies_an_expression(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_filter(pilot, "tag:billing flagged")
        expected = [r["id"] for r in rows(desk, "tag:billing flagged")]
        assert expected and shown(app) == expected
        assert "Queue · all · search: tag:billing flagged" in screen_text(pilot)


async def test_a_bad_expression_is_said_and_changes_nothing(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_filter(pilot, "tag:sim")
        before = shown(app)
        # the whole line at once (typed slowly, "tag:sim age" would search for "age" meanwhile)
        await pilot.press("slash")
        app.screen.query_one("#search", Input).value = "tag:sim age>2"
        await pilot.press("enter")
        await settle(pilot)
        assert shown(app) == before
        assert "filter: 'age>2' needs a unit (m, h, d, w), e.g. age>2d" in screen_text(pilot)


async def test_an_age_beyond_any_date_is_said_and_changes_nothing(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_filter(pilot, "tag:sim")
        before = shown(app)
        await pilot.press("slash")
        app.screen.query_one("#search", Input).value = "tag:sim age>1000000d"
        await pilot.press("enter")
        await settle(pilot)
        assert shown(app) == before
        text = screen_text(pilot)
        assert "'age>1000000d' is more than 100 years" in text
        assert "went wrong" not in text and "OverflowError" not in text


async def test_saved_views_come_after_the_filters_in_f(desk: Desk) -> None:
    views = {"sim trouble": "tag:sim flagged", "old": "age>4d"}
    desk = replace(desk, config=replace(desk.config, views=views))
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        assert screen.filter_names()[-2:] == ("sim trouble", "old")
        for _ in range(5):  # all -> flagged -> unanswered -> mine -> likely duplicates -> view
            await pilot.press("f")
        await settle(pilot)
        assert "Queue · sim trouble" in screen_text(pilot)
        assert shown(app) == [r["id"] for r in rows(desk, "tag:sim flagged")]
        await pilot.press("f")
        await settle(pilot)
        assert shown(app) == [r["id"] for r in rows(desk, "age>4d")]
        # the filter line narrows the view further
        await type_filter(pilot, "tag:sim")
        assert shown(app) == [r["id"] for r in rows(desk, "age>4d tag:sim")]


def _view_app(desk: Desk) -> PeerdeskApp:
    views = {"sim trouble": "tag:sim flagged"}
    return PeerdeskApp(replace(desk, config=replace(desk.config, views=views)))


async def _to_view(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press(*["f"] * 5)
    await settle(pilot)
    await type_filter(pilot, "age>1d")
    await pilot.pause(0.1)  # at 120 columns the preview is read once the cursor rests
    await settle(pilot)


def test_snapshot_view_and_filter_80x24(snap_compare: Any, desk: Desk) -> None:
    assert snap_compare(_view_app(desk), terminal_size=(80, 24), run_before=_to_view)


def test_snapshot_view_and_filter_120x40(snap_compare: Any, desk: Desk) -> None:
    assert snap_compare(_view_app(desk), terminal_size=(120, 40), run_before=_to_view)


# ---- headless: peerdesk queue --filter / --view ----
def test_peerdesk_queue_takes_a_filter_and_a_view(
    tmp_path: Path, ui_db: Path, desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from console.cli import main

    config = tmp_path / "config.toml"
    config.write_text('[views]\nold = "age>2d"\n', encoding="utf-8")
    base = ["--db", str(ui_db), "--config", str(config), "queue", "--json", "--limit", "100"]
    assert main([*base, "--filter", "tag:sim flagged"]) == 0
    got = [json.loads(line)["thread_id"] for line in capsys.readouterr().out.splitlines()]
    assert got == [r["id"] for r in rows(desk, "tag:sim flagged")]
    assert main([*base, "--view", "old", "--filter", "tag:billing"]) == 0
    got = [json.loads(line)["thread_id"] for line in capsys.readouterr().out.splitlines()]
    assert got and got == [r["id"] for r in rows(desk, "age>2d tag:billing")]
    assert main([*base, "--filter", "age>2"]) == 2
    assert "needs a unit" in capsys.readouterr().err
    assert main([*base, "--filter", "age>1000000d"]) == 2
    assert "is more than 100 years" in capsys.readouterr().err
    assert main([*base, "--view", "nope"]) == 2
    assert "No view 'nope' in the config ([views]: old)" in capsys.readouterr().err
