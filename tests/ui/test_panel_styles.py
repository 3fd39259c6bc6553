"""A kept panel is restyled on its push only after an app-wide change (console.screens.kept_styles):
a second visit restyles no node; a stylesheet read meanwhile (message_log.tcss) or a theme chosen
while the panel waited still reaches every one of its widgets, the parts of its list and key bar
included. The panels' and `?`'s stylesheets are read once the console is idle after its first
rows (console.screens.later_styles): a first visit reads none and restyles no other screen."""

from __future__ import annotations

# SQLite only: how Textual styles and draws the kept panels, whatever store fills them.
from typing import Any

import pytest
from textual.color import Color
from textual.css.stylesheet import Stylesheet
from textual.dom import DOMNode
from textual.renderables.background_screen import BackgroundScreen

from console.app import PeerdeskApp
from console.desk import Desk
from console.screens.help import HelpScreen
from console.screens.panel import PanelScreen
from console.screens.thread import ThreadScreen
from tests.ui.helpers import settle, wait_for
from widgets.key_bar import KeyBar
from widgets.lazy_table import LazyTable

pytestmark = pytest.mark.anyio

PANEL_KEYS = ("D", "Y", "E", "V", "dollar_sign")


@pytest.fixture
def restyled(monkeypatch: pytest.MonkeyPatch) -> list[DOMNode]:
    """Every node Textual styles from now on, in order."""
    nodes: list[DOMNode] = []
    apply = Stylesheet.apply

    def counting(self: Stylesheet, node: DOMNode, *args: Any, **kwargs: Any) -> None:
        nodes.append(node)
        apply(self, node, *args, **kwargs)

    monkeypatch.setattr(Stylesheet, "apply", counting)
    return nodes


def _looks(screen: PanelScreen) -> tuple[Any, ...]:
    """The screen's background and the parts of its lists and key bar, as they are drawn."""
    parts: list[Any] = [
        screen.styles.background.hex,
        screen.query_one(KeyBar).get_component_rich_style("key-bar--key"),
    ]
    for table in screen.query(LazyTable):
        parts.append(table.get_component_rich_style("lazy-table--cursor"))
        parts.append(table.get_component_rich_style("lazy-table--header"))
    return tuple(parts)


async def test_a_kept_panel_is_restyled_only_when_the_styles_changed(
    desk: Desk, restyled: list[DOMNode]
) -> None:
    app = PeerdeskApp(desk, theme="textual-dark")
    looks: dict[str, tuple[Any, ...]] = {}
    async with app.run_test(size=(80, 24)) as pilot:

        async def visit(key: str) -> int:
            """Show the panel and go back; how many of its nodes were restyled."""
            restyled.clear()
            await pilot.press(key)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, PanelScreen)
            looks[key] = _looks(screen)
            await pilot.press("escape")
            await settle(pilot)
            return len([n for n in restyled if n is screen or screen in n.ancestors])

        await settle(pilot)
        assert await wait_for(pilot, lambda: app.later_screens_ready)
        for key in PANEL_KEYS:
            await visit(key)
        for key in PANEL_KEYS:  # every panel's .tcss was read before the first visit of any
            assert await visit(key) == 0, f"{key}: restyled although nothing changed"
        dark = dict(looks)

        assert not any(path.endswith("message_log.tcss") for path, _ in app.stylesheet.source)
        await pilot.press("L", "escape")  # reads message_log.tcss: a new stylesheet
        await settle(pilot)
        assert any(path.endswith("message_log.tcss") for path, _ in app.stylesheet.source)
        assert await visit(PANEL_KEYS[0]) > 0

        app.theme = "textual-light"  # chosen on the Queue: no panel is in the screen stack
        await settle(pilot)
        surface = Color.parse(app.get_css_variables()["surface"]).hex
        for key in PANEL_KEYS:
            assert await visit(key) > 0, f"{key}: not restyled for the theme chosen meanwhile"
            assert looks[key] != dark[key]
            assert looks[key][0] == surface


async def test_in_the_ansi_theme_a_panel_or_a_thread_does_not_draw_the_queue_under_it(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ANSI themes' $surface is transparent: a panel or the Thread screen that took it as
    its background had Textual draw the Queue under it again for each of its frames."""
    drawn_under: list[object] = []
    process = BackgroundScreen.process_segments

    def counting(cls: type[BackgroundScreen], segments: Any, color: Color) -> Any:
        drawn_under.append(color)
        return process(segments, color)

    monkeypatch.setattr(BackgroundScreen, "process_segments", classmethod(counting))
    app = PeerdeskApp(desk, theme="ansi-dark")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in PANEL_KEYS:
            await pilot.press(key)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, PanelScreen)
            assert drawn_under == [], f"{key}: the screen under it was drawn"
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        await pilot.press("j")  # a frame of the thread's own
        await settle(pilot)
        assert drawn_under == [], "the Queue was drawn under the thread"


async def test_a_first_visit_reads_no_stylesheet_and_restyles_no_other_screen(
    desk: Desk, restyled: list[DOMNode]
) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue = app.screen

        def files() -> set[str]:
            return {path for path, _ in app.stylesheet.source if path.endswith(".tcss")}

        assert not any(path.endswith("rewards.tcss") for path in files())  # not read at start
        assert await wait_for(pilot, lambda: app.later_screens_ready)
        read = files()
        names = {path.rsplit("/", 1)[-1] for path in read}
        assert {"duplicates.tcss", "rewards.tcss", "help.tcss"} <= names
        for key in (*PANEL_KEYS, "question_mark"):
            restyled.clear()
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is not queue
            assert files() == read, f"{key}: read a stylesheet on its first visit"
            others = [n for n in restyled if n is queue or queue in n.ancestors]
            assert others == [], f"{key}: restyled {len(others)} nodes of the Queue"
            await pilot.press("escape")
            await settle(pilot)


async def test_help_shown_again_is_not_restyled_unless_the_styles_changed(
    desk: Desk, restyled: list[DOMNode]
) -> None:
    app = PeerdeskApp(desk, theme="textual-dark")
    async with app.run_test(size=(80, 24)) as pilot:

        async def help_nodes_restyled() -> int:
            restyled.clear()
            await pilot.press("question_mark")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, HelpScreen)
            count = len([n for n in restyled if n is screen or screen in n.ancestors])
            await pilot.press("escape")
            await settle(pilot)
            return count

        await settle(pilot)
        assert await wait_for(pilot, lambda: app.later_screens_ready)
        await help_nodes_restyled()  # composed and styled
        assert await help_nodes_restyled() == 0
        app.theme = "textual-light"
        await settle(pilot)
        assert await help_nodes_restyled() > 0  # the theme chosen meanwhile reaches it
