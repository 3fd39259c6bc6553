"""What the paged panels share: a page of the list read on a worker when the table asks for it,
and the one-line form of user text they show in its cells.

A panel whose list is longer than one read (Audit, Escalations, Duplicates) is a `PagedPanel`,
a `ListDetailPanel` whose list comes a page at a time:

    LazyTable.PageWanted → (worker: `read_page`, from the row above or below the page, keyset,
    or from the far end given the list's total) → PageLoaded → `keep_page` (the panel keeps what
    it needs of the rows) → the table's page, drawn with `to_rows`

A page read for an older generation of the table (the list was read again meanwhile) is
dropped. The panel says how to read a page and how to draw its rows; nothing else differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Generic, TypeVar

from textual import on, work
from textual.message import Message

from console.desk import Desk
from console.safe_text import printable
from console.screens.panel import DetailData, ListData, ListDetailPanel, page_anchors
from widgets.lazy_table import LazyTable, Row

R = TypeVar("R")  # a row of the list as read


@dataclass(frozen=True)
class PageAt:
    """Where a page is read from: its row number and size, the key of the row just above it
    (`after`) or just below it (`before`) when the table holds that row, and the list's total
    when known (a page in the older half is then read from the far end). `keywords()` are the
    page reads' own keyword arguments."""

    offset: int
    limit: int
    after: int | None = None
    before: int | None = None
    total: int | None = None

    def keywords(self) -> dict[str, Any]:
        return asdict(self)


def one_line(text: str) -> str:
    """User text for a cell or a heading: escapes made visible, on one line."""
    return printable(text, single_line=True)


class PageLoaded(Message):
    """Rows `offset ..` of a paged panel's list, read for the table's `generation`."""

    def __init__(self, generation: int, offset: int, rows: Sequence[Any]) -> None:
        super().__init__()
        self.generation = generation
        self.offset = offset
        self.rows = rows


class PagedPanel(ListDetailPanel[ListData, DetailData], Generic[ListData, DetailData, R]):
    """A list + detail panel whose list's pages are read on a worker as the table asks."""

    TOTAL_WHEN_INEXACT: ClassVar[bool] = False  # give `read_page` a total the table estimated

    # ---- what the panel says ----
    def read_page(self, at: PageAt) -> Callable[[Desk], list[R]]:
        """How to read the page (called on the worker thread, before the read: what it needs
        of the panel's state is taken then): a read of the Desk."""
        raise NotImplementedError

    def keep_page(self, rows: list[R]) -> None:
        """The panel keeps what it needs of a page's rows (UI thread, before they are drawn)."""

    def to_rows(self, rows: list[R]) -> list[Row]:
        raise NotImplementedError

    # ---- the routing ----
    @on(LazyTable.PageWanted)
    def _on_paged_list_page_wanted(self, message: LazyTable.PageWanted) -> None:
        if message.control.id != self.LIST_ID:
            return
        message.stop()
        table = self.table
        total = table.total if table.exact or self.TOTAL_WHEN_INEXACT else None
        after, before = page_anchors(table, message.offset, message.limit)
        at = PageAt(message.offset, message.limit, after, before, total)
        self.load_page(message.generation, at)

    @work(thread=True, exit_on_error=False, group="panel-page")
    def load_page(self, generation: int, at: PageAt) -> None:
        rows = self.host.call_desk(self.read_page(at))
        self.post_message(PageLoaded(generation, at.offset, rows))

    @on(PageLoaded)
    def _on_paged_list_page_loaded(self, message: PageLoaded) -> None:
        message.stop()
        if message.generation != self.table.generation:
            return
        rows = list(message.rows)
        self.keep_page(rows)
        self.table.set_page(message.generation, message.offset, self.to_rows(rows))
