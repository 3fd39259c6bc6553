"""Plain dataclasses the domain hands to the console and the CLI. No database types leak out."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    SOLVED = "solved"
    CLOSED = "closed"
    DUPLICATE = "duplicate"


class Role(StrEnum):
    MODERATOR = "moderator"
    PAYOUT_PREPARER = "payout_preparer"
    PAYOUT_APPROVER = "payout_approver"
    ADMIN = "admin"


@dataclass(frozen=True)
class QueueItem:
    """One row of the Queue: a thread needing a human, with what makes it urgent."""

    thread_id: int
    source: str
    title: str
    author: str
    status: str
    created_at: str
    last_activity_at: str
    reply_count: int
    flag_count: int
    report_count: int
    urgency: float
    claimed_by: str | None = None
    claim_expires_at: str | None = None
    strong_duplicate: bool = False  # a pending duplicate candidate >= dupes STRONG_SCORE
    escalation: str | None = None  # highest severity of its open escalations (console.escalate)
    author_name: str | None = None  # the author's display name on the platform, if any


@dataclass(frozen=True)
class PostView:
    post_id: int
    remote_id: str
    author: str
    author_reputation: int
    position: int
    body: str
    created_at: str
    score: int
    accepted: bool
    hidden: bool
    hidden_reason: str | None
    flag_count: int
    body_length: int | None = None  # characters in the whole post when `body` is a window of it
    author_name: str | None = None  # the author's display name, when the platform gives one


@dataclass(frozen=True)
class NoteView:
    note_id: int
    author: str
    body: str
    created_at: str


@dataclass(frozen=True)
class ThreadView:
    """A whole conversation, ready to show."""

    thread_id: int
    source: str
    source_kind: str
    remote_id: str
    title: str
    author: str
    status: str
    created_at: str
    tags: list[str]
    url: str | None
    flag_count: int
    report_count: int
    posts: list[PostView]
    notes: list[NoteView] = field(default_factory=list)
    claimed_by: str | None = None
    claim_expires_at: str | None = None
    duplicate_of: int | None = None
    escalations: tuple[str, ...] = ()  # its open escalations, one line each (console.escalate)
    author_name: str | None = None  # the author's display name, when the platform gives one


@dataclass(slots=True)  # not frozen: a frozen __init__ is ~6x slower, and imports make millions
class MemberRecord:
    """A member as a platform (or the demo, or a JSONL file) describes it."""

    remote_id: str
    username: str
    display_name: str | None = None
    reputation: int = 0
    trust_level: int | None = None
    joined_at: str | None = None


@dataclass(slots=True)  # not frozen: a frozen __init__ is ~6x slower, and imports make millions
class PostRecord:
    remote_id: str
    thread_remote_id: str
    author_remote_id: str | None
    position: int
    body_text: str
    body_raw: str
    created_at: str
    updated_at: str | None = None
    score: int = 0
    flag_count: int = 0
    hidden: bool = False


@dataclass(slots=True)  # not frozen: a frozen __init__ is ~6x slower, and imports make millions
class ThreadRecord:
    remote_id: str
    title: str
    author_remote_id: str | None
    status: str
    created_at: str
    last_activity_at: str
    reply_count: int = 0
    flag_count: int = 0
    report_count: int = 0
    tags: tuple[str, ...] = ()
    accepted_post_remote_id: str | None = None
    url: str | None = None
    remote_updated_at: str | None = None
    duplicate_of_remote_id: str | None = None


@dataclass(frozen=True)
class DecisionResult:
    """What a decision (or a batch of them) changed."""

    batch_id: int
    action: str
    count: int
    outbox_ids: list[int]
    message: str


@dataclass(frozen=True)
class AuditProblem:
    audit_id: int
    problem: str


@dataclass(frozen=True)
class OutboxItem:
    outbox_id: int
    source: str
    action: str
    target_kind: str
    target_id: int | None
    payload: dict[str, object]
    idempotency_key: str
    state: str
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str


def member_label(username: str, display_name: str | None) -> str:
    """How a member is named on screen: "Carol Ng (carol)", or the username alone when the
    display name adds nothing. Raw text: the caller makes it printable."""
    name = (display_name or "").strip()
    if not name or name.casefold() == username.casefold():
        return username
    return f"{name} ({username})"
