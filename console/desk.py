"""The Desk: one moderator's view of one cache. The console and the CLI talk only to this.

It knows who is acting (`who`, from `console.identity`: the OS account, roles looked up from the
roles files) and routes every read to console.store and every change or export through its
`door` (console.door): one role check and one audit entry per change. See console/door.py for
how a feature adds its own role-checked actions.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from console import (
    audit,
    batch_preview,
    claims,
    decisions,
    outbox,
    previews,
    read_only,
    store,
)
from console.batch_preview import BatchPreview
from console.config import Config, load_config
from console.db import Cache, open_cache
from console.door import Door
from console.errors import PeerdeskError
from console.identity import Identity, establish, requested_name
from console.models import (
    AuditProblem,
    DecisionResult,
    OutboxItem,
    QueueItem,
    Role,
    ThreadView,
)
from console.paths import CONFIG_ENV, default_config_path, default_db_path
from console.store import QueueFilter, QueueReader

__all__ = [
    "Desk",
    "QueueFilter",
    "QueueReader",
    "StorageFailure",
    "load_config_for",
    "storage_failure_text",
]

StorageFailure = sqlite3.Error
"""What a failed write of the cache raises (for the CLI's one-line report; no SQL outside)."""


def storage_failure_text(error: BaseException, cache_path: Path | None = None) -> str:
    from console.db import explain, is_disk_full

    if is_disk_full(error):
        return (
            "the disk holding the cache is full: nothing of the failed step was saved. Free some "
            "space and run the command again."
        )
    if cache_path is not None and isinstance(error, sqlite3.Error):
        # damaged pages met mid-way, a lock held too long, a read-only file: what opening the
        # file would have said, naming it and the way out
        explained = str(explain(error, cache_path))
        if not explained.startswith(f"The cache {cache_path} failed:"):
            return explained
    return f"the cache failed ({error}); nothing of the failed step was saved."


if TYPE_CHECKING:  # sync is imported when first used: it brings httpx, slow to import
    # and the duplicate candidates bring the scorer, the embeddings and numpy: imported when
    # first used too, so the console's first frame does not wait for them; so are verification
    # and escalation (their decision kinds and role actions are registered when first asked
    # for: console.registrations); members (with the rewards ledger) and sources as well: not
    # before the console's first rows (~20 ms of a start's CPU)
    from console import members, search_index, sources
    from console.dupes.panel import PairRow, PairView
    from console.dupes.refresh import Backlog as DupesBacklog
    from console.dupes.refresh import CaughtUp as DupesCaughtUp
    from console.dupes.refresh import Queued
    from console.dupes.stored import Candidate
    from console.escalate.service import Escalations
    from console.rewards.service import Rewards
    from console.verify.service import Verification
    from sync.jsonl import ImportReport
    from sync.push import PushReport
    from sync.runner import SyncReport
    from sync.status import SourceStatus, SyncErrorRow, SyncSummary

SyncProgress = Callable[[str, str, int, "int | None"], None]
"""progress(source name, what is happening, items done, items in all or None)"""

PageProgress = Callable[[str, Any], None]
"""on_page(source name, the sync.base.Page just stored)"""


def load_config_for(config_path: Path | None) -> Config:
    """The config: a path the user named (--config or PEERDESK_CONFIG) must exist."""
    named = config_path is not None or bool(os.environ.get(CONFIG_ENV))
    return load_config(config_path or default_config_path(), must_exist=named)


@dataclass
class Desk:
    cache: Cache
    who: Identity
    config: Config
    demo: bool = False
    door: Door = field(init=False)

    def __post_init__(self) -> None:
        self.door = Door(self.cache, self.who)

    @classmethod
    def open(
        cls,
        db_path: Path | None = None,
        *,
        config_path: Path | None = None,
        create: bool = False,
        actor: str | None = None,
    ) -> Desk:
        """Open the cache as the OS user; `actor` (--as) or PEERDESK_USER asks for an override."""
        config = load_config_for(config_path)
        return cls._holding(open_cache(db_path or default_db_path(), create=create), config, actor)

    @classmethod
    def open_team(
        cls, url: str, *, config_path: Path | None = None, actor: str | None = None
    ) -> Desk:
        """Open the team database at `url` (a postgresql:// URL) as the role it logs in as."""
        from console.storage.postgres import open_team
        from console.team.no_role import require_a_role

        config = load_config_for(config_path)
        cache = open_team(url)
        desk = cls._holding(cache, config, actor)
        try:  # a login of no peerdesk role: one line saying what to grant, nothing read
            require_a_role(desk.cache.conn.execute, url)
        except BaseException:
            desk.cache.close()
            if desk.cache is not cache:
                cache.close()
            raise
        return desk

    @classmethod
    def _holding(cls, cache: Cache, config: Config, actor: str | None) -> Desk:
        """The desk over a freshly opened `cache`, which is closed if that fails."""
        try:
            return cls.for_cache(cache, config=config, actor=actor)
        except BaseException:
            cache.close()
            raise

    @classmethod
    def for_cache(
        cls, cache: Cache, *, config: Config | None = None, actor: str | None = None
    ) -> Desk:
        config = config or Config()
        if not cache.dialect.is_sqlite:  # the team database says who is connected
            from console.storage.postgres import TeamCache

            assert isinstance(cache, TeamCache)
            team, who = cache.acting_as(requested_name(actor))
            return cls(cache=team, who=who, config=config)
        demo = cache.meta("demo") == "1"
        who = establish(cache.path, config, requested=requested_name(actor), demo=demo)
        return cls(cache=cache, who=who, config=config, demo=demo)

    @property
    def actor(self) -> str:
        return self.who.name

    @property
    def roles(self) -> frozenset[Role]:
        return self.who.roles

    @property
    def role_notice(self) -> str:
        who = self.who.label
        if self.demo and self.who.roles == frozenset(Role):
            text = f"demo community: {who} has every role"
        elif not self.who.roles:
            text = f"{who} has no role: read-only"
        else:
            text = f"{who}: " + ", ".join(sorted(r.value for r in self.who.roles))
        return text

    def whoami(self) -> list[str]:
        """Who you are, your roles and where they came from, in lines (`peerdesk whoami`)."""
        lines = [self.role_notice, f"OS user: {self.who.os_user}"]
        if self.who.overridden:
            lines.append(
                f"acting as {self.who.name}: allowed because you own the cache {self.cache.path}; "
                "every audit entry records your OS user too"
            )
        lines.append(f"roles from: {self.who.roles_from}")
        if self.read_only_notice:
            lines.append(self.read_only_notice[1])
        lines.extend(f"note: {notice}" for notice in self.who.notices)
        return lines

    @property
    def read_only_notice(self) -> tuple[str, str] | None:
        """For a user with no role: that nothing can be changed, and which file gives roles."""
        sqlite = self.cache.dialect.is_sqlite
        return read_only.notice(
            self.who,
            self.config.path,
            team=not sqlite,
            cache_path=self.cache.path if sqlite else None,
        )

    @property
    def escalations(self) -> Escalations:
        """Escalations: SLA clocks, decisions, hand-off (console.escalate)."""
        from console.escalate.service import Escalations

        return Escalations(self)

    def can(self, action: str) -> bool:
        return self.door.can(action)

    # ---- reading ----
    def queue(
        self,
        flt: QueueFilter | None = None,
        *,
        offset: int = 0,
        limit: int = 100,
        total: int | None = None,
        after: int | None = None,
        before: int | None = None,
    ) -> list[QueueItem]:
        return store.queue(
            self.cache, flt, offset=offset, limit=limit, total=total, after=after, before=before
        )

    def queue_count(self, flt: QueueFilter | None = None) -> int:
        return store.queue_count(self.cache, flt)

    def search(self, text: str, *, limit: int = 100) -> list[QueueItem]:
        return store.queue(self.cache, QueueFilter(text=text, everything=True), limit=limit)

    def thread(self, thread_id: int, *, window: int | None = None) -> ThreadView:
        """The conversation; with `window`, long posts hold only their first `window` chars."""
        return store.thread(self.cache, thread_id, window=window)

    def post_body(self, post_id: int, start: int, length: int) -> str:
        """One window of a long post's text (the console pages through huge posts)."""
        return store.post_body(self.cache, post_id, start, length)

    def threads_by_same_author(
        self, thread_id: int, within: QueueFilter | None = None
    ) -> list[int]:
        """The open threads by `thread_id`'s author, among those `within` shows (the Queue's
        filter and search: only threads the moderator can see there)."""
        return store.open_threads_by_author_of(self.cache, thread_id, within)

    def queue_shape(self) -> tuple[int, bool]:
        """How many sources the cache holds and whether anyone holds a claim (what the Queue
        needs to know to leave out columns that would say nothing)."""
        row = self.cache.one("SELECT count(*) FROM sources")
        return (int(row[0]) if row else 0), claims.anyone_holds_one(self.cache)

    def batch_preview(self, action: str, target_ids: list[int]) -> BatchPreview:
        """What a decision on `target_ids` will touch and where it will be sent (reads only)."""
        return batch_preview.preview(self.cache, action, target_ids)

    def preview(self, thread_id: int) -> previews.ThreadPreview:
        """The Queue's preview pane: question, latest reply, flags, claim (console.previews)."""
        return previews.preview(self.cache, thread_id)

    # ---- one member across every source (console.members) ----
    def member(self, member_id: int) -> members.MemberProfile:
        from console import members

        return members.profile(self.cache, member_id)

    def author_of(self, *, thread_id: int | None = None, post_id: int | None = None) -> int:
        """The member who wrote a thread (its question) or a post."""
        from console import members

        if post_id is not None:
            return members.author_of_post(self.cache, post_id)
        if thread_id is None:
            raise ValueError("author_of needs a thread or a post")
        return members.author_of_thread(self.cache, thread_id)

    def find_account(self, name: str) -> int:
        """The member named `SOURCE:USERNAME` (or `SOURCE:#REMOTE_ID`)."""
        from console import member_links

        return member_links.find_account(self.cache, name)

    def link_members(self, first: int, second: int, *, linked: bool = True) -> DecisionResult:
        """Decide that two accounts are one person (or, `linked=False`, that they are not)."""
        from console import member_links

        low, high = member_links.pair(first, second)
        return self.decide(member_links.LINK if linked else member_links.UNLINK, [low], other=high)

    def waiting_actions(self) -> int:
        return outbox.waiting_count(self.cache)

    # ---- claims ----
    def claim(self, thread_id: int) -> claims.Claim:
        return claims.claim(self.cache, thread_id, self.who, self.config.lease_minutes)

    def release(self, thread_id: int) -> bool:
        return claims.release(self.cache, thread_id, self.who)

    # ---- decisions ----
    def decide(self, action: str, target_ids: list[int], **params: object) -> DecisionResult:
        return self.door.decide(action, target_ids, **params)

    def close(self, thread_ids: list[int], reason: str = "") -> DecisionResult:
        return self.decide("close", thread_ids, reason=reason)

    def reopen(self, thread_ids: list[int]) -> DecisionResult:
        return self.decide("reopen", thread_ids)

    def hide_posts(self, post_ids: list[int], reason: str = "spam") -> DecisionResult:
        return self.decide("hide_post", post_ids, reason=reason)

    def add_note(self, thread_id: int, body: str) -> DecisionResult:
        return self.decide("note", [thread_id], body=body)

    def undo_preview(self) -> decisions.UndoPreview:
        """What `undo` would take back now (kind, items, when, where; blocked if someone changed
        an item since). Raises PermissionRefused (a role that may not undo), then NothingToUndo."""
        self.door.check("undo")
        return decisions.undo_preview(self.cache, actor=self.actor)

    def undo(self, *, expect_batch: int | None = None) -> DecisionResult:
        return self.door.undo(expect_batch=expect_batch)

    # ---- audit ----
    def verify_audit(self, since_head: str | None = None) -> list[AuditProblem]:
        """Problems in the chain; with `since_head` (ENTRY:HASH kept outside the cache, from
        `audit_head`) also whether that entry still has that hash."""
        kept = None if since_head is None else audit.parse_head(since_head)
        with self.cache.snapshot():  # the chain and its head record as of one moment
            if kept is None:
                return audit.verify(self.cache)
            return audit.verify_since(self.cache, kept)

    def audit_head(self) -> audit.Head:
        """The newest entry's number and hash, to keep outside the cache."""
        return audit.head(self.cache)

    def close_cache(self) -> None:
        self.cache.close()

    # ---- the full-text index's backlog (console.search_index) ----
    def search_backlog(self) -> search_index.Backlog:
        """Posts and threads stored but not searchable yet (an import's catch-up not done)."""
        from console import search_index

        return search_index.backlog(self.cache)

    def catch_up_search(
        self,
        progress: Callable[[search_index.CatchUp, search_index.Backlog], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> search_index.CatchUp:
        """Index the backlog on a connection of its own (the console runs it in a worker, so
        the Desk's connection stays free), in small batches so decisions never wait long."""
        from console import search_index

        if not self.cache.dialect.is_sqlite:
            return search_index.CatchUp()
        own = open_cache(self.cache.path)
        try:
            return search_index.catch_up(
                own, batch=10_000, progress=progress, should_stop=should_stop
            )
        finally:
            own.close()

    # ---- answer verification (console.verify) ----
    @property
    def verification(self) -> Verification:
        """Verify / reject answers, the verification queue, calibration (console.verify)."""
        from console.verify.service import Verification

        return Verification(self.cache, self.who, self.config.path)

    # ---- rewards and payouts (console.rewards) ----
    @property
    def rewards(self) -> Rewards:
        """Rewards and payouts through this Desk's door; roles and four-eyes checked inside."""
        from console.rewards.service import Rewards

        return Rewards(self.cache, self.door)

    # ---- duplicates (console.dupes) ----
    def duplicate_pairs(
        self,
        offset: int = 0,
        limit: int = 100,
        *,
        after: int | None = None,
        before: int | None = None,
        total: int | None = None,
    ) -> list[PairRow]:
        """Threads with pending duplicate pairs, best pair first (highest score); a page is read
        from the link of the row above (`after`) or below (`before`) it, or from the far end
        given the `total` (console.dupes.panel.pending_pairs)."""
        from console.dupes import panel as _dupe_panel

        return _dupe_panel.pending_pairs(
            self.cache, offset=offset, limit=limit, after=after, before=before, total=total
        )

    def duplicate_position(self, thread_id: int) -> int | None:
        """The thread's row in the list of pending pairs, None if it has no pair to decide."""
        from console.dupes import panel as _dupe_panel

        return _dupe_panel.position(self.cache, thread_id)

    def duplicate_pairs_count(self) -> int:
        from console.dupes import panel as _dupe_panel

        return _dupe_panel.pending_count(self.cache)

    def possible_duplicates(self, thread_id: int, *, weaker: bool = False) -> list[Candidate]:
        """The thread's proposed originals, best first (the Thread screen's banner); with
        `weaker`, also the pending candidates below the proposal threshold."""
        from console.dupes.stored import candidates

        return candidates(self.cache, thread_id, weaker=weaker)

    def duplicate_pair(
        self, link_id: int | None = None, *, pair: tuple[int, int] | None = None
    ) -> PairView:
        """One pair in full, by its link id or as (thread id, original id)."""
        from console.dupes import panel as _dupe_panel

        if pair is not None:
            return _dupe_panel.pair(self.cache, pair[0], pair[1])
        if link_id is None:
            raise ValueError("duplicate_pair needs a link id or a (thread, original) pair")
        return _dupe_panel.pair_by_link(self.cache, link_id)

    def _duplicate_decision(self, action: str, thread_id: int, original_id: int) -> DecisionResult:
        from console.dupes import actions as _dupe_actions

        return _dupe_actions.decide(
            self.cache,
            who=self.who,
            action=action,
            thread_id=thread_id,
            original_id=original_id,
        )

    def confirm_duplicate(self, thread_id: int, original_id: int) -> DecisionResult:
        return self._duplicate_decision("dupe_confirm", thread_id, original_id)

    def reject_duplicate(self, thread_id: int, original_id: int) -> DecisionResult:
        return self._duplicate_decision("dupe_reject", thread_id, original_id)

    def merge_duplicate(self, thread_id: int, original_id: int) -> DecisionResult:
        return self._duplicate_decision("dupe_merge", thread_id, original_id)

    def duplicate_outcome(self, result: DecisionResult, thread_id: int, original_id: int) -> str:
        """What a duplicate decision did, in words (and what the platform will be told)."""
        from console.dupes import panel as _dupe_panel

        return _dupe_panel.outcome(self.cache, result, thread_id, original_id)

    # ---- sync and the outbox (sync.*) ----
    # A sync or push talks to the network for a long time: it uses a connection of its own, so
    # the console keeps reading and deciding meanwhile (SQLite WAL; each page is one transaction).
    def sync_summary(self) -> SyncSummary:
        from sync import status

        return status.summary(self.cache)

    def sync_sources(self) -> list[SourceStatus]:
        return self.sync_summary().sources

    def outbox(self, states: tuple[str, ...] | None = None, limit: int = 500) -> list[OutboxItem]:
        from sync import status

        return status.outbox_items(self.cache, states, limit)

    def sync_errors(self, limit: int = 200, source: str | None = None) -> list[SyncErrorRow]:
        from sync import status

        return status.errors(self.cache, source, limit=limit)

    def run_sync(
        self,
        source_name: str | None = None,
        progress: SyncProgress | None = None,
        *,
        full: bool = False,
        on_page: PageProgress | None = None,
    ) -> list[SyncReport]:
        """Pull one source (or every source); platform trouble is in the reports, never raised."""
        from sync import runner

        def step(name: str, page: Any) -> None:
            if progress is not None:
                progress(name, page.label or "page", page.done, page.total)
            if on_page is not None:
                on_page(name, page)

        with self.door.operation("sync", target_kind="source", detail={"full": full}) as record:
            cache = self.cache.reopen()  # its own connection (a team database: a new session)
            try:
                rows = [runner.source(cache, source_name)] if source_name else runner.sources(cache)
                reports = []
                for row in rows:
                    if progress is not None:
                        progress(row.name, "connecting", 0, None)
                    try:
                        reports.append(runner.sync_source(cache, row, full=full, progress=step))
                    except PeerdeskError as error:
                        reports.append(runner.SyncReport(row.name, "failed", str(error)))
            finally:
                cache.close()
            record["sources"] = {
                r.source: {"result": r.result, "threads": r.threads, "posts": r.posts}
                for r in reports
            }
        return reports

    def run_push(
        self, progress: SyncProgress | None = None, *, source_name: str | None = None
    ) -> list[PushReport]:
        """Send the waiting decisions of every source (or one); offline leaves them waiting."""
        from sync import push, runner

        with self.door.operation("push", target_kind="source") as record:
            cache = self.cache.reopen()
            try:
                rows = [runner.source(cache, source_name)] if source_name else runner.sources(cache)
                reports = []
                for index, row in enumerate(rows):
                    if progress is not None:
                        progress(row.name, "sending waiting decisions", index, len(rows))
                    try:
                        reports.append(push.push_source(cache, row))
                    except PeerdeskError as error:
                        reports.append(push.PushReport(row.name, stopped=str(error)))
            finally:
                cache.close()
            record["sources"] = {
                r.source: {
                    "applied": r.applied,
                    "conflicts": r.conflicts,
                    "rejected": r.rejected,
                    "waiting": r.waiting,
                    "offline": r.offline,
                }
                for r in reports
            }
        return reports

    def _outbox_decision(self, outbox_id: int, verb: str, done: Callable[[], bool]) -> bool:
        return self.door.act(
            f"outbox_{verb}",
            lambda conn: done(),
            target_kind="outbox",
            target_id=outbox_id,
            detail=lambda changed: {} if changed else None,
        )

    def retry_outbox(self, outbox_id: int) -> bool:
        """Send a conflicted or rejected item again on the next push (audited)."""
        from sync import status

        return self._outbox_decision(
            outbox_id, "retry", lambda: status.retry_item(self.cache, outbox_id)
        )

    def dismiss_outbox(self, outbox_id: int) -> bool:
        """Give up on a conflicted, rejected or waiting item (audited; kept as cancelled)."""
        from sync import status

        return self._outbox_decision(
            outbox_id, "dismiss", lambda: status.dismiss_item(self.cache, outbox_id)
        )

    # ---- sources, import and export ----
    def add_source(
        self, name: str, *, kind: str, base_url: str | None, options: dict[str, Any]
    ) -> int:
        """Add a platform to sync with (admin; audited). Returns the source's id."""
        from console import sources
        from sync.runner import KINDS

        if kind not in KINDS:
            raise PeerdeskError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
        return self.door.act(
            "source_add",
            lambda conn: sources.add(
                conn, kind=kind, name=name, base_url=base_url, options=options
            ),
            target_kind="source",
            detail={"name": name, "kind": kind, "base_url": base_url},
        )

    def remove_source(self, name: str) -> sources.Removed:
        """Remove a platform and its cached threads (admin; refused while decisions wait)."""
        from console import sources
        from sync import credentials

        removed = self.door.act(
            "source_remove",
            lambda conn: sources.remove(conn, name),
            target_kind="source",
            detail=lambda r: {
                "name": r.name,
                "source_id": r.source_id,
                "threads": r.threads,
                "posts": r.posts,
                "outbox_items": r.outbox_items,
            },
        )
        credentials.forget(name)
        return removed

    def import_jsonl(
        self,
        path: Path,
        *,
        source_name: str | None = None,
        candidates_for: int = 2000,
        progress: Callable[[ImportReport], None] | None = None,
        index_progress: Callable[[search_index.CatchUp, search_index.Backlog], None] | None = None,
    ) -> tuple[ImportReport, Queued]:
        """Load a JSONL file (admin; audited with counts) and queue the duplicate refresh of the
        source's newest `candidates_for` open threads; nothing is embedded or computed here
        (`catch_up_duplicate_backlog` does it afterwards: console/dupes/refresh.py)."""
        from console.dupes.refresh import Queued, queue_newest
        from sync import jsonl

        with self.door.operation("import", detail={"file": str(path)}) as record:
            report = jsonl.import_file(
                self.cache,
                path,
                source_name=source_name,
                progress=progress,
                index_progress=index_progress,  # then the search index catches up
            )
            record.update(
                source=report.source,
                members=report.members,
                threads=report.threads,
                posts=report.posts,
                skipped=report.skipped,
            )
            row = self.cache.one("SELECT id FROM sources WHERE name = ?", (report.source,))
            queued = (
                queue_newest(self.cache, int(row[0]), candidates_for) if row else Queued(0, 0, 0)
            )
            record["candidates_queued"] = queued.candidates
        return report, queued

    def saved_graph_files(self) -> list[Path]:
        """The files a first duplicate search maps whole (console.dupes.warm.graph_files)."""
        from console.dupes import warm

        return warm.graph_files(self.cache)

    # ---- the duplicate refresh an import left waiting (console.dupes.refresh) ----
    def duplicate_backlog(self) -> DupesBacklog:
        """Threads whose duplicate candidates (or vectors) an import left to the catch-up."""
        from console.dupes import refresh

        return refresh.backlog(self.cache)

    def catch_up_duplicate_backlog(
        self,
        progress: Callable[[int, int], None] | None = None,
        *,
        embed_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> DupesCaughtUp:
        """Work the backlog off on a connection of its own (the console runs it in a worker);
        resumable, one at a time per cache. Finishing the import's audited work, it decides
        nothing, so it is not audited itself."""
        from console.dupes import refresh

        own = self.cache.reopen()
        try:
            return refresh.catch_up(
                own, progress=progress, embed_progress=embed_progress, should_stop=should_stop
            )
        finally:
            own.close()

    def source_names(self) -> list[str]:
        from sync import runner

        return [s.name for s in runner.sources(self.cache)]

    def export_jsonl(self, source_name: str, out: IO[str], *, destination: str) -> int:
        """Write one source as JSONL to `out` (needs a role: it is every member's data)."""
        from sync import jsonl

        detail = {"source": source_name, "to": destination}
        with self.door.operation("export", target_kind="source", detail=detail) as record:
            count = jsonl.export(self.cache, source_name, out)
            record["records"] = count
        return count

    # ---- duplicates: index upkeep ----
    def rebuild_duplicates(
        self,
        progress: Callable[[int, int], None] | None = None,
        *,
        embed_progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, float | int]:
        """Rebuild the duplicate index, the embeddings and the open threads' candidates
        (audited with the counts)."""
        import time

        from console.dupes import analysis, vectors
        from console.dupes import candidates as cands

        with self.door.operation("dupes_rebuild") as record:
            started = time.perf_counter()
            indexed = cands.rebuild_index(self.cache)
            index_s = time.perf_counter() - started
            analysed = analysis.backfill(self.cache)  # what scoring a candidate reads
            embedded, _ = vectors.embed_missing(self.cache, progress=embed_progress)
            open_ids = cands.open_thread_ids(self.cache)
            stored = 0
            for start in range(0, len(open_ids), 500):
                stored += cands.update_candidates(self.cache, open_ids[start : start + 500])
                if progress is not None:
                    progress(min(start + 500, len(open_ids)), len(open_ids))
            from console.dupes import refresh

            refresh.done_by_rebuild(self.cache)  # what an import queued is done now
            summary: dict[str, float | int] = {
                "indexed_threads": indexed,
                "index_seconds": round(index_s, 2),
                "analysed_threads": analysed,
                "open_threads": len(open_ids),
                "pairs_stored": stored,
                "embedded_threads": embedded,
                "seconds": round(time.perf_counter() - started, 2),
            }
            record.update(summary)
        return summary

    def catch_up_duplicates(
        self,
        progress: Callable[[int, int], None] | None = None,
        *,
        embed_progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Embed threads without a vector, then recompute candidates computed without them
        (console.dupes.catch_up; audited with the counts)."""
        from console.dupes.catch_up import catch_up

        with self.door.operation("dupes_rebuild", detail={"catch_up": True}) as record:
            done = catch_up(self.cache, embed_progress=embed_progress, progress=progress)
            summary: dict[str, Any] = {
                "embedded_threads": done.embedded,
                "refreshed_threads": done.refreshed,
                "pairs_stored": done.pairs,
                "skipped": done.skipped,
            }
            record.update(summary)
        return summary

    def duplicates_catch_up_pending(self, *, lexical: bool = False) -> bool:
        """Is there anything for `catch_up_duplicates` to do (checked before starting one)?
        `lexical`: candidates computed without embeddings count too. SQL only (no numpy)."""
        from console.dupes.catch_up import anything_to_do, pending

        self.door.check("dupes_rebuild")
        return anything_to_do(self.cache) if lexical else pending(self.cache)

    def evaluate_duplicates(self) -> Any:
        """Precision and recall of today's threshold on the pairs moderators decided."""
        from console.dupes.evaluate import evaluate

        return evaluate(self.cache)

    def duplicates_across(
        self, thread_id: int, *, any_source: bool, any_language: bool, weaker: bool
    ) -> tuple[list[tuple[int, float, str]], dict[int, tuple[str, str, str]]]:
        """Candidates looked for across sources / languages (not stored), and for each original
        (title, status, source name)."""
        from console.dupes import candidates as cands

        found = cands.find_candidates(
            self.cache, thread_id, any_source=any_source, any_language=any_language
        )
        if not weaker:
            found = [f for f in found if f[1] >= cands.PROPOSE]
        rows = self.cache.query(
            "SELECT t.id, t.title, t.status, s.name FROM threads t JOIN sources s "
            f"ON s.id = t.source_id WHERE t.id IN ({','.join('?' * len(found))})",
            [f[0] for f in found],
        )
        return found, {int(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in rows}

    def refresh_duplicates(self, thread_id: int) -> int:
        """Recompute one thread's candidates (audited); returns the pairs stored."""
        from console.dupes import candidates as cands

        with self.door.operation(
            "dupes_rebuild", target_kind="thread", target_id=thread_id
        ) as record:
            record["pairs_stored"] = cands.update_candidates(self.cache, [thread_id])
        return int(record["pairs_stored"])

    def duplicate_candidates(
        self, thread_id: int, *, include_decided: bool = False, weaker: bool = False
    ) -> list[Candidate]:
        from console.dupes.stored import candidates

        return candidates(self.cache, thread_id, include_decided=include_decided, weaker=weaker)

    def strong_score(self) -> float:
        from console.dupes.thresholds import STRONG_SCORE

        return STRONG_SCORE

    def strong_duplicates(self, limit: int = 50) -> list[tuple[int, str, float, int]]:
        """Threads with a strong pending candidate: (thread id, title, best score, candidates)."""
        from console.dupes import panel as _dupe_panel

        return _dupe_panel.strong_threads(self.cache, limit)

    # ---- audit ----
    def audit_entries(self, limit: int = 50) -> list[dict[str, Any]]:
        return audit.entries(self.cache, limit=limit)

    def audit_count(self) -> int:
        row = self.cache.one("SELECT count(*) FROM audit")
        return int(row[0]) if row else 0
