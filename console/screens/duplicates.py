"""The Duplicates panel: threads that look like an older one, most confident first.

The list (top) has one row per thread waiting for a decision, with its best pending candidate.
Below it the new question and the proposed original side by side (shared words highlighted),
the original's accepted answer, and the score with the scorer's explanation.

The routing is the panel base's (console/screens/panel.py):

    ListWanted → (worker: Desk.duplicate_pairs, the page under the cursor) → ListLoaded, then
    PairsCountWanted → the count apart (PanelScreen.read_apart: dupes.panel.pending_count on a
    read-only connection of its own, every thread waiting counted: ~0.35 s at a million threads,
    which held the Desk's connection and every other key behind it; only the latest request's
    count is shown); "counting…" meanwhile
    LazyTable.PageWanted → (PagedPanel's worker: Desk.duplicate_pairs from the row above or
                            below, keyset, or from the far end)        → PageLoaded
    LazyTable.CursorMoved / `p` → DetailWanted((thread, original)) → (worker: Desk.duplicate_pair)
                                → DetailLoaded
    y / n / m → (worker: Desk.confirm/reject/merge_duplicate) → DecisionSaved | DecisionRefused
    u → DecisionMade(undo) (the shared decision flow of DeskScreen)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Static

from console.desk import Desk
from console.dupes import panel as dupes_panel
from console.dupes.panel import PairRow, PairView, ThreadSide
from console.messages import Decision
from console.safe_text import clip, printable
from console.screens.keys import bindings
from console.screens.paged import PageAt, PagedPanel
from console.screens.paged import one_line as _line
from console.screens.panel import DetailWanted, PanelList
from widgets.latest_work import LatestWork
from widgets.lazy_table import Column, LazyTable, Row
from widgets.side_by_side import Side as CompareSide
from widgets.side_by_side import SideBySide

PAGE = 100
ANSWER_LIMIT = 2_000  # characters of the accepted answer shown

COLUMNS = (
    Column("Score", 5, "right"),
    Column("Thread", 7, "right"),
    Column("Orig.", 7, "right"),
    Column("Alt", 3, "right"),
    Column("Question"),
)

DESK_ACTION = {"confirm": "dupe_confirm", "reject": "dupe_reject", "merge": "dupe_merge"}


@dataclass(frozen=True)
class Pairs:
    """The list as read: the page under the cursor (how many threads wait follows apart)."""

    offset: int
    rows: list[PairRow]
    landing: int | None = None  # the thread the panel was opened for (land_on), if any
    landed: int | None = None  # its row (None: it has no pair left to decide)


# ---- messages of this panel ----
class PairsCountWanted(Message):
    """Count the threads waiting again (after the list was read)."""


def to_row(pair: PairRow) -> Row:
    return Row(
        key=pair.link_id,
        cells=(
            f"{pair.score:.2f}",
            f"#{pair.thread_id}",
            f"#{pair.original_id}",
            str(max(0, pair.candidates - 1)),
            _line(pair.thread_title),
        ),
        tone="" if pair.score >= 0.55 else "dim",
    )


def side(label: str, thread: ThreadSide) -> CompareSide:
    heading = (
        f"{label} #{thread.thread_id} · {thread.status} · {thread.source} · "
        f"by {thread.author} · {thread.created_at[:10]}"
    )
    return CompareSide(heading, thread.title, thread.body, thread.body_length)


def summary(view: PairView, choice: int, choices: int) -> Text:
    """The score line: score, method, which candidate, the explanation, the platform note."""
    text = Text()
    text.append(f"score {view.score:.2f}", style="bold")
    text.append(f" · {view.method}")
    if choices > 1:
        text.append(f" · candidate {choice + 1} of {choices} (p: next)")
    text.append("\n")
    text.append(_line(view.explanation or "no explanation recorded"), style="italic")
    text.append("\n")
    text.append(f"y: {view.platform_note}", style="dim")
    return text


def accepted(view: PairView) -> Text:
    if view.accepted_answer is None:
        return Text(f"The original #{view.original.thread_id} has no accepted answer.", "dim")
    text = Text()
    text.append(
        f"Accepted answer of #{view.original.thread_id} by {_line(view.accepted_author or '')}\n",
        style="bold",
    )
    text.append(printable(clip(view.accepted_answer, ANSWER_LIMIT)))
    return text


def others(view: PairView) -> Text:
    if not view.others:
        return Text("No other candidates for this thread.", style="dim")
    text = Text("Other candidates (p cycles):", style="bold", no_wrap=True, overflow="ellipsis")
    for cand in view.others:
        text.append(f"\n {cand.score:.2f} #{cand.original_id} ")
        text.append(_line(cand.original_title))
    return text


class DuplicatesScreen(PagedPanel[Pairs, PairView, PairRow]):
    HELP_TITLE = "Duplicates"
    LIST_ID = "pairs"
    DETAIL_ID = "pair-detail"
    STATUS_ID = "dupes-status"

    BINDINGS: ClassVar[list[BindingType]] = bindings("dupes")

    def __init__(self) -> None:
        super().__init__()
        self.total: int | None = None  # threads waiting, by the latest count (None: not yet)
        self._counting: LatestWork[int] | None = None
        self.view: PairView | None = None
        self.row: PairRow | None = None
        self.choices: list[int] = []  # candidate originals of the current thread, best first
        self.choice = 0
        self._rows: dict[int, PairRow] = {}
        self._landing: int | None = None  # a thread to put the cursor on (land_on)

    # ---- layout ----
    def make_list(self) -> LazyTable:
        return PanelList(
            COLUMNS,
            page_size=PAGE,
            empty_text="No duplicate candidates wait for a decision.",
            id=self.LIST_ID,
        )

    def compose_detail(self) -> ComposeResult:
        yield Static(Text("Loading…"), id="pair-summary", markup=False)
        yield SideBySide(sanitise=printable, id="pair-compare")
        yield Static("", id="pair-answer", markup=False)
        yield Static("", id="pair-others", markup=False)

    # ---- the list ----
    def land_on(self, item: Hashable) -> None:
        self._landing = int(str(item))
        self.list_data = None  # the next list is shown even if it did not change: its cursor does

    def read_list(self, desk: Desk, cursor: int) -> Pairs:
        landing = self._landing
        landed = None if landing is None else desk.duplicate_position(landing)
        offset = ((cursor if landed is None else landed) // PAGE) * PAGE
        # by its row number: the count may be stale just after a decision (paging from the
        # rows the table holds, or from the far end by the count, is for PageWanted)
        rows = desk.duplicate_pairs(offset, PAGE)
        self.post_message(PairsCountWanted())
        return Pairs(offset, rows, landing, landed)

    def show_list(self, data: Pairs, keep_cursor: bool) -> None:
        self._remember(data.rows)
        total, exact = self.total, self.total is not None
        if total is None:  # what the page shows; the count follows
            total = data.offset + len(data.rows) + (1 if len(data.rows) == PAGE else 0)
        self.table.reset(
            total,
            [to_row(r) for r in data.rows],
            offset=data.offset,
            keep_cursor=keep_cursor and data.landed is None,
            exact=exact,
        )
        if data.landing is not None and data.landing == self._landing:
            self._landing = None  # landed, or the thread has no pair left to decide
            if data.landed is not None and data.landed < data.offset + len(data.rows):
                self.table.cursor_row = data.landed
                self.want_cursor_detail()
        self._show_count()
        if not data.rows and data.offset == 0:
            self._show_nothing()

    def _show_count(self) -> None:
        total = self.total
        if total is None:
            self.set_status("Duplicates · counting…")
        else:
            self.set_status(f"Duplicates · {total:,} thread{'s' if total != 1 else ''} to decide")

    @on(PairsCountWanted)
    def _on_count_wanted(self, message: PairsCountWanted) -> None:
        message.stop()
        if self._counting is None:
            self._counting = self.read_apart(
                lambda cache: dupes_panel.pending_count(cache), self._counted, group="pairs-count"
            )
        self._counting.request()

    def _counted(self, total: int) -> None:
        self.total = total
        if self.table.loaded:
            self.table.set_total(total)
        self._show_count()

    def _remember(self, rows: list[PairRow]) -> None:
        if len(self._rows) > 20 * PAGE:
            self._rows.clear()
        self._rows.update({r.link_id: r for r in rows})

    def read_page(self, at: PageAt) -> Callable[[Desk], list[PairRow]]:
        # from the row above or below (keyset), or from the far end: never OFFSET over the list
        return lambda desk: desk.duplicate_pairs(**at.keywords())

    def keep_page(self, rows: list[PairRow]) -> None:
        self._remember(rows)

    def to_rows(self, rows: list[PairRow]) -> list[Row]:
        return [to_row(r) for r in rows]

    # ---- one pair ----
    def detail_for_cursor(self, key: Hashable) -> Hashable | None:
        row = self._rows.get(int(str(key)))
        if row is None:
            return None
        if self.row is not None and self.row.link_id == row.link_id and self.choices:
            original = self.choices[self.choice]  # same row after a reload: keep the choice
        else:
            self.choices, self.choice = [], 0
            original = row.original_id
        self.row = row
        return (row.thread_id, original)

    def read_detail(self, desk: Desk, key: Hashable) -> PairView:
        pair = cast(tuple[int, int], key)
        return desk.duplicate_pair(pair=pair)

    def show_detail(self, data: PairView, same_item: bool) -> None:
        view = self.view = data
        if not self.choices:
            self.choices = [view.original.thread_id] + [c.original_id for c in view.others]
            self.choice = 0
        self.query_one("#pair-summary", Static).update(
            summary(view, self.choice, len(self.choices))
        )
        self.query_one("#pair-compare", SideBySide).show(
            side("New", view.thread), side("Original", view.original)
        )
        self.query_one("#pair-answer", Static).update(accepted(view))
        self.query_one("#pair-others", Static).update(others(view))

    def _show_nothing(self) -> None:
        self.view, self.row, self.choices = None, None, []
        self.forget_detail()
        self.query_one("#pair-summary", Static).update(
            Text("Nothing to compare: every proposed pair has been decided.", style="dim")
        )
        self.query_one("#pair-compare", SideBySide).show(
            CompareSide("", "", ""), CompareSide("", "", "")
        )
        self.query_one("#pair-answer", Static).update("")
        self.query_one("#pair-others", Static).update("")

    # ---- keys ----
    def action_pick(self) -> None:
        if self.row is None or len(self.choices) < 2:
            self.notify("This thread has no other candidate", severity="warning", markup=False)
            return
        self.choice = (self.choice + 1) % len(self.choices)
        self.post_message(DetailWanted((self.row.thread_id, self.choices[self.choice])))

    def action_open_thread(self) -> None:
        if self.view is not None:
            self.open_thread(self.view.thread.thread_id)

    def action_open_original(self) -> None:
        if self.view is not None:
            self.open_thread(self.view.original.thread_id)

    def activate(self, key: Hashable) -> None:
        self.action_open_thread()

    def detail_key_of_row(self, row_key: Hashable) -> Hashable:
        row = self._rows[int(str(row_key))]
        return (row.thread_id, row.original_id)

    # ---- decisions ----
    def _decide(self, action: str) -> None:
        if self.view is None:
            self.notify("No pair is shown", severity="warning", markup=False)
            return
        self.act_on_chosen(lambda view: self._decide_on(view, action))  # the cursor's row

    def _decide_on(self, view: PairView, action: str) -> None:
        thread_id, original_id = view.thread.thread_id, view.original.thread_id
        decision = Decision(DESK_ACTION[action], (thread_id,), {"original_id": original_id})

        def run(desk: Desk) -> str:
            do = {
                "dupe_confirm": desk.confirm_duplicate,
                "dupe_reject": desk.reject_duplicate,
                "dupe_merge": desk.merge_duplicate,
            }[decision.action]
            result = do(thread_id, original_id)
            return desk.duplicate_outcome(result, thread_id, original_id)

        self.decide_in_panel(decision, run)

    def action_confirm(self) -> None:
        self._decide("confirm")

    def action_reject(self) -> None:
        self._decide("reject")

    def action_merge(self) -> None:
        self._decide("merge")

    def after_decision(self, decision: Decision) -> None:
        """What was done is said once, in the status line (and the log, L)."""
        self.choices, self.choice = [], 0
        self.row = None
        super().after_decision(decision)
