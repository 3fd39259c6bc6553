"""One post of a conversation, drawn from plain values, as ONE widget.

The card is a single render: a heading line (author, votes, marks), the body and, for a long
post, a line saying which part is shown. Opening a thread therefore restyles, measures and paints
one widget per post (not a container of three), and a card given another post is measured and
painted again without mounting anything.

The body is shown as literal text: it becomes a Textual `Content` built from the plain string
(never parsed as markup, control codes stripped), so `[bold]` or `[@click=...]` in a post stay
characters. Callers pass text already made printable (console.safe_text: escape sequences and
invisible characters shown as `\\x1b` and the like).

A card is drawn line by line from lines it keeps (the Line API): its text is wrapped once per
width and look, so a card redrawn (a scroll, the cursor arriving or leaving) wraps nothing. The
cursor is drawn by the card itself (`set_cursor`: a brighter bar and background, a bold
heading): no focus moves and no styles are matched again when it moves, which is most of what
moving between posts cost. The bar and the cells either side of the text are the card's own
(no CSS border or padding), so the cursor's background spans the whole line.

The heading never wraps: it is cut with "…" at the width it is drawn at (the height Textual asks
for is measured at that same width), so a long author name cannot push the body down.

What is drawn is bounded whatever the post's size: at most `limit` characters (a window) at a
time, and `m` pages through the rest. A caller that has the whole body passes it (the widget
pages through it itself); a caller that holds only the first window of a huge post passes that
window with `length` = the post's full length, answers `PostView.WindowWanted` with
`show_window`, and the whole post is never in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import ClassVar, NamedTuple

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual
from textual.widget import Widget

DEFAULT_LIMIT = 20_000
HEIGHTS_KEPT = 512  # cards' heights remembered (per post shown and width), newest last
BAR = "▊"  # the card's left edge (drawn as Textual draws a `tall` border)
EDGES = 3  # cells of a line that are not text: the bar, a space before the text, one after


_NOTE_PARTS = {
    "post--bar": "post--note-bar",
    "post--heading": "post--note-heading",
    "post--cursor-heading": "post--note-cursor-heading",
}


class _Look(NamedTuple):
    """How a card's lines are drawn in one look (plain, or the cursor's)."""

    visual: Style  # the card's style in this look
    style: RichStyle  # the same, for segments
    left: Strip  # the bar and the space before the text
    right: Strip  # the space after it
    background: RichStyle  # laid over plain lines to give them this look's background
    restyled: bool  # False: this look is drawn whole (a translucent body colour)


class PostView(Widget):
    """A card: a heading line (author, votes, marks) and the body; drawn as the cursor's or not."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "post--heading", "post--body", "post--more", "post--bar",
        "post--cursor", "post--cursor-heading", "post--cursor-bar",
        "post--accepted-bar", "post--hidden-body",
        "post--note-bar", "post--note-heading", "post--note-cursor-heading",
    }  # fmt: skip

    DEFAULT_CSS = """
    PostView {
        height: auto;
        margin: 0 0 1 0;
        & > .post--heading { color: $text-muted; }
        & > .post--body { color: $foreground; }
        & > .post--more { color: $warning; text-style: italic; }
        & > .post--bar { color: $panel; }
        & > .post--cursor { background: $boost; }
        & > .post--cursor-heading { color: $foreground; text-style: bold; }
        & > .post--cursor-bar { color: $accent; }
        & > .post--accepted-bar { color: $success; }
        & > .post--hidden-body { color: $text-disabled; text-style: strike; }
        & > .post--note-bar { color: $secondary; }
        & > .post--note-heading { color: $secondary; }
        & > .post--note-cursor-heading { color: $secondary; text-style: bold; }
    }
    """

    class WindowWanted(Message):
        """Characters `start .. start+length` of the post are wanted (see `show_window`)."""

        def __init__(self, post: PostView, start: int, length: int) -> None:
            super().__init__()
            self.post = post
            self.start = start
            self.length = length

        @property
        def control(self) -> PostView:
            return self.post

    # A card's height at a width, by what it shows: measuring wraps the whole window of the
    # post (a long one takes milliseconds), and opening a thread measures every card, seen or
    # not. Shared by every card, so a thread opened again measures nothing.
    _heights: ClassVar[OrderedDict[tuple[object, ...], int]] = OrderedDict()

    def __init__(
        self,
        *,
        key: int,
        author: str,
        when: str,
        body: str,
        length: int | None = None,
        score: int | None = None,
        reputation: int | None = None,
        accepted: bool = False,
        hidden_reason: str | None = None,
        flags: int = 0,
        label: str = "",
        note: bool = False,
        limit: int = DEFAULT_LIMIT,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.limit = limit
        self.cursor = False  # drawn as the cursor's card (see `set_cursor`)
        self._texts: dict[tuple[int, bool], list[Strip]] = {}  # text drawn: (width, cursor)
        self._drawn: dict[tuple[int, bool], dict[int, Strip]] = {}  # (width, cursor): y: line
        self._looks: dict[bool, _Look] = {}  # by cursor
        self._set(
            key=key, author=author, when=when, body=body, length=length, score=score,
            reputation=reputation, accepted=accepted, hidden_reason=hidden_reason, flags=flags,
            label=label, note=note,
        )  # fmt: skip

    def _set(
        self,
        *,
        key: int,
        author: str,
        when: str,
        body: str,
        length: int | None,
        score: int | None,
        reputation: int | None,
        accepted: bool,
        hidden_reason: str | None,
        flags: int,
        label: str,
        note: bool,
    ) -> None:
        self._fields = (
            key, author, when, body, length, score, reputation, accepted, hidden_reason, flags,
            label, note,
        )  # fmt: skip
        self.key = key
        self.author = author
        self.when = when
        self.score = score
        self.reputation = reputation
        self.accepted = accepted
        self.hidden_reason = hidden_reason
        self.flags = flags
        self.label = label
        self.note = note  # an internal note, not a post (drawn in the notes' colour)
        # the whole body when the caller gave it all, else None (windows are asked for)
        self._whole: str | None = body if length is None or length <= len(body) else None
        self.length = len(body) if self._whole is not None else int(length or 0)
        self.start = 0
        self.window = body[: self.limit]
        self._measured: tuple[int, int] | None = None  # (width, height) of the card drawn
        self._forget_drawn()

    def set_post(
        self,
        *,
        key: int,
        author: str,
        when: str,
        body: str,
        length: int | None = None,
        score: int | None = None,
        reputation: int | None = None,
        accepted: bool = False,
        hidden_reason: str | None = None,
        flags: int = 0,
        label: str = "",
        note: bool = False,
    ) -> None:
        """Show another post in this card (cheaper than a new card: no mount, no restyle). The
        post it shows already, from its start, changes nothing: its lines drawn are kept."""
        fields = (
            key, author, when, body, length, score, reputation, accepted, hidden_reason, flags,
            label, note,
        )  # fmt: skip
        if self.is_mounted and fields == self._fields and self.start == 0:
            return
        self._set(
            key=key, author=author, when=when, body=body, length=length, score=score,
            reputation=reputation, accepted=accepted, hidden_reason=hidden_reason, flags=flags,
            label=label, note=note,
        )  # fmt: skip
        if self.is_mounted:
            self._redraw()

    def part_style(self, part: str) -> Style:
        """The style of `part` ("post--bar", "post--heading", "post--cursor-heading",
        "post--body", ...) for what this card shows: an accepted answer's bar, a hidden post's
        body and a note's bar and heading have their own component classes, not CSS classes on
        the card, so a card given another kind of post is not styled again (Textual matches
        every rule anew for a card whose classes change: ~1 ms each when a thread opens)."""
        if self.note:
            part = _NOTE_PARTS.get(part, part)
        elif part == "post--bar" and self.accepted:
            part = "post--accepted-bar"
        if part == "post--body" and self.hidden_reason is not None:
            part = "post--hidden-body"
        return self.get_visual_style(part, partial=True)

    @property
    def body(self) -> str:
        """The text drawn now (the whole body, or the window shown of a long one)."""
        return self.window

    @property
    def hidden_chars(self) -> int:
        """Characters of the post not drawn now."""
        return self.length - len(self.window)

    def heading(self) -> Content:
        """The heading line, whole (`card` cuts it to the width drawn)."""
        parts: list[str | tuple[str, str]] = []
        if self.label:
            parts.append(f"{self.label} ")
        parts.append((self.author, "bold"))
        if self.reputation is not None:
            parts.append(f" ({self.reputation:,})")
        if self.score is not None:
            parts.append(f"  {self.score:+d} votes")
        parts.append(f"  {self.when}")
        if self.accepted:
            parts.append(("  ✔ accepted", "bold"))
        if self.flags:
            parts.append(f"  ⚑ {self.flags} flag{'s' if self.flags != 1 else ''}")
        if self.hidden_reason is not None:
            parts.append("  hidden" + (f": {self.hidden_reason}" if self.hidden_reason else ""))
        return Content.assemble(*parts)

    def more_line(self) -> str | None:
        """The line under a long post saying which part is shown (None for a short post)."""
        if self.length <= self.limit:
            return None
        end = self.start + len(self.window)
        rest = self.length - end
        then = f"m shows the next {min(rest, self.limit):,}" if rest > 0 else "m: from the start"
        return f"… characters {self.start + 1:,}–{end:,} of {self.length:,} ({rest:,} more): {then}"

    def card(self, width: int, cursor: bool = False) -> Content:
        """The card's text as drawn at `width` cells: heading (cut to `width`), body, part line."""
        parts = [
            self._heading(width, cursor),
            Content(self.window or "(empty)").stylize_before(self.part_style("post--body")),
        ]
        more = self.more_line()
        if more is not None:
            parts.append(Content.styled(more, self.get_visual_style("post--more", partial=True)))
        return Content("\n").join(parts)

    def _heading(self, width: int, cursor: bool) -> Content:
        heading = self.heading()
        if width > 0 and heading.cell_length > width:
            heading = heading.truncate(width, ellipsis=True)
        heading = heading.stylize_before(self.part_style("post--heading"))
        if cursor:
            heading = heading.stylize_before(self.part_style("post--cursor-heading"))
        return heading

    def render(self) -> Content:
        return self.card(self.text_width(self.size.width), self.cursor)

    @staticmethod
    def text_width(width: int) -> int:
        """Cells of text in a card `width` cells wide."""
        return max(1, width - EDGES)

    def set_cursor(self, cursor: bool) -> None:
        """Draw this card as the cursor's (or not): a repaint from kept lines, no restyle."""
        if cursor != self.cursor:
            self.cursor = cursor
            self.refresh()

    def render_line(self, y: int) -> Strip:
        return self._line(self.size.width, y, self.cursor)

    def _line(self, width: int, y: int, cursor: bool) -> Strip:
        """Line `y` of the card `width` wide, drawn once per look and kept."""
        drawn = self._drawn.get((width, cursor))
        if drawn is None:
            drawn = self._drawn[width, cursor] = {}
        line = drawn.get(y)
        if line is None:
            line = drawn[y] = self._draw_line(width, y, cursor)
        return line

    def _text(self, width: int, cursor: bool = False) -> list[Strip]:
        """The card's text wrapped and drawn, in the plain look or the cursor's, for a card
        `width` wide."""
        text = self._texts.get((width, cursor))
        if text is None:
            text_width = self.text_width(width)
            look = self.get_visual_style("post--cursor") if cursor else self.visual_style
            text = Visual.to_strips(self, self.card(text_width, cursor), text_width, None, look)
            self._texts[width, cursor] = text
        return text

    def _draw_line(self, width: int, y: int, cursor: bool) -> Strip:
        """Line `y` of the card: the bar, a space, the text, a space. The cursor's look is the
        plain one restyled (its heading drawn again, the rest given its background): nothing
        is wrapped again, and only the lines shown are drawn."""
        text = self._text(width)
        look = self._look(cursor)
        if y >= len(text):
            return Strip.blank(width, look.style)
        text_width = self.text_width(width)
        if not cursor:
            line = text[y]
        elif not look.restyled:
            line = self._text(width, cursor=True)[y]
        elif y == 0:
            heading = self._heading(text_width, cursor=True)
            line = Visual.to_strips(self, heading, text_width, 1, look.visual)[0]
        else:
            line = Strip(
                Segment.apply_style(text[y], post_style=look.background), text[y].cell_length
            )
        return Strip.join([look.left, line.adjust_cell_length(text_width, look.style), look.right])

    def _look(self, cursor: bool) -> _Look:
        """What a line of the card is drawn with, plain or as the cursor's (kept until the
        card's styles change)."""
        look = self._looks.get(cursor)
        if look is None:
            visual = self.get_visual_style("post--cursor") if cursor else self.visual_style
            style = visual.rich_style
            bar_colour = self.part_style("post--cursor-bar" if cursor else "post--bar").foreground
            # as Textual draws the left edge of a `tall` border: the block reversed, so its
            # narrow right part shows the bar's colour against the card
            bar = Segment(
                BAR, Style(self.background_colors[0], bar_colour, reverse=True).rich_style
            )
            space = Segment(" ", style)
            body = self.part_style("post--body").foreground
            look = self._looks[cursor] = _Look(
                visual=visual,
                style=style,
                left=Strip([bar, space], 2),
                right=Strip([space], 1),
                background=RichStyle(bgcolor=style.bgcolor),
                # a translucent body colour (a hidden post's) is mixed with the background it
                # is drawn on: that card's cursor look is drawn whole, not restyled
                restyled=body is None or body.a == 1,
            )
        return look

    def _forget_drawn(self) -> None:
        """Another post, part or look (a theme, a class): every line is drawn again."""
        self._texts, self._drawn, self._looks = {}, {}, {}

    def notify_style_update(self) -> None:
        self._forget_drawn()
        super().notify_style_update()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Measured at `width`, as it will be drawn (the heading is cut at that width)."""
        return self.measure(width)

    def draw_ahead(self, width: int, lines: int) -> int:
        """Wrap the text at `width` and draw its first `lines` lines before Textual asks for
        them (a card of a screen prepared while hidden): the layout and the paint that follow
        the push then wrap and draw nothing. Returns the card's height."""
        height = self.measure(width)
        for y in range(min(lines, height)):
            self._line(width, y, self.cursor)  # (wraps the text if the height was kept)
        return height

    def measure(self, width: int) -> int:
        """The card's height at `width` cells (its text wrapped once per width, and kept)."""
        if not width:
            return 0
        if self._measured is None or self._measured[0] != width:
            shown = (*self._fields, self.start, self.window, width)
            height = self._heights.get(shown)
            if height is None:
                height = len(self._text(width))  # wrapped once: drawn from these lines
                self._heights[shown] = height
                if len(self._heights) > HEIGHTS_KEPT:
                    self._heights.popitem(last=False)
            else:
                self._heights.move_to_end(shown)
            self._measured = (width, height)
        return self._measured[1]

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # A card neither scrolls nor holds widgets: the layout that gave it a new size has
        # placed and will paint it. Textual's default sets its virtual size as a reactive that
        # lays the whole screen out again, a second frame after a thread with other heights
        # was opened (the card repainted once more).
        return super()._size_updated(size, virtual_size, container_size, layout=False)

    def _redraw(self) -> None:
        self._measured = None
        self._forget_drawn()
        self.refresh(layout=True)

    @property
    def pages(self) -> bool:
        """Whether the post is longer than a window (`show_more` then shows its next part)."""
        return self.length > self.limit

    def show_more(self) -> None:
        """The next window of a long post (after the last one, the first again)."""
        if self.length <= self.limit:
            return
        start = self.start + self.limit
        if start >= self.length:
            start = 0
        if self._whole is not None:
            self.show_window(start, self._whole[start : start + self.limit])
        else:
            self.post_message(self.WindowWanted(self, start, self.limit))

    def show_window(self, start: int, text: str) -> None:
        """Draw characters `start ..` of the post (at most `limit` of `text`)."""
        self.start = start
        self.window = text[: self.limit]
        if self.is_mounted:
            self._redraw()
