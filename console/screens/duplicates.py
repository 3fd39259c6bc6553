"""The Duplicates panel: threads that look like an older one, most confident first.

The list (top) has one row per thread waiting for a decision, with its best pending candidate.
Below it the new question and the proposed original side by side (shared words highlighted),
the original's accepted answer, and the score with the scorer's explanation.

    PairsRequested → (worker: Desk.duplicate_pairs_count + duplicate_pairs) → PairsLoaded
    LazyTable.PageWanted → (worker: Desk.duplicate_pairs)                   → PairsPageLoaded
    LazyTable.CursorMoved / `p` → PairRequested → (worker: Desk.duplicate_pair) → PairLoaded
    y / n / m → (worker: Desk.confirm/reject/merge_duplicate) → DecisionSaved | DecisionRefused
    u → DecisionMade(undo) (the shared decision flow of DeskScreen)
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static

from console.dupes.panel import PairRow, PairView, ThreadSide
from console.errors import PeerdeskError
from console.messages import (
    Decision,
    DecisionMade,
    DecisionRefused,
    DecisionSaved,
    RefreshRequested,
    WorkFailed,
)
from console.safe_text import clip, printable
from console.screens.base import DeskScreen
from console.screens.keys import bindings
from widgets.lazy_table import Column, LazyTable, Row
from widgets.side_by_side import Side as CompareSide
from widgets.side_by_side import SideBySide
from widgets.status_bar import StatusBar
from widgets.title_bar import TitleBar

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


# ---- messages of this panel ----
class PairsRequested(Message):
    def __init__(self, *, keep_cursor: bool = False) -> None:
        super().__init__()
        self.keep_cursor = keep_cursor


class PairsLoaded(Message):
    def __init__(
        self, request_id: int, total: int, offset: int, rows: list[PairRow], keep_cursor: bool
    ) -> None:
        super().__init__()
        self.request_id = request_id
        self.total = total
        self.offset = offset
        self.rows = rows
        self.keep_cursor = keep_cursor


class PairsPageLoaded(Message):
    def __init__(self, generation: int, offset: int, rows: list[PairRow]) -> None:
        super().__init__()
        self.generation = generation
        self.offset = offset
        self.rows = rows


class PairRequested(Message):
    def __init__(self, thread_id: int, original_id: int) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.original_id = original_id


class PairLoaded(Message):
    def __init__(self, request_id: int, view: PairView) -> None:
        super().__init__()
        self.request_id = request_id
        self.view = view


def _line(text: str) -> str:
    return printable(text, single_line=True)


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


class PairList(LazyTable):
    """The list of pairs: a LazyTable without selection (each pair is decided on its own)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "toggle_selection"


class Detail(VerticalScroll, inherit_bindings=False):
    """The comparison, scrolled by the screen's keys (its own would shadow the list's j/k)."""


class DuplicatesScreen(DeskScreen):
    CSS_PATH = "duplicates.tcss"
    HELP_TITLE = "Duplicates"

    BINDINGS: ClassVar[list[BindingType]] = bindings("dupes")

    def __init__(self) -> None:
        super().__init__()
        self.request_id = 0
        self.pair_request = 0
        self.total = 0
        self.view: PairView | None = None
        self.row: PairRow | None = None
        self.choices: list[int] = []  # candidate originals of the current thread, best first
        self.choice = 0
        self._shown_once = False
        self._rows: dict[int, PairRow] = {}

    # ---- layout ----
    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield PairList(
            COLUMNS,
            page_size=PAGE,
            empty_text="No duplicate candidates wait for a decision.",
            id="pairs",
        )
        with Detail(id="pair-detail", can_focus=False):
            yield Static(Text("Loading…"), id="pair-summary", markup=False)
            yield SideBySide(sanitise=printable, id="pair-compare")
            yield Static("", id="pair-answer", markup=False)
            yield Static("", id="pair-others", markup=False)
        yield StatusBar(id="dupes-status")
        yield Footer(compact=True, show_command_palette=False)

    @property
    def table(self) -> LazyTable:
        return self.query_one("#pairs", LazyTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._update_status()
        self.post_message(PairsRequested())

    def on_screen_resume(self) -> None:
        if self._shown_once:
            self.post_message(RefreshRequested())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        role_action = self.ROLE_OF_ACTION.get(action)
        return role_action is None or self.desk.can(role_action)

    def _update_status(self) -> None:
        bar = self.query_one("#dupes-status", StatusBar)
        bar.left = f"Duplicates · {self.total:,} thread{'s' if self.total != 1 else ''} to decide"
        bar.right = "? help · esc queue"

    # ---- the list ----
    @on(PairsRequested)
    def _on_pairs_requested(self, message: PairsRequested) -> None:
        message.stop()
        self.request_id += 1
        offset = (self.table.cursor_row // PAGE) * PAGE if message.keep_cursor else 0
        self.load_pairs(self.request_id, offset, message.keep_cursor)

    @work(thread=True, exclusive=True, exit_on_error=False, group="pairs")
    def load_pairs(self, request_id: int, offset: int, keep: bool) -> None:
        def read(desk):  # type: ignore[no-untyped-def]
            return desk.duplicate_pairs_count(), desk.duplicate_pairs(offset, PAGE)

        total, rows = self.host.call_desk(read)
        self.post_message(PairsLoaded(request_id, total, offset, rows, keep))

    @on(PairsLoaded)
    def _on_pairs_loaded(self, message: PairsLoaded) -> None:
        message.stop()
        if message.request_id != self.request_id:
            return
        self.total = message.total
        self._remember(message.rows)
        self.table.reset(
            message.total,
            [to_row(r) for r in message.rows],
            offset=message.offset,
            keep_cursor=message.keep_cursor,
        )
        self._update_status()
        self._shown_once = True
        if not message.total:
            self._show_nothing()

    def _remember(self, rows: list[PairRow]) -> None:
        if len(self._rows) > 20 * PAGE:
            self._rows.clear()
        self._rows.update({r.link_id: r for r in rows})

    @on(LazyTable.PageWanted, "#pairs")
    def _on_page_wanted(self, message: LazyTable.PageWanted) -> None:
        message.stop()
        self.load_page(message.generation, message.offset, message.limit)

    @work(thread=True, exit_on_error=False, group="pairs-page")
    def load_page(self, generation: int, offset: int, limit: int) -> None:
        rows = self.host.call_desk(lambda desk: desk.duplicate_pairs(offset, limit))
        self.post_message(PairsPageLoaded(generation, offset, rows))

    @on(PairsPageLoaded)
    def _on_page_loaded(self, message: PairsPageLoaded) -> None:
        message.stop()
        self._remember(message.rows)
        self.table.set_page(message.generation, message.offset, [to_row(r) for r in message.rows])

    @on(WorkFailed)
    def _on_work_failed(self, message: WorkFailed) -> None:
        self.table.forget_pending()

    @on(LazyTable.CursorMoved, "#pairs")
    def _on_cursor(self, message: LazyTable.CursorMoved) -> None:
        message.stop()
        row = None if message.key is None else self._rows.get(int(message.key))  # type: ignore[call-overload]
        if row is None:
            return
        if self.row is not None and self.row.link_id == row.link_id and self.choices:
            original = self.choices[self.choice]  # same row after a reload: keep the choice
        else:
            self.choices, self.choice = [], 0
            original = row.original_id
        self.row = row
        self.post_message(PairRequested(row.thread_id, original))

    # ---- one pair ----
    @on(PairRequested)
    def _on_pair_requested(self, message: PairRequested) -> None:
        message.stop()
        self.pair_request += 1
        self.load_pair(self.pair_request, message.thread_id, message.original_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="pair")
    def load_pair(self, request_id: int, thread_id: int, original_id: int) -> None:
        view = self.host.call_desk(lambda desk: desk.duplicate_pair(pair=(thread_id, original_id)))
        self.post_message(PairLoaded(request_id, view))

    @on(PairLoaded)
    def _on_pair_loaded(self, message: PairLoaded) -> None:
        message.stop()
        if message.request_id != self.pair_request:
            return
        view = message.view
        self.view = view
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
        self.query_one("#pair-detail", Detail).scroll_home(animate=False)

    def _show_nothing(self) -> None:
        self.view, self.row, self.choices = None, None, []
        self.query_one("#pair-summary", Static).update(
            Text("Nothing to compare: every proposed pair has been decided.", style="dim")
        )
        self.query_one("#pair-compare", SideBySide).show(
            CompareSide("", "", ""), CompareSide("", "", "")
        )
        self.query_one("#pair-answer", Static).update("")
        self.query_one("#pair-others", Static).update("")

    @on(RefreshRequested)
    def _on_refresh(self, message: RefreshRequested) -> None:
        message.stop()
        self.post_message(PairsRequested(keep_cursor=True))

    # ---- keys ----
    def action_scroll_detail(self, direction: int) -> None:
        detail = self.query_one("#pair-detail", Detail)
        if direction > 0:
            detail.scroll_page_down(animate=False)
        else:
            detail.scroll_page_up(animate=False)

    def action_pick(self) -> None:
        if self.row is None or len(self.choices) < 2:
            self.notify("This thread has no other candidate", severity="warning", markup=False)
            return
        self.choice = (self.choice + 1) % len(self.choices)
        self.post_message(PairRequested(self.row.thread_id, self.choices[self.choice]))

    def _open(self, thread_id: int) -> None:
        from console.screens.thread import ThreadScreen

        self.app.push_screen(ThreadScreen(thread_id))

    def action_open_thread(self) -> None:
        if self.view is not None:
            self._open(self.view.thread.thread_id)

    def action_open_original(self) -> None:
        if self.view is not None:
            self._open(self.view.original.thread_id)

    @on(LazyTable.RowActivated, "#pairs")
    def _on_activated(self, message: LazyTable.RowActivated) -> None:
        message.stop()
        self.action_open_thread()

    def action_back(self) -> None:
        self.app.switch_mode("queue")

    def action_refresh(self) -> None:
        self.post_message(RefreshRequested())

    # ---- decisions ----
    def _decide(self, action: str) -> None:
        view = self.view
        if view is None:
            self.notify("No pair is shown", severity="warning", markup=False)
            return
        decision = Decision(
            DESK_ACTION[action],
            (view.thread.thread_id,),
            {"original_id": view.original.thread_id},
        )
        self.save_duplicate_decision(decision)

    def action_confirm(self) -> None:
        self._decide("confirm")

    def action_reject(self) -> None:
        self._decide("reject")

    def action_merge(self) -> None:
        self._decide("merge")

    def action_undo(self) -> None:
        self.post_message(DecisionMade(Decision("undo")))

    @work(thread=True, exit_on_error=False, group="decision")
    def save_duplicate_decision(self, decision: Decision) -> None:
        thread_id = decision.target_ids[0]
        original_id = int(decision.params["original_id"])

        def run(desk):  # type: ignore[no-untyped-def]
            do = {
                "dupe_confirm": desk.confirm_duplicate,
                "dupe_reject": desk.reject_duplicate,
                "dupe_merge": desk.merge_duplicate,
            }[decision.action]
            result = do(thread_id, original_id)
            return desk.duplicate_outcome(result, thread_id, original_id)

        try:
            text, batch_id = self.call_desk_acting(run)
        except PeerdeskError as error:
            self.post_message(DecisionRefused(decision, str(error)))
            return
        self.post_message(DecisionSaved(decision, text, batch_id))

    def after_decision(self, decision: Decision) -> None:
        """What was done is said once, in the status line (and the log, L)."""
        self.choices, self.choice = [], 0
        self.row = None
        super().after_decision(decision)
