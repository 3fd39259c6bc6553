"""One thread: the whole conversation, its author, votes, accepted answer and internal notes.

Everything a post contains is shown as literal, printable text (see widgets.post_view).
When the thread has pending duplicate candidates, a banner of up to three lines names the likely
originals (id, title, score, why) and `D` opens the Duplicates panel to decide.

    ThreadRequested → (worker: Desk.thread + Desk.possible_duplicates) → ThreadLoaded,
                                                                        DuplicatesLoaded

Fast opening: the Queue keeps one ThreadScreen and, on enter, reads the thread (about a
millisecond) and awaits `prepare` before pushing it, so the screen is laid out and painted once,
whole, with its posts, and no widgets are composed or restyled: the post cards are reused, each
given another post, and the ones a longer thread needs are mounted before the push. Ahead of
that, once the Queue's cursor rests on a row (console.screens.after_rest), the hidden screen is
given its thread and draws the lines its next frame shows (`open_ahead`): the enter still reads
the thread, but finds the cards as they are and only places and paints them.
Long posts arrive as their first WINDOW characters; `m` reads the next window (PostView pages).
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.widget import Widget
from textual.widgets import Static

from console.claims import claim_line
from console.clock import parse
from console.desk import Desk
from console.dupes.stored import Candidate
from console.dupes.thresholds import STRONG_SCORE
from console.errors import PeerdeskError
from console.escalate import panel as _escalation_lines  # noqa: F401  (see below)
from console.messages import (
    Decision,
    DecisionMade,
    RefreshRequested,
    ThreadLoaded,
    ThreadRequested,
)
from console.models import PostView as PostData
from console.models import ThreadView, member_label
from console.safe_text import clip, printable
from console.screens.base import DeskScreen
from console.screens.keys import bindings
from console.screens.member import open_member
from console.screens.verification import (
    KnownAnswerLoaded,
    VerificationScreen,
    known_answer_of,
    known_answer_text,
)
from console.verify.panel import KnownAnswer
from console.words import counted
from widgets.key_bar import KeyBar
from widgets.post_list import PostList
from widgets.post_view import DEFAULT_LIMIT, PostView
from widgets.status_bar import StatusBar
from widgets.title_bar import TitleBar

BANNER_LINES = 3  # candidates shown at most (one line each)
TITLE_MOST, TITLE_LEAST = 40, 16  # characters of an original's title shown
WHY_WANTED = 14  # characters of the explanation the title leaves room for, if it can
REVIEW_HINT = " — D to review"
WINDOW = DEFAULT_LIMIT  # characters of a post read and drawn at a time
NOT_CLAIMED = "not claimed"  # the header's claim line while nobody holds the thread


Read = tuple[ThreadView, list[Candidate], KnownAnswer | None]


def read_all(desk: Desk, thread_id: int) -> Read:
    """The thread, its pending duplicate candidates and the known answer they lead to."""
    view = desk.thread(thread_id, window=WINDOW)
    candidates = desk.possible_duplicates(thread_id)
    return view, candidates, known_answer_of(desk, view, candidates)


def read_thread(screen: DeskScreen, thread_id: int) -> Read | None:
    """What the Thread screen shows of `thread_id`, read through the Desk before it is pushed (so
    it is drawn once, with its posts); None, with the error in the status line, if it cannot be."""
    try:
        return screen.host.call_desk(lambda desk: read_all(desk, thread_id))
    except PeerdeskError as error:
        screen.notify(str(error), title="Error", severity="error", markup=False)
        return None


# The Thread header's escalation lines come from console.escalate.panel, imported by the Desk
# when a thread is first read (30-70 ms: the escalation rules and their engine). Imported with
# this module instead, which the console imports in its warm-up after the first Queue rows, so
# the first thread opened does not wait for it.


class WindowLoaded(Message):
    """Characters `start ..` of post `post_id`, for the card that asked."""

    def __init__(self, card: PostView, post_id: int, start: int, text: str) -> None:
        super().__init__()
        self.card = card
        self.post_id = post_id
        self.start = start
        self.text = text


class ReadAhead(Message):
    """The thread under the Queue's cursor, read while this screen is hidden."""

    def __init__(self, thread_id: int, read: Read) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.read = read


class DuplicatesLoaded(Message):
    """The pending duplicate candidates of the thread shown (maybe none)."""

    def __init__(self, thread_id: int, candidates: list[Candidate]) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.candidates = candidates


def banner(candidates: list[Candidate], width: int = 78) -> Text:
    """One line per candidate (at most BANNER_LINES), each fitted to `width`:
    "Possible duplicate of #123 'title…' (0.82: shares pac, code…) — D to review".
    The id, score and hint always fit; the title and then the explanation get what is left."""
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    shown = candidates[:BANNER_LINES]
    for index, cand in enumerate(shown):
        if index:
            text.append("\n")
        lead = "Possible duplicate of " if index == 0 else "                   or "
        tail = ")" + (REVIEW_HINT if index == 0 else "")
        if index == len(shown) - 1 and len(candidates) > len(shown):
            tail += f" (+{len(candidates) - len(shown)} more)"
        ident, score = f"#{cand.original_id} '", f"' ({cand.score:.2f}"
        fixed = len(lead) + len(ident) + len(score) + len(tail)
        title_room = max(TITLE_LEAST, min(TITLE_MOST, width - fixed - 2 - WHY_WANTED))
        title = clip(printable(cand.original_title, single_line=True), title_room)
        core = ident + title + score
        why = printable(cand.explanation, single_line=True)
        why_room = width - fixed - len(title) - 2
        if why and why_room >= 6:
            core += ": " + clip(why, why_room)
        text.append(lead)
        text.append(core + ")", style="bold" if cand.score >= STRONG_SCORE else "")
        text.append(tail[1:])
    return text


def when(iso_time: str) -> str:
    return parse(iso_time).strftime("%Y-%m-%d %H:%M")


def heading(view: ThreadView, actor: str) -> Text:
    """The Thread header, one line per fact, each cut with an ellipsis rather than wrapped: a
    long title never pushes the status, author, flags or claim out of the header. The claim has
    its line whether or not anyone holds the thread, so claiming or releasing it changes one
    line's words, not the header's height (which would lay the whole screen out again)."""
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(f"#{view.thread_id} ", style="bold")
    text.append(printable(view.title, single_line=True), style="bold")
    text.append("\n")
    text.append(view.status, style="bold")
    author = member_label(view.author, view.author_name)
    text.append(f" · by {printable(author, single_line=True)}")
    if view.flag_count:
        text.append(f" · ⚑ {view.flag_count} flag{'s' if view.flag_count != 1 else ''}")
    if view.report_count:
        text.append(f" · {view.report_count} report{'s' if view.report_count != 1 else ''}")
    meta = [printable(view.source, single_line=True), when(view.created_at)]
    if view.tags:
        meta.append(" ".join(printable(t, single_line=True) for t in view.tags[:5]))
    text.append(" · " + " · ".join(meta), style="dim")
    text.append("\n")  # the claim's line is always there: `c` and `C` change its words only
    if view.claimed_by and view.claim_expires_at:
        text.append(
            claim_line(view.claimed_by, view.claim_expires_at, actor),
            style="bold" if view.claimed_by != actor else "",
        )
    else:
        text.append(NOT_CLAIMED, style="dim")
    for line in view.escalations:  # open escalations (console.escalate), E opens the panel
        text.append("\n")
        text.append(printable(line, single_line=True), style="bold")
    return text


def card_of(post: PostData) -> dict[str, object]:
    """A post as the fields of a PostView card."""
    return {
        "key": post.post_id,
        "author": printable(member_label(post.author, post.author_name), single_line=True),
        "when": when(post.created_at),
        "body": printable(post.body),
        "length": post.body_length,
        "score": post.score,
        "reputation": post.author_reputation,
        "accepted": post.accepted,
        "hidden_reason": (post.hidden_reason or "") if post.hidden else None,
        "flags": post.flag_count,
        "label": "Q" if post.position == 0 else f"{post.position}.",
    }


def show(widget: Widget, shown: bool) -> None:
    """Show or hide `widget`. Setting `display` lays the screen out again even when it does not
    change (Textual restyles on every set): opening a thread set it on every card, and the
    layout that followed placed and redrew them all a second time."""
    if widget.display != shown:
        widget.display = shown


def put(line: Static, text: Text) -> None:
    """Show `text` in a Static sized by its lines: laid out again only when the number of lines
    changes (a layout of the Thread screen places and redraws every card), else redrawn alone;
    the same text again changes nothing."""
    before = line.content
    if isinstance(before, Text) and before == text:  # the same words and styles
        return
    lines = before.plain.count("\n") if isinstance(before, Text) else -1
    line.update(text, layout=lines != text.plain.count("\n"))


class ThreadScreen(DeskScreen):
    CSS_PATH = "thread.tcss"

    # Textual's Screen repaints itself whole when its focus moves (its `focused` reactive): the
    # focus goes to the posts when the screen shows and stays there (j/k move the list's cursor,
    # which repaints two cards), but a dialog's return moves it too.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    BINDINGS: ClassVar[list[BindingType]] = bindings("thread")

    def __init__(self, thread_id: int = 0) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.view: ThreadView | None = None
        self.candidates: list[Candidate] = []
        self._preloaded: Read | None = None
        self._styled_for: tuple[str, bool] | None = None  # what the styles last applied followed
        self._ahead: int | None = None  # the thread read ahead for (see `open_ahead`)
        self._showing = asyncio.Lock()  # one thread given to the cards at a time

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(Text("Loading…"), id="thread-head", markup=False)
        dupes = Static("", id="thread-dupes", markup=False)
        dupes.display = False
        yield dupes
        known = Static("", id="thread-known", markup=False)  # console.verify's known answer
        known.display = False
        yield known
        yield PostList(id="posts")
        yield StatusBar(id="thread-status")
        yield KeyBar()

    async def on_mount(self) -> None:
        # its widgets were styled as they were mounted: the push that shows it need not restyle
        # them all again (see `_styles_still_hold`)
        self._styled_for = (self.app.theme, self.app.app_focus)
        if self._preloaded is not None:
            read, self._preloaded = self._preloaded, None
            await self._mount_cards(self._swap(*read))
        else:
            self.post_message(ThreadRequested(self.thread_id))

    @on(events.ScreenResume)
    def _styles_still_hold(self, event: events.ScreenResume) -> None:
        """Textual restyles every widget of a screen each time it is pushed (a fifth of what
        opening a thread cost). This screen needs it only after an app-wide change (another
        theme, the terminal's focus): a card given another post changes its classes in `set_post`
        and is restyled there and then, as is a focus moved while the screen waited. Runs before
        Textual's own handler of the event (a subclass's handlers come first)."""
        styled_for = (self.app.theme, self.app.app_focus)
        if styled_for == self._styled_for:
            event.refresh_styles = False
        self._styled_for = styled_for

    def show(
        self, view: ThreadView, candidates: list[Candidate], known: KnownAnswer | None = None
    ) -> None:
        """Show this thread (already read: `read_thread`) the next time the screen is drawn
        (cards it needs beyond those it has are mounted meanwhile: see `prepare`)."""
        new = self._show(view, candidates, known)
        if new:
            self.run_worker(self._mount_cards(new), group="show")

    async def prepare(
        self, view: ThreadView, candidates: list[Candidate], known: KnownAnswer | None = None
    ) -> None:
        """Show this thread (already read), with every card it needs mounted before this
        returns: pushed then, the screen is laid out and painted once. (Cards mounted after the
        push laid it out and painted it again, two or three frames of a thread with more posts
        than the last one.)"""
        self._ahead = None  # what is read ahead now comes too late
        async with self._showing:
            await self._mount_cards(self._show(view, candidates, known))

    # ---- opening ahead ----
    def open_ahead(self, thread_id: int) -> None:
        """Prepare `thread_id` while this screen is hidden (the Queue's cursor rests on it): read
        in a worker, given to the cards, their text wrapped and the lines in view drawn at the
        width they were last laid out at. The enter that follows still reads the thread (what
        changed meanwhile is shown) but finds the cards as they are, and its frame only places
        and paints them: no text is wrapped on the way to it."""
        if self.is_mounted and not self.is_current:
            self._ahead = thread_id
            self._read_ahead(thread_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ahead")
    def _read_ahead(self, thread_id: int) -> None:
        try:
            read = self.host.call_desk(lambda desk: read_all(desk, thread_id))
        except PeerdeskError:
            return  # the enter's own read says what is wrong
        self.post_message(ReadAhead(thread_id, read))

    @on(ReadAhead)
    async def _on_read_ahead(self, message: ReadAhead) -> None:
        message.stop()
        async with self._showing:
            if message.thread_id != self._ahead or self.is_current:
                return  # the cursor moved on, or the screen was opened meanwhile
            await self._mount_cards(self._show(*message.read))
            self._draw_ahead()

    def _draw_ahead(self) -> None:
        """Draw now, while hidden, the lines the frame after the push will show: the cards' (see
        `_draw_cards_ahead`) and those of the header, the bands and the status line (Textual
        keeps a widget's lines until it changes; one whose size the push's layout changes is
        drawn again then). That frame then mostly composes lines drawn already."""
        self._draw_cards_ahead()
        for widget in self.children:
            if widget.display and widget.outer_size and not isinstance(widget, PostList):
                widget.render_lines(widget.outer_size.region)

    def _draw_cards_ahead(self) -> None:
        posts = self._posts()
        if posts is None:
            return
        cards = posts.cards()
        width = next((card.size.width for card in cards if card.size.width), 0)
        rows = posts.scrollable_content_region.height  # the lines in view, from the top
        if not width:
            return  # never laid out: nothing to go by
        for card in cards:
            rows -= card.draw_ahead(width, max(0, rows)) + 1  # (a blank line between cards)

    def _show(
        self, view: ThreadView, candidates: list[Candidate], known: KnownAnswer | None
    ) -> list[PostView]:
        self.thread_id = view.thread_id
        if not self.is_mounted:
            self._preloaded = (view, candidates, known)
            return []
        self.view = None
        self._posts_index(0)
        return self._swap(view, candidates, known)

    def _on_timer_update(self) -> None:
        """A thread shown in the kept screen, then pushed: Textual's update lays the screen out
        for the new posts and paints what moved (over the Queue still on the terminal: a wrong
        frame), then repaints the screen whole, as every pushed screen is. With both due, the
        layout paints the whole screen, once; so does the scroll of the posts back to the top
        when the same thread is opened again. (Textual 8.2.8's Screen._on_timer_update runs the
        layout or scroll first and the repaint after it; the version is pinned.)"""
        if (self._layout_required or self._scroll_required) and self._repaint_required:
            self._repaint_required = False
            self._dirty_widgets.add(self)
        super()._on_timer_update()

    def _refresh_layout(self, size: Size | None = None, scroll: bool = False) -> None:
        """Moving between posts scrolls the posts: Textual's scroll path (Compositor.
        reflow_visible) marks dirty what moved by comparing the widgets' places with its map of
        the visible ones, but any lookup of a widget's place since the last scroll (focus,
        scroll_visible) rebuilt the full map and dropped that one, so every widget counted as
        moved and each j/k/g wrote the whole screen. The full map then holds the same places
        (it was built after the last layout), so it is compared with instead: only the posts
        area is drawn. (Textual 8.2.8's private map attributes; the version is pinned.)"""
        compositor = self._compositor
        if (
            scroll
            and not self._layout_widgets
            and compositor._visible_map is None
            and not compositor._full_map_invalidated
            and compositor._full_map
        ):
            compositor._visible_map = compositor._full_map
        super()._refresh_layout(size, scroll)

    def _swap(
        self, view: ThreadView, candidates: list[Candidate], known: KnownAnswer | None
    ) -> list[PostView]:
        self.query_one("#posts", PostList).scroll_home(animate=False, immediate=True)
        self._show_candidates(view.thread_id, candidates)
        self._show_known(view.thread_id, known)
        return self._apply(view)

    # ---- the message flow ----
    @on(ThreadRequested)
    def _on_thread_requested(self, message: ThreadRequested) -> None:
        message.stop()
        self.load_thread(message.thread_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="thread")
    def load_thread(self, thread_id: int) -> None:
        self._post_read(thread_id, self.host.call_desk(lambda desk: read_all(desk, thread_id)))

    def _post_read(self, thread_id: int, read: Read) -> None:
        view, candidates, known = read
        self.post_message(ThreadLoaded(view))
        self.post_message(DuplicatesLoaded(thread_id, candidates))
        self.post_message(KnownAnswerLoaded(thread_id, known))

    @on(KnownAnswerLoaded)
    def _on_known_answer(self, message: KnownAnswerLoaded) -> None:
        message.stop()
        self._show_known(message.thread_id, message.known)

    def _show_known(self, thread_id: int, known: KnownAnswer | None) -> None:
        """The verified answer of the thread this one duplicates, on its line (or no line)."""
        if thread_id != self.thread_id:
            return
        line = self.query_one("#thread-known", Static)
        if known is not None:
            put(line, known_answer_text(known))  # one line always: no layout of its own
        show(line, known is not None)

    @on(DuplicatesLoaded)
    def _on_duplicates_loaded(self, message: DuplicatesLoaded) -> None:
        message.stop()
        self._show_candidates(message.thread_id, message.candidates)

    def _show_candidates(self, thread_id: int, candidates: list[Candidate]) -> None:
        if thread_id != self.thread_id:
            return
        offered = bool(self.candidates)  # whether `D` is offered (see `allows`)
        self.candidates = candidates
        dupes = self.query_one("#thread-dupes", Static)
        if self.candidates:
            put(dupes, banner(self.candidates, max(40, (self.size.width or 80) - 2)))
        show(dupes, bool(self.candidates))
        if offered != bool(candidates):  # (the key bar works out every binding again)
            self.refresh_bindings()

    @on(ThreadLoaded)
    async def _on_thread_loaded(self, message: ThreadLoaded) -> None:
        message.stop()
        if message.view.thread_id != self.thread_id or message.view == self.view:
            return  # another thread's, or nothing new: keep focus, scroll and windows
        async with self._showing:
            if not self.app.is_running or not self.query("#thread-head"):
                return  # the console is closing: its screens' widgets are being removed
            await self._mount_cards(self._apply(message.view))

    def _apply(self, view: ThreadView) -> list[PostView]:
        """Put `view` in the screen, reusing the cards there; returns the cards to mount."""
        self.view = view
        actor = self.desk.actor
        put(self.query_one("#thread-head", Static), heading(view, actor))
        cards = [card_of(post) for post in view.posts]
        cards += [
            {
                "key": -note.note_id,
                "author": printable(note.author, single_line=True),
                "when": when(note.created_at),
                "body": printable(note.body),
                "label": "internal note by",
                "note": True,
            }
            for note in view.notes
        ]
        existing = list(self.query_one("#posts", PostList).query_children(PostView))
        new: list[PostView] = []
        for index, fields in enumerate(cards):
            if index < len(existing):
                existing[index].set_post(**fields)  # type: ignore[arg-type]
                show(existing[index], True)
            else:
                new.append(PostView(**fields))  # type: ignore[arg-type]
        for card in existing[len(cards) :]:
            show(card, False)
        hidden = sum(1 for p in view.posts if p.hidden)
        status = counted(len(view.posts), "post")
        if hidden:
            status += f" ({hidden} hidden)"
        if view.notes:
            status += f" · {counted(len(view.notes), 'note')}"
        bar = self.query_one("#thread-status", StatusBar)
        bar.left = f"Thread {view.thread_id} · {status}"
        bar.right = "? help · esc/q back"
        if not new and cards:
            self._focus_card(self._focused_index())
        return new

    async def _mount_cards(self, new: list[PostView]) -> None:
        if not new:
            return
        await self.query_one("#posts", PostList).mount_all(new)
        self._focus_card(self._focused_index())

    @on(PostView.WindowWanted)
    def _on_window_wanted(self, message: PostView.WindowWanted) -> None:
        message.stop()
        self.load_window(message.post, message.post.key, message.start, message.length)

    @work(thread=True, exit_on_error=False, group="window")
    def load_window(self, card: PostView, post_id: int, start: int, length: int) -> None:
        text = self.host.call_desk(lambda desk: desk.post_body(post_id, start, length))
        self.post_message(WindowLoaded(card, post_id, start, printable(text)))

    @on(WindowLoaded)
    def _on_window_loaded(self, message: WindowLoaded) -> None:
        message.stop()
        if message.card.key == message.post_id:  # the card still shows that post
            message.card.show_window(message.start, message.text)

    @on(RefreshRequested)
    def _on_refresh(self, message: RefreshRequested) -> None:
        message.stop()
        self.post_message(ThreadRequested(self.thread_id))

    # ---- moving ----
    def _posts(self) -> PostList | None:
        """The posts' scroll, or None before the screen is composed: keys typed right after
        `enter` can reach a screen pushed for the first time before its widgets exist."""
        try:
            return self.query_one("#posts", PostList)
        except NoMatches:
            return None

    def _cards(self) -> list[PostView]:
        posts = self._posts()
        return [] if posts is None else posts.cards()

    def _posts_index(self, index: int) -> None:
        posts = self._posts()
        if posts is not None:
            posts.index = index

    def _focus_card(self, index: int, *, now: bool = False) -> None:
        posts = self._posts()
        if posts is not None:
            posts.move_cursor(index, now=now)

    def _focused_index(self) -> int:
        posts = self._posts()
        return 0 if posts is None else posts.index

    def _cursor_card(self) -> PostView | None:
        posts = self._posts()
        return None if posts is None else posts.cursor_card

    def action_move(self, step: int) -> None:
        self._focus_card(self._focused_index() + step, now=True)

    def action_jump(self, index: int) -> None:
        cards = self._cards()
        self._focus_card(len(cards) - 1 if index < 0 else index, now=True)

    def action_page(self, direction: int) -> None:
        posts = self._posts()
        if posts is None:
            return
        if direction > 0:
            posts.scroll_page_down(animate=False)
        else:
            posts.scroll_page_up(animate=False)

    def action_back(self) -> None:
        self.app.pop_screen()

    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "duplicates":
            return bool(self.candidates)  # hidden without candidates (the app's D still works)
        return super().allows(action, parameters)

    def action_duplicates(self) -> None:
        """Open the Duplicates panel (it lists every thread with pending candidates) on this
        thread's pair, the one its band names."""
        self.host.show_panel("duplicates", about=self.thread_id)

    def action_refresh(self) -> None:
        self.post_message(RefreshRequested())

    # ---- decisions ----
    def action_claim(self) -> None:
        self.decide("claim", [self.thread_id])

    def action_release(self) -> None:
        self.decide("release", [self.thread_id])

    def action_close(self) -> None:
        self.decide("close", [self.thread_id])

    def action_reopen(self) -> None:
        self.decide("reopen", [self.thread_id])

    def action_hide_post(self) -> None:
        card = self._cursor_card()
        if card is None or card.key < 0:
            self.notify("Move to a post first (j/k)", severity="warning", markup=False)
            return
        self.decide("hide_post", [card.key], reason="spam")

    def action_undo(self) -> None:
        self.post_message(DecisionMade(Decision("undo")))

    def action_member(self) -> None:
        """The member view of the focused post's author (or the thread's, before a post)."""
        card = self._cursor_card()
        if card is not None and card.key >= 0:
            open_member(self, post_id=card.key)
        else:
            open_member(self, thread_id=self.thread_id)

    def action_verify_answer(self) -> None:
        card = self._cursor_card()
        answers = {p.post_id for p in self.view.posts if p.position > 0} if self.view else set()
        if card is None or card.key not in answers:
            self.notify("Move to an answer first (j/k)", severity="warning", markup=False)
            return
        self.app.push_screen(VerificationScreen(focus_post=card.key))

    def action_escalate(self) -> None:
        self.escalate(self.thread_id)

    def action_note(self) -> None:
        self.ask_note(self.thread_id)
