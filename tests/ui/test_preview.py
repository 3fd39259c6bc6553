"""The Queue's preview pane: the focused thread's question, latest reply, flags and claim
(console.previews, plain Python), shown beside the list at 120 columns or more."""

from __future__ import annotations

# SQLite only: the pane's layout and read-ahead; the pane on a team database:
# tests/ui/test_console_backends.py.
import time
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.desk import Desk
from console.errors import NotFound
from console.previews import ThreadPreview, preview
from console.screens.queue import QueueScreen
from console.screens.queue_preview import PreviewLoaded, PreviewsRead, ReadAhead
from tests.ui.conftest import HUGE_BODY
from tests.ui.helpers import notes, settle
from widgets.lazy_table import LazyTable
from widgets.preview import Fact, Part, PreviewPane

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def thread_id(desk: Desk, remote: str) -> int:
    row = desk.cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote,))
    assert row is not None
    return int(row[0])


# ---- the domain read ----
def test_a_preview_has_the_question_the_latest_reply_flags_and_claim(desk: Desk) -> None:
    got = preview(desk.cache, thread_id(desk, "t1"))  # 1 reply, claimed by dave
    assert got.title == "PAC code never arrived (1)" and got.author == "carol"
    assert got.claimed_by == "dave" and got.claim_expires_at == "2026-11-20T12:30:00Z"
    assert got.question is not None and got.question.text.startswith("Question 1:")
    assert got.latest is not None and got.latest.text == "Reply 1 to 1: try restarting the phone."
    assert got.tags == ("sim",) and got.reply_count == 1

    two = preview(desk.cache, thread_id(desk, "t2"))  # two replies: the newest is shown
    assert two.latest is not None and two.latest.text.startswith("Reply 2 to 2")
    flagged = preview(desk.cache, thread_id(desk, "t0"))  # 1 flag, 1 report, no reply
    assert (flagged.flag_count, flagged.report_count, flagged.latest) == (1, 1, None)
    solved = preview(desk.cache, thread_id(desk, "t8"))  # p8.1 accepted, p8.2 the latest
    assert solved.latest is not None and not solved.latest.accepted
    assert solved.accepted is not None and solved.accepted.text.startswith("Reply 1 to 8")


def test_a_huge_post_is_cut_inside_sqlite(desk: Desk) -> None:
    got = preview(desk.cache, thread_id(desk, "t5"))
    assert got.question is not None
    assert got.question.length == len(HUGE_BODY) and len(got.question.text) == 1_500


def test_an_unknown_thread_is_refused(desk: Desk) -> None:
    with pytest.raises(NotFound):
        preview(desk.cache, 999_999)


# ---- the pane in the Queue ----
def pane_text(app: PeerdeskApp) -> str:
    return app.screen.query_one("#queue-preview", PreviewPane).text


def current(app: PeerdeskApp) -> int:
    table = app.screen.query_one("#queue-table", LazyTable)
    return int(table.current_key)  # type: ignore[call-overload]


async def test_at_120_columns_the_pane_follows_the_cursor(desk: Desk) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await settle(pilot)
        pane = app.screen.query_one("#queue-preview", PreviewPane)
        assert pane.display and pane.shown == current(app)
        first = preview(desk.cache, current(app))
        assert first.question is not None
        assert f"#{first.thread_id} {first.title}" in pane_text(app)
        assert first.question.text[:30] in pane_text(app)
        # the rows around the cursor were read ahead (one read for them all, off the UI): each
        # move paints its row's preview with the cursor, without a read of its own
        ahead = [m for m in messages if isinstance(m, PreviewsRead)]
        assert ahead and len(ahead[0].previews) >= 9  # the fixture's Queue rows
        loads_before = sum(isinstance(m, PreviewLoaded) for m in messages)
        table = app.screen.query_one("#queue-table", LazyTable)
        table.cursor_row += 1  # no await: painted as the cursor changes, before any message
        assert pane.shown == current(app)
        for _ in range(5):
            await pilot.press("j")
            assert pane.shown == current(app)  # in the same frame: no pause, no worker
            shown = preview(desk.cache, current(app))
            assert f"#{shown.thread_id} {shown.title}" in pane_text(app)
        await settle(pilot)
        await pilot.pause(0.1)
        await settle(pilot)
        assert sum(isinstance(m, PreviewLoaded) for m in messages) == loads_before


async def test_what_was_read_ahead_is_read_again_after_a_decision(desk: Desk) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await settle(pilot)
        await screen_to(pilot, app, thread_id(desk, "t0"))
        assert "not claimed" in pane_text(app)
        await pilot.press("c")  # claim: the Queue is read again, and so are the previews
        await settle(pilot)
        assert "claimed by you until" in pane_text(app)
        await pilot.press("j", "k")  # back onto it: what is painted is the new read
        assert "claimed by you until" in pane_text(app)


def test_read_ahead_keeps_what_its_generation_asked_for() -> None:
    ahead = ReadAhead(limit=3)
    assert ahead.wanted([1, 2, 3]) == [1, 2, 3]
    assert ahead.wanted([2, 3, 4]) == [4]  # asked for already
    first = preview_stub(1)
    assert ahead.store(ahead.generation, [1, 2, 3], {1: first})  # 2 and 3 are gone
    assert ahead.get(1) == first and ahead.get(2) is None
    assert ahead.wanted([2, 3]) == [2, 3]  # gone ones may be asked for again
    old = ahead.generation
    ahead.forget()
    assert not ahead.store(old, [4], {4: preview_stub(4)})  # read before the Queue changed
    assert ahead.get(1) is None and ahead.get(4) is None
    ahead.store(ahead.generation, [5, 6, 7, 8], {n: preview_stub(n) for n in (5, 6, 7, 8)})
    assert ahead.get(5) is None and ahead.get(8) is not None  # at most `limit`, oldest out


def preview_stub(thread: int) -> ThreadPreview:
    return ThreadPreview(
        thread_id=thread,
        title=f"t{thread}",
        source="forum",
        status="open",
        author="carol",
        created_at="2026-11-20T12:00:00Z",
        tags=(),
        reply_count=0,
        flag_count=0,
        report_count=0,
        claimed_by=None,
        claim_expires_at=None,
        question=None,
        latest=None,
        escalations=0,
    )


async def test_the_pane_shows_the_latest_reply_flags_and_someone_elses_claim(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        await screen_to(pilot, app, thread_id(desk, "t1"))
        text = pane_text(app)
        assert "claimed by dave until 12:30" in text
        assert "Latest reply · carol" in text and "Reply 1 to 1: try restarting the phone." in text
        await screen_to(pilot, app, thread_id(desk, "t0"))
        text = pane_text(app)
        assert "1 flags, 1 reports" in text and "No reply yet" in text


async def test_hostile_text_in_the_pane_is_shown_as_text(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await screen_to(pilot, app, thread_id(desk, "t3"))
        text = pane_text(app)
        assert "[bold red]ALERT[/]" in text and "\\x1b[2J" in text and "\x1b" not in text


def test_names_and_tags_with_line_breaks_stay_on_their_fact_line() -> None:
    """An author "bob\nADMIN" must not put "ADMIN" at the start of a line of its own in the
    pane (nor a tag break the tags' line): each fact and heading is one line."""
    from console.previews import PostExcerpt
    from console.screens.queue_preview import preview_parts, sanitise

    excerpt = PostExcerpt("bob\nADMIN", "2026-11-20T12:00:00Z", "body\nok", 7, 0, 0, False, False)
    got = ThreadPreview(
        thread_id=1, title="t", source="forum", status="open", author="bob\nADMIN",
        created_at="2026-11-20T12:00:00Z", tags=("t\nag", "sim\r"), reply_count=0, flag_count=0,
        report_count=0, claimed_by=None, claim_expires_at=None, question=excerpt, latest=None,
        escalations=0,
    )  # fmt: skip
    _title, facts, parts = preview_parts(got, "alice")
    lines = [sanitise(f.text) for f in facts] + [sanitise(p.heading) for p in parts]
    assert not [line for line in lines if "\n" in line or "\r" in line], lines
    assert "by bob ADMIN" in lines[0] and lines[1] == "tags: t ag, sim\\x0d"
    assert sanitise(parts[0].body) == "body\nok"  # a body keeps its lines


async def test_p_toggles_the_pane_and_below_120_columns_there_is_none(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pane = app.screen.query_one("#queue-preview", PreviewPane)
        await pilot.press("p")
        await settle(pilot)
        assert not pane.display
        table = app.screen.query_one("#queue-table", LazyTable)
        assert table.size.width == 120
        await pilot.press("j", "p")
        await settle(pilot)
        assert pane.display and pane.shown == current(app)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=(seen := []).append) as pilot:
        await settle(pilot)
        assert not app.screen.query_one("#queue-preview", PreviewPane).display
        await pilot.press("p")
        await settle(pilot)
        assert "The preview needs 120 columns or more" in notes(seen)
        assert not any(isinstance(m, PreviewLoaded) for m in seen)


async def screen_to(pilot: Pilot[Any], app: PeerdeskApp, thread: int) -> None:
    keys = [item.thread_id for item in app.desk.queue(limit=50)]
    await pilot.press("g", *["j"] * keys.index(thread))
    await settle(pilot)
    await pilot.pause(0.1)  # the preview is read once the cursor has rested (PAUSE)
    await settle(pilot)
    assert current(app) == thread


async def _on_claimed(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, PeerdeskApp)
    await screen_to(pilot, app, thread_id(app.desk, "t1"))


def test_snapshot_preview_120x40(snap_compare: Any, desk: Desk) -> None:
    assert snap_compare(PeerdeskApp(desk), terminal_size=(120, 40), run_before=_on_claimed)


def test_snapshot_preview_16_colours_120x40(snap_compare: Any, desk: Desk) -> None:
    app = PeerdeskApp(desk, theme="ansi-dark")
    assert snap_compare(app, terminal_size=(120, 40), run_before=_on_claimed)


def test_snapshot_no_preview_80x24(snap_compare: Any, desk: Desk) -> None:
    assert snap_compare(PeerdeskApp(desk), terminal_size=(80, 24), run_before=_on_claimed)


# ---- the pane fits its size (widgets.preview) ----
class _PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield PreviewPane(id="pane")


async def test_the_pane_cuts_long_bodies_so_every_part_shows_in_its_height() -> None:
    app = _PaneApp()
    async with app.run_test(size=(40, 14)) as pilot:
        pane = app.query_one("#pane", PreviewPane)
        question = "\n".join(f"question line {n}" for n in range(30))
        pane.show(
            7,
            "#7 a title",
            [Fact("forum · open"), Fact("2 flags", alert=True)],
            [Part("Question", question), Part("Latest reply", "thanks, that worked")],
        )
        await pilot.pause()
        lines = pane.text.splitlines()
        assert len(lines) <= 14  # the pane's height: nothing falls off the bottom
        assert lines[:3] == ["#7 a title", "forum · open", "2 flags"]
        assert "question line 0" in lines and "question line 20" not in lines
        assert "…" in lines  # the cut is said
        assert lines[-2:] == ["Latest reply", "thanks, that worked"]  # the reply still shows
        pane.clear("Nothing to preview.")
        await pilot.pause()
        assert pane.text == "Nothing to preview." and pane.shown is None
