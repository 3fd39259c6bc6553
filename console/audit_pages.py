"""The audit log a page at a time, newest first, for the Audit panel; and its chain's check.

Entries are numbered with no gaps (the chain's `verify` reports a gap as deleted rows), so each
page is read from its place in the primary key: after the entry just above it (`id < after`),
before the entry just below it (`id > before`), or, knowing only its row number, from whichever
end of the list is nearer. The first page and the last cost the same however long the log is.

A filter narrows the list to one person's entries, one kind of action, one target (a thread
number, or any `kind:number`). The target filter reads the `audit_target` index; the others
walk the primary key and skip what does not match.

`check` verifies the chain with the very function `peerdesk audit verify` uses
(`console.audit.verify`), in one snapshot of the store, and says how far it is intact or where
it first breaks; after an intact check it can resume from that check's newest entry (its hash
kept), reading only what was added since. Plain Python, no Textual: both engines (a cache
file, a team database).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from console import audit
from console.clock import iso, parse
from console.db import Cache
from console.errors import PeerdeskError
from console.models import AuditProblem
from console.safe_text import clip, printable
from console.storage import Row

COLUMNS = "id, ts, actor, action, target_kind, target_id, batch_id, detail, prev_hash, hash"
SUMMARY_MAX = 200  # characters of a one-line summary (the list cuts it to its column)
_KIND_NUMBER = re.compile(r"([a-z_]+):#?(\d+)")
_NUMBER = re.compile(r"#?(\d+)")
FILTER_HELP = "mine · who:NAME · action:close · thread:12 (or #12) · post:7 · KIND:N"


class FilterError(PeerdeskError):
    """A filter that cannot be read (one line: what was wrong and what is understood)."""


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list; every field None lists them all."""

    actor: str | None = None
    action: str | None = None
    target_kind: str | None = None
    target_id: int | None = None

    @property
    def active(self) -> bool:
        return self != AuditFilter()

    def describe(self, me: str | None = None) -> str:
        """The filter in the words it is typed in ("mine action:close thread:12")."""
        words = []
        if self.actor is not None:
            words.append("mine" if self.actor == me else f"who:{self.actor}")
        if self.action is not None:
            words.append(f"action:{self.action}")
        if self.target_kind is not None:
            target = f"{self.target_kind}:{self.target_id}"
            words.append(target if self.target_id is not None else f"kind:{self.target_kind}")
        return " ".join(words)

    def where(self) -> tuple[str, list[object]]:
        """The SQL condition (never empty: "1 = 1" for all) and its parameters."""
        terms: list[str] = []
        values: list[object] = []
        for column, value in (
            ("actor", self.actor),
            ("action", self.action),
            ("target_kind", self.target_kind),
            ("target_id", self.target_id),
        ):
            if value is not None:
                terms.append(f"{column} = ?")
                values.append(value)
        return (" AND ".join(terms) or "1 = 1"), values


def parse_filter(text: str, me: str) -> AuditFilter:
    """A filter typed in the panel: words `mine`, `who:NAME`, `action:NAME`, `thread:N` (or
    `#N`, or a bare number: a thread), `kind:KIND` (every entry about that kind of target) or
    any `KIND:N` (`post:7`, `escalation:3`). Later words replace earlier ones of their sort."""
    found: dict[str, Any] = {}
    for word in text.split():
        lowered = word.lower()
        key, _, value = word.partition(":")
        kind_number = _KIND_NUMBER.fullmatch(lowered)
        number = _NUMBER.fullmatch(lowered)
        if lowered in ("mine", "me"):
            found["actor"] = me
        elif key.lower() in ("who", "by", "actor") and value:
            found["actor"] = value
        elif key.lower() == "action" and value:
            found["action"] = value.lower()
        elif key.lower() == "kind" and value:
            found["target_kind"], found["target_id"] = value.lower(), None
        elif kind_number is not None:
            found["target_kind"], found["target_id"] = kind_number[1], int(kind_number[2])
        elif number is not None:
            found["target_kind"], found["target_id"] = "thread", int(number[1])
        else:
            raise FilterError(
                f"{clip(printable(word, single_line=True), 40)!r} is not a filter the audit "
                f"log understands: {FILTER_HELP}"
            )
    return AuditFilter(**found)


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the log as stored, `detail` decoded (an undecodable one kept as text)."""

    id: int
    ts: str
    actor: str
    action: str
    target_kind: str
    target_id: int | None
    batch_id: int | None
    detail: dict[str, Any] = field(compare=True)
    prev_hash: str
    hash: str

    @property
    def os_user(self) -> str | None:
        """The OS account behind an overridden name (`--as`), if the entry records one."""
        value = self.detail.get("os_user")
        return None if value is None else str(value)

    @property
    def who(self) -> str:
        """The person, short: the name, and the OS account behind it when the name was
        overridden ("alice (root)")."""
        if self.os_user is not None and self.os_user != self.actor:
            return f"{self.actor} ({self.os_user})"
        return self.actor

    @property
    def target(self) -> str:
        if self.target_id is None:
            return self.target_kind
        return f"{self.target_kind} {self.target_id}"

    @property
    def thread_id(self) -> int | None:
        """The thread the entry is about: its target, or the thread its detail names."""
        if self.target_kind == "thread" and self.target_id is not None:
            return self.target_id
        value = self.detail.get("thread_id")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def summary(self) -> str:
        """What happened, on one line, safe to print: the words a person wrote (a note's body,
        a reply), then what changed ("status: open → closed"); else a reason, else the detail's
        first fields."""
        parts: list[str] = []
        places = [self.detail] + [
            self.detail[key]
            for key in ("params", "payload")
            if isinstance(self.detail.get(key), dict)
        ]
        for key in ("body", "reply"):
            said = next((p[key] for p in places if isinstance(p.get(key), str) and p[key]), None)
            if said is not None:
                parts.append(f"{key}: {said}")
                break
        before, after = self.detail.get("before"), self.detail.get("after")
        if isinstance(before, dict) and isinstance(after, dict):
            parts += [
                f"{key}: {_short(before.get(key))} → {_short(after.get(key))}"
                for key in sorted(set(before) | set(after))
                if before.get(key) != after.get(key)
            ]
        if not parts:
            for key in ("reason", "assignee", "problem", "error"):
                said = next(
                    (p[key] for p in places if isinstance(p.get(key), str) and p[key]), None
                )
                if said is not None:
                    parts.append(f"{key}: {said}")
                    break
        if not parts:
            parts = [
                f"{key}: {_short(value)}"
                for key, value in sorted(self.detail.items())
                if key not in ("os_user", "thread_id", "before", "after")
            ]
        return _line("; ".join(parts))


def _short(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _line(text: str) -> str:
    return clip(printable(text, single_line=True), SUMMARY_MAX)


def _entry(row: Row) -> AuditEntry:
    text = str(row["detail"])
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    detail = decoded if isinstance(decoded, dict) else {"detail": text}
    target_id, batch_id = row["target_id"], row["batch_id"]
    return AuditEntry(
        id=int(row["id"]),
        ts=str(row["ts"]),
        actor=str(row["actor"]),
        action=str(row["action"]),
        target_kind=str(row["target_kind"]),
        target_id=None if target_id is None else int(target_id),
        batch_id=None if batch_id is None else int(batch_id),
        detail=detail,
        prev_hash=str(row["prev_hash"]),
        hash=str(row["hash"]),
    )


def _read(
    cache: Cache,
    wanted: AuditFilter,
    *,
    newest_first: bool = True,
    condition: str = "",
    values: tuple[object, ...] = (),
    limit: int,
    offset: int = 0,
) -> list[AuditEntry]:
    if limit <= 0:
        return []
    where, params = wanted.where()
    if condition:
        where = f"{where} AND {condition}"
    order = "DESC" if newest_first else "ASC"
    rows = cache.query(
        f"SELECT {COLUMNS} FROM audit WHERE {where} ORDER BY id {order} LIMIT ? OFFSET ?",
        (*params, *values, limit, offset),
    )
    return [_entry(r) for r in rows]


def page(
    cache: Cache,
    wanted: AuditFilter | None = None,
    *,
    offset: int = 0,
    limit: int = 100,
    after: int | None = None,
    before: int | None = None,
    total: int | None = None,
) -> list[AuditEntry]:
    """Entries `offset .. offset + limit` of the list (newest first) that `wanted` keeps. Given
    `after` (the entry just above the page) or `before` (the one just below it) the page is
    read from there; given the list's `total`, a page in its older half is read from the oldest
    end; otherwise OFFSET walks the entries before it."""
    wanted = wanted or AuditFilter()
    if after is not None:
        return _read(cache, wanted, condition="id < ?", values=(after,), limit=limit)
    if before is not None:
        found = _read(
            cache, wanted, newest_first=False, condition="id > ?", values=(before,), limit=limit
        )
        return found[::-1]
    if total is not None and offset > total // 2:
        limit = max(0, min(limit, total - offset))
        skip = max(0, total - offset - limit)
        return _read(cache, wanted, newest_first=False, limit=limit, offset=skip)[::-1]
    return _read(cache, wanted, limit=limit, offset=offset)


def count(cache: Cache, wanted: AuditFilter | None = None) -> int:
    where, params = (wanted or AuditFilter()).where()
    row = cache.one(f"SELECT count(*) FROM audit WHERE {where}", tuple(params))
    return int(row[0]) if row else 0


def newest(cache: Cache) -> int:
    """The newest entry's number (0 for an empty log)."""
    row = cache.one("SELECT max(id) FROM audit")
    return int(row[0]) if row and row[0] is not None else 0


def one(cache: Cache, entry_id: int) -> AuditEntry | None:
    row = cache.one(f"SELECT {COLUMNS} FROM audit WHERE id = ?", (entry_id,))
    return None if row is None else _entry(row)


@dataclass(frozen=True)
class ChainStatus:
    """What a check of the chain found: how many entries, every problem (none: intact through
    the newest entry), the newest entry's hash (a later check resumes from it) and the first
    entry this check read (1: the whole chain; more: it resumed after an intact check that
    had read the entries before it)."""

    entries: int
    newest: int
    problems: tuple[AuditProblem, ...]
    newest_hash: str = ""
    checked_from: int = 1

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def resumed(self) -> bool:
        return self.checked_from > 1

    @property
    def first_break(self) -> AuditProblem | None:
        return min(self.problems, key=lambda p: p.audit_id) if self.problems else None

    @property
    def broken_entries(self) -> frozenset[int]:
        return frozenset(p.audit_id for p in self.problems)

    def text(self) -> str:
        """One line for the status bar (a resumed check says which entries it read now)."""
        first = self.first_break
        if first is None:
            if not self.entries:
                return "the audit log is empty"
            if self.resumed:
                now = (
                    f"{self.checked_from:,}–{self.newest:,} now"
                    if self.checked_from <= self.newest
                    else "nothing new"
                )
                return (
                    f"chain intact through entry {self.newest:,} (checked {now}, "
                    f"1–{self.checked_from - 1:,} earlier; r checks it all)"
                )
            return f"chain intact through entry {self.newest:,}"
        more = len(self.problems) - 1
        also = f" (+{more} more problem{'s' if more > 1 else ''})" if more else ""
        return f"CHAIN BROKEN at entry {first.audit_id}: {first.problem}{also}"


def check(cache: Cache, since: ChainStatus | None = None) -> ChainStatus:
    """The chain checked by `console.audit.verify`'s rules (what `peerdesk audit verify` runs),
    with its newest entry and its length, as of one moment.

    Without `since` every entry is read: run it apart. Given `since`, an earlier check, the
    entries after it are read when `resume` can (see there); when it cannot, the whole chain
    is checked."""
    with cache.snapshot():
        resumed = None if since is None else resume(cache, since)
        return resumed if resumed is not None else _status(cache, audit.verify(cache), 1)


def resume(cache: Cache, since: ChainStatus) -> ChainStatus | None:
    """The chain checked from where `since`, an earlier check that found it intact, left it:
    only the entries after its newest are read, chained from that entry's hash, once the entry
    is found to have that hash still: every hash depends on every entry before it, so the chain
    up to there was not rewritten since (the kept-head rule of `audit verify --since`). An old
    entry edited in place without rewriting the chain after it is left to the whole check
    (`r`, `peerdesk audit verify`). None when it cannot resume (the kept entry is gone or its
    hash changed, or `since` found problems): then only the whole check can say."""
    if not (since.intact and since.newest and since.newest_hash):
        return None
    with cache.snapshot():
        kept = cache.one("SELECT hash FROM audit WHERE id = ?", (since.newest,))
        if kept is None or str(kept[0]) != since.newest_hash:
            return None
        rows = cache.conn.execute("SELECT * FROM audit WHERE id > ? ORDER BY id", (since.newest,))
        problems = audit.check_chain(
            (dict(raw) for raw in rows),
            cache.meta("audit_head"),
            after=since.newest,
            after_hash=since.newest_hash,
        )
        return _status(cache, problems, since.newest + 1)


def _status(cache: Cache, problems: list[AuditProblem], checked_from: int) -> ChainStatus:
    row = cache.one("SELECT count(*), max(id) FROM audit")
    entries = int(row[0]) if row and row[0] is not None else 0
    newest = int(row[1]) if row and row[1] is not None else 0
    found = cache.one("SELECT hash FROM audit WHERE id = ?", (newest,)) if newest else None
    return ChainStatus(
        entries,
        newest,
        tuple(sorted(problems, key=lambda p: p.audit_id)),
        newest_hash="" if found is None else str(found[0]),
        checked_from=checked_from,
    )


def short_time(ts: str) -> str:
    """An entry's time as the list shows it ("11-20 12:00"), in UTC as stored."""
    try:
        return iso(parse(ts))[5:16].replace("T", " ")
    except ValueError:
        return clip(printable(ts, single_line=True), 11)
