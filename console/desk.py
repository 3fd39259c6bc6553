"""The Desk: one moderator's view of one cache. The console and the CLI talk only to this.

It knows who is acting and with which roles, and routes every read to console.store and every
decision to console.decisions, where roles are enforced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console import audit, claims, decisions, outbox, store
from console.config import Config, load_config
from console.db import Cache, open_cache
from console.dupes import actions as _dupe_actions  # also registers the dupe_* decisions
from console.dupes import panel as _dupe_panel
from console.dupes.candidates import Candidate, candidates
from console.dupes.panel import PairRow, PairView
from console.errors import PeerdeskError
from console.escalate.service import Escalations
from console.models import (
    AuditProblem,
    DecisionResult,
    OutboxItem,
    QueueItem,
    Role,
    ThreadView,
)
from console.paths import default_config_path, default_db_path
from console.roles import allowed, current_user, require
from console.store import QueueFilter

if TYPE_CHECKING:  # sync is imported when first used: it brings httpx, slow to import
    from console.rewards.service import Rewards
    from sync.push import PushReport
    from sync.runner import SyncReport
    from sync.status import SourceStatus, SyncErrorRow, SyncSummary

SyncProgress = Callable[[str, str, int, "int | None"], None]
"""progress(source name, what is happening, items done, items in all or None)"""

ALL_ROLES = frozenset(Role)


@dataclass
class Desk:
    cache: Cache
    actor: str
    roles: frozenset[Role]
    config: Config
    demo: bool = False

    @classmethod
    def open(
        cls,
        db_path: Path | None = None,
        *,
        config_path: Path | None = None,
        create: bool = False,
        actor: str | None = None,
    ) -> Desk:
        config = load_config(config_path or default_config_path())
        cache = open_cache(db_path or default_db_path(), create=create)
        return cls.for_cache(cache, config=config, actor=actor)

    @classmethod
    def for_cache(
        cls, cache: Cache, *, config: Config | None = None, actor: str | None = None
    ) -> Desk:
        config = config or Config()
        actor = actor or current_user()
        demo = cache.meta("demo") == "1"
        roles = ALL_ROLES if demo else config.roles.get(actor, frozenset())
        return cls(cache=cache, actor=actor, roles=roles, config=config, demo=demo)

    @property
    def role_notice(self) -> str:
        if self.demo:
            return f"demo community: {self.actor} has every role"
        if not self.roles:
            return f"{self.actor} has no role: read-only (an admin can grant roles in the config)"
        return f"{self.actor}: " + ", ".join(sorted(r.value for r in self.roles))

    @property
    def escalations(self) -> Escalations:
        """Escalations: SLA clocks, decisions, hand-off (console.escalate)."""
        return Escalations(self)

    def can(self, action: str) -> bool:
        return allowed(self.roles, action)

    # ---- reading ----
    def queue(
        self,
        flt: QueueFilter | None = None,
        *,
        offset: int = 0,
        limit: int = 100,
        total: int | None = None,
    ) -> list[QueueItem]:
        return store.queue(self.cache, flt, offset=offset, limit=limit, total=total)

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

    def threads_by_same_author(self, thread_id: int) -> list[int]:
        return store.open_threads_by_author_of(self.cache, thread_id)

    def waiting_actions(self) -> int:
        return outbox.waiting_count(self.cache)

    # ---- claims ----
    def claim(self, thread_id: int) -> claims.Claim:
        require(self.actor, self.roles, "claim")
        return claims.claim(self.cache, thread_id, self.actor, self.config.lease_minutes)

    def release(self, thread_id: int) -> bool:
        return claims.release(self.cache, thread_id, self.actor)

    # ---- decisions ----
    def decide(self, action: str, target_ids: list[int], **params: object) -> DecisionResult:
        return decisions.decide(
            self.cache,
            actor=self.actor,
            roles=self.roles,
            action=action,
            target_ids=target_ids,
            params=dict(params),
        )

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
        an item since). Raises NothingToUndo."""
        return decisions.undo_preview(self.cache, actor=self.actor)

    def undo(self, *, expect_batch: int | None = None) -> DecisionResult:
        return decisions.undo_last(
            self.cache, actor=self.actor, roles=self.roles, expect_batch=expect_batch
        )

    # ---- audit ----
    def verify_audit(self) -> list[AuditProblem]:
        return audit.verify(self.cache)

    def close_cache(self) -> None:
        self.cache.close()

    # ---- rewards and payouts (console.rewards) ----
    @property
    def rewards(self) -> Rewards:
        """Rewards for this actor; roles and four-eyes are checked inside."""
        from console.rewards.service import Rewards

        return Rewards(self.cache, self.actor, self.roles)

    # ---- duplicates (console.dupes) ----
    def duplicate_pairs(self, offset: int = 0, limit: int = 100) -> list[PairRow]:
        """Threads with pending duplicate pairs, best pair first (highest score)."""
        return _dupe_panel.pending_pairs(self.cache, offset=offset, limit=limit)

    def duplicate_pairs_count(self) -> int:
        return _dupe_panel.pending_count(self.cache)

    def possible_duplicates(self, thread_id: int, *, weaker: bool = False) -> list[Candidate]:
        """The thread's proposed originals, best first (the Thread screen's banner); with
        `weaker`, also the pending candidates below the proposal threshold."""
        return candidates(self.cache, thread_id, weaker=weaker)

    def duplicate_pair(
        self, link_id: int | None = None, *, pair: tuple[int, int] | None = None
    ) -> PairView:
        """One pair in full, by its link id or as (thread id, original id)."""
        if pair is not None:
            return _dupe_panel.pair(self.cache, pair[0], pair[1])
        if link_id is None:
            raise ValueError("duplicate_pair needs a link id or a (thread, original) pair")
        return _dupe_panel.pair_by_link(self.cache, link_id)

    def _duplicate_decision(self, action: str, thread_id: int, original_id: int) -> DecisionResult:
        return _dupe_actions.decide(
            self.cache,
            actor=self.actor,
            roles=self.roles,
            action=action,
            thread_id=thread_id,
            original_id=original_id,
        )

    def confirm_duplicate(self, thread_id: int, original_id: int) -> DecisionResult:
        return self._duplicate_decision(_dupe_actions.CONFIRM, thread_id, original_id)

    def reject_duplicate(self, thread_id: int, original_id: int) -> DecisionResult:
        return self._duplicate_decision(_dupe_actions.REJECT, thread_id, original_id)

    def merge_duplicate(self, thread_id: int, original_id: int) -> DecisionResult:
        return self._duplicate_decision(_dupe_actions.MERGE, thread_id, original_id)

    def duplicate_outcome(self, result: DecisionResult, thread_id: int, original_id: int) -> str:
        """What a duplicate decision did, in words (and what the platform will be told)."""
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

    def sync_errors(self, limit: int = 200) -> list[SyncErrorRow]:
        from sync import status

        return status.errors(self.cache, limit=limit)

    def run_sync(
        self, source_name: str | None = None, progress: SyncProgress | None = None
    ) -> list[SyncReport]:
        """Pull one source (or every source); platform trouble is in the reports, never raised."""
        from sync import runner

        require(self.actor, self.roles, "sync")

        def step(name: str, page: Any) -> None:
            if progress is not None:
                progress(name, page.label or "page", page.done, page.total)

        cache = open_cache(self.cache.path)
        try:
            rows = [runner.source(cache, source_name)] if source_name else runner.sources(cache)
            reports = []
            for row in rows:
                if progress is not None:
                    progress(row.name, "connecting", 0, None)
                try:
                    reports.append(runner.sync_source(cache, row, progress=step))
                except PeerdeskError as error:
                    reports.append(runner.SyncReport(row.name, "failed", str(error)))
            return reports
        finally:
            cache.close()

    def run_push(self, progress: SyncProgress | None = None) -> list[PushReport]:
        """Send the waiting decisions of every source; offline leaves them waiting."""
        from sync import push, runner

        require(self.actor, self.roles, "sync")
        cache = open_cache(self.cache.path)
        try:
            rows = runner.sources(cache)
            reports = []
            for index, row in enumerate(rows):
                if progress is not None:
                    progress(row.name, "sending waiting decisions", index, len(rows))
                try:
                    reports.append(push.push_source(cache, row))
                except PeerdeskError as error:
                    reports.append(push.PushReport(row.name, stopped=str(error)))
            return reports
        finally:
            cache.close()

    def _outbox_decision(self, outbox_id: int, verb: str, done: Callable[[], bool]) -> bool:
        require(self.actor, self.roles, "sync")
        with self.cache.transaction() as conn:
            changed = done()
            if changed:
                audit.append(
                    conn,
                    actor=self.actor,
                    action=f"outbox_{verb}",
                    target_kind="outbox",
                    target_id=outbox_id,
                    detail={},
                )
        return changed

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
