"""A virtual table for very long lists.

`LazyTable` draws only the rows on screen (Textual's line API) and keeps a bounded number of pages
of rows in memory. When it needs rows it does not have, it posts `LazyTable.PageWanted`; its owner
loads that page however it likes (off the UI thread) and hands it back with `set_page`. Building
a widget per row, as a DataTable does, is what makes 100,000 rows slow; this never does.

Rows carry a hashable key; selection is a set of keys, so it survives paging and reloads.
Cells are plain strings or Rich `Text`; strings are never parsed as markup.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import ClassVar, Literal, Self

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.dom import NoScreen
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from widgets.keys_follow_focus import KeysFollowFocus

Tone = Literal["", "dim", "alert"]


@dataclass(frozen=True)
class Column:
    """A column: a fixed width, or `width=None` for the one column that takes what is left."""

    label: str
    width: int | None = None
    align: Literal["left", "right"] = "left"
    cell: int | None = None  # which cell of a row it shows (default: its own position)


@dataclass(frozen=True)
class Row:
    key: Hashable
    cells: tuple[str | Text, ...]
    tone: Tone = ""


@dataclass(frozen=True)
class _Palette:
    """The styles one drawing of the table uses, read once per drawing (Textual computes a
    widget's style by walking its ancestors on every read)."""

    base: Style
    header: Style
    cursor: Style
    selected: Style
    dim: Style
    alert: Style
    placeholder: Style

    def tone(self, tone: Tone) -> Style | None:
        return self.dim if tone == "dim" else self.alert if tone == "alert" else None


class LazyTable(KeysFollowFocus, ScrollView, can_focus=True):
    """A keyboard-first table over a very long list that is loaded page by page."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "down,j", "cursor_down", "Down", show=False, id="table.down", tooltip="Move down a row"
        ),
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up", tooltip="Move up a row"),
        Binding(
            "g,home",
            "first",
            "First row",
            show=False,
            id="table.first",
            tooltip="Go to the first row",
        ),
        Binding(
            "G,end", "last", "Last row", show=False, id="table.last", tooltip="Go to the last row"
        ),
        Binding(
            "pagedown",
            "page_down",
            "Page down",
            show=False,
            id="table.page_down",
            tooltip="Move down a page",
        ),
        Binding(
            "pageup", "page_up", "Page up", show=False, id="table.page_up", tooltip="Move up a page"
        ),
        Binding(
            "space",
            "toggle_selection",
            "Select",
            show=False,
            id="table.toggle_selection",
            tooltip="Select or unselect the row (for a batch decision)",
        ),
        Binding("enter", "activate", "Open", id="table.activate", tooltip="Open the thread"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "lazy-table--header",
        "lazy-table--cursor",
        "lazy-table--cursor-blurred",
        "lazy-table--selected",
        "lazy-table--dim",
        "lazy-table--alert",
        "lazy-table--placeholder",
    }

    DEFAULT_CSS = """
    LazyTable {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        background: $surface;
        & > .lazy-table--header { text-style: bold; background: $panel; color: $foreground; }
        /* the cursor focused and blurred are two parts, not a :focus rule: a rule that
           changes with focus makes Textual restyle the parts and redraw every row on each focus
           change (opening the search line); this way only the cursor's row is drawn again */
        & > .lazy-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: bold;
        }
        & > .lazy-table--cursor-blurred { background: $block-cursor-blurred-background; }
        & > .lazy-table--selected { color: $accent; text-style: bold; }
        & > .lazy-table--dim { color: $text-muted; }
        & > .lazy-table--alert { color: $warning; }
        & > .lazy-table--placeholder { color: $text-disabled; }
    }
    """

    # repaint=False: a reactive's repaint marks the whole table dirty, and Textual then writes
    # every row to the terminal on each move; watch_cursor_row refreshes the lines that change
    cursor_row: reactive[int] = reactive(0, always_update=True, repaint=False)
    """Index of the highlighted row."""

    class PageWanted(Message):
        """The table needs rows `offset .. offset+limit` for its current `generation`."""

        def __init__(self, table: LazyTable, generation: int, offset: int, limit: int) -> None:
            super().__init__()
            self.table = table
            self.generation = generation
            self.offset = offset
            self.limit = limit

        @property
        def control(self) -> LazyTable:
            return self.table

    class CursorMoved(Message):
        def __init__(self, table: LazyTable, index: int, key: Hashable | None) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.key = key

        @property
        def control(self) -> LazyTable:
            return self.table

    class RowActivated(Message):
        """Enter on a row."""

        def __init__(self, table: LazyTable, index: int, key: Hashable) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.key = key

        @property
        def control(self) -> LazyTable:
            return self.table

    class SelectionChanged(Message):
        def __init__(self, table: LazyTable, keys: frozenset[Hashable]) -> None:
            super().__init__()
            self.table = table
            self.keys = keys

        @property
        def control(self) -> LazyTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        page_size: int = 100,
        max_pages: int = 40,
        empty_text: str = "Nothing to show",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = tuple(columns)
        self.page_size = page_size
        self.max_pages = max_pages
        self.empty_text = empty_text
        self.total = 0
        self.exact = True  # False while `total` is only what the pages so far show
        self.at_least = False  # `total` is a lower bound given by set_total(at_least=True)
        self._to_end = False  # `G` was pressed while the total was a lower bound
        self.generation = 0
        self.loaded = False
        self.selected: set[Hashable] = set()
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()
        self._pending: set[int] = set()
        # Drawn rows, so a cursor move re-renders two lines, not the screen: keyed by (row index,
        # the cursor's style on the cursor row else None, width); emptied whenever the rows or the
        # other styles change. Focus only restyles the cursor: the other rows stay drawn.
        # drawn rows by (thread key, cursor style, width): (the row drawn, selected, its strip).
        # Kept across `reset` and new pages: a filter shown again (`f`), a search cleared, rows
        # read again unchanged draw none of their rows anew; a row whose cells changed is told
        # by comparing it with the one drawn.
        self._strips: dict[tuple[Hashable, Style | None, int], tuple[Row, bool, Strip]] = {}
        self._palette: _Palette | None = None  # of the drawing under way
        self._drawn_palette: _Palette | None = None  # of the rows in _strips
        self._drawn_cursor = 0
        self._laid_out_for: tuple[Size, Size, Size] | None = None  # see _size_updated

    # ---- what is shown ----
    def set_columns(self, columns: Sequence[Column]) -> None:
        """Show other columns of the same rows (e.g. fewer on a narrow terminal)."""
        columns = tuple(columns)
        if columns != self.columns:
            self.columns = columns
            self._strips.clear()
            self.refresh()

    def set_empty_text(self, text: str) -> None:
        """What an empty table says (wrapped to the table's width)."""
        if text != self.empty_text:
            self.empty_text = text
            if self.total == 0:  # else it is not on the screen
                self.refresh()

    # ---- data in ----
    def reset(
        self,
        total: int,
        rows: Sequence[Row] = (),
        *,
        offset: int = 0,
        keep_cursor: bool = False,
        exact: bool = True,
    ) -> int:
        """Start over with `total` rows (and optionally the page at `offset`); returns the new
        generation. Pages asked for earlier are forgotten. `exact=False`: the total is a lower
        bound until `set_total` gives the real one (the header shows "…"). `keep_cursor`: the
        cursor stays on the row it was on (by its key) when `rows` hold it, else on its row
        number."""
        followed = self.loaded_key(self.cursor_row) if keep_cursor else None
        self.generation += 1
        self.total = max(0, total)
        self.exact = exact
        self.at_least = False
        self._to_end = False
        self.loaded = True
        self._pages.clear()
        self._pending.clear()
        if rows:
            self._store(offset, rows)
        self._size_for_rows()
        cursor = min(self.cursor_row, max(0, self.total - 1)) if keep_cursor else 0
        if followed is not None:  # the row under the cursor moved within the rows given
            at = next((i for i, row in enumerate(rows) if row.key == followed), None)
            cursor = cursor if at is None else offset + at
        if not keep_cursor:
            self.scroll_to(y=0, animate=False, immediate=True)
        self.cursor_row = cursor
        self.refresh()
        return self.generation

    def reading(self) -> int:
        """Start over with nothing known yet: "Loading…" until `reset` gives rows (rather than
        the rows of whatever was shown before); returns the new generation."""
        generation = self.reset(0)
        self.loaded = False
        return generation

    def set_total(self, total: int, *, at_least: bool = False) -> None:
        """The real number of rows, once known (the rows loaded are kept). `at_least`: there are
        at least `total` rows and counting them all would take long; the header shows "n+" and
        the cursor stops at the last of them until a later `set_total` gives the real number
        (the owner counts when the cursor comes near the end: see `near_end`). `G` pressed
        meanwhile goes to the real last row when it is known."""
        total = max(0, total)
        exact = not at_least
        if total == self.total and self.exact == exact and self.at_least == at_least:
            return
        before = self.total
        self.total = total
        self.exact = exact
        self.at_least = at_least
        self._size_for_rows()
        if self.cursor_row >= total or (exact and self._to_end):
            self.cursor_row = max(0, total - 1)
        if exact:
            self._to_end = False
        self._refresh_rows(min(before, total), max(before, total))

    def _refresh_rows(self, start: int, end: int) -> None:
        """Draw the header again (the cursor's place and the total) and the rows `start ..
        end` that are on the screen (rows that came or went with a new total), not the rest."""
        width = max(self.virtual_size.width, self.size.width)
        self.refresh(Region(0, 0, width, 1))
        top = round(self.scroll_y)
        start, end = max(start, top), min(end, top + self._rows_visible())
        if start < end:
            self.refresh_lines(start + 1, end - start)

    def _size_for_rows(self) -> None:
        """The scrollable height for `total` rows, and the scrollbar shown or hidden and sized
        for it now. Left to the layout that follows, Textual would find there that the scrollbar
        comes or goes and lay the table out again at its new width (every row drawn twice when
        a search is cleared or `f` pressed), then redraw the scrollbar in a frame of its own."""
        size = Size(self.size.width, self.total + 1)
        if size == self.virtual_size:
            return
        if not self.container_size:  # not laid out yet: the first layout sizes it
            self.virtual_size = size
            return
        # The rows' number never changes the table's own size (height 1fr, the scrollbar's
        # column kept), so it is set without Textual's layout of the whole screen (virtual_size
        # is a layout reactive: `f` and a search's results paid a reflow of every widget, 1-3 ms
        # before their frame); the scrollbar is resized here, and shown or hidden with a layout
        # only when that changes (show_vertical_scrollbar is itself a layout reactive).
        self.set_reactive(Widget.virtual_size, size)
        self._scroll_update(size)
        self._laid_out_for = (self.size, self.container_size, size)

    @property
    def near_end(self) -> bool:
        """The cursor is within two screenfuls of the last row."""
        return self.cursor_row >= self.total - 2 * self._rows_visible()

    def page(self, offset: int) -> list[Row] | None:
        """The rows loaded for the page starting at `offset`, if any."""
        return self._pages.get(offset // self.page_size)

    def set_page(self, generation: int, offset: int, rows: Sequence[Row]) -> bool:
        """Rows for a page asked for by PageWanted; ignored (False) if the table moved on."""
        if generation != self.generation:
            return False
        self._pending.discard(offset // self.page_size)
        self._store(offset, rows)
        end = offset + len(rows)
        top = round(self.scroll_y)
        if offset <= top + self._rows_visible() and end >= top:  # a page read ahead draws nothing
            self.refresh()
        if offset <= self.cursor_row < offset + len(rows):
            self._announce_cursor()
        return True

    def prefetch_last(self) -> None:
        """Ask for the pages of the last screenful of rows before they are shown, so `G` (or
        end) draws rows at once rather than placeholders."""
        first = max(0, self.total - self._rows_visible())
        for page in range(first // self.page_size, (self.total - 1) // self.page_size + 1):
            self._want(page)

    def forget_pending(self) -> None:
        """Forget pages being loaded (their loading failed); they are asked for again."""
        self._pending.clear()
        self.refresh()

    def _store(self, offset: int, rows: Sequence[Row]) -> None:
        size = self.page_size
        for start in range(0, len(rows), size):
            page = (offset + start) // size
            self._pages[page] = list(rows[start : start + size])
            self._pages.move_to_end(page)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)

    # ---- data out ----
    def loaded_key(self, index: int) -> Hashable | None:
        """The key of row `index` if its page is loaded (asking for nothing)."""
        page = self._pages.get(index // self.page_size)
        position = index % self.page_size
        return page[position].key if page is not None and position < len(page) else None

    def row_at(self, index: int) -> Row | None:
        if not 0 <= index < self.total:
            return None
        page = self._pages.get(index // self.page_size)
        if page is None:
            self._want(index // self.page_size)
            return None
        position = index % self.page_size
        return page[position] if position < len(page) else None

    @property
    def current_row(self) -> Row | None:
        return self.row_at(self.cursor_row)

    @property
    def current_key(self) -> Hashable | None:
        row = self.current_row
        return None if row is None else row.key

    @property
    def rows_visible(self) -> int:
        """How many rows the table shows at once."""
        return self._rows_visible()

    def keys_near(self, above: int, below: int) -> list[Hashable]:
        """The keys of the rows loaded from `above` rows over the cursor to `below` rows under it
        (the cursor's first), for a caller that reads something about them ahead of time. Rows not
        loaded are left out and not asked for."""
        keys: list[Hashable] = []
        cursor = self.cursor_row
        order = [cursor, *range(cursor + 1, cursor + below + 1)]
        order += range(cursor - 1, cursor - above - 1, -1)
        for index in order:
            if not 0 <= index < self.total:
                continue
            page = self._pages.get(index // self.page_size)
            position = index % self.page_size
            if page is not None and position < len(page):
                keys.append(page[position].key)
        return keys

    def _want(self, page: int) -> None:
        if page in self._pending or page in self._pages or page < 0:
            return
        if page * self.page_size >= self.total:
            return
        self._pending.add(page)
        self.post_message(
            self.PageWanted(self, self.generation, page * self.page_size, self.page_size)
        )

    # ---- selection ----
    def toggle_selection(self, key: Hashable) -> None:
        self.selected.symmetric_difference_update({key})
        self._selection_changed()

    def select_keys(self, keys: Iterable[Hashable]) -> None:
        self.selected.update(keys)
        self._selection_changed()

    def clear_selection(self) -> None:
        if self.selected:
            self.selected.clear()
            self._selection_changed()

    def _selection_changed(self) -> None:
        self.refresh()
        self.post_message(self.SelectionChanged(self, frozenset(self.selected)))

    # ---- cursor ----
    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, self.total - 1)) if self.total else 0

    def watch_cursor_row(self, value: int) -> None:
        if value != self.total - 1:
            self._to_end = False  # moved away from the end after `G`
        top = round(self.scroll_y)
        self._scroll_cursor_into_view(value)
        page = value // self.page_size
        self._want(page)
        within = value % self.page_size
        if within >= self.page_size - 20:
            self._want(page + 1)
        elif within < 20:
            self._want(page - 1)
        before, self._drawn_cursor = self._drawn_cursor, value
        if round(self.scroll_y) == top:  # nothing scrolled: the header and two rows change
            self._refresh_rows(before, before + 1)
            self.refresh_line(value + 1)
        else:
            self.refresh()
        self._announce_cursor()

    # Focus: only the cursor's row looks different (its part is "cursor" or "cursor-blurred"),
    # so only that line is drawn again. Textual's own handling repaints the whole widget when it
    # is focused and when it gains or loses the focus, and restyles it and its scrollbars (a
    # frame of every row, then one of the scrollbars, each time the search line opens or
    # closes); none of the table's styles depend on :focus, so that is left out.
    def focus(self, scroll_visible: bool = True) -> Self:
        def set_focus() -> None:
            with suppress(NoScreen):
                self.screen.set_focus(self, scroll_visible=scroll_visible)

        self.app.call_later(set_focus)
        return self

    def on_focus(self, event: events.Focus) -> None:
        event.prevent_default()  # not Widget's handler: it repaints every row
        self.has_focus = True
        self.refresh_line(self.cursor_row + 1)
        if self.parent is not None:
            self.parent.post_message(events.DescendantFocus(self))

    def on_blur(self, event: events.Blur) -> None:
        event.prevent_default()
        self.has_focus = False
        self.refresh_line(self.cursor_row + 1)
        if self.parent is not None:
            self.parent.post_message(events.DescendantBlur(self))

    def watch_has_focus(self, has_focus: bool) -> None:
        """Not restyled on focus (see `focus`): the cursor's part says it."""

    def _announce_cursor(self) -> None:
        self.post_message(self.CursorMoved(self, self.cursor_row, self.current_key))

    def _rows_visible(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self, index: int) -> None:
        visible = self._rows_visible()
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self._to_end = self.at_least
        self.cursor_row = self.total - 1

    def action_page_down(self) -> None:
        self.cursor_row += self._rows_visible()

    def action_page_up(self) -> None:
        self.cursor_row -= self._rows_visible()

    def action_toggle_selection(self) -> None:
        key = self.current_key
        if key is not None:
            self.toggle_selection(key)
            self.cursor_row += 1

    def action_activate(self) -> None:
        key = self.current_key
        if key is not None:
            self.post_message(self.RowActivated(self, self.cursor_row, key))

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # Textual's ScrollView compares the size a layout gives it with its own virtual size (the
        # rows, never the same) and so redraws its scrollbar on every layout of the screen (a
        # frame of its 21 lines after `/`, a filter, a search's results); only a change of the
        # table's size or of its rows' number is passed on.
        seen = (size, container_size, self.virtual_size)
        if seen == self._laid_out_for:
            return False
        self._laid_out_for = seen
        return super()._size_updated(size, virtual_size, container_size, layout)

    def on_resize(self, event: events.Resize) -> None:
        # drawn rows are kept by width: a table that only grew or shrank in height draws none anew
        self.virtual_size = Size(event.size.width, self.total + 1)
        self._scroll_cursor_into_view(self.cursor_row)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.cursor_row = round(self.scroll_y) + event.y - 1

    # ---- drawing ----
    def _widths(self, width: int) -> list[int]:
        fixed = sum(c.width or 0 for c in self.columns) + len(self.columns) - 1
        rest = max(1, width - fixed)
        return [c.width if c.width is not None else rest for c in self.columns]

    def _line(self, cells: Sequence[str | Text], width: int, *, labels: bool = False) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        for index, (column, cell_width) in enumerate(
            zip(self.columns, self._widths(width), strict=False)
        ):
            at = index if column.cell is None or labels else column.cell
            cell = cells[at] if at < len(cells) else ""
            text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            text.plain = text.plain.replace("\n", " ").replace("\r", " ").replace("\t", " ")
            text.truncate(cell_width, overflow="ellipsis")
            if column.align == "right":
                text.pad_left(cell_width - text.cell_len)
            else:
                text.pad_right(cell_width - text.cell_len)
            if index:
                line.append(" ")
            line.append_text(text)
        return line

    def _strip(self, line: Text, width: int, style: Style) -> Strip:
        segments = [
            Segment(seg.text, style + seg.style if seg.style else style, seg.control)
            for seg in line.render(self.app.console)
        ]
        return Strip(segments).adjust_cell_length(width, style)

    def _read_palette(self) -> _Palette:
        base = self.rich_style

        def part(name: str) -> Style:
            return self.get_component_rich_style(f"lazy-table--{name}")

        return _Palette(
            base=base,
            header=base + part("header"),
            cursor=part("cursor" if self.has_focus else "cursor-blurred"),
            selected=part("selected"),
            dim=part("dim"),
            alert=part("alert"),
            placeholder=base + part("placeholder"),
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        palette = self._palette = self._read_palette()
        drawn = self._drawn_palette
        if drawn is None or drawn != replace(palette, cursor=drawn.cursor):
            self._strips.clear()  # a style other than the cursor's changed: draw every row anew
        self._drawn_palette = palette
        try:
            return super().render_lines(crop)
        finally:
            self._palette = None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        palette = self._palette or self._read_palette()
        base = palette.base
        if y == 0:
            return self._header(width, palette.header)
        index = round(self.scroll_y) + y - 1
        if self.total == 0:
            style = palette.placeholder
            if not self.loaded:
                return self._strip(Text("Loading…" if y == 1 else ""), width, style)
            lines = Text(self.empty_text).wrap(self.app.console, max(1, width - 1))
            line = lines[y - 1] if y - 1 < len(lines) else Text("")
            return self._strip(line, width, style)
        if index >= self.total:
            return Strip.blank(width, base)
        row = self.row_at(index)
        cursor = index == self.cursor_row
        if row is not None:
            key = (row.key, palette.cursor if cursor else None, width)
            selected = row.key in self.selected
            drawn = self._strips.get(key)
            if drawn is not None and drawn[1] == selected and (drawn[0] is row or drawn[0] == row):
                return drawn[2]
            strip = self._row_strip(row, cursor, width, palette)
            self._strips.pop(key, None)  # the newest last: the oldest go first
            self._strips[key] = (row, selected, strip)
            while len(self._strips) > 16 * max(1, self.size.height):
                del self._strips[next(iter(self._strips))]
            return strip
        style = palette.placeholder
        if cursor:
            style += palette.cursor
        return self._strip(Text("  …"), width, style)

    def _row_strip(self, row: Row, cursor: bool, width: int, palette: _Palette) -> Strip:
        style = palette.base
        toned = palette.tone(row.tone)
        if toned is not None:
            style += toned
        selected = row.key in self.selected
        if selected:
            style += palette.selected
        if cursor:
            style += palette.cursor
        mark = Text("●" if selected else " ")
        line = Text(no_wrap=True, end="")
        line.append_text(mark)
        line.append_text(self._line(row.cells, width - 1))
        return self._strip(line, width, style)

    def _header(self, width: int, style: Style) -> Strip:
        line = Text(" ", no_wrap=True, end="")
        line.append_text(self._line([c.label for c in self.columns], width - 1, labels=True))
        if self.total:
            where = f" {self.cursor_row + 1:,}/{self.total:,} "
            if self.at_least:
                where = f" {self.cursor_row + 1:,}/{self.total:,}+ "
            elif not self.exact:
                where = f" {self.cursor_row + 1:,}/… "
            if line.cell_len > len(where) and width > 40:
                line.truncate(width - len(where))
                line.pad_right(width - len(where) - line.cell_len)
                line.append(where)
        return self._strip(line, width, style)
