"""The Queue's preview pane, as the base of the Queue screen: at PREVIEW_FROM columns or more the
thread under the cursor is shown beside the list (`p` toggles it). How it reads and paints is in
console.screens.queue_preview; this class holds the pane's state and handlers so the Queue screen
itself stays about the list.
"""

from __future__ import annotations

import os

from textual import on, work
from textual.reactive import Reactive
from textual.widget import Widget

from console.desk import QueueReader
from console.errors import PeerdeskError
from console.previews import ThreadPreview
from console.screens.after_rest import AfterRest
from console.screens.base import DeskScreen
from console.screens.queue_preview import (
    PAUSE as PREVIEW_PAUSE,
)
from console.screens.queue_preview import (
    PREVIEW_FROM,
    PreviewLoaded,
    PreviewsRead,
    ReadAhead,
    preview_parts,
)
from widgets.lazy_table import LazyTable
from widgets.preview import PreviewPane


class QueuePaneScreen(DeskScreen):
    """A screen with a LazyTable `#queue-table` and a PreviewPane `#queue-preview` beside it."""

    # Textual's Screen repaints itself whole when its focus moves (its `focused` reactive); the
    # widgets that gain and lose focus redraw themselves anyway, so opening and closing the
    # search line redraws those, not every line of the screen.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(self) -> None:
        super().__init__()
        # at PREVIEW_FROM columns or more; p toggles it, PEERDESK_PREVIEW=off starts without it
        self.preview_on = os.environ.get("PEERDESK_PREVIEW", "on").lower() != "off"
        self._preview_rest = AfterRest(self, PREVIEW_PAUSE, self._preview_now)
        self._ahead = ReadAhead()  # previews read ahead of the cursor
        self._previewer: QueueReader | None = None  # their connection
        self._painted: ThreadPreview | None = None  # what the pane shows

    @property
    def table(self) -> LazyTable:
        return self.query_one("#queue-table", LazyTable)

    def _current(self) -> int | None:
        key = self.table.current_key
        return None if key is None else int(key)  # type: ignore[call-overload]

    def on_mount(self) -> None:
        # a preview read ahead is painted as the cursor changes, before the table's own repaint
        # is drawn, so both are in one frame (the CursorMoved message comes a frame later)
        self.watch(self.table, "cursor_row", self._paint_known_preview, init=False)

    def queue_read_again(self) -> None:
        """The Queue was read again: so is what was read ahead (claims, replies, flags change)."""
        self._ahead.forget()
        if self.pane.display:
            self._preview_current()

    @property
    def pane(self) -> PreviewPane:
        return self.query_one("#queue-preview", PreviewPane)

    def _place_preview(self) -> None:
        wanted = self.preview_on and self.size.width >= PREVIEW_FROM
        if wanted != self.pane.display:
            self.pane.display = wanted
            if wanted:
                self._preview_current()

    def action_toggle_preview(self) -> None:
        if self.size.width < PREVIEW_FROM:
            self.notify(
                f"The preview needs {PREVIEW_FROM} columns or more",
                severity="warning",
                markup=False,
            )
            return
        self.preview_on = not self.preview_on
        self._place_preview()

    @on(LazyTable.CursorMoved, "#queue-table")
    def _on_cursor_moved(self, message: LazyTable.CursorMoved) -> None:
        message.stop()
        if self.pane.display:
            self._preview_current()

    def _paint_known_preview(self) -> None:
        current = self._current()
        known = None if current is None else self._ahead.get(current)
        if known is not None and current is not None and self.pane.display:
            self._paint_preview(current, known)

    def _preview_current(self) -> None:
        """Paint the row's preview now if it was read ahead, else once the cursor rests; and read
        ahead what is around the cursor."""
        current = self._current()
        known = None if current is None else self._ahead.get(current)
        if current is not None and known is not None:
            self._paint_preview(current, known)
        else:
            self._preview_soon()
        self._read_ahead()

    def _read_ahead(self) -> None:
        visible = self.table.rows_visible
        near = self.table.keys_near(visible, 2 * visible)
        wanted = self._ahead.wanted(int(k) for k in near)  # type: ignore[call-overload]
        if wanted:
            self.read_previews(self._ahead.generation, wanted)

    @work(thread=True, exit_on_error=False, group="preview-ahead")
    def read_previews(self, generation: int, thread_ids: list[int]) -> None:
        if self._previewer is None:
            self._previewer = QueueReader(self.desk.cache)
        try:
            found = self._previewer.previews(thread_ids)
        except PeerdeskError:
            found = {}  # the row's own read (after PAUSE) says what is wrong
        self.post_message(PreviewsRead(generation, thread_ids, found))

    @on(PreviewsRead)
    def _on_previews_read(self, message: PreviewsRead) -> None:
        message.stop()
        if not self._ahead.store(message.generation, message.asked, message.previews):
            return
        current = self._current()
        if self.pane.display and current in message.previews:
            self._paint_preview(current, message.previews[current])

    def _preview_soon(self) -> None:
        """Read the preview once the cursor has rested (holding j reads nothing)."""
        self._preview_rest.moved()

    def _preview_now(self) -> None:
        key = self.table.current_key
        if key is None:
            self.pane.clear("Nothing to preview.")
            self._painted = None
            return
        self.load_preview(int(key))  # type: ignore[call-overload]

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def load_preview(self, thread_id: int) -> None:
        try:
            found = self.host.call_desk(lambda desk: desk.preview(thread_id))
        except PeerdeskError as error:
            self.post_message(PreviewLoaded(thread_id, None, str(error)))
            return
        self.post_message(PreviewLoaded(thread_id, found))

    @on(PreviewLoaded)
    def _on_preview_loaded(self, message: PreviewLoaded) -> None:
        message.stop()
        if message.thread_id != self._current():
            return  # the cursor moved on; its own preview follows
        if message.preview is None:
            self.pane.clear(message.error)
            self._painted = None
            return
        self._paint_preview(message.thread_id, message.preview)

    def _paint_preview(self, thread_id: int, preview: ThreadPreview) -> None:
        """Show `preview` (unless the pane already shows just that)."""
        if thread_id == self._current():
            self._preview_rest.stop()
        if self.pane.shown == thread_id and self._painted == preview:
            return
        self._painted = preview
        title, facts, parts = preview_parts(preview, self.desk.actor)
        self.pane.show(thread_id, title, facts, parts)
