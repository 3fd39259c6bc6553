"""The post card (widgets.post_view) is ONE widget: its heading, body and part line are one
render. What it shows, that its heading is cut rather than wrapped, that hostile text stays text,
that the cursor's card is drawn as the cursor's, and that a card redraws from lines it keeps."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.color import Color
from textual.containers import VerticalScroll
from textual.visual import Visual

from console.safe_text import printable
from tests.ui.helpers import screen_text
from widgets.post_view import PostView

pytestmark = pytest.mark.anyio

HOSTILE = "[bold red]ALERT[/] [@click=app.quit]quit[/] \x1b[2J\x07 pay\u200bpal \u202eevil"


def card(**fields: Any) -> PostView:
    values: dict[str, Any] = {"key": 1, "author": "Carol Ng (carol)", "when": "2026-11-01 10:00"}
    values.update(fields)
    return PostView(**values)


class Cards(App[None]):
    def __init__(self, *cards: PostView) -> None:
        super().__init__()
        self.cards = cards

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield from self.cards


async def test_a_card_is_one_widget_with_heading_body_and_part_line() -> None:
    long_body = "word " * 9_000  # 45,000 characters: the first 20,000 are drawn
    short = card(key=1, author="carol", body="Restart the phone.", score=3, reputation=1200,
                 accepted=True, label="1.", flags=2)  # fmt: skip
    long = card(key=2, author="dave", body=long_body, label="Q")
    app = Cards(short, long)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not short.children and not long.children  # one widget, nothing mounted inside
        lines = screen_text(pilot).splitlines()
        heading = next(line for line in lines if "1. carol" in line)
        for part in ("1. carol", "(1,200)", "+3 votes", "2026-11-01 10:00",
                     "✔ accepted", "⚑ 2 flags"):  # fmt: skip
            assert part in heading
        assert any("Restart the phone." in line for line in lines)
        assert short.more_line() is None
        assert long.more_line() == (
            "… characters 1–20,000 of 45,000 (25,000 more): m shows the next 20,000"
        )
        assert long.card(78).plain.endswith(long.more_line() or "")
        assert short.size.height == 2  # heading and one body line, no part line


async def test_a_long_heading_is_cut_with_an_ellipsis_never_wrapped() -> None:
    post = card(author="a-very-long-display-name " * 6, body="one line", score=-2)
    app = Cards(post)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        width = post.content_size.width
        first, body = post.card(width).plain.split("\n")
        assert len(first) == width and first.endswith("…")
        assert body == "one line"
        assert post.size.height == 2  # the heading took one line
        narrow = post.card(20).plain.split("\n")[0]
        assert len(narrow) == 20 and narrow.endswith("…")


async def test_hostile_text_is_shown_as_text() -> None:
    post = card(author=printable("[b]mallory[/b]\x1b[31m", single_line=True),
                body=printable(HOSTILE))  # fmt: skip
    app = Cards(post)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.is_running  # [@click=app.quit] is text, not a link
        text = screen_text(pilot)
        assert "[bold red]ALERT[/]" in text and "[@click=app.quit]quit[/]" in text
        assert "\\x1b[2J" in text and "[b]mallory[/b]" in text
        assert not any(ch in text for ch in "\x1b\x07\u200b\u202e")
        assert "pay\\u200bpal" in text


async def test_the_cursors_card_is_drawn_as_the_cursors_from_lines_kept_per_look() -> None:
    """The cursor is the card's own drawing (a bold heading, another background and bar): its
    look is the plain one restyled, without wrapping the text again, and moving the cursor
    back and forth draws from the lines kept for each look."""
    first, second = card(key=1, body="first"), card(key=2, body="second", author="dave")
    app = Cards(first, second)
    async with app.run_test(size=(80, 24)) as pilot:
        first.set_cursor(True)
        await pilot.pause()

        def when_is_bold(post: PostView) -> bool:
            line = post.render_line(0)
            return any(s.style is not None and s.style.bold for s in line if "2026" in s.text)

        def background(post: PostView) -> object:
            return post.render_line(0)._segments[1].style.bgcolor  # the space after the bar

        assert first.cursor and when_is_bold(first) and not when_is_bold(second)
        assert background(first) != background(second)
        wrapped: list[int] = []
        drawn: list[tuple[int, int, bool]] = []
        real_card, real_line = PostView.card, PostView._draw_line

        def card_counted(self: PostView, width: int, cursor: bool = False) -> Any:
            wrapped.append(self.key)
            return real_card(self, width, cursor)

        def line_counted(self: PostView, width: int, y: int, cursor: bool) -> Any:
            drawn.append((self.key, y, cursor))
            return real_line(self, width, y, cursor)

        PostView.card = card_counted  # type: ignore[method-assign]
        PostView._draw_line = line_counted  # type: ignore[method-assign]
        try:
            for visit in range(2):
                if visit:
                    drawn.clear()
                first.set_cursor(False)
                second.set_cursor(True)
                await pilot.pause()
                assert when_is_bold(second) and not when_is_bold(first)
                first.set_cursor(True)
                second.set_cursor(False)
                await pilot.pause()
                assert when_is_bold(first) and not when_is_bold(second)
            assert drawn == []  # the second time round, every line came from those kept
        finally:
            PostView.card, PostView._draw_line = real_card, real_line  # type: ignore[method-assign]
        assert wrapped == []  # the cursor's look is the plain one restyled: nothing wrapped
        assert "second" in screen_text(pilot)


async def test_set_post_redraws_the_same_card_with_another_post() -> None:
    post = card(body="old body", hidden_reason=None)
    app = Cards(post)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        post.set_post(key=9, author="erin", when="2026-11-02 09:00", body="new\nbody\nhere",
                      hidden_reason="spam")  # fmt: skip
        await pilot.pause()
        text = screen_text(pilot)
        assert "old body" not in text and "erin" in text and "hidden: spam" in text
        assert post.size.height == 4  # the new body's three lines under the heading
        assert post.part_style("post--body").strike


async def test_the_post_shown_already_is_not_measured_or_drawn_again() -> None:
    """Opening a thread again gives each card the post it shows: nothing to redraw (Textual
    keeps its drawn lines); after `m` it goes back to the first part, as before."""
    fields: dict[str, Any] = {"key": 7, "author": "erin", "when": "2026-11-01 10:00",
                              "body": "word " * 9_000, "label": "Q"}  # fmt: skip
    post = card(**fields)
    app = Cards(post)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        refreshed: list[bool] = []
        real_refresh = post.refresh

        def refresh(*args: Any, layout: bool = False, **kwargs: Any) -> Any:
            refreshed.append(layout)
            return real_refresh(*args, layout=layout, **kwargs)

        post.refresh = refresh  # type: ignore[method-assign]
        post.set_post(**fields)
        assert refreshed == []
        post.set_post(**{**fields, "flags": 1})  # another state of the post: measured again
        assert refreshed == [True]
        post.show_more()
        assert post.start == 20_000
        refreshed.clear()
        post.set_post(**{**fields, "flags": 1})
        assert post.start == 0 and refreshed == [True]
        assert (post.more_line() or "").startswith("… characters 1–20,000 of 45,000")


async def test_a_post_measured_once_per_width_whichever_card_shows_it() -> None:
    fields: dict[str, Any] = {"key": 8, "author": "frank", "when": "2026-11-01 10:00",
                              "body": "a fairly long line of text that wraps " * 40}  # fmt: skip
    first, second = card(**fields), card(**{**fields, "key": 9})
    app = Cards(first, second)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        measured: list[int] = []
        real_card = PostView.card

        def counting(self: PostView, width: int, cursor: bool = False) -> Any:
            measured.append(width)
            return real_card(self, width, cursor)

        PostView.card = counting  # type: ignore[method-assign]
        try:
            width = first.content_size.width
            second.set_post(**fields)  # the post the first card shows and measured
            assert second.get_content_height(first.size, first.size, width) == (
                first.get_content_height(first.size, first.size, width)
            )
            assert measured == []
            narrow = second.get_content_height(first.size, first.size, width // 2)
            assert measured == [PostView.text_width(width // 2)]  # another width: measured
            assert narrow > first.get_content_height(first.size, first.size, width)
        finally:
            PostView.card = real_card  # type: ignore[method-assign]


@pytest.mark.parametrize("theme", ["textual-dark", "ansi-dark"])
async def test_the_cursors_lines_are_the_card_drawn_whole_in_the_cursors_look(theme: str) -> None:
    """Restyling the plain lines gives, cell for cell, what wrapping and drawing the whole card
    in the cursor's look gives (a long heading cut, an accepted answer, a hidden post)."""
    cards = [
        card(key=1, author="a" * 120, body="Restart the phone. " * 12, accepted=True),
        card(key=2, body="spam spam " * 30, hidden_reason="spam", flags=2),
    ]
    app = Cards(*cards)
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        await pilot.pause()
        for post in cards:
            post.set_cursor(True)
            width = post.size.width
            text_width = post.text_width(width)
            look = post.get_visual_style("post--cursor")
            whole = Visual.to_strips(post, post.card(text_width, True), text_width, None, look)
            assert len(whole) == post.size.height > 2
            for y, expected in enumerate(whole):
                drawn = list(post.render_line(y))[2:-1]  # without the bar and the side cells
                expected = expected.adjust_cell_length(text_width, look.rich_style)
                assert [(s.text, s.style) for s in drawn] == [(s.text, s.style) for s in expected]


async def test_a_card_given_another_kind_of_post_is_drawn_in_its_colours_unrestyled() -> None:
    """An accepted answer's bar, a note's bar and heading and a hidden post's body have their
    own colours; a card given such a post draws them without being styled again (Textual matches
    every CSS rule anew for a widget whose classes change: a millisecond per card)."""
    post = card(body="a reply")
    app = Cards(post)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        restyled: list[object] = []
        update_styles = app.update_styles

        def spy(node: Any, animate: bool = True) -> None:
            restyled.append(node)
            update_styles(node, animate)

        app.update_styles = spy  # type: ignore[method-assign]
        plain_bar = post.part_style("post--bar").foreground
        plain_heading = post.part_style("post--heading").foreground
        theme = app.current_theme
        post.set_post(key=2, author="erin", when="2026-11-02 09:00", body="the fix",
                      accepted=True)  # fmt: skip
        await pilot.pause()
        accepted_bar = post.part_style("post--bar").foreground
        assert accepted_bar is not None and accepted_bar != plain_bar
        assert accepted_bar.hex == Color.parse(theme.success or "").hex
        bar = next(iter(post.render_line(0)))  # the bar is drawn in the accepted colour
        assert bar.text == "▊" and bar.style is not None and bar.style.color is not None
        assert bar.style.color.get_truecolor().hex.lower() == accepted_bar.hex.lower()
        post.set_post(key=-3, author="mod", when="2026-11-02 10:00", body="called them",
                      label="internal note by", note=True)  # fmt: skip
        await pilot.pause()
        note_heading = post.part_style("post--heading").foreground
        assert note_heading is not None and note_heading != plain_heading
        assert note_heading.hex == Color.parse(theme.secondary or "").hex
        assert post.part_style("post--bar").foreground == note_heading
        assert post.part_style("post--cursor-heading").bold
        post.set_post(key=4, author="spam", when="2026-11-02 11:00", body="buy now",
                      hidden_reason="spam")  # fmt: skip
        await pilot.pause()
        assert post.part_style("post--body").strike
        assert post.part_style("post--bar").foreground == plain_bar
        assert "buy now" in screen_text(pilot)
        assert post not in restyled and not restyled
