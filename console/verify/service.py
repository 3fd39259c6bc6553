"""The verification door for the console and the CLI: `Desk.verification` returns one of these.

It knows who acts (actor and roles, checked in console.decisions) and the verification settings,
and keeps the last good settings in the cache's meta, so a broken `[verify]` table in the config
is reported (`settings_problem`) while the last good points stay in use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console import decisions, roles
from console.db import Cache
from console.identity import Identity
from console.models import DecisionResult
from console.verify import actions, panel, queue
from console.verify.panel import Agreement, AnswerView, Disagreement, KnownAnswer
from console.verify.queue import QueueRow
from console.verify.settings import VerifySettings, load

META_KEY = "verify_settings_last_good"
SCORE_STEP = 50  # threads scored a transaction by the console (the list is read after each)


@dataclass
class Verification:
    cache: Cache
    who: Identity  # from console.identity.establish; its roles are checked in the domain
    config_path: Path | None = None
    overrides: VerifySettings | None = None  # tests and the demo: settings without a file

    @property
    def actor(self) -> str:
        return self.who.name

    def settings(self) -> VerifySettings:
        if self.overrides is not None:
            return self.overrides
        last_good = VerifySettings.from_json(self.cache.meta(META_KEY))
        found = load(self.config_path, last_good)
        if found.problem is None and (last_good is None or found.to_json() != last_good.to_json()):
            with self.cache.transaction():
                self.cache.set_meta(META_KEY, found.to_json())
        return found

    # ---- reading ----
    def refresh(self, thread_ids: list[int] | None = None) -> int:
        """Rescore the given threads (every answered thread without ids)."""
        if thread_ids is None:
            kept = queue.refresh(self.cache, queue.answered_threads(self.cache), self.settings())
            queue.mark_all_seen(self.cache)
            return kept
        return queue.refresh(self.cache, thread_ids, self.settings())

    def queue(self, *, offset: int = 0, limit: int = 100) -> list[QueueRow]:
        """What waits for this moderator; threads with new activity are scored first."""
        if offset == 0:
            queue.refresh_changed(self.cache, self.settings())
        return queue.pending(self.cache, self.actor, offset=offset, limit=limit)

    def waiting(self, *, limit: int = 100) -> list[QueueRow]:
        """What waits for this moderator as scored so far (nothing is scored: the console scores
        new activity apart, `score_changed_apart`, and reads this again as it goes)."""
        return queue.pending(self.cache, self.actor, limit=limit)

    def score_changed_apart(
        self, *, step: int = SCORE_STEP, progress: Callable[[int], None] | None = None
    ) -> int:
        """Score the threads with new activity (the newest FIRST_BATCH on a cache never scored)
        on a connection of its own, `step` threads a transaction, `progress(kept so far)` after
        each: the first V at a million threads scored 500 threads before showing anything (more
        than 15 s); now the list shows at once and grows a step at a time. Returns how many
        candidates were kept."""
        cache = self.cache.reopen()
        try:
            apart = Verification(cache, self.who, self.config_path, self.overrides)
            return queue.refresh_changed(cache, apart.settings(), step=step, progress=progress)
        finally:
            cache.close()

    def pending_count(self) -> int:
        return queue.pending_count(self.cache)

    def answer(self, post_id: int) -> AnswerView:
        settings = self.settings()
        queue.ensure(self.cache, post_id, settings)
        return panel.answer(self.cache, post_id, self.actor, settings)

    def agreement(self) -> list[Agreement]:
        return panel.agreement(self.cache)

    def disagreements(self) -> list[Disagreement]:
        return panel.disagreements(self.cache)

    def known_answer(self, thread_id: int) -> KnownAnswer | None:
        return panel.known_answer(self.cache, thread_id)

    # ---- deciding ----
    def _decide(self, action: str, post_id: int, **params: Any) -> DecisionResult:
        # refused before anything is read: a team database does not let a role-less login
        # read the settings, and the refusal should name the missing role, not a table
        roles.require(self.who, action)
        settings = self.settings()
        queue.ensure(self.cache, post_id, settings)
        params["calibration_share"] = settings.calibration_share
        return decisions.decide(
            self.cache,
            who=self.who,
            action=action,
            target_ids=[post_id],
            params=params,
        )

    def verify(
        self, post_id: int, text: str = "", expected_hash: str | None = None
    ) -> DecisionResult:
        return self._decide(actions.VERIFY, post_id, text=text, expected_hash=expected_hash)

    def pick(
        self, post_id: int, text: str = "", expected_hash: str | None = None
    ) -> DecisionResult:
        return self._decide(actions.PICK, post_id, text=text, expected_hash=expected_hash)

    def reject(
        self, post_id: int, reason: str, text: str = "", expected_hash: str | None = None
    ) -> DecisionResult:
        return self._decide(
            actions.REJECT, post_id, reason=reason, text=text, expected_hash=expected_hash
        )

    def needs_edit(
        self, post_id: int, note: str, expected_hash: str | None = None
    ) -> DecisionResult:
        return self._decide(actions.NEEDS_EDIT, post_id, text=note, expected_hash=expected_hash)

    def confirm(
        self,
        post_id: int,
        *,
        agree: bool = True,
        proposal: tuple[str, str] | None = None,
        expected_hash: str | None = None,
    ) -> DecisionResult:
        """The second moderator's word; with `proposal` (state, proposer) as it was shown,
        refused if the proposal standing is another by now (undone and proposed again)."""
        shown = {"proposal": list(proposal)} if proposal is not None else {}
        return self._decide(
            actions.CONFIRM, post_id, agree=agree, expected_hash=expected_hash, **shown
        )

    def calibrate(self, post_id: int, state: str) -> DecisionResult:
        return self._decide(actions.CALIBRATE, post_id, state=state)

    def undo(self) -> DecisionResult:
        return decisions.undo_last(self.cache, who=self.who)
