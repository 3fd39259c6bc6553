"""The JSONL import's fast path: a well-formed line decoded and type-checked in one step.

msgspec decodes a line straight into a typed record and checks every field's type in C, which
took a third of the time of orjson followed by the field-by-field checks in Python (bench_sync,
100,000 realistic posts). It is a fast path only: `typed_record(line)` returns None for any line
it does not accept whole (a wrong type, a missing field, a time not already in the cache's form,
an unknown status, bytes that are not UTF-8, a lone surrogate...), and the import then reads that
line the checked way (`sync.jsonl`), which names the bad field, mends what it mends and keeps the
same records. So this path accepts only lines the checked way stores unchanged, with the same
values; tests/sync/test_jsonl_typed.py holds the two paths to that.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from console.models import MemberRecord, PostRecord, ThreadRecord
from sync.parse import INT_MAX, INT_MIN, is_canonical_time

Int = Annotated[int, msgspec.Meta(ge=INT_MIN, le=INT_MAX)]
"""An SQLite integer; a larger one goes the checked way, which refuses it naming the field."""
STATUSES = frozenset({"open", "answered", "solved", "closed", "duplicate"})


class _Post(msgspec.Struct, tag_field="type", tag="post"):
    remote_id: str
    thread: str
    position: Int
    body_text: str
    created_at: str
    author: str | None = None
    body_raw: str | None = None
    updated_at: None = None  # an edit time goes the checked way (it may need normalising)
    score: Int = 0
    flag_count: Int = 0
    hidden: bool = False


class _Thread(msgspec.Struct, tag_field="type", tag="thread"):
    remote_id: str
    title: str
    created_at: str
    author: str | None = None
    status: str = "open"
    last_activity_at: str | None = None
    reply_count: Int = 0
    flag_count: Int = 0
    report_count: Int = 0
    tags: list[str] = []
    accepted_post: str | None = None
    url: str | None = None
    remote_updated_at: str | None = None
    duplicate_of: str | None = None


class _Member(msgspec.Struct, tag_field="type", tag="member"):
    remote_id: str
    username: str
    display_name: str | None = None
    reputation: Int = 0
    trust_level: Int | None = None
    joined_at: str | None = None


_DECODE = msgspec.json.Decoder(_Post | _Thread | _Member).decode


def _canonical(value: str | None) -> bool:
    return value is None or (len(value) == 20 and is_canonical_time(value))


def typed_record(line: bytes) -> PostRecord | ThreadRecord | MemberRecord | None:
    """The record of a well-formed line, or None: read it the checked way."""
    try:
        rec = _DECODE(line)
    except (msgspec.MsgspecError, ValueError):  # ValueError: bytes that are not UTF-8
        return None
    if type(rec) is _Post:
        if not (len(rec.created_at) == 20 and is_canonical_time(rec.created_at)):
            return None
        return PostRecord(
            rec.remote_id,
            rec.thread,
            rec.author,
            rec.position,
            rec.body_text,
            rec.body_text if rec.body_raw is None else rec.body_raw,
            rec.created_at,
            None,
            rec.score,
            rec.flag_count,
            rec.hidden,
        )
    if type(rec) is _Thread:
        if not (
            rec.status in STATUSES
            and _canonical(rec.created_at)
            and _canonical(rec.last_activity_at)
            and _canonical(rec.remote_updated_at)
        ):
            return None
        return ThreadRecord(
            remote_id=rec.remote_id,
            title=rec.title,
            author_remote_id=rec.author,
            status=rec.status,
            created_at=rec.created_at,
            last_activity_at=rec.last_activity_at or rec.created_at,
            reply_count=rec.reply_count,
            flag_count=rec.flag_count,
            report_count=rec.report_count,
            tags=tuple(rec.tags),
            accepted_post_remote_id=rec.accepted_post,
            url=rec.url,
            remote_updated_at=rec.remote_updated_at,
            duplicate_of_remote_id=rec.duplicate_of,
        )
    if type(rec) is _Member and _canonical(rec.joined_at):
        return MemberRecord(
            remote_id=rec.remote_id,
            username=rec.username,
            display_name=rec.display_name,
            reputation=rec.reputation,
            trust_level=rec.trust_level,
            joined_at=rec.joined_at,
        )
    return None
