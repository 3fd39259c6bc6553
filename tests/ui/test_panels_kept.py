"""The panels stay mounted: a second visit composes nothing, redraws nothing that did not change,
is not held back by Textual's switch pause, and still shows what changed meanwhile. One help
screen is kept and refilled for each screen it is opened from."""

from __future__ import annotations

# SQLite only: how the screens stay mounted and redraw; every panel on a team database:
# tests/ui/test_console_backends.py.
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from console.app import PeerdeskApp
from console.desk import Desk
from console.screens.audit import AuditScreen
from console.screens.duplicates import DuplicatesScreen
from console.screens.escalations import EscalationsScreen
from console.screens.help import HelpScreen
from console.screens.panel import ListDetailPanel, PanelScreen, show_text
from console.screens.sync import SyncScreen
from console.screens.verification import VerificationScreen
from tests.ui.helpers import held, screen_text, settle, wait_for

pytestmark = pytest.mark.anyio

PANELS = {
    "D": DuplicatesScreen,
    "Y": SyncScreen,
    "E": EscalationsScreen,
    "V": VerificationScreen,
}


async def test_every_panel_is_kept_and_shown_again_without_compose(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first: dict[str, tuple[object, list[object]]] = {}
        for key, kind in PANELS.items():
            await pilot.press(key)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, kind) and isinstance(screen, PanelScreen)
            first[key] = (screen, list(screen.walk_children()))
            await pilot.press("escape")
            await settle(pilot)
            assert "Queue ·" in screen_text(pilot)
        for key in PANELS:
            await pilot.press(key)
            await settle(pilot)
            screen, widgets = first[key]
            assert app.screen is screen, f"{key}: a new screen instead of the kept one"
            assert list(app.screen.walk_children()) == widgets, f"{key}: composed again"
            await pilot.press("escape")
            await settle(pilot)


async def test_a_visit_that_finds_nothing_new_redraws_nothing(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []
    for kind in (DuplicatesScreen, EscalationsScreen, VerificationScreen):
        original = kind.show_list

        def counting(self: Any, data: Any, keep: bool, _original: Any = original) -> None:
            shown.append(type(self).__name__)
            _original(self, data, keep)

        monkeypatch.setattr(kind, "show_list", counting)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in ("D", "E", "V"):
            await pilot.press(key)
            await settle(pilot)
            await pilot.press("escape")
            await settle(pilot)
        # E draws its list as it stands, then once more if its clock rules raised anything; V
        # its answers as scored so far, then once more if its scoring of new activity kept any
        escalation_draws = shown.count("EscalationsScreen")
        assert escalation_draws in (1, 2)
        verification_draws = shown.count("VerificationScreen")
        assert verification_draws in (1, 2)
        assert shown == [
            "DuplicatesScreen",
            *["EscalationsScreen"] * escalation_draws,
            *["VerificationScreen"] * verification_draws,
        ]
        first_visits = list(shown)
        for key in ("D", "V"):  # their lists hold no clock: a visit re-reads, draws nothing
            await pilot.press(key)
            await settle(pilot)
            await pilot.press("escape")
            await settle(pilot)
        assert shown == first_visits  # nothing drawn again


async def test_a_visit_shows_what_changed_meanwhile(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("Y")
        await settle(pilot)
        assert "The outbox is empty." in screen_text(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("x")  # close the thread under the cursor: an outbox item
        await settle(pilot)
        await pilot.press("Y")
        await settle(pilot)
        text = screen_text(pilot)
        assert "The outbox is empty." not in text
        assert "close" in text


async def test_only_the_first_visit_waits_for_textuals_switch_pause(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    paused: list[str] = []
    original = App.delay_update

    def recording(self: App[Any], delay: float = 0.05) -> None:
        paused.append(self.current_mode)
        original(self, delay)

    monkeypatch.setattr(App, "delay_update", recording)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        paused.clear()
        await pilot.press("D")  # first visit: composed behind the pause
        await settle(pilot)
        assert len(paused) == 1
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert len(paused) == 1, "a kept panel (and the Queue) must be drawn at once"


async def test_one_help_screen_refilled_for_each_screen(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        queue_keys = screen_text(pilot)
        assert "Keys: Queue" in queue_keys and "Claim" in queue_keys
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert app.screen is help_screen
        text = screen_text(pilot)
        assert "Keys: Duplicates" in text and "Confirm" in text and "Claim" not in text


def test_list_detail_panels_share_the_base() -> None:
    for kind in (DuplicatesScreen, EscalationsScreen, VerificationScreen):
        assert issubclass(kind, ListDetailPanel)
        for name in ("read_list", "show_list", "read_detail", "show_detail"):
            assert getattr(kind, name) is not getattr(ListDetailPanel, name), (kind, name)


def test_the_console_start_imports_no_command_module_nor_numpy_nor_sqlite_utils(
    ui_db: Path,
) -> None:
    """What opening the console imports before its first frame (in a fresh interpreter)."""
    code = (
        "import sys\n"
        "import console.app\n"
        "console.app.PeerdeskApp.run = lambda self: None\n"
        "from console.cli import main, parse_args\n"
        "assert main(['--db', sys.argv[1]]) == 0\n"
        "from console.cli.core import open_desk\n"
        "args = parse_args(['--db', sys.argv[1]])\n"
        "assert args.command is None\n"
        "desk = open_desk(args)\n"
        "from console.desk import QueueFilter\n"
        "assert desk.queue(QueueFilter(), limit=100)\n"
        "import console.app, console.screens.queue\n"
        "late = ('numpy', 'sqlite_utils', 'console.demo', 'console.dupes.candidates',\n"
        "        'console.cli.dupes_cmd', 'console.cli.rewards_cmd', 'console.cli.team_cmd',\n"
        "        'psycopg', 'httpx')\n"
        "print(','.join(m for m in late if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", code, str(ui_db)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


async def test_escalations_show_the_list_before_the_clock_rules_run(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a cache left alone for days the clock rules can raise thousands of escalations at
    once: E shows the list as it stands while they run, then what they raised."""
    from console.escalate.service import Escalations

    before = [r.escalation_id for r in desk.escalations.listing()]
    assert before  # the demo has escalations already raised
    app = PeerdeskApp(desk)
    with held(monkeypatch, Escalations, "refresh_apart") as scan:  # the panel's scan, apart
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("E")
            # no settle(): it would wait for the held worker
            shown = await wait_for(
                pilot,
                lambda: (
                    scan.started.is_set()
                    and isinstance(app.screen, EscalationsScreen)
                    and bool(app.screen.rows)
                ),
                pauses=600,
            )
            screen = app.screen
            assert shown and isinstance(screen, EscalationsScreen)
            assert list(screen.rows) == before  # shown while the clock rules are held
            scan.release.set()
            await settle(pilot)
            after = [r.escalation_id for r in desk.escalations.listing()]
            assert len(after) > len(before)  # the frozen clock has more to raise than the demo did
            assert list(screen.rows) == after


async def test_a_visit_reads_the_detail_once_and_shows_what_changed_elsewhere(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A visit reads its list and the detail shown again, the detail once (read up front and
    again on the cursor's CursorMoved after the list, it was read twice), and shows what
    another moderator did meanwhile, on the same item."""
    reads: list[tuple[str, object]] = []
    for kind in (AuditScreen, EscalationsScreen):
        original = kind.read_detail

        def counting(self: Any, on: Desk, key: Any, _original: Any = original) -> Any:
            reads.append((type(self).__name__, key))
            return _original(self, on, key)

        monkeypatch.setattr(kind, "read_detail", counting)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown: dict[str, tuple[PanelScreen, object]] = {}
        for key in ("W", "E"):
            await pilot.press(key)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, AuditScreen | EscalationsScreen)
            shown[key] = (screen, screen.detail_key)
            assert screen.table.current_key == screen.detail_key is not None
            await pilot.press("escape")
            await settle(pilot)
        audit_screen, entry = shown["W"]
        esc_screen, escalation = shown["E"]
        dave = Desk.for_cache(desk.cache, actor="dave")  # elsewhere: an audit entry, a note
        dave.decide("esc_note", [int(str(escalation))], body="called the member back")

        reads.clear()
        await pilot.press("E")
        await settle(pilot)
        assert app.screen is esc_screen and isinstance(esc_screen, EscalationsScreen)
        assert reads == [("EscalationsScreen", escalation)]
        assert esc_screen.table.current_key == escalation
        drawn = esc_screen.query_one("#esc-text", Static).content
        assert isinstance(drawn, Text) and "dave note: called the member back" in drawn.plain
        await pilot.press("escape")
        await settle(pilot)

        reads.clear()
        await pilot.press("W")
        await settle(pilot)
        assert app.screen is audit_screen and isinstance(audit_screen, AuditScreen)
        assert reads == [("AuditScreen", entry)]
        newest = desk.cache.one("SELECT max(id) FROM audit")
        assert newest is not None and newest[0] in audit_screen.entries  # the list, read again
        assert audit_screen.table.current_key == entry  # on the same entry, lower down now
        assert audit_screen.table.cursor_row > 0


async def test_a_text_shown_again_in_as_many_lines_is_not_laid_out_again() -> None:
    """show_text: the same words draw nothing; as many lines, none wrapping, redraw the widget
    alone; a line more, or one that wraps, lay the screen out (the widget grows)."""

    class OneText(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(Text("SLA: 2h 10m left\nAssignee: nobody"), id="shown")

    app = OneText()
    async with app.run_test(size=(40, 8)) as pilot:
        shown = app.query_one("#shown", Static)
        layouts: list[bool] = []  # what each update asked for
        update = shown.update

        def recording(content: Any, *, layout: bool = True) -> None:
            layouts.append(layout)
            update(content, layout=layout)

        shown.update = recording  # type: ignore[method-assign]
        show_text(shown, Text("SLA: 2h 9m left\nAssignee: nobody"))
        show_text(shown, Text("SLA: 2h 9m left\nAssignee: nobody"))
        await pilot.pause()
        assert layouts == [False]
        assert shown.size.height == 2 and "2h 9m" in str(shown.render())
        show_text(shown, Text("SLA: 2h 9m left\nAssignee: dave\nNote: called back"))
        show_text(shown, Text("x " * 25 + "\nAssignee: dave\nNote: called back"))
        await pilot.pause()
        assert layouts == [False, True, True]
        assert shown.size.height == 4  # the 50 columns wrap on 40
