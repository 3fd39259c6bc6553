"""The Rewards panel ($) through Textual's Pilot, and its snapshots at 80x24 and 120x40."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from console.app import PeerdeskApp
from console.config import Config
from console.db import open_cache
from console.desk import Desk
from console.models import Role
from console.rewards.accrue import accrue
from console.rewards.service import active_schedule
from console.screens.confirm import ConfirmScreen
from tests.rewards.conftest import build
from tests.ui.helpers import notes, screen_text, wait_for
from tests.ui.helpers import settle as settle_once

pytestmark = pytest.mark.xdist_group("rewards_ui")


async def settle(pilot: Pilot[Any]) -> None:
    """`settle`, through a load a newer one replaced: on the team database a decision's NOTIFY
    reloads the console (an exclusive worker: the load under way is cancelled)."""
    for _ in range(10):
        try:
            await settle_once(pilot)
            return
        except WorkerCancelled:
            continue
    await settle_once(pilot)


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


@pytest.fixture
def panel_db(tmp_path: Path) -> Path:
    return _panel_file(tmp_path)


def _panel_file(tmp_path: Path) -> Path:
    path = tmp_path / "panel.sqlite3"
    cache = open_cache(path, create=True)
    build(cache)
    accrue(cache, active_schedule(cache))
    cache.set_meta("demo_payout_period", "2026-10")
    cache.close()
    return path


def _desk(path: Path, who: str, roles: frozenset[Role]) -> Desk:
    return Desk.for_cache(open_cache(path), config=Config(roles={who: roles}), actor=who)


ROLES = {
    "ada": frozenset({Role.ADMIN}),
    "priya": frozenset({Role.PAYOUT_PREPARER}),
    "tom": frozenset({Role.PAYOUT_APPROVER}),
    "una": frozenset({Role.PAYOUT_APPROVER}),
}


@pytest.fixture
def console_as(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Desk]]:
    """`console_as(name)`: the Desk a console of `name` opens on the panel's store: the cache
    file (roles from the config), or the team database as `name`'s own database role (roles
    from its grants), where root (an admin) brought the ledger up to date."""
    if backend == "sqlite":
        path = _panel_file(tmp_path)
        yield lambda who: _desk(path, who, ROLES[who])
        return
    cache = request.getfixturevalue("cache")
    request.getfixturevalue("ids")
    accrue(cache, active_schedule(cache))
    cache.set_meta("demo_payout_period", "2026-10")
    opened: list[Desk] = []

    def team(who: str) -> Desk:
        desk = Desk.for_cache(cache, actor=who)  # a connection as `who`'s database role
        opened.append(desk)
        return desk

    yield team
    for desk in opened:
        desk.close_cache()


@pytest.fixture
def priya(panel_db: Path) -> Iterator[Desk]:
    desk = _desk(panel_db, "priya", frozenset({Role.PAYOUT_PREPARER}))
    yield desk
    desk.close_cache()


async def _open(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("dollar_sign")
    await settle(pilot)


async def _prepare(pilot: Pilot[Any]) -> None:
    await _open(pilot)
    await pilot.press("P")
    await settle(pilot)
    await pilot.press("enter")  # the suggested period, 2026-10
    await settle(pilot)


@pytest.mark.anyio
@pytest.mark.backends
async def test_prepare_then_four_eyes_refuses_the_preparer(
    console_as: Callable[[str], Desk],
) -> None:
    desk = console_as("ada")
    app = PeerdeskApp(desk)
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await _prepare(pilot)
        text = screen_text(pilot)
        assert "Batch 1 2026-10" in text and "awaiting approval: 0 of 2" in text
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)  # money: never on one key
        batch = desk.rewards.batch(1)
        asked = screen_text(pilot)
        assert "Approve payout batch 1 (2026-10)?" in asked
        ready = batch.counts.get("ready", 0)
        assert f"Pays {batch.money(batch.ready_minor)} on {ready} ready line" in asked
        assert "Approval 1 of 2: 1 more approval needed after yours" in asked
        await pilot.press("y")
        await settle(pilot)
        assert any("cannot approve it: four-eyes" in n for n in notes(seen))
        await pilot.press("3")
        await settle(pilot)
        assert "h1" in screen_text(pilot) and "ready" in screen_text(pilot)
    desk.close_cache()
    # the second person approves in their own console
    tom, una = console_as("tom"), console_as("una")
    for approver, expected in ((tom, "1 of 2"), (una, "approved")):
        seen.clear()
        async with PeerdeskApp(approver).run_test(
            size=(120, 40), message_hook=seen.append
        ) as pilot:
            await _open(pilot)
            await pilot.press("a")
            await settle(pilot)
            if approver is tom:  # "no" (and escape) approves nothing
                await pilot.press("n")
                await settle(pilot)
                assert approver.rewards.batch(1).approvals == []
                await pilot.press("a")
                await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
            assert any(expected in n for n in notes(seen)), notes(seen)
        approver.close_cache()


@pytest.mark.anyio
@pytest.mark.backends
async def test_hold_a_line_with_a_reason_and_roles_hide_keys(
    console_as: Callable[[str], Desk],
) -> None:
    priya = console_as("priya")
    app = PeerdeskApp(priya)
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await _prepare(pilot)
        screen = app.screen
        assert screen.check_action("prepare", ()) and not screen.check_action("approve", ())
        await pilot.press("3", "h")
        await settle(pilot)
        await pilot.press(*"checking with the member", "enter")
        await settle(pilot)
        assert any("held" in n for n in notes(seen)), notes(seen)
        [batch] = priya.rewards.batches()
        held = priya.rewards.lines(batch.batch_id, states=("held",))
        assert len(held) == 1 and held[0].history[-1]["reason"] == "checking with the member"
        assert held[0].history[-1]["actor"] == "priya"


def test_snapshot_members_80x24(snap_compare: Any, priya: Desk) -> None:
    assert snap_compare(PeerdeskApp(priya), terminal_size=(80, 24), run_before=_open)


def test_snapshot_batch_120x40(snap_compare: Any, priya: Desk) -> None:
    async def batch(pilot: Pilot[Any]) -> None:
        await _prepare(pilot)
        await pilot.press("3")
        await settle(pilot)

    assert snap_compare(PeerdeskApp(priya), terminal_size=(120, 40), run_before=batch)


def test_snapshot_batch_16_colours(snap_compare: Any, priya: Desk) -> None:
    async def batch(pilot: Pilot[Any]) -> None:
        await _prepare(pilot)
        await pilot.press("3")
        await settle(pilot)

    app = PeerdeskApp(priya, theme="ansi-dark")
    assert snap_compare(app, terminal_size=(80, 24), run_before=batch)


def rewards_rows(app: PeerdeskApp) -> int:
    return int(app.screen.query_one("#rewards-list").total)


@pytest.mark.anyio
async def test_the_panel_reads_on_its_own_connection_while_the_desk_is_busy(priya: Desk) -> None:
    """A long read of the panel (the balances sum the ledger) does not hold the Desk's lock:
    the keys after it (another panel, the Queue's reload) do not wait for it."""
    app = PeerdeskApp(priya)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        with app.desk_lock:  # the Desk busy: what reads through it waits
            await pilot.press("dollar_sign")
            assert await wait_for(
                pilot, lambda: app.screen.query("#rewards-list") and rewards_rows(app) > 0
            )
        await settle(pilot)


@pytest.mark.anyio
async def test_an_approval_is_of_the_batch_the_approver_saw(
    console_as: Callable[[str], Desk],
) -> None:
    """(On the cache file: on the team database priya's release reaches tom's console at once
    by NOTIFY, so when his `a` comes is a race; the domain's check on both engines is in
    test_payout_attacks.py.) tom's panel shows h1's line held (priya held it); while he looks, priya releases it
    at her own console. Before, tom's `a` approved the batch as it now stood, h1 paid, which
    he never saw ready: the preparer alone decided what four-eyes approved. Now the approval
    carries what the panel showed and is refused when the lines changed since (nothing
    written); the panel reads the batch again and a second `a` approves what it shows."""
    priya = console_as("priya")
    batch = priya.rewards.prepare("2026-10").batch_id
    h1 = next(line for line in priya.rewards.lines(batch) if line.username == "h1")
    priya.rewards.hold(h1.line_id, "checking with the member")
    tom = console_as("tom")
    seen: list[Any] = []
    async with PeerdeskApp(tom).run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await _open(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        priya.rewards.release(h1.line_id, "the member explained")  # while tom reads the question
        await pilot.press("y")
        await settle(pilot)
        assert any("changed since" in n for n in notes(seen)), notes(seen)
        assert tom.rewards.batch(batch).approvals == []
        await pilot.press("a", "y")
        await settle(pilot)
        assert [name for name, _ in tom.rewards.batch(batch).approvals] == ["tom"]
    tom.close_cache()


@pytest.mark.anyio
async def test_the_batch_summary_keeps_every_amount_whole_at_80x24(priya: Desk) -> None:
    """At 80 columns the summary says each amount with its currency (none cut by the edge)."""
    async with PeerdeskApp(priya).run_test(size=(80, 24)) as pilot:
        await _prepare(pilot)
        summary = str(pilot.app.screen.query_one("#rewards-summary").render())
        lines = screen_text(pilot).splitlines()
    batch = priya.rewards.batch(1)
    for label, minor in (
        ("ready", batch.ready_minor),
        ("held", batch.held_minor),
        ("paid", batch.paid_minor),
    ):
        said = f"{label} {batch.money(minor)}"
        assert said in summary
        assert any(said in line for line in lines), "\n".join(lines[:4])
    assert "…" not in summary and "prepared by priya" in summary
