"""The Queue: every thread that needs a human, most urgent first, loaded page by page."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from functools import partial
from pathlib import PurePath
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static

from console.desk import QueueFilter, QueueReader
from console.filters import FilterError, parse_filter
from console.messages import (
    Decision,
    DecisionMade,
    PageLoaded,
    QueueLoaded,
    QueueRequested,
    RefreshRequested,
    SelectionLoaded,
    WorkFailed,
)
from console.models import QueueItem
from console.quiet_start import FIRST_FRAME_WRITTEN, QUEUE_PAGE
from console.safe_text import printable
from console.screens import queue_views
from console.screens.after_rest import AfterRest
from console.screens.keys import bindings
from console.screens.queue_layout import (
    ESCALATED_MARK,
    STRONG_MARK,
    cells,
    empty_text,
    layout,
)
from console.screens.queue_pane import QueuePaneScreen
from console.screens.queue_preview import (
    sanitise,
)
from widgets.key_bar import KeyBar
from widgets.keys_follow_focus import KeysFollowFocus
from widgets.lazy_table import LazyTable, Row
from widgets.preview import PreviewPane
from widgets.status_bar import StatusBar
from widgets.tab_line import TabLine
from widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from console.screens.thread import ThreadScreen

__all__ = ["ESCALATED_MARK", "FILTERS", "STRONG_MARK", "QueueScreen", "to_row"]

PAGE = QUEUE_PAGE
FIRST_PAGES = 16  # filters and searches whose first page is kept (see QueueScreen.__init__)
# Search as you type: every change of the search line searches at once, in the Queue's worker;
# the rows shown stay until the new ones arrive, and a search overtaken by a newer one is
# interrupted and its rows dropped. Only a line that cannot be read yet ("age>") waits this long
# without typing before the status line says what is wrong with it.
FILTER_ERROR_PAUSE = 0.5
UNKNOWN = -1  # a total not counted yet
# seconds after a letter that showed the rows kept for its search before they are read again
# (their frame is drawn and written in ~5-10 ms; the read only confirms or updates those rows)
REREAD_AFTER = 0.03
# A search counts its rows among the newest SEARCH_COUNT_REACH matches in titles and in posts
# (a few milliseconds) and shows "n+" if there are more; every match is counted (0.5-2 s for a
# common word at a million threads) only when the cursor comes near the end of those.
SEARCH_COUNT_REACH = 400
# seconds the cursor rests on a row before its thread is prepared in the kept Thread screen
# (holding j prepares nothing; a moderator reading a title before enter rests longer than this)
OPEN_AHEAD_PAUSE = 0.1


class QueueCounted(Message):
    """The number of rows of the Queue under `flt` (counted off the critical path); `at_least`:
    a search's rows among its newest matches, a lower bound (see SEARCH_COUNT_REACH)."""

    def __init__(self, request_id: int, flt: QueueFilter, total: int, at_least: bool = False):
        super().__init__()
        self.request_id = request_id
        self.flt = flt
        self.total = total
        self.at_least = at_least


# (label, how it narrows the Queue); `f` cycles through them. "likely duplicates": threads with a
# pending duplicate candidate at least as strong as console.dupes.candidates.STRONG_SCORE.
FILTERS: tuple[str, ...] = ("all", "flagged", "unanswered", "mine", "likely duplicates")


def to_row(item: QueueItem, actor: str) -> Row:
    tone: str = ""
    if item.claimed_by and item.claimed_by != actor:
        tone = "dim"
    elif item.flag_count or item.report_count:
        tone = "alert"
    return Row(key=item.thread_id, cells=cells(item, actor), tone=tone)  # type: ignore[arg-type]


class QueueShaped(Message):
    """How many sources the cache holds and whether any claim is held (which columns say
    something)."""

    def __init__(self, sources: int, claims: bool) -> None:
        super().__init__()
        self.sources = sources
        self.claims = claims


class SearchLine(KeysFollowFocus, Input):
    """The Queue's search line. Textual's Input gives itself the width of its text as its
    scrollable size on every change, a reactive that lays the whole screen out again before the
    letter's frame (~1 ms at 80x24, in the frame of every letter typed) though the line's own
    size never changes (the screen's width, one line): here the new size only repaints the
    line, which scrolls as before to keep the cursor in view."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def keeps_key(self, event: events.Key) -> bool:
        return event.is_printable  # typed, whatever the Queue binds the letter to

    async def action_submit(self) -> None:
        """Enter: the Queue takes the search now, not from a message handled after the keys
        that came with the enter (they are the rows' keys: KeysFollowFocus)."""
        screen = self.screen
        if isinstance(screen, QueueScreen):
            screen.submit_search(self.value)


class QueueScreen(QueuePaneScreen):
    # the Thread screen's styles are read with the Queue's at start: when Textual reads a new
    # screen's .tcss it restyles every screen of the app, and the first enter paid for that
    CSS_PATH: ClassVar[list[str | PurePath]] = ["queue.tcss", "thread.tcss"]

    BINDINGS: ClassVar[list[BindingType]] = bindings("queue")

    def __init__(self) -> None:
        super().__init__()
        self.filter_index = 0
        self._last_builtin = 0  # the built-in filter used last (the first tab shows it)
        self.search_text = ""
        self._filter_error = ""  # the filter line's expression could not be read
        self.request_id = 0
        self._shown_once = False
        self._search_timer: Timer | None = None
        # Counting the Queue walks every row (~0.5 s at a million threads): the rows are shown
        # with the last count known for the filter, and counted again off the critical path.
        self._totals: dict[QueueFilter, int] = {}
        # The first page last read for each filter (and search), shown at once when the filter
        # comes back (clearing a search, `f`) while it is read again; a read that finds the same
        # rows draws nothing. Newest last, at most FIRST_PAGES of them.
        self._first_pages: OrderedDict[QueueFilter, list[Row]] = OrderedDict()
        self._early_request = 0  # the request whose rows were shown from _first_pages
        self._counter: QueueReader | None = None
        self._counted: QueueCounted | None = None  # the count of the latest request, if in
        self._bounds: dict[QueueFilter, int] = {}  # searches' last counts "at least" (n+)
        self._loaded_request = 0  # the request whose first page the table shows
        self._counting_all = 0  # the request whose search is being counted to its end
        self._searcher: QueueReader | None = None  # search pages, off the Desk's connection
        self._reader_name = f"thread-reader-{id(self)}"
        self._opener = AfterRest(self, OPEN_AHEAD_PAUSE, self._open_ahead)
        self._sources, self._claims = 1, False  # until the first read says (QueueShaped)
        # (filter, cursor row, its thread) when the search line's first word was typed: clearing
        # the search puts the cursor back there
        self._before_search: tuple[int, int, Hashable | None] | None = None

    # ---- layout ----
    def compose(self) -> ComposeResult:
        self._take_first_page()
        yield TitleBar()
        if self.desk.config.views:  # saved views as tabs (console.screens.queue_views)
            yield TabLine(hint="[ ] views", id="queue-views")
        notice = self.desk.read_only_notice
        if notice is not None:
            yield Static("\n".join(notice), id="read-only", markup=False)
        with Horizontal(id="queue-body"):
            yield LazyTable(
                layout(80, sources=self._sources, claims=self._claims).columns,
                page_size=PAGE,
                empty_text=empty_text(FILTERS[0], ""),
                id="queue-table",
            )
            pane = PreviewPane(sanitise=sanitise, id="queue-preview")
            pane.display = False
            yield pane
        yield StatusBar(id="queue-status")
        # the search line takes the key bar's place while it is open (vim's `/`): nothing else
        # moves, so opening and closing it repaints that one line, not the whole Queue
        search = SearchLine(
            placeholder="search words, or filter: source: status: tag: flagged claimed: age>2d",
            id="search",
        )
        search.cursor_blink = False  # a blinking cursor repaints the screen twice a second
        search.display = False
        yield search
        yield KeyBar()

    def _take_first_page(self) -> None:
        """The first page the console read while it imported Textual (console.quiet_start),
        kept as the rows last read for the first filter: the first frame shows them, and the
        Queue reads them again after it, as when a filter comes back (`_show_first_page`)."""
        first_page = getattr(self.host, "first_page", None)
        flt = self.current_filter()
        taken = None if first_page is None else first_page.take(flt)
        if taken is None:
            return
        (self._sources, self._claims), items = taken
        actor = self.desk.actor
        self._first_pages[flt] = [to_row(item, actor) for item in items]

    def on_mount(self) -> None:
        self.table.focus()
        self._update_status()
        self.post_message(QueueRequested())

    def on_resize(self) -> None:
        self._place_preview()
        self.call_after_refresh(self._relayout)

    # ---- the table's columns for its width (console.screens.queue_layout) ----
    def _relayout(self) -> None:
        """Columns for the table's own width (beside a preview pane, less than the screen's);
        below 80x24 the console covers every screen with one notice (console.screens.too_small)."""
        table = self.table
        width = table.size.width or self.size.width
        table.set_columns(layout(width, sources=self._sources, claims=self._claims).columns)

    @on(QueueShaped)
    def _on_queue_shaped(self, message: QueueShaped) -> None:
        message.stop()
        self._sources, self._claims = message.sources, message.claims
        self._relayout()

    # ---- what is shown ----
    def filter_names(self) -> tuple[str, ...]:
        """What `f` cycles through: the built-in filters, then the config's saved views."""
        return FILTERS + tuple(name for name in self.desk.config.views if name not in FILTERS)

    def current_filter(self) -> QueueFilter:
        names = self.filter_names()
        name = names[self.filter_index % len(names)]
        actor = self.desk.actor
        if name in FILTERS:
            flt = QueueFilter(
                flagged_only=name == "flagged",
                unanswered_only=name == "unanswered",
                claimed_by=actor if name == "mine" else None,
                strong_duplicates=name == "likely duplicates",
            )
        else:  # a saved view (checked when the config was read)
            flt = parse_filter(self.desk.config.views[name]).to_filter(actor)
        if self.search_text:
            flt = parse_filter(self.search_text).to_filter(actor, flt)
        return flt

    def _update_status(self) -> None:
        table = self.table
        names = self.filter_names()
        self._show_tabs(names)
        table.set_empty_text(
            self._filter_error
            or empty_text(names[self.filter_index % len(names)], self.search_text)
        )
        left = f"Queue · {printable(names[self.filter_index % len(names)], single_line=True)}"
        if self._filter_error:
            left += f" · {printable(self._filter_error, single_line=True)}"
        elif self.search_text:
            left += f" · search: {printable(self.search_text, single_line=True)}"
        if table.selected:
            left += f" · {len(table.selected)} selected"
        self.query_one("#queue-status", StatusBar).left = left
        # a filter error takes the whole line (at 80 columns it needs it)
        right = "" if self._filter_error else "? help · ctrl+p commands"
        self.query_one("#queue-status", StatusBar).right = right

    # ---- the message flow ----
    @on(QueueRequested)
    def _on_queue_requested(self, message: QueueRequested) -> None:
        message.stop()
        self._request(keep_cursor=message.keep_cursor)

    def _request(
        self, *, keep_cursor: bool = False, back_to: tuple[int, int, Hashable | None] | None = None
    ) -> None:
        """Read the Queue again under the current filter and search. Called in the handler of
        the key that changed them (`f`, a letter typed in the search line, clearing a search),
        so the status line and the rows last read for the filter are drawn in one frame, the
        key's own. `back_to`: (filter, row, thread) where the cursor was before a search that is
        cleared now."""
        try:
            self._request_rows(keep_cursor, back_to)
        finally:
            self._in_the_next_frame()

    def _in_the_next_frame(self) -> None:
        """What this handler changed in the table and the status line is in the next frame (a
        key's handler, the rows' or the count's arrival).
        Each widget tells the screen of its change from its own idle handler, and the frame
        clock, resumed when the screen goes idle after the handler, ticked before those came: a
        letter typed in the search line was drawn alone, the status line and the rows a frame
        later (15-20 ms after the key, the main thread idle in between), after the reads that
        wait for the frame had started and held the interpreter. Told here, the changes are on
        the screen's queue before it goes idle. (Textual 8.2.8's Widget._check_refresh: the
        version is pinned.)"""
        table = self.table
        widgets: list[Widget] = [table, self.query_one("#queue-status", StatusBar)]
        if table._vertical_scrollbar is not None:  # its thumb, for the new number of rows
            widgets.append(table._vertical_scrollbar)
        for widget in widgets:
            widget._check_refresh()

    def _request_rows(
        self, keep_cursor: bool, back_to: tuple[int, int, Hashable | None] | None
    ) -> None:
        self.request_id += 1
        table = self.table
        offset = (table.cursor_row // PAGE) * PAGE if keep_cursor else 0
        flt = self.current_filter()
        if flt.text or not keep_cursor:
            # the search read before (a page of it, deep ones take seconds at a million
            # threads) is of no use now: it would hold a core and the GIL while keys wait
            self._readers()[1].interrupt()
        # so is the count before (every request counts anew, after its frame): stopped now, it
        # no longer takes a core while this key's frame is drawn (counting every open thread is
        # ~0.5 s of SQLite at a million)
        self._readers()[0].interrupt()
        request_id = self.request_id
        if not keep_cursor and self._show_first_page(flt):
            if back_to is not None and back_to[0] == self.filter_index:
                self._put_cursor(back_to[1], back_to[2])
                offset, keep_cursor = (table.cursor_row // PAGE) * PAGE, True
            if not self._shown_once:  # the page read before the first frame (compose)
                self._shown_once = True
                self.call_after_refresh(self.host.first_rows_shown)
                # read again (and counted) once the frame is on the terminal (quiet_start)
                self.set_timer(
                    FIRST_FRAME_WRITTEN, partial(self._read, request_id, flt, offset, keep_cursor)
                )
                return
            # the rows are on the screen's next frame: the reads start after it is drawn, so
            # their threads do not hold the GIL while it is drawn; a search's once it is also
            # written (begun right after the frame, they held a typed letter's frame back 10-20
            # ms while the driver's writer thread waited for the GIL), and a newer letter
            # meanwhile reads nothing for this one. A filter's count ("…" until then) is not
            # kept waiting.
            read = partial(self._read, request_id, flt, offset, keep_cursor)
            if flt.text:
                self.set_timer(REREAD_AFTER, read)
            else:
                self.call_after_refresh(read)
            return
        if self._shown_once and not keep_cursor and not flt.text:
            # a filter not read yet: "Loading…", never the last filter's rows under its name
            # (a search keeps the last results on the screen while the next ones are read)
            table.reading()
        self._read(request_id, flt, offset, keep_cursor)

    def _put_cursor(self, row: int, key: Hashable | None) -> None:
        """The cursor back on the thread `key` if the first page holds it, else on `row`."""
        table = self.table
        first = table.page(0) or []
        at = next((i for i, shown in enumerate(first) if shown.key == key), None)
        last = (table.total if table.exact else len(first)) - 1
        table.cursor_row = max(0, min(row if at is None else at, last))

    def _read(self, request_id: int, flt: QueueFilter, offset: int, keep_cursor: bool) -> None:
        if request_id != self.request_id:
            return  # another filter or search was asked for before this one's frame
        self.load_queue(request_id, flt, offset, keep_cursor)
        self._count(request_id, flt)  # beside the page, not after it
        if request_id == self._early_request and self.table.exact:
            self._read_last_screenful(flt)

    def _show_first_page(self, flt: QueueFilter) -> bool:
        """The rows last read for `flt`, at once (the read follows). Their count too if it is
        known; if not (counting `flagged` takes seconds at a million threads, and the count is
        given up when the moderator moves on), the header says "…" until it is in."""
        rows = self._first_pages.get(flt)
        if rows is None:
            return False
        self._early_request = self.request_id
        total = self._totals.get(flt)
        if total is not None:
            self.table.reset(total, rows)
            return True
        self.table.reset(len(rows) + (1 if len(rows) == PAGE else 0), rows, exact=False)
        bound = self._bounds.get(flt)  # a search's last count "at least" (n+)
        if bound is not None:
            self.table.set_total(bound, at_least=True)
        return True

    def _read_last_screenful(self, flt: QueueFilter) -> None:
        """Read the last screenful before `G` asks for it: not for a search, whose last page
        means reading every match (11 s of SQLite and 1 s of Python for a common word at a
        million threads)."""
        if not flt.text:
            self.table.prefetch_last()

    def _readers(self) -> tuple[QueueReader, QueueReader]:
        if self._counter is None or self._searcher is None:
            self._counter = QueueReader(self.desk.cache)
            self._searcher = QueueReader(self.desk.cache)
        return self._counter, self._searcher

    def _read_page(
        self,
        flt: QueueFilter,
        offset: int,
        limit: int,
        total: int | None,
        anchors: tuple[int | None, int | None] = (None, None),
    ) -> list[QueueItem] | None:
        """A page: searches on the search connection (None if a newer search interrupted it),
        the rest through the Desk. `anchors`: the threads just above and just below the page,
        when loaded (keyset paging: no OFFSET walk, however deep the page)."""
        after, before = anchors
        if flt.text:
            return self._readers()[1].page(
                flt, offset=offset, limit=limit, total=total, after=after, before=before
            )
        return self.host.call_desk(
            lambda desk: desk.queue(
                flt, offset=offset, limit=limit, total=total, after=after, before=before
            )
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue")
    def load_queue(self, request_id: int, flt: QueueFilter, offset: int, keep: bool) -> None:
        known = self._totals.get(flt)
        sources, claims = self.host.call_desk(lambda desk: desk.queue_shape())
        self.post_message(QueueShaped(sources, claims))
        items = self._read_page(flt, offset, PAGE, known)
        while items is None and request_id == self.request_id:
            items = self._read_page(flt, offset, PAGE, known)
        if items is None:
            return
        total = UNKNOWN if known is None else known
        self.post_message(QueueLoaded(request_id, flt, total, offset, items, keep_cursor=keep))

    @on(QueueLoaded)
    def _on_queue_loaded(self, message: QueueLoaded) -> None:
        message.stop()
        if message.request_id != self.request_id:
            return
        actor = self.desk.actor
        rows = [to_row(item, actor) for item in message.items]
        table = self.table
        total = message.total
        counted = self._counted
        if counted is not None and counted.request_id != message.request_id:
            counted = None
        at_least = self._bounds.get(message.flt)  # the search's last count, in flight again
        if counted is not None:  # counted while the page was read
            if counted.at_least:
                at_least = counted.total
            else:  # newer than the total remembered for the filter (a reload after a change)
                total = counted.total
        exact = total != UNKNOWN
        if not exact:  # what the page shows; the count follows
            total = message.offset + len(rows) + (1 if len(rows) == PAGE else 0)
        if message.offset == 0:
            self._first_pages[message.flt] = rows
            self._first_pages.move_to_end(message.flt)
            while len(self._first_pages) > FIRST_PAGES:
                self._first_pages.popitem(last=False)
        # what the table is to show: (total, exact, at least)
        if exact:
            wanted = (total, True, False)
        elif at_least is not None:
            wanted = (at_least, False, True)
        else:
            wanted = (total, False, False)
        alike = (message.keep_cursor or message.request_id == self._early_request) and (
            table.total,
            table.exact,
            table.at_least,
        ) == wanted
        shown = table.page(message.offset) if alike else None
        if shown == rows:
            pass  # a refresh that found nothing new draws nothing
        elif shown is not None and [r.key for r in shown] == [r.key for r in rows]:
            # the same threads in the same places, some of them changed (a claim, a release):
            # those rows are drawn again, and the other pages read stay (a reset would read the
            # pages around the cursor and the last screenful again, and redraw every row)
            table.set_page(table.generation, message.offset, rows)
        else:
            table.reset(
                total, rows, offset=message.offset, keep_cursor=message.keep_cursor, exact=exact
            )
            if not exact and at_least is not None:
                table.set_total(at_least, at_least=True)  # drawn in the same frame
        self._loaded_request = message.request_id
        self._update_status()
        if exact:
            self._read_last_screenful(message.flt)  # `G` finds the last rows already read
        self.queue_read_again()
        self._in_the_next_frame()
        if not self._shown_once:
            self._shown_once = True
            self.call_after_refresh(self.host.first_rows_shown)

    def _count(self, request_id: int, flt: QueueFilter, *, every_match: bool = False) -> None:
        self._readers()[0].interrupt()  # a count for an older request is of no use now
        self.count_queue(request_id, flt, every_match)

    @work(thread=True, exclusive=True, exit_on_error=False, group="count")
    def count_queue(self, request_id: int, flt: QueueFilter, every_match: bool) -> None:
        counter = self._counter
        assert counter is not None
        for _ in range(3):  # an interrupt meant for the count before may reach this one
            if every_match:
                total = counter.count(flt)
                counted = None if total is None else (total, True)
            else:
                counted = counter.count_at_most(flt, SEARCH_COUNT_REACH)
            if counted is not None:
                total, exact = counted
                self.post_message(QueueCounted(request_id, flt, total, at_least=not exact))
                return
            if request_id != self.request_id:
                return

    @on(QueueCounted)
    def _on_queue_counted(self, message: QueueCounted) -> None:
        message.stop()
        if message.at_least:
            self._bounds[message.flt] = message.total
            while len(self._bounds) > FIRST_PAGES:
                del self._bounds[next(iter(self._bounds))]
        else:
            self._totals[message.flt] = message.total
        if message.request_id != self.request_id:
            return
        self._counted = message
        if self._loaded_request == message.request_id:  # else the page's arrival uses it
            self.table.set_total(message.total, at_least=message.at_least)
            self._in_the_next_frame()
            if not message.at_least:
                self._read_last_screenful(message.flt)  # `G` finds the last rows already read

    @on(LazyTable.CursorMoved, "#queue-table")
    def _count_near_the_end(self, message: LazyTable.CursorMoved) -> None:
        """A search showing "n+" rows is counted to its end once the cursor comes near them."""
        table = self.table
        if table.at_least and table.near_end and self._counting_all != self.request_id:
            self._counting_all = self.request_id
            self._count(self.request_id, self.current_filter(), every_match=True)

    def on_unmount(self) -> None:
        for reader in (self._counter, self._searcher, self._previewer):
            if reader is not None:
                reader.interrupt()
                reader.close()

    @on(LazyTable.PageWanted)
    def _on_page_wanted(self, message: LazyTable.PageWanted) -> None:
        message.stop()
        table, offset, size = self.table, message.offset, message.limit
        above = table.page(offset - size) if offset >= size else None
        below = table.page(offset + size)
        anchors: tuple[int | None, int | None] = (None, None)
        if above and len(above) == size:
            anchors = (int(above[-1].key), None)  # type: ignore[call-overload]
        elif below:
            anchors = (None, int(below[0].key))  # type: ignore[call-overload]
        self.load_page(self.current_filter(), message.generation, offset, size, anchors)

    @work(thread=True, exit_on_error=False, group="page")
    def load_page(
        self,
        flt: QueueFilter,
        generation: int,
        offset: int,
        limit: int,
        anchors: tuple[int | None, int | None],
    ) -> None:
        total = self.table.total if self.table.exact else None
        items = self._read_page(flt, offset, limit, total, anchors)
        if items is None:  # a newer search interrupted it: its pages are asked for anew
            return
        self.post_message(PageLoaded(generation, offset, items))

    @on(PageLoaded)
    def _on_page_loaded(self, message: PageLoaded) -> None:
        message.stop()
        actor = self.desk.actor
        self.table.set_page(
            message.generation, message.offset, [to_row(i, actor) for i in message.items]
        )
        if self.pane.display:
            self._read_ahead()

    @on(WorkFailed)
    def _on_work_failed(self, message: WorkFailed) -> None:
        self.table.forget_pending()

    @on(RefreshRequested)
    def _on_refresh(self, message: RefreshRequested) -> None:
        message.stop()
        self.post_message(QueueRequested(keep_cursor=True))

    @on(LazyTable.SelectionChanged)
    def _on_selection(self, message: LazyTable.SelectionChanged) -> None:
        self._update_status()

    @on(LazyTable.RowActivated)
    async def _on_activated(self, message: LazyTable.RowActivated) -> None:
        """Open the thread: read it here (about a millisecond) and put it in the one Thread
        screen the Queue keeps, its cards mounted, before pushing it: drawn once, with its
        posts."""
        from console.screens.thread import read_thread

        thread_id = int(message.key)  # type: ignore[call-overload]
        read = read_thread(self, thread_id)
        if read is None:
            return
        screen = self._thread_screen() or self._keep_thread_screen(thread_id)
        await screen.prepare(*read)
        self.app.push_screen(screen)

    def _thread_screen(self) -> ThreadScreen | None:
        """The Thread screen this Queue keeps (None before it was first needed)."""
        from console.screens.thread import ThreadScreen

        if not self.app.is_screen_installed(self._reader_name):
            return None
        screen = self.app.get_screen(self._reader_name)
        assert isinstance(screen, ThreadScreen)
        return screen

    def _keep_thread_screen(self, thread_id: int, *, compose: bool = False) -> ThreadScreen:
        """The Thread screen this Queue keeps from now on; `compose`: its widgets are made now,
        while it is hidden (else on its first push), through Textual's own step of a push
        (App._get_screen: the screen's messages start, it composes and mounts; Textual 8.2.8,
        pinned). Composing it took 20-30 ms of the first enter of a session."""
        from console.screens.thread import ThreadScreen

        screen = ThreadScreen(thread_id)
        self.app.install_screen(screen, self._reader_name)
        if compose:
            self.app._get_screen(screen)
        return screen

    @on(LazyTable.CursorMoved, "#queue-table")
    def _open_ahead_soon(self, message: LazyTable.CursorMoved) -> None:
        self._opener.moved()

    def _open_ahead(self) -> None:
        """The cursor rests on a row: its thread is prepared in the kept Thread screen, so that
        an enter finds it ready (ThreadScreen.open_ahead). The first rest makes that screen
        (it reads the thread itself once mounted)."""
        key = self.table.current_key
        if key is None or not self.is_current or self.query_one("#search", Input).has_focus:
            return  # while a search is typed, each letter's rows would be read ahead in turn
        screen = self._thread_screen()
        if screen is None:
            self._keep_thread_screen(int(key), compose=True)  # type: ignore[call-overload]
        else:
            screen.open_ahead(int(key))  # type: ignore[call-overload]

    def on_screen_resume(self) -> None:
        """Back on the Queue (from a thread, a panel, help): it shows as it was, then reloads;
        the thread under the cursor is prepared again (the screen left it scrolled)."""
        if self._shown_once:
            self.refresh_after_paint()
            self._opener.moved()

    # ---- search and filters ----
    def action_search(self) -> None:
        self._search_line(True)
        self._focus_now(self.query_one("#search", Input))

    def _search_line(self, shown: bool) -> None:
        """Open the search line in the key bar's place, or close it (the status line says what
        is searched)."""
        self.query_one("#search", Input).display = shown
        self.query_one(KeyBar).display = not shown

    def _stop_search_timer(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None

    @on(Input.Changed, "#search")
    def _on_search_changed(self, event: Input.Changed) -> None:
        self._stop_search_timer()
        try:
            parse_filter(event.value.strip())
        except FilterError:  # half-typed ("age>"): said if the typing stops here
            text = event.value
            self._search_timer = self.set_timer(
                FILTER_ERROR_PAUSE, lambda: self._apply_search(text)
            )
            return
        self._apply_search(event.value)

    def submit_search(self, text: str) -> None:
        """The search line's enter: the search applied, the line closed, the rows focused."""
        self._stop_search_timer()
        self._apply_search(text)
        self._search_line(False)
        self._focus_table()
        self._opener.moved()  # the row the cursor rests on now is read ahead

    def _apply_search(self, text: str) -> None:
        """Apply the filter line (words and terms, console.filters); a bad expression is said in
        the status line and changes nothing."""
        text = text.strip()
        try:
            parse_filter(text)
        except FilterError as error:
            self._filter_error = f"filter: {error}"
            self._update_status()
            return
        self._filter_error = ""
        if text == self.search_text:
            self._update_status()
            return
        if not self.search_text:  # a search starts: where the cursor goes back when cleared
            table = self.table
            self._before_search = (self.filter_index, table.cursor_row, table.current_key)
        back_to = None if text else self._before_search
        self.search_text = text
        self.table.clear_selection()
        self._update_status()
        self._request(back_to=back_to)

    def action_cycle_filter(self) -> None:
        self._choose((self.filter_index + 1) % len(self.filter_names()))

    def set_filter(self, name: str) -> None:
        self.filter_index = self.filter_names().index(name)
        self._update_status()
        self._request()

    def _show_tabs(self, names: tuple[str, ...]) -> None:
        index = self.filter_index % len(names)
        if index < len(FILTERS):
            self._last_builtin = index
        for line in self.query("#queue-views").results(TabLine):
            shown = queue_views.tabs(names, len(FILTERS), index, self._last_builtin)
            line.set_tabs([printable(x, single_line=True) for x in shown.labels], shown.active)

    def _step_view(self, by: int) -> None:
        names = self.filter_names()
        index = self.filter_index % len(names)
        self._choose(queue_views.step(names, len(FILTERS), index, self._last_builtin, by))

    def action_next_view(self) -> None:
        self._step_view(1)

    def action_previous_view(self) -> None:
        self._step_view(-1)

    @on(TabLine.Chosen, "#queue-views")
    def _on_tab_chosen(self, message: TabLine.Chosen) -> None:
        message.stop()
        builtins = len(FILTERS)
        self._choose(self._last_builtin if message.index == 0 else builtins + message.index - 1)

    def _choose(self, index: int) -> None:
        if index != self.filter_index:
            self.filter_index = index
            self.table.clear_selection()
            self._update_status()
            self._request()

    def action_clear(self) -> None:
        search = self.query_one("#search", Input)
        if search.display and (search.has_focus or not self.search_text):
            self._clear_search(search)
        elif self.table.selected:
            self.table.clear_selection()
        elif self.search_text:
            self._clear_search(search)

    def _clear_search(self, search: Input) -> None:
        """Close the search line and show the Queue as it was before the search."""
        self._stop_search_timer()
        with search.prevent(Input.Changed):  # it would search for "" a second time
            search.value = ""
        self._search_line(False)
        self._apply_search("")
        self._focus_table()

    def _focus_table(self) -> None:
        self._focus_now(self.table)

    def _focus_now(self, widget: Widget) -> None:
        """The focus moved in this key's handler: Widget.focus() moves it only after the keys
        already received (a burst: "/xc" typed fast or pasted closed and claimed the thread
        under the cursor before the search line had the focus), and redraws the widget even
        when it has the focus already (Screen.set_focus then does nothing)."""
        self.set_focus(widget, scroll_visible=False)

    def action_refresh(self) -> None:
        self.post_message(RefreshRequested())

    # ---- decisions ----
    def _targets(self) -> list[int]:
        """The selection, or else the row under the cursor."""
        table = self.table
        if table.selected:
            return sorted(int(k) for k in table.selected)  # type: ignore[call-overload]
        key = table.current_key
        return [] if key is None else [int(key)]  # type: ignore[call-overload]

    def action_claim(self) -> None:
        current = self._current()
        if current is not None:
            self.decide("claim", [current])

    def action_release(self) -> None:
        current = self._current()
        if current is not None:
            self.decide("release", [current])

    def action_close(self) -> None:
        self.decide("close", self._targets())

    def action_reopen(self) -> None:
        self.decide("reopen", self._targets())

    def action_undo(self) -> None:
        self.post_message(DecisionMade(Decision("undo")))

    def action_note(self) -> None:
        current = self._current()
        if current is not None:
            self.ask_note(current)

    def action_escalate(self) -> None:
        current = self._current()
        if current is not None:
            self.escalate(current)

    def action_member(self) -> None:
        """The member view of the thread's author."""
        from console.screens.member import open_member  # not needed before the first frame

        current = self._current()
        if current is not None:
            open_member(self, thread_id=current)

    def action_select_author(self) -> None:
        current = self._current()
        if current is not None:
            names = self.filter_names()
            where = names[self.filter_index % len(names)]
            if self.search_text:
                where += f", search: {printable(self.search_text, single_line=True)}"
            self.load_author_threads(current, self.current_filter(), where)

    @work(thread=True, exclusive=True, exit_on_error=False, group="select")
    def load_author_threads(self, thread_id: int, flt: QueueFilter, where: str) -> None:
        """Only threads the Queue shows under its filter and search: never one the moderator
        cannot see there."""
        ids = self.host.call_desk(lambda desk: desk.threads_by_same_author(thread_id, flt))
        self.post_message(
            SelectionLoaded(ids, f"open threads by this author in this view ({where})")
        )

    @on(SelectionLoaded)
    def _on_selection_loaded(self, message: SelectionLoaded) -> None:
        message.stop()
        self.table.select_keys(message.thread_ids)
        self.notify(f"Selected {len(message.thread_ids)} {message.why}", markup=False)

    def after_decision(self, decision: Decision) -> None:
        if decision.action in ("close", "reopen") and len(decision.target_ids) > 1:
            self.table.clear_selection()
        elif decision.action in ("close", "reopen"):
            self.table.selected.difference_update(decision.target_ids)
            self._update_status()
        super().after_decision(decision)
