"""The Audit panel with Pilot on a real cache file: newest first, the focused entry in full
(before and after, payload, hashes), filters (mine, same action, same target, typed), enter
opens the thread and escape comes back, escape clears the filter then goes back, hostile text
shown as text, and a tampered entry named by the chain's check; snapshots at 80x24 and 120x40.
SQLite only (CI time): the domain reads run on both engines in tests/domain/test_audit_pages.py.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from console import audit, audit_pages
from console.app import PeerdeskApp
from console.cli import main
from console.desk import Desk
from console.safe_text import printable
from console.screens import audit as audit_screen
from console.screens.audit import VALUE_MAX, AuditScreen
from console.screens.queue import QueueScreen
from console.screens.thread import ThreadScreen
from tests.ui.conftest import HOSTILE_BODY, HUGE_BODY
from tests.ui.helpers import screen_text, settle
from widgets.lazy_table import LazyTable

pytestmark = pytest.mark.anyio


def thread_of(desk: Desk, remote: str) -> int:
    return int(desk.cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote,))[0])


def history(desk: Desk) -> None:
    """After the community's own entry (dave's claim of t1): alice closes t2, dave notes t4 in
    hostile words, alice closes t6 and notes t2 (entries 2-5)."""
    dave = Desk.for_cache(desk.cache, actor="dave")
    desk.close([thread_of(desk, "t2")])
    dave.add_note(thread_of(desk, "t4"), HOSTILE_BODY)
    desk.close([thread_of(desk, "t6")])
    desk.add_note(thread_of(desk, "t2"), "asked the member to check the APN")


async def open_panel(pilot: Pilot[Any]) -> AuditScreen:
    await settle(pilot)
    await pilot.press("W")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AuditScreen)
    return screen


def listed(screen: AuditScreen) -> list[int]:
    table = screen.query_one("#audit", LazyTable)
    rows = [table.row_at(i) for i in range(table.total)]
    return [int(str(row.key)) for row in rows if row is not None]


async def test_newest_first_detail_follows_the_cursor_and_enter_opens_the_thread(
    desk: Desk,
) -> None:
    history(desk)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_panel(pilot)
        assert listed(screen) == [5, 4, 3, 2, 1]
        text = screen_text(pilot)
        assert "Audit · 5 entries · chain intact through entry 5" in text
        assert "Entry 5 · 2026-11-20T12:00:00Z · note" in text
        assert "body: asked the member to check the APN" in text
        await pilot.press("j")
        await settle(pilot)
        text = screen_text(pilot)
        assert "Entry 4 · 2026-11-20T12:00:00Z · close" in text
        assert "status: open → closed" in text
        head = desk.cache.one("SELECT hash, prev_hash FROM audit WHERE id = 4")
        await pilot.press("J")  # the hashes, at the bottom of the detail
        await settle(pilot)
        text = screen_text(pilot)
        assert f"Hash:     {head[0]}" in text and f"Previous: {head[1]}" in text
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert app.screen.thread_id == thread_of(desk, "t6")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)


async def test_filters_mine_same_action_same_target_typed_and_escape(desk: Desk) -> None:
    history(desk)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_panel(pilot)
        await pilot.press("f")  # alice's own
        await settle(pilot)
        assert listed(screen) == [5, 4, 2]
        assert "3 entries matching 'mine'" in screen_text(pilot)
        await pilot.press("f")  # everyone's again
        await settle(pilot)
        assert listed(screen) == [5, 4, 3, 2, 1]
        await pilot.press("j", "a")  # entry 4 is a close: every close
        await settle(pilot)
        assert listed(screen) == [4, 2]
        await pilot.press("escape")
        await settle(pilot)
        assert listed(screen) == [5, 4, 3, 2, 1] and app.screen is screen
        await pilot.press("g", "t")  # entry 5 is about t2
        await settle(pilot)
        assert listed(screen) == [5, 2]
        await pilot.press("escape", "slash")
        await settle(pilot)
        await pilot.press(*"who:dave action:note", "enter")
        await settle(pilot)
        assert listed(screen) == [3]
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press("ctrl+u", *f"#{thread_of(desk, 't9')}", "enter")
        await settle(pilot)
        assert listed(screen) == []
        assert "No entry matches" in screen_text(pilot)
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press("ctrl+u", *"nonsense", "enter")
        await settle(pilot)
        assert listed(screen) == []  # a filter it cannot read changes nothing
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)


async def test_hostile_text_in_an_entry_is_shown_as_text(desk: Desk) -> None:
    history(desk)
    with desk.cache.transaction() as conn:  # a change whose before and after are post bodies
        audit.append(
            conn,
            actor="dave",
            action="edit_post",
            target_kind="post",
            target_id=1,
            detail={"before": {"body": HOSTILE_BODY}, "after": {"body": HUGE_BODY}},
        )
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_panel(pilot)
        text = screen_text(pilot)
        assert app.is_running  # [@click=app.quit] is text, not a link
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "[bold red]ALERT[/] [@click=app.quit]click me[/]" in text
        assert "\\x1b[2J" in text and "مرحبا" in text
        shown = str(app.screen.query_one("#audit-text", Static).content)
        left = len(printable(HUGE_BODY)) - VALUE_MAX  # 200 kB after: cut, the rest counted
        assert f"… ({left:,} more characters not shown)" in shown and "\x1b" not in shown
        await pilot.press("j", "j", "j")  # dave's hostile note
        await settle(pilot)
        text = screen_text(pilot)
        assert "Entry 3 " in text and "[bold red]ALERT[/]" in text and "\x1b" not in text


async def test_a_tampered_entry_is_named_in_the_banner_and_its_row(desk: Desk) -> None:
    history(desk)
    desk.cache.conn.execute("UPDATE audit SET actor = 'mallory' WHERE id = 3")
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_panel(pilot)
        text = screen_text(pilot)
        assert "✗ CHAIN BROKEN at entry 3: row edited: its hash does not match" in text
        assert "Audit · 5 entries · CHAIN BROKEN at entry 3" in text
        table = screen.query_one("#audit", LazyTable)
        assert [table.row_at(i).tone for i in range(5)] == ["", "", "alert", "", ""]  # type: ignore[union-attr]
        await pilot.press("j", "j")
        await settle(pilot)
        assert "BROKEN here: row edited" in screen_text(pilot)


async def test_a_visit_after_the_log_grew_checks_the_new_entries_and_r_checks_all(
    desk: Desk, ui_db: Path
) -> None:
    """Back on the panel after more entries, the chain check resumes from the newest entry the
    last one found intact and says which entries it read; an old entry edited in place
    meanwhile is not among them, and r (the whole chain) and `peerdesk audit verify` name it."""
    history(desk)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(160, 30)) as pilot:
        screen = await open_panel(pilot)
        assert screen.chain is not None and not screen.chain.resumed
        assert "Audit · 5 entries · chain intact through entry 5" in screen_text(pilot)
        await pilot.press("escape")
        await settle(pilot)
        desk.cache.conn.execute("UPDATE audit SET actor = 'mallory' WHERE id = 3")
        desk.add_note(thread_of(desk, "t2"), "one more")
        desk.add_note(thread_of(desk, "t2"), "and another")
        screen = await open_panel(pilot)
        assert (
            "Audit · 7 entries · chain intact through entry 7 (checked 6–7 now, 1–5 earlier; "
            "r checks it all)" in screen_text(pilot)
        )
        await pilot.press("r")
        await settle(pilot)
        text = screen_text(pilot)
        assert "✗ CHAIN BROKEN at entry 3: row edited: its hash does not match" in text
        assert "Audit · 7 entries · CHAIN BROKEN at entry 3" in text
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--db", str(ui_db), "audit", "verify"]) == 1
    assert "audit entry 3: row edited" in out.getvalue()


async def test_a_revisit_checks_the_few_new_entries_with_the_list_in_one_frame(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few entries added since the last intact check are checked by the list's own read and
    shown with its rows; the check apart (its own worker, a frame of its own) runs only for the
    first visit and for more entries than RESUME_WITH_LIST."""
    whole_checks: list[int] = []
    check = audit_pages.check

    def counted(cache: Any, since: Any = None) -> Any:
        whole_checks.append(0 if since is None else since.newest)
        return check(cache, since)

    monkeypatch.setattr(audit_pages, "check", counted)
    history(desk)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(160, 30)) as pilot:
        await open_panel(pilot)
        assert whole_checks == [0]
        await pilot.press("escape")
        desk.add_note(thread_of(desk, "t2"), "one more")
        desk.add_note(thread_of(desk, "t2"), "and another")
        screen = await open_panel(pilot)
        assert whole_checks == [0]
        assert (
            "Audit · 7 entries · chain intact through entry 7 (checked 6–7 now, 1–5 earlier; "
            "r checks it all)" in screen_text(pilot)
        )
        assert screen.chain is not None and screen.chain.checked_from == 6
        await pilot.press("escape")
        monkeypatch.setattr(audit_screen, "RESUME_WITH_LIST", 1)
        desk.add_note(thread_of(desk, "t2"), "a third")
        desk.add_note(thread_of(desk, "t2"), "a fourth")
        await open_panel(pilot)
        assert whole_checks == [0, 7]  # apart, resuming from entry 7
        assert "chain intact through entry 9 (checked 8–9 now" in screen_text(pilot)


def test_snapshot_80x24(snap_compare: Any, desk: Desk) -> None:
    history(desk)

    async def opened(pilot: Pilot[Any]) -> None:
        await open_panel(pilot)

    assert snap_compare(PeerdeskApp(desk), terminal_size=(80, 24), run_before=opened)


def test_snapshot_120x40_filtered(snap_compare: Any, desk: Desk) -> None:
    history(desk)

    async def filtered(pilot: Pilot[Any]) -> None:
        await open_panel(pilot)
        await pilot.press("g", "t")  # entries about t2 (the newest's target)
        await settle(pilot)
        await pilot.press("j")  # the older of the two: alice's close
        await settle(pilot)

    assert snap_compare(PeerdeskApp(desk), terminal_size=(120, 40), run_before=filtered)
