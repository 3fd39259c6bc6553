"""One member across every source (`M` on a Queue row or a post): accounts with join date and
reputation per platform, a line of counts, then every section's newest lines in one list.

    MemberRequested → (worker: Desk.member) → MemberLoaded

The data comes whole from console.members.profile; this screen only lays it out. `enter` opens
the thread of the line under the cursor; `tab` jumps to the next section.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Static

from console.errors import PeerdeskError
from console.members import MemberProfile, Section
from console.safe_text import printable
from console.screens.base import DeskScreen
from console.screens.keys import bindings
from widgets.key_bar import KeyBar
from widgets.lazy_table import Column, LazyTable, Row
from widgets.status_bar import StatusBar
from widgets.title_bar import TitleBar

COLUMNS = (
    Column("When UTC", 16),
    Column("Section", 10),
    Column("What"),
)
SHORT = {
    "Posts": "post",
    "Accepted answers": "accepted",
    "Verified answers": "verified",
    "Flags received": "flagged",
    "Flags raised": "flagged by",
    "Moderator notes": "note",
    "Claims": "claim",
    "Decisions": "decision",
    "Rewards": "reward",
    "Escalations": "escalated",
}


class MemberLoaded(Message):
    def __init__(self, profile: MemberProfile) -> None:
        super().__init__()
        self.profile = profile


class MemberFailed(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


def one_line(text: object) -> str:
    return printable(str(text or ""), single_line=True)


def accounts_text(profile: MemberProfile) -> Text:
    text = Text()
    name = one_line(profile.username)
    many = len(profile.accounts)
    text.append(name, style="bold")
    text.append(f" · {many} account{'s' if many != 1 else ''}")
    for account in profile.accounts:
        text.append("\n ")
        text.append(one_line(account.source).ljust(10), style="bold")
        shown = one_line(account.username)
        if account.display_name:
            shown += f" ({one_line(account.display_name)})"
        text.append(shown)
        joined = (account.joined_at or "")[:10] or "?"
        text.append(f" · joined {joined} · reputation {account.reputation:,}")
        if account.trust_level is not None:
            text.append(f" · trust {account.trust_level}")
        if account.member_id != profile.member_id and account.why:
            text.append(f" · {one_line(account.why)}", style="dim")
    return text


LABEL = {
    "Accepted answers": "accepted",
    "Verified answers": "verified",
    "Flags received": "flags on them",
    "Flags raised": "flags by them",
    "Moderator notes": "notes",
}
DETAILED = ("Posts", "Rewards", "Escalations")  # the others' details are in their lines


def counts_text(profile: MemberProfile) -> Text:
    """Every section's count on a line or two: posts 3 (2 asked, 1 answered) · accepted 1 …"""
    text = Text()
    for index, section in enumerate(profile.sections):
        if index:
            text.append(" · ")
        text.append(f"{LABEL.get(section.name, section.name.lower())} ")
        text.append(f"{section.count:,}", style="bold")
        if section.summary and section.name in DETAILED:
            text.append(f" ({one_line(section.summary)})")
    return text


def rows_of(profile: MemberProfile) -> tuple[list[Row], list[int | None], list[int]]:
    """The list's rows, the thread of each row, and where each section starts."""
    rows: list[Row] = []
    threads: list[int | None] = []
    starts: list[int] = []
    many_sources = len({a.source for a in profile.accounts}) > 1
    for section in profile.sections:
        if not section.lines:
            continue
        starts.append(len(rows))
        rows.extend(_rows(section, len(rows), many_sources))
        threads.extend(line.thread_id for line in section.lines)
    return rows, threads, starts


def _rows(section: Section, first: int, many_sources: bool) -> list[Row]:
    rows = []
    for index, line in enumerate(section.lines):
        what = one_line(line.text)
        if many_sources and line.source:
            what = f"{one_line(line.source)}: {what}"
        rows.append(
            Row(
                key=first + index,
                cells=(
                    line.at[:16].replace("T", " "),
                    SHORT.get(section.name, section.name),
                    Text(what, no_wrap=True, overflow="ellipsis"),
                ),
                tone="alert" if section.name in ("Flags received", "Escalations") else "",
            )
        )
    return rows


def open_member(
    screen: DeskScreen, *, thread_id: int | None = None, post_id: int | None = None
) -> None:
    """Push the member view of the author of a thread or a post (a one-row read)."""
    try:
        member = screen.host.call_desk(
            lambda desk: desk.author_of(thread_id=thread_id, post_id=post_id)
        )
    except PeerdeskError as error:
        screen.notify(str(error), title="No member", severity="warning", markup=False)
        return
    screen.app.push_screen(MemberScreen(member))


class MemberScreen(DeskScreen):
    CSS_PATH = "member.tcss"
    HELP_TITLE = "Member"
    BINDINGS: ClassVar[list[BindingType]] = bindings("member")

    def __init__(self, member_id: int) -> None:
        super().__init__()
        self.member_id = member_id
        self.profile: MemberProfile | None = None
        self._threads: list[int | None] = []
        self._starts: list[int] = []

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(Text("Loading…"), id="member-accounts", markup=False)
        yield Static("", id="member-counts", markup=False)
        yield LazyTable(
            COLUMNS, page_size=1000, empty_text="Nothing else is known.", id="member-lines"
        )
        yield StatusBar(id="member-status")
        yield KeyBar()

    @property
    def table(self) -> LazyTable:
        return self.query_one("#member-lines", LazyTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.query_one("#member-status", StatusBar).right = "? help · esc back"
        self.load()

    def on_screen_resume(self) -> None:
        if self.profile is not None:  # back from a thread: what was decided there shows
            self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="member")
    def load(self) -> None:
        member = self.member_id
        try:
            profile = self.host.call_desk(lambda desk: desk.member(member))
        except PeerdeskError as error:
            self.post_message(MemberFailed(str(error)))
            return
        self.post_message(MemberLoaded(profile))

    @on(MemberLoaded)
    def _on_loaded(self, message: MemberLoaded) -> None:
        message.stop()
        again = self.profile is not None  # a reload keeps the cursor where it was
        profile = self.profile = message.profile
        self.query_one("#member-accounts", Static).update(accounts_text(profile))
        self.query_one("#member-counts", Static).update(counts_text(profile))
        rows, self._threads, self._starts = rows_of(profile)
        self.table.reset(len(rows), rows, keep_cursor=again)
        self.query_one(
            "#member-status", StatusBar
        ).left = f"Member · {one_line(profile.username)} · newest {len(rows)} lines"

    @on(MemberFailed)
    def _on_failed(self, message: MemberFailed) -> None:
        message.stop()
        self.query_one("#member-accounts", Static).update(Text(message.text))
        self.notify(message.text, title="Not found", severity="error", markup=False)

    # ---- keys ----
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_section(self, step: int) -> None:
        if not self._starts:
            return
        cursor = self.table.cursor_row
        later = [start for start in self._starts if start > cursor]
        self.table.cursor_row = later[0] if later else self._starts[0]

    @on(LazyTable.RowActivated, "#member-lines")
    def _on_activated(self, message: LazyTable.RowActivated) -> None:
        message.stop()
        self._open(message.index)

    def _open(self, index: int) -> None:
        thread_id = self._threads[index] if 0 <= index < len(self._threads) else None
        if thread_id is None:
            self.notify("This line is not about a thread", severity="warning", markup=False)
            return
        from console.screens.thread import ThreadScreen, read_thread

        read = read_thread(self, thread_id)
        if read is None:
            return
        screen = ThreadScreen(thread_id)
        screen.show(*read)
        self.app.push_screen(screen)
