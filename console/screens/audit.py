"""The Audit panel: who did what, newest first, and whether the hash chain still holds.

The list shows each entry's number, time (UTC, as stored), who (the account; an overridden name
says so with the OS account behind it), the action, its target and what changed in one line.
Below: the focused entry in full (before and after, the payload, the rest of its detail, its
hash and the previous entry's), every piece of user text shown as text (console.safe_text).

The routing is the panel base's (console/screens/panel.py):

    ListWanted → (worker: the count and the page under the cursor, console.audit_pages) →
    ListLoaded (with the few entries added since the last check, checked: audit_pages.resume);
    and once per visit ChainWanted → (PanelScreen.read_apart: audit_pages.check,
    `peerdesk audit verify`'s own function, on a connection of the panel's own) → the status
    line says "chain intact through entry N", or a banner names the first entry that breaks;
    when the log grew after an intact check, the next reads only the entries added since
    (resuming from the newest entry checked, its hash kept) and says so; r checks it all
    LazyTable.PageWanted → (PagedPanel's worker: audit_pages.page from the row above or below,
    keyset) → PageLoaded
    LazyTable.CursorMoved → DetailWanted(id) → (worker: audit_pages.one) → DetailLoaded
    / f a t → a new filter → ListWanted; enter → the entry's thread; escape clears the filter,
    then goes back
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Static

from console import audit_pages
from console.action_names import short_action
from console.audit_pages import AuditEntry, AuditFilter, ChainStatus, FilterError
from console.desk import Desk
from console.safe_text import printable
from console.screens.keys import bindings
from console.screens.paged import PageAt, PagedPanel
from console.screens.paged import one_line as _line
from console.screens.panel import ListWanted, PanelList, show_text
from widgets.latest_work import LatestWork
from widgets.lazy_table import Column, LazyTable, Row

PAGE = 100  # entries read at a time
# At most this many entries added since the last check are checked with the list, in its frame
# (~22 µs an entry); more, or a check that cannot resume, is checked apart, in a frame of its own.
RESUME_WITH_LIST = 200
VALUE_MAX = 2000  # characters of one value shown in the detail (a post body can be 200 kB)

COLUMNS = (
    Column("#", 6, align="right"),
    Column("Time", 11),
    Column("Who", 12),
    Column("Action", 12),
    Column("Target", 11),
    Column("What"),
)


@dataclass(frozen=True)
class AuditList:
    """The page of the list under the cursor, the filter it was read with, and the count."""

    offset: int
    total: int
    rows: list[AuditEntry]
    wanted: AuditFilter
    newest: int  # the log's newest entry (filtered or not): checked again when it moved
    chain: ChainStatus | None = None  # the few entries added since the last check, checked


class ChainWanted(Message):
    """Check the chain again (apart from the Desk's connection): after an intact check only
    the entries added since it, unless `whole`."""

    def __init__(self, whole: bool = False) -> None:
        super().__init__()
        self.whole = whole


def to_row(entry: AuditEntry, broken: frozenset[int]) -> Row:
    return Row(
        key=entry.id,
        cells=(
            str(entry.id),
            audit_pages.short_time(entry.ts),
            _line(entry.who),
            _line(short_action(entry.action)),
            _line(entry.target),
            entry.summary,
        ),
        tone="alert" if entry.id in broken else "",
    )


def _value(value: object) -> str:
    """A detail value as safe text: strings as they are (escapes made visible), the rest as
    JSON; cut at VALUE_MAX characters with what was left out counted."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = printable(text)
    if len(text) > VALUE_MAX:
        left = len(text) - VALUE_MAX
        text = f"{text[:VALUE_MAX]}… ({left:,} more characters not shown)"
    return text


def _fields(text: Text, title: str, value: object) -> None:
    """`value` after `title`: a dict one field a line, anything else on the title's line."""
    text.append(f"\n{title:<9} ", style="bold")
    if not isinstance(value, dict):
        text.append(_value(value))
        return
    if not value:
        text.append("(nothing)", style="dim")
    for index, key in enumerate(sorted(value)):
        text.append(("" if index == 0 else "\n          ") + f"{_line(str(key))}: ", style="dim")
        text.append(_value(value[key]))


def _changes(text: Text, before: object, after: object) -> None:
    """Before and after of the change: "status: open → closed" a field a line."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        _fields(text, "Before:", before)
        _fields(text, "After:", after)
        return
    text.append(f"\n{'Change:':<9} ", style="bold")
    for index, key in enumerate(sorted(set(before) | set(after))):
        text.append(("" if index == 0 else "\n          ") + f"{_line(str(key))}: ", style="dim")
        old, new = before.get(key), after.get(key)
        text.append(_value(old))
        if old == new:
            text.append(" (unchanged)", style="dim")
        else:
            text.append(" → ", style="bold")
            text.append(_value(new))


def _chainone_line(text: Text, entry: AuditEntry, chain: ChainStatus | None) -> None:
    text.append(f"\n{'Chain:':<9} ", style="bold")
    if chain is None:
        text.append("being checked…", style="dim")
    elif entry.id in chain.broken_entries:
        problems = [p.problem for p in chain.problems if p.audit_id == entry.id]
        text.append(f"BROKEN here: {'; '.join(problems)}", style="bold reverse")
    elif entry.id > chain.newest:
        text.append("written after the last check (r checks again)", style="dim")
    elif chain.intact:
        text.append(f"intact: the chain checks out through entry {chain.newest}")
    else:
        first = chain.first_break
        assert first is not None
        where = "before" if entry.id > first.audit_id else "after"
        text.append(f"this entry fits, but the chain breaks {where} it, at entry {first.audit_id}")


def detail(entry: AuditEntry, chain: ChainStatus | None) -> Text:
    text = Text()
    text.append(f"Entry {entry.id}", style="bold")
    text.append(f" · {_line(entry.ts)} · ")
    text.append(_line(entry.action), style="bold")
    text.append(f" · {_line(entry.target)}")
    if entry.batch_id is not None:
        text.append(f" · batch {entry.batch_id}")
    text.append(f"\n{'Who:':<9} ", style="bold")
    text.append(_line(entry.actor))
    if entry.os_user is not None and entry.os_user != entry.actor:
        text.append(" (override)", style="bold")
        text.append(f" · OS account {_line(entry.os_user)}")
    _chainone_line(text, entry, chain)
    if "before" in entry.detail or "after" in entry.detail:
        _changes(text, entry.detail.get("before"), entry.detail.get("after"))
    if "payload" in entry.detail:
        _fields(text, "Payload:", entry.detail["payload"])
    rest = {
        k: v for k, v in entry.detail.items() if k not in ("before", "after", "payload", "os_user")
    }
    if rest:
        _fields(text, "Detail:", rest)
    text.append(f"\n{'Hash:':<9} ", style="bold")
    text.append(_line(entry.hash))
    text.append(f"\n{'Previous:':<9} ", style="bold")
    text.append(_line(entry.prev_hash))
    return text


class AuditScreen(PagedPanel[AuditList, AuditEntry | None, AuditEntry]):
    HELP_TITLE = "Audit"
    LIST_ID = "audit"
    DETAIL_ID = "audit-detail"
    STATUS_ID = "audit-status"

    BINDINGS: ClassVar[list[BindingType]] = bindings("audit")
    TOTAL_WHEN_INEXACT = True  # the count is exact: a page far down is read from the oldest end

    def __init__(self) -> None:
        super().__init__()
        self.wanted = AuditFilter()
        self.entries: dict[int, AuditEntry] = {}  # the rows of the pages read
        self.total = 0
        self.chain: ChainStatus | None = None  # the latest check of the chain, once in
        self._checking: LatestWork[ChainStatus] | None = None
        self._check_since: ChainStatus | None = None  # the check the next one resumes from

    def compose_body(self) -> ComposeResult:
        yield Static("", id="audit-chain", markup=False)
        yield from super().compose_body()

    def make_list(self) -> LazyTable:
        return PanelList(
            COLUMNS, page_size=PAGE, empty_text="The audit log is empty.", id=self.LIST_ID
        )

    def compose_detail(self) -> ComposeResult:
        yield Static(Text("Loading…"), id="audit-text", markup=False)

    # ---- the list ----
    def read_list(self, desk: Desk, cursor: int) -> AuditList:
        wanted = self.wanted
        total = audit_pages.count(desk.cache, wanted)
        offset = (min(cursor, max(0, total - 1)) // PAGE) * PAGE
        rows = audit_pages.page(desk.cache, wanted, offset=offset, limit=PAGE, total=total)
        newest = audit_pages.newest(desk.cache)
        since = self.chain
        chain = None
        if since is not None and 0 < newest - since.newest <= RESUME_WITH_LIST:
            chain = audit_pages.resume(desk.cache, since)  # shown with the list, in its frame
        return AuditList(offset, total, rows, wanted, newest, chain)

    def show_list(self, data: AuditList, keep_cursor: bool) -> None:
        if data.wanted != self.wanted:
            return  # read for a filter changed since; its own read follows
        resumed = data.chain
        if resumed is not None and self.chain and resumed.checked_from == self.chain.newest + 1:
            self._checked(resumed)  # before the rows, which are marked by it
        self.total = data.total
        self.entries = {e.id: e for e in data.rows}
        if data.total == 0 and data.wanted.active:
            self.table.set_empty_text(
                f"No entry matches {data.wanted.describe(self.desk.actor)!r} (escape clears it)."
            )
        else:
            self.table.set_empty_text("The audit log is empty.")
        broken = self.chain.broken_entries if self.chain else frozenset()
        self.table.reset(
            data.total,
            [to_row(e, broken) for e in data.rows],
            offset=data.offset,
            keep_cursor=keep_cursor,
        )
        if not data.rows:
            self.forget_detail()
            self.query_one("#audit-text", Static).update(Text(""))
        if self.chain is None or self.chain.newest != data.newest:
            self.post_message(ChainWanted())  # the first visit, or the log grew since
        self._show_status()

    def read_page(self, at: PageAt) -> Callable[[Desk], list[AuditEntry]]:
        wanted = self.wanted
        return lambda desk: audit_pages.page(desk.cache, wanted, **at.keywords())

    def keep_page(self, rows: list[AuditEntry]) -> None:
        if len(self.entries) > 2 * self.table.max_pages * PAGE:
            self.entries = {}  # the table asks again for what it shows, and keeps it here
        self.entries.update({e.id: e for e in rows})

    def to_rows(self, rows: list[AuditEntry]) -> list[Row]:
        broken = self.chain.broken_entries if self.chain else frozenset()
        return [to_row(e, broken) for e in rows]

    # ---- the detail ----
    def read_detail(self, desk: Desk, key: Hashable) -> AuditEntry | None:
        return audit_pages.one(desk.cache, int(str(key)))

    def show_detail(self, data: AuditEntry | None, same_item: bool) -> None:
        shown = (
            Text("This entry is gone from the log (r reads it again).", style="dim")
            if data is None
            else detail(data, self.chain)
        )
        show_text(self.query_one("#audit-text", Static), shown)  # the chain checked again

    # ---- the chain ----
    @on(ChainWanted)
    def _on_chain_wanted(self, message: ChainWanted) -> None:
        message.stop()
        if self._checking is None:
            self._checking = self.read_apart(
                lambda cache: audit_pages.check(cache, self._check_since),
                self._checked,
                group="audit-chain",
            )
        self._check_since = None if message.whole else self.chain
        self._checking.request()
        self._show_status()

    def _checked(self, chain: ChainStatus) -> None:
        self.chain = chain
        banner = self.query_one("#audit-chain", Static)
        first = chain.first_break
        banner.set_class(first is not None, "-broken")
        if first is not None:
            banner.update(
                Text(
                    f"✗ {chain.text()} — `peerdesk audit verify` lists every problem",
                    no_wrap=True,
                    overflow="ellipsis",
                )
            )
        self._show_status()
        if first is not None:  # mark the rows shown that break it
            broken = chain.broken_entries
            for offset in range(0, self.table.total, PAGE):
                rows = self.table.page(offset)
                if rows and any(r.key in broken for r in rows):
                    entries = [self.entries.get(int(str(r.key))) for r in rows]
                    if all(entries):
                        fresh = [to_row(e, broken) for e in entries if e is not None]
                        self.table.set_page(self.table.generation, offset, fresh)
        if isinstance(self.detail_data, AuditEntry):
            self.show_detail(self.detail_data, True)

    def _show_status(self) -> None:
        wanted = self.wanted.describe(self.desk.actor)
        count = f"{self.total:,} entr{'y' if self.total == 1 else 'ies'}"
        shown = f"{count} matching {wanted!r}" if wanted else count
        chain = "checking the chain…" if self.chain is None else self.chain.text()
        self.set_status(f"Audit · {shown} · {chain}")

    # ---- keys ----
    def _set_filter(self, wanted: AuditFilter) -> None:
        if wanted == self.wanted:
            return
        self.wanted = wanted
        self.post_message(ListWanted(keep_cursor=False))

    def action_filter(self) -> None:
        from console.screens.prompt import PromptScreen

        me = self.desk.actor

        def answered(text: str | None) -> None:
            if text is None:
                return
            try:
                self._set_filter(audit_pages.parse_filter(text, me))
            except FilterError as error:
                self.notify(str(error), severity="warning", markup=False)

        self.app.push_screen(
            PromptScreen(
                "Filter the audit log",
                audit_pages.FILTER_HELP,
                self.wanted.describe(me),
                max_length=200,
            ),
            answered,
        )

    def action_toggle_mine(self) -> None:
        me = self.desk.actor
        self._set_filter(replace(self.wanted, actor=None if self.wanted.actor == me else me))

    def _focused(self) -> AuditEntry | None:
        key = self.table.current_key
        entry = None if key is None else self.entries.get(int(str(key)))
        if entry is None:
            self.notify("No entry is focused", severity="warning", markup=False)
        return entry

    def action_same_action(self) -> None:
        entry = self._focused()
        if entry is not None:
            self._set_filter(replace(self.wanted, action=entry.action))

    def action_same_target(self) -> None:
        entry = self._focused()
        if entry is not None:
            self._set_filter(
                replace(self.wanted, target_kind=entry.target_kind, target_id=entry.target_id)
            )

    def action_back(self) -> None:
        if self.wanted.active:
            self._set_filter(AuditFilter())
            return
        super().action_back()

    def action_refresh(self) -> None:
        self.post_message(ChainWanted(whole=True))
        super().action_refresh()

    def activate(self, key: Hashable) -> None:
        entry = self.entries.get(int(str(key)))
        if entry is None:
            return
        thread = entry.thread_id
        if thread is None:
            self.notify(
                f"Entry {entry.id} is about {_line(entry.target)}, not a thread: nothing to open",
                severity="information",
                markup=False,
            )
            return
        self.open_thread(thread)
