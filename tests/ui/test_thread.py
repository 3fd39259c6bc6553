"""Pilot tests of the Thread screen: moving between posts, hiding spam, hostile text, long posts;
on a cache file and on a team database (what the server stores and cuts into parts)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.color import Color
from textual.message import Message

from console.app import PeerdeskApp
from console.db import open_cache
from console.desk import Desk
from console.screens.queue import QueueScreen
from console.screens.thread import ThreadScreen, read_thread
from tests.ui.conftest import build_community
from tests.ui.helpers import notes, screen_text, settle, statuses, stored, wait_for
from widgets.key_bar import KeyBar
from widgets.post_list import PostList
from widgets.post_view import PostView

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def row_of(desk: Desk, thread_id: int) -> int:
    return next(i for i, item in enumerate(desk.queue(limit=100)) if item.thread_id == thread_id)


def thread_id_of(desk: Desk, remote: str) -> int:
    row = desk.cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote,))
    assert row is not None
    return int(row[0])


def cursor(screen: ThreadScreen) -> PostView:
    """The card the Thread screen's cursor is on."""
    card = screen.query_one(PostList).cursor_card
    assert card is not None and card.cursor
    return card


async def open_thread(pilot, desk: Desk, thread_id: int) -> ThreadScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press(*["j"] * row_of(desk, thread_id), "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ThreadScreen)
    assert screen.thread_id == thread_id
    return screen


@pytest.mark.backends
async def test_open_move_between_posts_hide_spam_and_undo(desk: Desk) -> None:
    thread = thread_id_of(desk, "t2")  # a question and two replies
    view = desk.thread(thread)
    assert len(view.posts) == 3
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_thread(pilot, desk, thread)
        assert isinstance(screen.focused, PostList)
        assert cursor(screen).key == view.posts[0].post_id
        await pilot.press("j", "j")
        assert cursor(screen).key == view.posts[2].post_id
        await pilot.press("k")
        assert cursor(screen).key == view.posts[1].post_id
        await pilot.press("s")
        await settle(pilot)
        assert "hidden: spam" in screen_text(pilot)
        hidden = desk.cache.one("SELECT hidden FROM posts WHERE id = ?", (view.posts[1].post_id,))
        assert hidden[0] == 1
        await pilot.press("u")
        await settle(pilot)
        hidden = desk.cache.one("SELECT hidden FROM posts WHERE id = ?", (view.posts[1].post_id,))
        assert hidden[0] == 0
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)


@pytest.mark.backends
async def test_claim_and_close_from_the_thread(desk: Desk) -> None:
    thread = thread_id_of(desk, "t4")
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_thread(pilot, desk, thread)
        await pilot.press("c")
        await settle(pilot)
        [(expires,)] = stored(desk, "SELECT expires_at FROM claims WHERE thread_id = ?", (thread,))
        assert f"claimed by you until {str(expires)[11:16]}" in screen_text(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert " closed " in screen_text(pilot).splitlines()[2]
    assert statuses(desk, [thread]) == ["closed"]
    assert stored(desk, "SELECT holder FROM claims WHERE thread_id = ?", (thread,)) == [("alice",)]


@pytest.mark.backends
async def test_hostile_post_changes_nothing_outside_itself(desk: Desk) -> None:
    thread = thread_id_of(desk, "t3")
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_thread(pilot, desk, thread)
        text = screen_text(pilot)
        assert app.is_running  # [@click=app.quit] is text, not a link
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "[bold red]ALERT[/]" in text
        assert "[@click=app.quit]" in text
        assert "\\x1b[2J" in text
        assert "مرحبا" in text
        for widget in app.screen.query(PostView):
            assert "\x1b" not in str(widget.body)


@pytest.mark.backends
async def test_a_200kb_post_shows_20kb_and_m_pages_through_it(desk: Desk) -> None:
    thread = thread_id_of(desk, "t5")
    length = desk.cache.one(
        "SELECT length(body_text) FROM posts WHERE thread_id = ? AND position = 0", (thread,)
    )[0]
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_thread(pilot, desk, thread)
        post = screen.query(PostView).first()
        assert post.length == length > 200_000
        assert post.start == 0 and len(post.window) == 20_000
        assert post.hidden_chars == length - 20_000
        await pilot.press("G")
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert cursor(screen) is post
        more = post.more_line() or ""
        assert f"characters 1–20,000 of {length:,}" in more
        assert "m shows the next 20,000" in more
        await pilot.press("m")
        await settle(pilot)
        assert post.start == 20_000 and len(post.window) == 20_000
        assert post.window == desk.post_body(post.key, 20_000, 20_000)
        assert f"characters 20,001–40,000 of {length:,}" in (post.more_line() or "")
        for _ in range(length // 20_000):
            await pilot.press("m")
        await settle(pilot)
        assert post.start == 0  # after the last part, the first again


@pytest.mark.backends
async def test_a_thread_that_vanished_is_a_clear_error_not_a_crash(desk: Desk) -> None:
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        app.push_screen(ThreadScreen(999_999))
        await settle(pilot)
        assert app.is_running
        where = "in the cache" if desk.cache.dialect.is_sqlite else "on the team database"
        assert f"There is no thread 999999 {where}" in notes(messages)


async def test_demo_community_hostile_threads_open_safely(tmp_path: Path) -> None:
    """Every hostile post the demo plants opens in the Thread screen without leaking escapes."""
    import json

    from console.demo import build_demo

    db = tmp_path / "demo.sqlite3"
    cache = open_cache(db, create=True)
    build_demo(cache, threads=300, seed=7, candidate_limit=0)
    hostile = json.loads(cache.meta("demo_hostile") or "[]")
    cache.close()
    assert hostile
    desk = Desk.open(db)
    threads = sorted({remote for _, remote, _ in hostile})[:8]
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for remote in threads:
            app.push_screen(ThreadScreen(thread_id_of(desk, remote)))
            await settle(pilot)
            text = screen_text(pilot)
            assert app.is_running
            assert not any(ch in text for ch in "\x1b\x07\x9b\u202e\u2066")
            await pilot.press("escape")
            await settle(pilot)
    desk.close_cache()


def test_fixture_is_deterministic(tmp_path: Path) -> None:
    dumps = []
    for name in ("a", "b"):
        cache = open_cache(tmp_path / f"{name}.sqlite3", create=True)
        build_community(cache)
        dumps.append(cache.query("SELECT remote_id, title, status, urgency FROM threads"))
        cache.close()
    assert [tuple(r) for r in dumps[0]] == [tuple(r) for r in dumps[1]]


async def test_the_first_thread_opened_reads_no_new_stylesheet(desk: Desk, ui_db: Path) -> None:
    """Textual restyles every screen of the app when it reads a screen's .tcss for the first
    time; the Thread screen's is read with the Queue's at start, so the first enter does not."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # (the panels' stylesheets are read once the console is idle: not during the enter)
        assert await wait_for(pilot, lambda: app.later_screens_ready)

        def files() -> set[str]:
            return {path for path, _ in app.stylesheet.source if path.endswith(".tcss")}

        read = files()
        assert any(path.endswith("thread.tcss") for path in read)
        await open_thread(pilot, desk, thread_id_of(desk, "t2"))
        assert files() == read


async def test_a_thread_opened_again_is_styled_for_its_posts_and_the_theme(desk: Desk) -> None:
    """The Thread screen is kept and not restyled as a whole on each push: a card given another
    post still takes that post's style (an accepted answer), and a theme chosen meanwhile still
    reaches every widget of the screen."""
    app = PeerdeskApp(desk, theme="textual-dark")
    async with app.run_test(size=(80, 24)) as pilot:

        async def open_again(remote: str) -> ThreadScreen:
            await pilot.press("g", *["j"] * row_of(desk, thread_id_of(desk, remote)), "enter")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, ThreadScreen)
            assert screen.thread_id == thread_id_of(desk, remote)
            return screen

        screen = await open_again("t2")  # a question and two replies, none accepted
        assert not any(card.accepted for card in screen.query(PostView))
        await pilot.press("escape")
        await settle(pilot)
        solved = read_thread(screen, thread_id_of(desk, "t8"))  # not in the Queue: shown as
        assert solved is not None  # the Queue's enter shows a thread in the screen it keeps
        screen.show(*solved)
        app.push_screen(screen)
        await settle(pilot)
        assert app.screen is screen
        cards = screen._cards()  # its first reply is the accepted answer
        assert [card.accepted for card in cards] == [False, True, False]
        success = app.current_theme.success
        assert success is not None
        bars = [card.part_style("post--bar").foreground for card in cards]
        assert [bar.hex if bar else None for bar in bars][1] == Color.parse(success).hex
        assert bars[0] != bars[1] and bars[2] != bars[1]
        await pilot.press("escape")
        await settle(pilot)
        head = screen.query_one("#thread-head")

        def panel() -> Color:
            return Color.parse(app.get_css_variables()["panel"])

        assert head.styles.background == panel()
        before = panel()
        app.theme = "textual-light"
        await settle(pilot)
        assert panel() != before
        await open_again("t2")
        assert head.styles.background == panel()  # restyled for the theme chosen meanwhile


async def test_the_key_bar_offers_m_only_on_a_long_post(desk: Desk) -> None:
    """A card given another post in the kept screen updates the keys shown when the cursor is on
    it (`m` pages a long post)."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_thread(pilot, desk, thread_id_of(desk, "t5"))  # a 200 kB question

        def offered() -> list[str]:
            return [description for _key, description, _on in screen.query_one(KeyBar).entries]

        assert cursor(screen) is screen._cards()[0] and "More" in offered()
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("g", *["j"] * row_of(desk, thread_id_of(desk, "t2")), "enter")
        await settle(pilot)
        assert app.screen is screen and cursor(screen) is screen._cards()[0]
        assert "More" not in offered()


async def test_j_scrolls_and_refocuses_in_its_own_frame_without_a_whole_repaint(
    desk: Desk,
) -> None:
    """Moving to the next post scrolls it to the top in the key's own handling (Textual's
    scroll_visible waits for a frame: a second frame after every j), and moving the cursor
    redraws the two cards, not the whole screen."""
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_thread(pilot, desk, thread_id_of(desk, "t5"))  # 200 kB, 2 replies
        posts = screen.query_one("#posts")
        reply = screen._cards()[1]
        assert posts.scroll_y == 0 and reply.virtual_region.y > posts.size.height
        whole: list[object] = []
        real_refresh = screen.refresh

        def refresh(*regions: object, **kwargs: object) -> object:
            if not regions:
                whole.append(kwargs)
            return real_refresh(*regions, **kwargs)  # type: ignore[arg-type]

        screen.refresh = refresh  # type: ignore[method-assign]
        screen.action_move(1)
        top = min(reply.virtual_region.y, posts.max_scroll_y)  # as near the top as it goes
        assert top > 0 and posts.scroll_y == top  # before any frame is drawn
        await settle(pilot)
        assert posts.scroll_y == top and cursor(screen) is reply
        assert whole == []


async def test_keys_that_reach_the_thread_screen_before_its_widgets_do_nothing(
    desk: Desk,
) -> None:
    """A thread opened for the first time is pushed before it is composed: j, G, PgDn, s, M or
    V typed in between found no posts and crashed the console. They do nothing, and the
    thread then shows as usual, its first post focused, nothing hidden."""
    thread = thread_id_of(desk, "t2")
    view = desk.thread(thread)
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = ThreadScreen(thread)
        pushed = app.push_screen(screen)
        for action in ("move(1)", "jump(-1)", "page(1)", "hide_post", "verify_answer"):
            await app.run_action(action, screen)
        await pushed
        await settle(pilot)
        assert app.screen is screen
        assert cursor(screen).key == view.posts[0].post_id
        assert not any(p.hidden for p in desk.thread(thread).posts)
        await pilot.press("j")
        assert cursor(screen).key == view.posts[1].post_id


def cells(strips: list) -> list[list[tuple[str, object]]]:  # type: ignore[type-arg]
    """Each line's cells: (character, style), whatever segments drew them."""
    return [[(ch, seg.style) for seg in strip for ch in seg.text] for strip in strips]


async def test_the_thread_under_a_resting_cursor_is_prepared_and_opened_as_it_is_now(
    desk: Desk,
) -> None:
    """Once the Queue's cursor rests on a row, the kept Thread screen is given that thread while
    hidden (its cards' lines drawn ahead). The enter that follows reads it again: a note added
    meanwhile is there, and the screen is drawn cell for cell as if nothing had been ahead."""
    first, target = thread_id_of(desk, "t2"), thread_id_of(desk, "t4")
    app = PeerdeskApp(desk, theme="textual-dark")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_thread(pilot, desk, first)  # the Queue keeps this screen from now on
        kept = app.screen
        assert isinstance(kept, ThreadScreen)
        await pilot.press("j", "j")  # the cursor somewhere in the thread: reset by the ahead
        await pilot.press("escape")
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        await pilot.press("g", *["j"] * row_of(desk, target))
        assert await wait_for(pilot, lambda: kept.view is not None and kept.thread_id == target)
        assert app.screen is queue  # prepared behind the Queue, not shown
        cards = kept.query_one(PostList).cards()
        assert [card.key for card in cards] == [p.post_id for p in desk.thread(target).posts]
        assert cards[0].cursor and cards[0]._drawn  # the cursor's card drawn already
        desk.add_note(target, "rang the customer back")  # after the read ahead
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is kept and kept.thread_id == target
        assert "rang the customer back" in screen_text(pilot)
        assert cursor(kept).key == cards[0].key and kept.query_one(PostList).scroll_y == 0
        drawn = cells(app.screen._compositor.render_strips())
        for widget in kept.walk_children():
            if isinstance(widget, PostView):
                widget._forget_drawn()
            widget.refresh()
        kept.refresh()
        await pilot.pause()
        assert cells(app.screen._compositor.render_strips()) == drawn


async def test_a_move_burst_is_followed_by_one_call_after_the_rest() -> None:
    """AfterRest: moves in a burst run the callback once, after the pause that follows them."""
    from textual.app import App

    from console.screens.after_rest import AfterRest

    calls: list[float] = []
    app: App[None] = App()
    async with app.run_test() as pilot:
        rest = AfterRest(app, 0.05, lambda: calls.append(time.monotonic()))
        started = time.monotonic()
        for _ in range(50):
            rest.moved()
        assert not calls
        last = time.monotonic()
        assert await wait_for(pilot, lambda: calls)
        await pilot.pause(0.15)
        assert len(calls) == 1 and calls[0] - last >= 0.05 and last >= started
        rest.moved()
        assert await wait_for(pilot, lambda: len(calls) == 2)


async def test_the_first_rest_of_the_cursor_makes_the_thread_screen_before_any_enter(
    desk: Desk,
) -> None:
    """The kept Thread screen is composed, hidden, once the Queue's cursor first rests (after
    the start, not on the session's first enter), with the thread under the cursor; a rest on
    another row gives it that thread, and the enter shows it."""
    first, target = desk.queue(limit=1)[0].thread_id, thread_id_of(desk, "t4")
    assert first != target
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)

        def kept(thread_id: int) -> bool:
            screen = queue._thread_screen()
            return bool(
                screen and screen.is_mounted and screen.view and screen.thread_id == thread_id
            )

        assert await wait_for(pilot, lambda: kept(first))
        assert app.screen is queue  # composed behind the Queue
        await pilot.press(*["j"] * row_of(desk, target))
        assert await wait_for(pilot, lambda: kept(target))
        screen = queue._thread_screen()
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and isinstance(screen, ThreadScreen)
        assert desk.thread(target).title in screen_text(pilot)
        assert cursor(screen).key == desk.thread(target).posts[0].post_id


async def test_nothing_is_read_ahead_while_a_search_is_typed_and_its_row_is_once_entered(
    desk: Desk,
) -> None:
    """Each typed letter puts the cursor on another first row: none of them is read ahead while
    the search line has the focus (the reads would compete with the next letter); the search's
    enter leaves the cursor on its row, and that thread is prepared."""
    first = desk.queue(limit=1)[0].thread_id
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        assert await wait_for(pilot, lambda: queue._thread_screen() is not None)
        kept = queue._thread_screen()
        assert kept is not None
        assert await wait_for(pilot, lambda: kept.view is not None and kept.thread_id == first)
        await pilot.press("/", *"roaming")
        assert await wait_for(
            pilot, lambda: queue.table.current_key not in (None, first) and queue.search_text
        )
        found = queue.table.current_key
        await pilot.pause(0.4)  # four times the rest that prepares a row
        assert kept.thread_id == first
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: kept.thread_id == found and kept.view is not None)
        assert app.screen is queue


async def test_a_note_typed_with_its_n_in_a_thread_reaches_the_prompt(desk: Desk) -> None:
    """On the Thread screen too, `n` and the note's letters arriving at once: the letters are the
    note's (`x` would close the thread, `c` claim it)."""
    from textual import events
    from textual.widgets import Input

    thread = thread_id_of(desk, "t2")
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_thread(pilot, desk, thread)
        decided = desk.cache.one("SELECT count(*) FROM audit")[0]
        for key in "nxc":
            app.post_message(events.Key(key, key))
        await settle(pilot)
        assert type(app.screen).__name__ == "NoteScreen"
        assert app.screen.query_one(Input).value == "xc"
        assert desk.cache.one("SELECT count(*) FROM audit")[0] == decided


async def test_a_reread_that_makes_the_cursors_post_long_offers_m(desk: Desk) -> None:
    """The cursor's card given a long post by a reread in place (the thread changed while shown)
    offers `m` at once, as moving onto a long post does."""
    from console.messages import RefreshRequested

    thread = thread_id_of(desk, "t2")
    question = desk.thread(thread).posts[0].post_id
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_thread(pilot, desk, thread)

        def offered() -> list[str]:
            return [description for _key, description, _on in screen.query_one(KeyBar).entries]

        assert cursor(screen).key == question and "More" not in offered()
        with desk.cache.transaction():
            desk.cache.conn.execute(
                "UPDATE posts SET body_text = ? WHERE id = ?", ("a long answer " * 3000, question)
            )
        screen.post_message(RefreshRequested())
        assert await wait_for(pilot, lambda: cursor(screen).pages)
        await settle(pilot)
        assert cursor(screen).key == question and "More" in offered()


async def test_a_note_the_cache_refused_comes_back_to_the_prompt(desk: Desk) -> None:
    """A note typed while another process holds the cache's write lock is refused (the lock
    outlasts the busy timeout): its text is kept, and the next `n` on that thread offers it
    again instead of an empty line. SQLite only: a cache file's lock held by another process."""
    import sqlite3

    from textual.widgets import Input

    thread = thread_id_of(desk, "t2")
    text = "Customer says the PAC expired twice; ring them before closing"
    desk.cache.conn.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(desk.cache.path, isolation_level=None)
    messages: list[Message] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await open_thread(pilot, desk, thread)
        other.execute("BEGIN IMMEDIATE")
        await pilot.press("n", *text, "enter")
        await settle(pilot)
        assert any("is locked by another process" in said for said in notes(messages))
        assert any(f"n on thread {thread} brings it back" in said for said in notes(messages))
        other.execute("ROLLBACK")
        await pilot.press("n")
        await settle(pilot)
        assert app.screen.query_one(Input).value == text
        await pilot.press("enter")
        await settle(pilot)
        saved = stored(desk, "SELECT body FROM notes WHERE thread_id = ?", (thread,))
        assert [row[0] for row in saved] == [text]
        await pilot.press("n")  # kept only until it is offered again
        await settle(pilot)
        assert app.screen.query_one(Input).value == ""
    other.close()
