"""What every panel (D Y E V $) shares, so each one only says what it lists and shows.

A panel is a screen the app installs on its first visit and keeps (console.app.PANELS): its key
pushes it over the Queue (or a thread), escape pops it, and coming back never composes it again.
`PanelScreen` gives every panel the title bar, the status bar and the one-line KeyBar (not
Textual's Footer, which mounts a widget per key and recomposes them on every screen switch),
escape back (its keys come from the one table of console.bindings, like every screen's;
DeskScreen derives the role table from
them), and a refresh on each visit that redraws only what changed.

`ListDetailPanel` is the list-on-top, detail-below panel (Duplicates, Verification,
Escalations): one list worker, one detail worker, one decision worker, each with its request id
so an old answer never overwrites a newer one:

    (visit, r, a decision) → ListWanted → (worker: read_list) → ListLoaded → show_list
    LazyTable.CursorMoved  → DetailWanted(key) → (worker: read_detail) → DetailLoaded → show_detail
    a decision key → decide_in_panel(decision, run) → (worker: run) → DecisionSaved | Refused

A refresh whose data equals what is shown changes nothing on the screen (no relayout). A refresh
(a visit, r, a decision) reads the detail shown once, in the list's worker right after the list:
both are drawn in one frame, and the CursorMoved of the list's redraw, on the same item, reads
nothing more (a detail read since the list's read began is as new as the list). Read up front as
well as on that CursorMoved, a visit read the detail twice and drew a frame more.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import PurePath
from typing import Any, ClassVar, Generic, TypeVar

from rich.cells import cell_len
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from console.apart import ApartRead, ReadsApart
from console.desk import Desk
from console.messages import (
    Decision,
    DecisionMade,
    RefreshRequested,
    WorkFailed,
)
from console.screens.base import DeskScreen
from console.screens.kept_styles import KeptStyles
from widgets.key_bar import KeyBar
from widgets.latest_work import LatestWork
from widgets.lazy_table import LazyTable
from widgets.status_bar import StatusBar
from widgets.title_bar import TitleBar

ListData = TypeVar("ListData")
DetailData = TypeVar("DetailData")
T = TypeVar("T")


class PanelList(LazyTable):
    """A panel's list: no selection (each item is decided on its own)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "toggle_selection"


def page_anchors(table: LazyTable, offset: int, size: int) -> tuple[int | None, int | None]:
    """Where a keyset read of the page at `offset` starts: the key of the row just above it if
    the table holds the full page above, else that of the row just below if it holds the page
    below; (None, None) when it holds neither (the page is then read by its row number)."""
    above = table.page(offset - size) if offset >= size else None
    below = table.page(offset + size)
    if above and len(above) == size:
        return int(str(above[-1].key)), None
    if below:
        return None, int(str(below[0].key))
    return None, None


def show_text(widget: Static, text: Text | str) -> None:
    """Show `text` in `widget` unless it shows those very words in those styles already, and
    without a layout when it takes as many lines as what it replaces (`same_height`): a
    Static's update lays out the whole screen (its height may change), a frame of its own when
    nothing else changed (a visit's read again, the chain's check again) and a few ms more in
    the frame of a visit whose clocks ran on (Escalations)."""
    shown = widget.content
    if isinstance(text, Text) and isinstance(shown, Text):
        if (text.plain, text.spans, text.style) == (shown.plain, shown.spans, shown.style):
            return
    elif text == shown:
        return
    widget.update(text, layout=not same_height(widget, shown, text))


def same_height(widget: Static, before: object, after: object) -> bool:
    """Whether `after` takes exactly the lines `before` took in `widget`, now laid out: as
    many lines, none wider than its content (none wraps) and a width that is not the content's
    (width: auto would change with the longest line)."""
    width = widget.content_region.width
    auto = widget.styles.width is not None and widget.styles.width.is_auto
    if (
        auto
        or width <= 0
        or not isinstance(before, str | Text)
        or not isinstance(after, str | Text)
    ):
        return False
    lines = [str(before).split("\n"), str(after).split("\n")]
    if len(lines[0]) != len(lines[1]):
        return False
    return all(cell_len(line) <= width for line in lines[0] + lines[1])


class PanelDetail(VerticalScroll, inherit_bindings=False):
    """The chosen item in full, scrolled by the screen's keys (its own would shadow the list's
    j/k)."""


class PanelScreen(DeskScreen):
    """A panel: title bar, the panel's body, status bar, key bar; escape goes back."""

    # Every panel's styles are read on the first visit of any: Textual restyles every screen
    # when it reads a new .tcss, and each kept panel once more on its next visit (kept_styles).
    # Each file styles its own screen and ids.
    CSS_PATH: ClassVar[list[str | PurePath]] = [
        "duplicates.tcss",
        "sync.tcss",
        "escalations.tcss",
        "verification.tcss",
        "rewards.tcss",
        "audit.tcss",
    ]

    HELP_TITLE: ClassVar[str] = ""
    STATUS_ID: ClassVar[str] = "panel-status"
    STATUS_RIGHT: ClassVar[str] = "? help · esc queue"
    _shown_once = False  # the first load is done: a later visit refreshes
    _apart: ReadsApart | None = None
    _kept_styles: KeptStyles | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield from self.compose_body()
        yield StatusBar(id=self.STATUS_ID)
        yield KeyBar()

    def compose_body(self) -> ComposeResult:
        """The panel's own widgets, between the title bar and the status bar."""
        yield from ()

    def land_on(self, item: Hashable) -> None:
        """Put the cursor on `item` when the list is next read: the panel was opened for it
        (D from a thread's duplicate band). A panel that cannot place an item ignores it."""

    def role_allows(self, action: str) -> bool:
        """Whether the moderator's role may do `action` (a screen action)."""
        needed = self.ROLE_OF_ACTION.get(action)
        return needed is None or self.desk.can(needed)

    def set_status(self, left: str, right: str | None = None) -> None:
        bar = self.query_one(f"#{self.STATUS_ID}", StatusBar)
        bar.left = left
        bar.right = self.STATUS_RIGHT if right is None else right

    @on(events.ScreenResume)
    def _styles_still_hold(self, event: events.ScreenResume) -> None:
        """A visit restyles the panel only after an app-wide change (console.screens.kept_styles):
        Textual's restyle of every node was half of what a panel's key cost."""
        if self._kept_styles is None:
            self._kept_styles = KeptStyles()
        self._kept_styles.resumed(self.app, event)

    def on_screen_resume(self) -> None:
        """Back on this panel (it stayed mounted): bring its content up to date."""
        if self._shown_once:
            self.refresh_after_paint()

    def want_cursor_detail(self) -> None:
        """Ask for the detail of the row under the cursor (after the cursor was put on a row by
        the panel itself: a landing may leave it where it was, and then no CursorMoved comes)."""
        row = self._key_under_cursor()
        key = None if row is None else self.detail_for_cursor(row)
        if key is not None:
            self.post_message(DetailWanted(key, row))

    def action_back(self) -> None:
        self.app.pop_screen()

    # ---- reads apart: counts over every row, on a connection of the panel's own ----
    def read_apart(
        self, read: ApartRead[T], show: Callable[[T], None], *, group: str
    ) -> LatestWork[T]:
        """Work that runs `read` on this panel's connection apart (`ReadsApart`, opened at its
        first read: the Desk's stays free for every other key) whenever it is requested, and
        shows the latest request's answer with `show` (UI thread, once mounted)."""
        apart = self.reads_apart()
        return LatestWork(self, lambda: apart.run(read), show, group=group)

    def reads_apart(self) -> ReadsApart:
        """This panel's connection apart (opened at its first read, closed with the panel)."""
        if self._apart is None:
            self._apart = ReadsApart(self.desk.cache)
        return self._apart

    @on(LatestWork.Answered)
    def _on_latest_answered(self, message: LatestWork.Answered) -> None:
        message.stop()
        message.deliver()

    @on(events.Unmount)
    def _close_apart(self) -> None:
        if self._apart is not None:
            self._apart.close()

    def action_refresh(self) -> None:
        self.post_message(RefreshRequested())

    def open_thread(self, thread_id: int) -> None:
        from console.screens.thread import ThreadScreen

        self.app.push_screen(ThreadScreen(thread_id))


# ---- the list + detail panel ----
_UNREAD = object()  # a detail whose read with the list failed (read again on its own)


class ListWanted(Message):
    """Read the panel's list again (keep_cursor: stay on the same row; read_list is told the
    cursor's row, so a paged list reads the page under it; with_detail: the detail shown is
    read again too, after the list, in the same worker: a refresh)."""

    def __init__(self, *, keep_cursor: bool = True, with_detail: bool = False) -> None:
        super().__init__()
        self.keep_cursor = keep_cursor
        self.with_detail = with_detail


class DetailWithList:
    """The detail read again after the list, for the item the cursor was on (`cursor_key`)."""

    __slots__ = ("cursor_key", "data", "key")

    def __init__(self, cursor_key: Hashable | None, key: Hashable, data: object) -> None:
        self.cursor_key = cursor_key
        self.key = key
        self.data = data


class ListLoaded(Message):
    def __init__(
        self,
        request_id: int,
        data: object,
        keep_cursor: bool,
        detail: DetailWithList | None = None,
    ) -> None:
        super().__init__()
        self.request_id = request_id
        self.data = data
        self.keep_cursor = keep_cursor
        self.detail = detail


class DetailWanted(Message):
    def __init__(self, key: Hashable, row: Hashable | None = None) -> None:
        super().__init__()
        self.key = key
        self.row = row  # the cursor's row that asked for it (None: where the cursor is)


class DetailLoaded(Message):
    def __init__(self, request_id: int, key: Hashable, data: object) -> None:
        super().__init__()
        self.request_id = request_id
        self.key = key
        self.data = data


class ListDetailPanel(PanelScreen, Generic[ListData, DetailData]):
    """A list on top, the chosen item below; subclasses read and show, the base routes."""

    LIST_ID: ClassVar[str] = "panel-list"
    DETAIL_ID: ClassVar[str] = "panel-detail"

    def __init__(self) -> None:
        super().__init__()
        self.list_request = 0
        self.detail_request = 0
        self.list_data: ListData | None = None
        self.detail_data: DetailData | None = None
        self.detail_key: Hashable | None = None
        # the last detail read asked for, and the list read (list_request) it came after
        self._detail_read: tuple[Hashable, int] | None = None
        # the cursor's row when the detail being read, and the one shown, were asked for
        self._asked_at: Hashable | None = None
        self.shown_at: Hashable | None = None

    # ---- layout: subclasses give the list and the detail's contents ----
    def compose_body(self) -> ComposeResult:
        yield self.make_list()
        with PanelDetail(id=self.DETAIL_ID, can_focus=False):
            yield from self.compose_detail()
        yield from self.compose_below()

    def make_list(self) -> LazyTable:
        raise NotImplementedError

    def compose_detail(self) -> ComposeResult:
        yield from ()

    def compose_below(self) -> ComposeResult:
        """Widgets between the detail and the status bar (a trend line…)."""
        yield from ()

    @property
    def table(self) -> LazyTable:
        return self.query_one(f"#{self.LIST_ID}", LazyTable)

    @property
    def detail_box(self) -> PanelDetail:
        return self.query_one(f"#{self.DETAIL_ID}", PanelDetail)

    def on_mount(self) -> None:
        self.table.focus()
        self.set_status(f"{self.HELP_TITLE} · loading…")
        self.post_message(ListWanted(keep_cursor=False))

    # ---- what a panel reads and shows (worker thread: read_*; UI thread: show_*) ----
    def read_list(self, desk: Desk, cursor: int) -> ListData:
        """The list, read on a worker thread (`cursor`: the row the cursor is on, 0 at first)."""
        raise NotImplementedError

    def show_list(self, data: ListData, keep_cursor: bool) -> None:
        raise NotImplementedError

    def read_detail(self, desk: Desk, key: Hashable) -> DetailData:
        raise NotImplementedError

    def show_detail(self, data: DetailData, same_item: bool) -> None:
        raise NotImplementedError

    def detail_for_cursor(self, key: Hashable) -> Hashable | None:
        """Which detail to show when the cursor lands on `key` (None: leave it as it is)."""
        return key

    # ---- the list ----
    @on(ListWanted)
    def _on_list_wanted(self, message: ListWanted) -> None:
        message.stop()
        self.list_request += 1
        cursor = self.table.cursor_row if message.keep_cursor else 0
        also = None
        if message.with_detail and message.keep_cursor and self.detail_key is not None:
            also = (self._key_under_cursor(), self.detail_key)
        self._load_list(self.list_request, cursor, message.keep_cursor, also)

    def _key_under_cursor(self) -> Hashable | None:
        """The key of the cursor's row if the table holds it (asking for no page)."""
        return self.table.loaded_key(self.table.cursor_row)

    @work(thread=True, exclusive=True, exit_on_error=False, group="panel-list")
    def _load_list(
        self,
        request_id: int,
        cursor: int,
        keep_cursor: bool,
        also: tuple[Hashable | None, Hashable] | None,
    ) -> None:
        data = self.host.call_desk(lambda desk: self.read_list(desk, cursor))
        detail = None
        if also is not None:
            cursor_key, key = also
            try:
                shown = self.host.call_desk(lambda desk: self.read_detail(desk, key))
            except Exception:  # read again on its own, whose worker says what failed
                detail = DetailWithList(cursor_key, key, _UNREAD)
            else:
                detail = DetailWithList(cursor_key, key, shown)
        self.post_message(ListLoaded(request_id, data, keep_cursor, detail))

    @on(ListLoaded)
    def _on_list_loaded(self, message: ListLoaded) -> None:
        message.stop()
        if message.request_id != self.list_request:
            return
        first = not self._shown_once
        self._shown_once = True
        if first or message.data != self.list_data:
            self.list_data = message.data  # type: ignore[assignment]
            self.show_list(message.data, message.keep_cursor and not first)  # type: ignore[arg-type]
        # else a refresh that found nothing new: the list stays as it is
        detail = message.detail
        if detail is None or self.detail_key != detail.key:
            return  # (nothing shown any more, or another item's detail asked for meanwhile)
        if self._key_under_cursor() != detail.cursor_key:
            return  # the cursor is on another item now: its CursorMoved reads that one
        self._detail_read = (detail.key, self.list_request)  # the CursorMoved that follows
        self.detail_request += 1  # (an older read still under way is dropped)
        self._asked_at = detail.cursor_key
        if detail.data is _UNREAD:
            self._load_detail(self.detail_request, detail.key)
        else:
            self._show_loaded(detail.key, detail.data)

    @on(WorkFailed)
    def _on_panel_work_failed(self, message: WorkFailed) -> None:
        self.table.forget_pending()

    # ---- the detail ----
    @on(LazyTable.CursorMoved)
    def _on_panel_cursor(self, message: LazyTable.CursorMoved) -> None:
        if message.control is not self.table:
            return
        message.stop()
        if message.key is None:
            return
        key = self.detail_for_cursor(message.key)
        if key is not None and self._detail_read != (key, self.list_request):
            self.post_message(DetailWanted(key, message.key))
        # (else that detail was asked for after the list was read: it is as new as the list)

    @on(DetailWanted)
    def _on_detail_wanted(self, message: DetailWanted) -> None:
        message.stop()
        if message.row is not None and message.row != self._key_under_cursor():
            return  # asked for a row the cursor has left (a list reset, then a landing)
        self.detail_request += 1
        self._detail_read = (message.key, self.list_request)
        self._asked_at = self._key_under_cursor() if message.row is None else message.row
        self._load_detail(self.detail_request, message.key)

    @work(thread=True, exclusive=True, exit_on_error=False, group="panel-detail")
    def _load_detail(self, request_id: int, key: Hashable) -> None:
        data = self.host.call_desk(lambda desk: self.read_detail(desk, key))
        self.post_message(DetailLoaded(request_id, key, data))

    @on(DetailLoaded)
    def _on_detail_loaded(self, message: DetailLoaded) -> None:
        message.stop()
        if message.request_id != self.detail_request:
            return
        self._show_loaded(message.key, message.data)

    def _show_loaded(self, key: Hashable, data: object) -> None:
        self.shown_at = self._asked_at
        same_item = self.detail_key == key
        if same_item and data == self.detail_data:
            return  # nothing changed: no redraw
        self.detail_key = key
        self.detail_data = data  # type: ignore[assignment]
        self.show_detail(data, same_item)  # type: ignore[arg-type]
        if not same_item:
            self.detail_box.scroll_home(animate=False)

    def detail_key_of_row(self, row_key: Hashable) -> Hashable:
        """The detail a key pressed on the row `row_key` acts on (default: the row's own)."""
        return row_key

    def act_on_chosen(self, act: Callable[[Any], None]) -> None:
        """Run `act(detail)` on the item the moderator chose: the detail shown, unless the
        cursor moved since it was asked for; then the detail of the cursor's row, read now on
        a worker. A key typed before the cursor's row has loaded (a burst over SSH, a slow
        read) acts on that row, never on the item shown before the cursor moved."""
        if self.shows_chosen():
            if self.detail_data is not None:
                act(self.detail_data)
            return
        self._read_to_act(self.detail_key_of_row(self._key_under_cursor()), act)

    def shows_chosen(self) -> bool:
        """Whether the detail shown is the chosen item's (the cursor has not moved since)."""
        cursor = self._key_under_cursor()
        return cursor is None or cursor == self.shown_at

    @work(thread=True, exit_on_error=False, group="panel-act")
    def _read_to_act(self, key: Hashable, act: Callable[[Any], None]) -> None:
        data = self.host.call_desk(lambda desk: self.read_detail(desk, key))
        self.app.call_from_thread(act, data)

    def forget_detail(self) -> None:
        """Nothing is shown any more (an empty list): the next item is drawn afresh."""
        self.detail_key = None
        self.detail_data = None
        self._detail_read = None

    @on(RefreshRequested)
    def _on_panel_refresh(self, message: RefreshRequested) -> None:
        message.stop()
        self.post_message(ListWanted(keep_cursor=True, with_detail=True))

    @on(LazyTable.RowActivated)
    def _on_panel_activated(self, message: LazyTable.RowActivated) -> None:
        if message.control is not self.table:
            return
        message.stop()
        self.activate(message.key)

    def activate(self, key: Hashable) -> None:
        """enter on a row (default: nothing)."""

    # ---- keys ----
    def action_scroll_detail(self, direction: int) -> None:
        if direction > 0:
            self.detail_box.scroll_page_down(animate=False)
        else:
            self.detail_box.scroll_page_up(animate=False)

    def action_undo(self) -> None:
        self.post_message(DecisionMade(Decision("undo")))

    # ---- decisions ----
    def decide_in_panel(self, decision: Decision, run: Callable[[Desk], str]) -> None:
        """Carry out `decision` with `run(desk)` (it returns what to tell the moderator) as one
        of this panel's decisions: recorded with the panel as its origin, then the panel
        reloads (DeskScreen's decision flow)."""
        self._save_panel_decision(decision, run)

    @work(thread=True, exit_on_error=False, group="decision")
    def _save_panel_decision(self, decision: Decision, run: Callable[[Desk], Any]) -> None:
        # Not exclusive: a later decision must never cancel an earlier one.
        self.post_message(self.deciding(decision, run))
