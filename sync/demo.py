"""The adapter of sources with no network: the built-in demo community and JSONL imports.

Demo: pull has nothing new; push marks actions applied locally, so `peerdesk push` works on the
demo. JSONL: there is no platform to send to, so every action stays local (with that reason).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from console.platforms import LOCAL_REASONS
from sync.base import Known, Outcome, Page, PushRequest, PushResult


class LocalAdapter:
    requests_made = 0

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def pull(self, cursor: dict[str, Any], known: Known, *, full: bool = False) -> Iterator[Page]:
        yield Page(label="nothing to fetch (no network source)")

    def push(self, request: PushRequest) -> PushResult:
        if self.kind == "demo":
            return PushResult(Outcome.APPLIED, "applied in the demo community (no network)")
        reason = LOCAL_REASONS.get(self.kind, f"the {self.kind} source cannot receive actions")
        return PushResult(Outcome.LOCAL_ONLY, reason)

    def close(self) -> None:
        return None
