"""The adapter interface every platform implements, and the errors sync raises.

An adapter does network and parsing only; it never writes the cache. `pull` yields `Page`s; the
runner stores each page (rows, errors and the page's cursor) in ONE transaction, so a cursor never
runs ahead of the data it covers. `push` sends one outbox action and says what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar, runtime_checkable

from console.models import MemberRecord, PostRecord, ThreadRecord
from sync.parse import BadField


class SyncError(Exception):
    """Base of sync failures. Messages never contain credentials."""


class Offline(SyncError):
    """The platform could not be reached (connection refused, DNS, timeouts after retries)."""


class HttpFailure(SyncError):
    """The platform answered with an error status after retries."""

    def __init__(self, endpoint: str, status: int, message: str) -> None:
        super().__init__(f"{endpoint}: HTTP {status}: {message}")
        self.endpoint = endpoint
        self.status = status
        self.message = message


class AuthFailed(HttpFailure):
    """Wrong or missing credentials (HTTP 401/403 on a read)."""


class QuotaSpent(SyncError):
    """The platform's request quota is used up; sync stops cleanly and resumes from the cursor."""


class BadPayload(SyncError):
    """A response (or one item in it) does not have the shape the adapter expects."""

    def __init__(self, endpoint: str, field: str | None, message: str, excerpt: str = "") -> None:
        where = f" (field {field})" if field else ""
        super().__init__(f"{endpoint}{where}: {message}")
        self.endpoint = endpoint
        self.field = field
        self.message = message
        self.excerpt = excerpt[:300]


@dataclass(frozen=True)
class Problem:
    """Something a sync could not read; stored in `sync_errors`, the sync goes on."""

    endpoint: str
    message: str
    field: str | None = None
    excerpt: str = ""

    @classmethod
    def of(cls, endpoint: str, error: BadField, about: str = "") -> Problem:
        """The problem a `BadField` names; `about` (e.g. "topic 12: ") goes before its message."""
        return cls(endpoint, about + error.message, error.field, error.excerpt())


T = TypeVar("T")


def read_each(
    raws: Iterable[Any], read: Callable[[Any], T], endpoint: str, problems: list[Problem]
) -> list[T]:
    """Every item of a page through `read`: one that does not read is left out and its problem
    kept, and the rest of the page goes on."""
    kept: list[T] = []
    for raw in raws:
        try:
            kept.append(read(raw))
        except BadField as error:
            problems.append(Problem.of(endpoint, error))
    return kept


@dataclass(frozen=True)
class ReviewRecord:
    """One item of a platform's review queue (a flagged post, a post waiting for approval)."""

    remote_id: str
    kind: str  # "flagged_post" | "queued_post" | other platform type, lower-cased
    status: str  # "pending" | "approved" | "rejected" | "ignored" | "deleted"
    version: int
    created_at: str
    thread_remote_id: str | None = None
    post_remote_id: str | None = None
    score: float = 0.0
    reasons: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    body: str = ""
    created_by: str | None = None


@dataclass(frozen=True)
class MemberFacts:
    """A member's join date and signals (kind, value), e.g. ("registration_ip", "203.0.113.7")."""

    remote_id: str
    username: str
    joined_at: str | None = None
    signals: tuple[tuple[str, str], ...] = ()


@dataclass
class Page:
    """One unit of pulled data, stored atomically together with `cursor`."""

    members: list[MemberRecord] = field(default_factory=list)
    # members known only by name (from posts): stored without touching their reputation
    member_refs: list[MemberRecord] = field(default_factory=list)
    threads: list[ThreadRecord] = field(default_factory=list)
    posts: list[PostRecord] = field(default_factory=list)
    reviews: list[ReviewRecord] = field(default_factory=list)
    reviews_complete: bool = False  # True: `reviews` is every pending item; others were resolved
    # {(kind, remote_id): fingerprint} stored with the rows so unchanged items are skipped later
    fingerprints: dict[tuple[str, str], str] = field(default_factory=dict)
    forget: list[tuple[str, str]] = field(default_factory=list)  # fingerprints to drop
    # post ids the platform no longer shows (deleted): removed from the cache
    deleted_posts: list[str] = field(default_factory=list)
    # topic ids the platform answers 404 for: kept in the cache, taken out of the Queue
    gone_topics: list[str] = field(default_factory=list)
    # post remote id -> every member who likes / up-votes it now, as the platform lists them
    # (the whole list: votes of that post missing from it are marked retracted; the fraud
    # checks read them). Only platforms that say who voted fill it (Discourse's likes).
    voters: dict[str, list[MemberRecord]] = field(default_factory=dict)
    # what the platform tells about members beyond their posts: join dates and signals such
    # as the registration IP (Discourse's admin API), for the fraud checks
    member_facts: list[MemberFacts] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    cursor: dict[str, Any] | None = None  # None: keep the stored cursor
    done: int = 0  # progress: items handled so far in this run
    total: int | None = None  # None when unknown
    label: str = ""


class Outcome(StrEnum):
    APPLIED = "applied"
    CONFLICT = "conflict"  # the platform state moved on: a human decides
    REJECTED = "rejected"  # the platform refused it for good (permissions, validation, gone)
    RETRY_LATER = "retry_later"  # offline, rate limited, server trouble: stays pending
    LOCAL_ONLY = "local_only"  # the platform cannot receive it at all


@dataclass(frozen=True)
class PushResult:
    outcome: Outcome
    message: str = ""
    remote_ref: str | None = None  # e.g. the id of a created post


@dataclass(frozen=True)
class PushRequest:
    """One outbox item, with local ids already resolved to the platform's ids."""

    outbox_id: int
    action: str
    payload: Mapping[str, Any]  # as enqueued (local ids)
    remote: Mapping[str, str]  # e.g. {"thread": "123", "post": "456", "original": "99"}
    idempotency_key: str
    attempts: int
    sent_at: str | None  # when a previous attempt started (None: never sent)
    # the remote version the decision was made against (console.outbox.base_version); None:
    # nothing recorded, or a human asked to send it anyway
    base: Mapping[str, Any] | None = None
    # where the platform stood before an earlier attempt went out (MarksSends.send_mark, kept
    # with the item); None: no earlier attempt, or it recorded none (sent by an older peerdesk)
    mark: Mapping[str, Any] | None = None


@runtime_checkable
class MarksSends(Protocol):
    """An adapter whose writes of some actions cannot be sent twice safely (a reply posted
    again is a second reply) notes where the platform stands just before such a write; the
    pusher records it with the item as it marks it sent, and a retry gets it as
    `PushRequest.mark`, so the adapter looks for its earlier write only after that point."""

    def send_mark(self, action: str) -> dict[str, Any] | None:
        """Where the platform stands now, for an item of `action` about to be sent; None when
        `action` needs no mark or it cannot be read (a retry then looks for it as before)."""
        ...


class Known(Protocol):
    """Read-only view of what the cache already holds, for incremental decisions."""

    def fingerprints(self, kind: str, remote_ids: list[str]) -> dict[str, str]: ...

    def post_ids(self, thread_remote_id: str) -> set[str]: ...

    def remote_ids(self, kind: str) -> set[str]: ...

    def active_topics(self, since: str) -> list[str]:
        """Remote ids of the cached threads with activity at or after `since`."""
        ...


class Adapter(Protocol):
    kind: str

    @property
    def requests_made(self) -> int:
        """Requests sent so far (for reports and benchmarks)."""
        ...

    def pull(self, cursor: dict[str, Any], known: Known, *, full: bool = False) -> Iterator[Page]:
        """Pages of what changed since `cursor`; the last page carries the final cursor."""
        ...

    def push(self, request: PushRequest) -> PushResult:
        """Send one action; a request with `sent_at` set was maybe sent before: check first."""
        ...

    def close(self) -> None: ...
