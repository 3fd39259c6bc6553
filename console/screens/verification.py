"""The Verification panel: answers to check, highest impact first, each with its signals.

Top: the queue (impact, score, accepted mark, kind, thread, question). Below: what is decided
on — the status (pending, a four-eyes proposal, a re-check, a blind calibration item), the score
with every signal and its reason, the question, the candidate answer, and the competing answers
with their scores and strongest reasons (`[`/`]` move between them; `p` picks the highlighted
one over the asker's). At the bottom: each moderator's calibration agreement and the review list.

The routing is the panel base's (console/screens/panel.py):

    ListWanted → (worker: verification.waiting, agreement, disagreements) → ListLoaded: the
    answers as scored so far, at once
    (first visit, r, a decision) ScoreWanted → (worker, on a connection of its own:
    verification.score_changed_apart, the threads with new activity scored 50 a transaction)
    → StepScored after each 50 that kept an answer → ListWanted while the panel is shown (a
    hidden panel reads its list on its next visit) → Scored; "scoring new activity…" meanwhile
    (said once it has taken 0.3 s: the check on every visit is over in a moment)
    LazyTable.CursorMoved → DetailWanted(post) → (worker: verification.answer) → DetailLoaded
    v / x / e / p / c / d → (worker: verification.verify/reject/...) → DecisionSaved | Refused
    u → DecisionMade(undo) (the shared decision flow of DeskScreen)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from console.desk import Desk
from console.dupes.stored import Candidate
from console.errors import PeerdeskError
from console.messages import Decision, RefreshRequested, WorkFailed
from console.models import ThreadView
from console.safe_text import clip, printable
from console.screens.help import key_help
from console.screens.keys import bindings
from console.screens.paged import one_line as _line
from console.screens.panel import (
    DetailWanted,
    ListDetailPanel,
    ListWanted,
    PanelList,
    show_text,
)
from console.verify.actions import REJECT_REASONS
from console.verify.panel import Agreement, AnswerSide, AnswerView, Disagreement, KnownAnswer
from console.verify.queue import QueueRow
from widgets.lazy_table import Column, LazyTable, Row

LIMIT = 500  # queue rows read at once
BODY_LIMIT = 3_000  # characters of the question and of the candidate shown
OTHER_LIMIT = 300  # characters of each competing answer shown

COLUMNS = (
    Column("Impact", 6, "right"),
    Column("Score", 5, "right"),
    Column("A", 1),
    Column("Kind", 9),
    Column("Thread", 7, "right"),
    Column("Question"),
)

SAY_SCORING_AFTER = 0.3  # seconds of scoring before the status line says so
MOVES = frozenset({"j", "k", "up", "down", "g", "G", "home", "end", "pageup", "pagedown"})

KIND_LABEL = {
    "answer": "",
    "four_eyes": "4-eyes",
    "recheck": "re-check",
    "calibration": "calibrate",
}


@dataclass(frozen=True)
class Answers:
    """The queue as read, with the calibration summary and any problem with the settings."""

    rows: list[QueueRow]
    agreement: list[Agreement]
    disagreements: list[Disagreement]
    problem: str | None


class ScoreWanted(Message):
    """Score the threads with new activity, apart; the list is read again as they are."""


class StepScored(Message):
    """A step of the scoring apart kept answers: the list is read again if it is shown."""


class Scored(Message):
    def __init__(self, kept: int) -> None:
        super().__init__()
        self.kept = kept


class AnswerRequested(DetailWanted):
    """Show one answer (`post_id`), e.g. the one the Thread screen opened the panel on."""

    def __init__(self, post_id: int) -> None:
        super().__init__(post_id)
        self.post_id = post_id


# ---- the known answer beside a thread's duplicates (used by the Thread screen) ----
class KnownAnswerLoaded(Message):
    def __init__(self, thread_id: int, known: KnownAnswer | None) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.known = known


def known_answer_of(
    desk: Desk, view: ThreadView, candidates: list[Candidate]
) -> KnownAnswer | None:
    """The verified answer of the thread this one duplicates (confirmed, or the candidates)."""
    originals = ([view.duplicate_of] if view.duplicate_of else []) + [
        c.original_id for c in candidates
    ]
    door = desk.verification
    for original in originals:
        found = door.known_answer(original)
        if found is not None:
            return found
    return None


def known_answer_text(known: KnownAnswer) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(f"Known answer on #{known.thread_id}", style="bold")
    text.append(f" (verified by {_line(known.verified_by)}) {_line(known.author)}: ")
    text.append(_line(clip(known.excerpt, 200)), style="italic")
    return text


def to_row(row: QueueRow) -> Row:
    return Row(
        key=row.post_id,
        cells=(
            f"{row.impact:.0f}",
            str(row.score),
            "✓" if row.accepted else "",
            KIND_LABEL.get(row.kind, row.kind),
            f"#{row.thread_id}",
            _line(row.title),
        ),
        tone="" if row.kind != "answer" or row.score >= 50 else "dim",
    )


def signals_text(side: AnswerSide) -> Text:
    text = Text()
    for signal in sorted(side.signals, key=lambda s: -abs(s.points)):
        style = "green" if signal.points > 0 else "red"
        text.append(f"{signal.points:+4d} ", style=f"bold {style}")
        text.append(_line(signal.reason) + "\n")
    if not side.signals:
        text.append("no signal either way\n", style="dim")
    return text


def summary(view: AnswerView, keys: dict[str, str] | None = None) -> Text:
    """Status, score and why: the top of the detail. `keys`: the keys bound now, by binding
    id (a calibration item names the ones that decide it)."""
    cand = view.candidate
    text = Text()
    text.append(f"answer {cand.post_id} · score {cand.score}", style="bold")
    text.append(f" · impact {view.impact:.0f}")
    if view.payout_minor:
        text.append(f" · payout {view.payout_minor / 100:.2f} at stake")
    text.append("\n")
    warn = view.blind or view.proposed_state or view.recheck
    status = view.status_line
    if view.blind and keys:
        verify, reject = keys.get("verify.verify", "v"), keys.get("verify.reject", "x")
        status = f"calibration: decide blind ({verify} verified / {reject} rejected)"
    text.append(_line(status) + "\n", style="bold yellow" if warn else "")
    text.append_text(signals_text(cand))
    platform = (
        "Discourse: v accepts it (solved plugin) and posts an official note"
        if view.source_kind in ("discourse", "demo")
        else "this platform cannot receive it: decisions stay in peerdesk, with the reason"
    )
    text.append(platform, style="dim")
    return text


def question(view: AnswerView) -> Text:
    text = Text()
    text.append(f"#{view.thread_id} ", style="bold")
    text.append(_line(view.title), style="bold")
    text.append(f"  asked by {_line(view.asker)}\n", style="dim")
    text.append(printable(clip(view.question, BODY_LIMIT)))
    return text


def candidate(view: AnswerView) -> Text:
    cand = view.candidate
    text = Text()
    mark = " · accepted by the asker" if cand.accepted else ""
    text.append(f"Answer {cand.position}. by {_line(cand.author)}{mark}\n", style="bold")
    text.append(printable(clip(cand.body, BODY_LIMIT)))
    return text


def competitors(view: AnswerView, highlighted: int) -> Text:
    if not view.competitors:
        return Text("No competing answer in this thread.", style="dim")
    text = Text("Competing answers ([ ] move, p picks the highlighted one):\n", style="bold")
    for index, other in enumerate(view.competitors):
        here = index == highlighted
        pointer = "▶ " if here else "  "
        accepted = " ✓" if other.accepted else ""
        state = f" [{other.state}]" if other.state and other.state != "pending" else ""
        head = f"{pointer}{other.position}. {other.score:3d}{accepted}{state} {_line(other.author)}"
        text.append(head + "\n", style="bold reverse" if here else "bold")
        text.append(f"    {_line(other.why(3))}\n", style="italic")
        text.append(f"    {_line(clip(other.body, OTHER_LIMIT))}\n", style="dim")
    return text


def calibration(agreement: list[Agreement], disagreements: list[Disagreement]) -> Text:
    text = Text("Calibration: ", style="bold")
    if agreement:
        text.append(
            " · ".join(
                f"{_line(a.moderator)} {a.agreed}/{a.calibrated} ({a.rate:.0%})" for a in agreement
            )
        )
    else:
        text.append("no calibrated decision yet", style="dim")
    text.append(f"\nReview list: {len(disagreements)} disagreement(s)", style="bold")
    for d in disagreements[:5]:
        text.append(
            f"\n  {d.post_id} #{d.thread_id} {d.kind}: {_line(d.first_by)} {d.first_state}, "
            f"{_line(d.reviewer)} {d.review_state} — {_line(clip(d.title, 40))}"
        )
    return text


def perform(desk: Desk, decision: Decision, view: AnswerView, blind: bool) -> str:
    """One verification decision through the Desk; returns what to tell the moderator."""
    door = desk.verification
    post = decision.target_ids[0]
    params = decision.params
    expected = str(params.get("expected_hash") or "") or None
    action = decision.action
    if blind and action in ("verify", "reject"):
        door.calibrate(post, "verified" if action == "verify" else "rejected")
    elif action == "verify":
        door.verify(post, expected_hash=expected)
    elif action == "reject":
        door.reject(post, str(params["reason"]), str(params.get("text", "")), expected)
    elif action == "needs_edit":
        door.needs_edit(post, str(params.get("text", "")), expected)
    elif action == "pick":
        door.pick(post, expected_hash=expected)
    elif action in ("confirm", "disagree"):
        shown = (view.proposed_state, view.proposed_by or "") if view.proposed_state else None
        door.confirm(post, agree=action == "confirm", proposal=shown, expected_hash=expected)
    else:
        raise PeerdeskError(f"Unknown action {action!r}")
    after = door.answer(post)
    return f"Answer {post}: {after.status_line} (u undoes it)"


class VerificationScreen(ListDetailPanel[Answers, AnswerView]):
    HELP_TITLE = "Verification"
    LIST_ID = "answers"
    DETAIL_ID = "answer-detail"
    STATUS_ID = "verify-status"
    STATUS_RIGHT = "? help · esc back"

    BINDINGS: ClassVar[list[BindingType]] = bindings("verify")

    def __init__(self, focus_post: int | None = None) -> None:
        super().__init__()
        self.focus_post = focus_post  # opened on one answer (from the Thread screen)
        self.rows: list[QueueRow] = []
        self.view: AnswerView | None = None
        self.highlighted = 0
        self._pinned = focus_post is not None
        self._pinned_row: int | None = None
        self.scoring = False  # new activity is being scored apart
        self.scoring_said = False  # ...and the status line says so (it took a while)
        self._scoring_timer: Timer | None = None
        self._score_again = False  # asked again meanwhile: score once more when it is done

    # ---- layout ----
    def make_list(self) -> LazyTable:
        return PanelList(
            COLUMNS, page_size=LIMIT, empty_text="No answer waits for verification.", id="answers"
        )

    def compose_detail(self) -> ComposeResult:
        yield Static(Text("Loading…"), id="answer-summary", markup=False)
        yield Static("", id="answer-question", markup=False)
        yield Static("", id="answer-candidate", markup=False)
        yield Static("", id="answer-competitors", markup=False)
        yield Static("", id="answer-calibration", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.post_message(ScoreWanted())
        if self.focus_post is not None:
            self.post_message(AnswerRequested(self.focus_post))

    # ---- new activity scored apart (the list shows what is scored so far meanwhile) ----
    @on(RefreshRequested)
    def _score_on_refresh(self, message: RefreshRequested) -> None:
        self.post_message(ScoreWanted())  # (the panel base reads the list again)

    @on(ScoreWanted)
    def _on_score_wanted(self, message: ScoreWanted) -> None:
        message.stop()
        if self.scoring:
            self._score_again = True
            return
        self.scoring = True
        # said only when it takes a while: the check every visit (and every 30 s) finds nothing
        # to score in a moment, and the status line would flicker
        self._scoring_timer = self.set_timer(SAY_SCORING_AFTER, self._say_scoring)
        self._score()

    def _say_scoring(self) -> None:
        if self.scoring:
            self.scoring_said = True
            if self._shown_once:  # (before, the status says the list is loading)
                self._update_status()

    @work(thread=True, exit_on_error=False, group="verify-score")
    def _score(self) -> None:
        def progress(kept: int) -> None:
            if kept:
                self.post_message(StepScored())

        kept = self.host.desk.verification.score_changed_apart(progress=progress)
        self.post_message(Scored(kept))

    @on(StepScored)
    def _on_step_scored(self, message: StepScored) -> None:
        """Read the list again while it is shown. Hidden, it is read on the next visit (every
        visit refreshes): the first scoring at a million threads runs on for seconds after an
        escape, and a read of 500 rows for each of its steps held the Desk's connection from
        the keys pressed meanwhile."""
        message.stop()
        if self.is_current:
            self.post_message(ListWanted(keep_cursor=True))

    @on(Scored)
    def _on_scored(self, message: Scored) -> None:
        message.stop()
        self._scored()

    @on(WorkFailed)
    def _on_score_failed(self, message: WorkFailed) -> None:
        if message.group == "verify-score":
            self._scored()

    def _scored(self) -> None:
        self.scoring = False
        if self._scoring_timer is not None:
            self._scoring_timer.stop()
            self._scoring_timer = None
        if self.scoring_said:
            self.scoring_said = False
            if self._shown_once:
                self._update_status()
        if self._score_again:
            self._score_again = False
            self.post_message(ScoreWanted())

    def on_key(self, event: events.Key) -> None:
        if event.key in MOVES:
            self._pinned = False  # the moderator moves in the queue: follow the cursor again

    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.role_allows(action):
            return False
        view = self.view
        if action in ("confirm", "disagree"):
            return view is not None and bool(view.proposed_state)
        return not (action in ("needs_edit", "pick") and view is not None and view.blind)

    def _update_status(self) -> None:
        count = len(self.rows)
        more = "+" if count >= LIMIT else ""
        scoring = " · scoring new activity…" if self.scoring_said else ""
        self.set_status(
            f"Verification · {count}{more} answer{'s' if count != 1 else ''} to check{scoring}"
        )

    # ---- the queue (every row at once: LIMIT) ----
    def read_list(self, desk: Desk, cursor: int) -> Answers:
        door = desk.verification
        problem = door.settings().problem
        return Answers(door.waiting(limit=LIMIT), door.agreement(), door.disagreements(), problem)

    def show_list(self, data: Answers, keep_cursor: bool) -> None:
        self.rows = data.rows
        self.table.reset(len(data.rows), [to_row(r) for r in data.rows], keep_cursor=True)
        show_text(
            self.query_one("#answer-calibration", Static),
            calibration(data.agreement, data.disagreements),
        )
        if data.problem:
            self.notify(data.problem, severity="warning", timeout=10, markup=False)
        self._update_status()
        if not data.rows and self.focus_post is None:
            self._show_nothing()

    @on(LazyTable.PageWanted, "#answers")
    def _on_page_wanted(self, message: LazyTable.PageWanted) -> None:
        message.stop()  # every row is loaded at once (LIMIT): nothing more to fetch

    def detail_for_cursor(self, key: Hashable) -> Hashable | None:
        post = int(str(key))
        if self._pinned:  # opened on one answer: keep it until the moderator moves the cursor
            if self._pinned_row is None or self._pinned_row == post:
                self._pinned_row = post
                self.shown_at = key  # the keys act on the answer shown while the cursor stays
                return None
            self._pinned = False
        if self.view is None or self.view.candidate.post_id != post:
            return post
        self.shown_at = key
        return None

    def detail_key_of_row(self, row_key: Hashable) -> Hashable:
        return int(str(row_key))

    # ---- one answer ----
    def read_detail(self, desk: Desk, key: Hashable) -> AnswerView:
        return desk.verification.answer(int(str(key)))

    def show_detail(self, data: AnswerView, same_item: bool) -> None:
        same = self.view is not None and self.view.candidate.post_id == data.candidate.post_id
        self.view = data
        if not same:
            self.highlighted = 0
        self._render_view()
        self.refresh_bindings()

    def _render_view(self) -> None:
        view = self.view
        if view is None:
            return
        self.highlighted = max(0, min(self.highlighted, len(view.competitors) - 1))
        keys = {entry.binding_id: entry.keys for entry in key_help(self)} if view.blind else {}
        show_text(self.query_one("#answer-summary", Static), summary(view, keys))
        show_text(self.query_one("#answer-question", Static), question(view))
        show_text(self.query_one("#answer-candidate", Static), candidate(view))
        show_text(
            self.query_one("#answer-competitors", Static), competitors(view, self.highlighted)
        )

    def _show_nothing(self) -> None:
        self.view = None
        self.forget_detail()
        self.query_one("#answer-summary", Static).update(
            Text("Nothing to verify: every answer in the queue has been decided.", style="dim")
        )
        for name in ("question", "candidate", "competitors"):
            self.query_one(f"#answer-{name}", Static).update("")

    # ---- keys ----
    def action_competitor(self, step: int) -> None:
        if self.view is None or not self.view.competitors:
            return
        self.highlighted = (self.highlighted + step) % len(self.view.competitors)
        self._render_view()

    def action_open_thread(self) -> None:
        if self.view is not None:
            self.open_thread(self.view.thread_id)

    def activate(self, key: Hashable) -> None:
        self.action_open_thread()

    def action_back(self) -> None:
        if self.focus_post is not None:
            self.app.pop_screen()
        else:
            super().action_back()

    # ---- decisions ----
    def _chosen(self, act: Callable[[AnswerView], None]) -> None:
        """`act` on the answer under the cursor (`act_on_chosen`), or say none is shown."""
        if self.view is None and self.table.current_key is None:
            self.notify("No answer is shown", severity="warning", markup=False)
            return
        self.act_on_chosen(act)

    def _decide(self, action: str, post_id: int | None = None, **params: object) -> None:
        self._chosen(lambda view: self._decide_on(view, action, post_id, **params))

    def _decide_on(
        self, view: AnswerView, action: str, post_id: int | None = None, **params: object
    ) -> None:
        target = view.candidate.post_id if post_id is None else post_id
        expected = view.candidate.body_hash
        if post_id is not None:
            expected = next(
                (c.body_hash for c in view.competitors if c.post_id == post_id), expected
            )
        decision = Decision(action, (target,), {"expected_hash": expected, **params})
        self.decide_in_panel(decision, lambda desk: perform(desk, decision, view, view.blind))

    def action_verify(self) -> None:
        self._decide("verify")

    def action_reject(self) -> None:
        self._chosen(self._reject)

    def _reject(self, view: AnswerView) -> None:
        if view.blind:
            self._decide_on(view, "reject")
            return
        from console.screens.verify_reason import ReasonScreen

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer is not None:
                self._decide_on(view, "reject", reason=answer[0], text=answer[1])

        self.app.push_screen(
            ReasonScreen(
                f"Reject answer {view.candidate.post_id}: why?",
                REJECT_REASONS,
                placeholder="more detail (optional)",
                need_text=False,
            ),
            chosen,
        )

    def action_needs_edit(self) -> None:
        self._chosen(self._needs_edit)

    def _needs_edit(self, view: AnswerView) -> None:
        from console.screens.verify_reason import ReasonScreen

        def written(answer: tuple[str, str] | None) -> None:
            if answer is not None:
                self._decide_on(view, "needs_edit", text=answer[1])

        self.app.push_screen(
            ReasonScreen(
                f"Ask {_line(view.candidate.author)} to edit answer {view.candidate.post_id}",
                None,
                placeholder="what should change (sent to the author)",
                need_text=True,
            ),
            written,
        )

    def action_pick(self) -> None:
        view = self.view
        if view is None or not view.competitors:
            self.notify("There is no other answer to pick", severity="warning", markup=False)
            return
        if not self.shows_chosen():  # the highlight is in the answer shown, not the cursor's
            self.notify(
                "The answer under the cursor is still being read: pick once it is shown",
                severity="warning",
                markup=False,
            )
            return
        self._decide_on(view, "pick", view.competitors[self.highlighted].post_id)

    def action_confirm(self) -> None:
        self._decide("confirm")

    def action_disagree(self) -> None:
        self._decide("disagree")

    def after_decision(self, decision: Decision) -> None:
        if decision.target_ids and decision.action == "pick":
            self.post_message(AnswerRequested(decision.target_ids[0]))
        super().after_decision(decision)
