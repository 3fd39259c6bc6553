"""One member across every source: what a moderator needs to judge them in seconds.

`profile(cache, member_id)` gathers, for the member and their accounts on the other sources
(console.member_links: linked by a moderator, by the platforms' own identity, or by the same
username in any case; each account says why it is theirs),
their posts, accepted and verified answers, flags they raised and received, moderators' notes
on their threads, claims on them, decisions about their threads and posts (from the audit log),
their reward ledger lines and balance, and escalations raised on what they wrote; with the join
date and reputation on each platform. Lists are the newest LIMIT; counts are of everything.

Plain Python on the cache (no Textual); the console's member screen only draws what this returns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from console.db import Cache
from console.errors import NotFound
from console.member_links import linked_accounts
from console.rewards import ledger
from console.words import counted

LIMIT = 20  # newest items of each list
OPEN_ESCALATION = ("new", "acknowledged", "sent_to_support", "waiting_on_customer")


@dataclass(frozen=True)
class Account:
    member_id: int
    source: str
    username: str
    display_name: str | None
    reputation: int
    trust_level: int | None
    joined_at: str | None
    why: str = ""  # why it is the member's (console.member_links): "same username", …


@dataclass(frozen=True)
class Line:
    """One line of a section: when, what (a short text), and the thread it is about, if any."""

    at: str
    text: str
    thread_id: int | None = None
    source: str = ""  # the platform it happened on, where that is known


@dataclass(frozen=True)
class Section:
    name: str
    count: int  # every item, not only the lines shown
    lines: tuple[Line, ...] = ()
    summary: str = ""  # a figure that is not a count ("balance 120 points, 600 minor units")


@dataclass(frozen=True)
class MemberProfile:
    member_id: int
    username: str
    accounts: tuple[Account, ...]
    sections: tuple[Section, ...] = field(default=())

    def section(self, name: str) -> Section:
        return next(s for s in self.sections if s.name == name)


def _marks(ids: tuple[object, ...]) -> str:
    return ",".join("?" * len(ids))


def accounts_of(cache: Cache, member_id: int) -> tuple[Account, ...]:
    """The member and their accounts on other sources, each with why it is theirs (the member
    first, then by source)."""
    why = {linked.member_id: linked.why for linked in linked_accounts(cache, member_id)}
    ids = tuple(why)
    rows = cache.query(
        "SELECT m.id, s.name, m.username, m.display_name, m.reputation, m.trust_level, "
        "m.joined_at FROM members m JOIN sources s ON s.id = m.source_id "
        f"WHERE m.id IN ({_marks(ids)}) ORDER BY m.id = ? DESC, s.name, m.id",
        (*ids, member_id),
    )
    return tuple(
        Account(
            member_id=int(r[0]),
            source=r[1],
            username=r[2],
            display_name=r[3],
            reputation=r[4],
            trust_level=r[5],
            joined_at=r[6],
            why=why[int(r[0])],
        )
        for r in rows
    )


def author_of_thread(cache: Cache, thread_id: int) -> int:
    row = cache.one("SELECT author_id FROM threads WHERE id = ?", (thread_id,))
    if row is None or row[0] is None:
        raise NotFound(f"Thread {thread_id} has no known author")
    return int(row[0])


def author_of_post(cache: Cache, post_id: int) -> int:
    row = cache.one("SELECT author_id FROM posts WHERE id = ?", (post_id,))
    if row is None or row[0] is None:
        raise NotFound(f"Post {post_id} has no known author")
    return int(row[0])


def profile(cache: Cache, member_id: int, *, limit: int = LIMIT) -> MemberProfile:
    """Everything the cache knows about a member, across every source."""
    accounts = accounts_of(cache, member_id)
    ids = tuple(a.member_id for a in accounts)
    reader = _Reader(cache, ids, tuple(a.username for a in accounts), limit)
    sections = (
        reader.posts(),
        reader.accepted(),
        reader.verified(),
        reader.flags_received(),
        reader.flags_raised(),
        reader.notes(),
        reader.claims(),
        reader.decisions(),
        reader.rewards(),
        reader.escalations(),
    )
    return MemberProfile(member_id, accounts[0].username, accounts, sections)


class _Reader:
    def __init__(self, cache: Cache, ids: tuple[int, ...], names: tuple[str, ...], limit: int):
        self.cache = cache
        self.ids = ids
        self.names = names
        self.limit = limit
        self.in_ids = f"({_marks(ids)})"
        self._totals: tuple[int, int, int] | None = None

    def _count(self, sql: str, params: tuple[object, ...]) -> int:
        row = self.cache.one(sql, params)
        return int(row[0]) if row and row[0] is not None else 0

    def _post_totals(self) -> tuple[int, int, int]:
        """Posts, questions among them, and flags on them: one pass over the member's posts."""
        if self._totals is None:
            row = self.cache.one(
                "SELECT count(*), coalesce(sum(CASE WHEN position = 0 THEN 1 ELSE 0 END), 0), "
                "coalesce(sum(flag_count), 0) "
                f"FROM posts WHERE author_id IN {self.in_ids}",
                self.ids,
            )
            self._totals = (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
        return self._totals

    def posts(self) -> Section:
        ids = self.ids
        count, asked, _ = self._post_totals()
        rows = self.cache.query(
            "SELECT p.created_at, p.thread_id, p.position, p.score, p.flag_count, p.hidden, "
            "t.title, s.name FROM posts p JOIN threads t ON t.id = p.thread_id "
            f"JOIN sources s ON s.id = p.source_id WHERE p.author_id IN {self.in_ids} "
            "ORDER BY p.created_at DESC, p.id DESC LIMIT ?",
            (*ids, self.limit),
        )
        lines = []
        for r in rows:
            kind = "asked" if r[2] == 0 else "answered"
            extra = f" · score {r[3]}"
            if r[4]:
                extra += f" · {counted(r[4], 'flag')}"
            if r[5]:
                extra += " · hidden"
            lines.append(Line(r[0], f"{kind} #{r[1]} {r[6]}{extra}", r[1], r[7]))
        return Section("Posts", count, tuple(lines), f"{asked} asked, {count - asked} answered")

    def accepted(self) -> Section:
        where = (  # from the member's posts (their index), never a walk of every thread
            "FROM posts p JOIN threads t ON t.id = p.thread_id AND t.accepted_post_id = p.id "
            f"WHERE p.author_id IN {self.in_ids}"
        )
        count = self._count(f"SELECT count(*) {where}", self.ids)
        rows = self.cache.query(
            f"SELECT p.created_at, t.id, t.title {where} ORDER BY p.created_at DESC LIMIT ?",
            (*self.ids, self.limit),
        )
        return Section(
            "Accepted answers",
            count,
            tuple(Line(r[0], f"#{r[1]} {r[2]}", r[1]) for r in rows),
        )

    def verified(self) -> Section:
        where = (
            "FROM verifications v JOIN posts p ON p.id = v.post_id "
            f"WHERE p.author_id IN {self.in_ids} AND v.state IN ('verified', 'rejected', "
            "'needs_edit')"
        )
        rows = self.cache.query(
            f"SELECT coalesce(v.decided_at, v.updated_at), v.thread_id, v.state, "
            f"coalesce(v.decided_by, '') {where} ORDER BY 1 DESC LIMIT ?",
            (*self.ids, self.limit),
        )
        counts = {
            r[0]: int(r[1])
            for r in self.cache.query(
                f"SELECT v.state, count(*) {where} GROUP BY v.state", self.ids
            )
        }
        summary = ", ".join(f"{counts[s]} {s.replace('_', '-')}" for s in sorted(counts))
        return Section(
            "Verified answers",
            counts.get("verified", 0),
            tuple(
                Line(r[0] or "", f"#{r[1]} {r[2].replace('_', '-')} by {r[3] or '?'}", r[1])
                for r in rows
            ),
            summary,
        )

    def flags_received(self) -> Section:
        ids = self.ids
        on_posts = self._post_totals()[2]
        on_threads = self._count(
            f"SELECT sum(flag_count + report_count) FROM threads WHERE author_id IN {self.in_ids}",
            ids,
        )
        rows = self.cache.query(
            "SELECT r.created_at, r.thread_id, r.kind, r.status, coalesce(r.created_by, '') "
            "FROM review_items r JOIN posts p ON p.id = r.post_id "
            f"WHERE p.author_id IN {self.in_ids} ORDER BY r.created_at DESC LIMIT ?",
            (*ids, self.limit),
        )
        reviews = self._count(
            "SELECT count(*) FROM review_items r JOIN posts p ON p.id = r.post_id "
            f"WHERE p.author_id IN {self.in_ids}",
            ids,
        )
        return Section(
            "Flags received",
            on_posts + on_threads,
            tuple(
                Line(r[0], f"{r[2]} ({r[3]}) on #{r[1]} by {r[4] or 'the platform'}", r[1])
                for r in rows
            ),
            _parts(on_posts=on_posts, on_threads=on_threads, platform_reviews=reviews),
        )

    def flags_raised(self) -> Section:
        ids = self.ids
        names = tuple(n.lower() for n in self.names)
        dupes = self.cache.query(
            "SELECT f.flagged_at, f.thread_id, f.original_id FROM member_duplicate_flags f "
            f"WHERE f.member_id IN {self.in_ids} ORDER BY f.flagged_at DESC LIMIT ?",
            (*ids, self.limit),
        )
        dupe_count = self._count(
            f"SELECT count(*) FROM member_duplicate_flags WHERE member_id IN {self.in_ids}", ids
        )
        reviews = self.cache.query(
            "SELECT created_at, thread_id, kind, status FROM review_items "
            f"WHERE lower(created_by) IN ({_marks(names)}) ORDER BY created_at DESC LIMIT ?",
            (*names, self.limit),
        )
        review_count = self._count(
            f"SELECT count(*) FROM review_items WHERE lower(created_by) IN ({_marks(names)})",
            names,
        )
        lines = [Line(r[0], f"#{r[1]} as a duplicate of #{r[2]}", r[1]) for r in dupes]
        lines += [Line(r[0], f"{r[2]} ({r[3]}) on #{r[1]}", r[1]) for r in reviews]
        lines.sort(key=lambda line: line.at, reverse=True)
        return Section(
            "Flags raised",
            dupe_count + review_count,
            tuple(lines[: self.limit]),
            _parts(duplicate=dupe_count, on_the_platform=review_count),
        )

    def notes(self) -> Section:
        where = (
            "FROM notes n JOIN threads t ON t.id = n.thread_id "
            f"WHERE t.author_id IN {self.in_ids} AND n.deleted = 0"
        )
        count = self._count(f"SELECT count(*) {where}", self.ids)
        rows = self.cache.query(
            f"SELECT n.created_at, n.thread_id, n.author, n.body {where} "
            "ORDER BY n.created_at DESC, n.id DESC LIMIT ?",
            (*self.ids, self.limit),
        )
        return Section(
            "Moderator notes",
            count,
            tuple(Line(r[0], f"#{r[1]} {r[2]}: {r[3]}", r[1]) for r in rows),
        )

    def claims(self) -> Section:
        rows = self.cache.query(
            "SELECT c.claimed_at, c.thread_id, c.holder, c.expires_at FROM claims c "
            f"JOIN threads t ON t.id = c.thread_id WHERE t.author_id IN {self.in_ids} "
            "AND c.expires_at > ? ORDER BY c.claimed_at DESC",
            (*self.ids, self.cache.dialect.lease_time(self.cache.conn)),
        )
        return Section(
            "Claims",
            len(rows),
            tuple(
                Line(r[0], f"#{r[1]} claimed by {r[2]} until {r[3][11:16]} UTC", r[1])
                for r in rows[: self.limit]
            ),
        )

    def decisions(self) -> Section:
        ids = self.ids
        where = (
            "FROM audit a WHERE (a.target_kind = 'thread' AND a.target_id IN "
            f"(SELECT id FROM threads WHERE author_id IN {self.in_ids})) OR "
            "(a.target_kind = 'post' AND a.target_id IN "
            f"(SELECT id FROM posts WHERE author_id IN {self.in_ids}))"
        )
        count = self._count(f"SELECT count(*) {where}", (*ids, *ids))
        rows = self.cache.query(
            f"SELECT a.ts, a.actor, a.action, a.target_kind, a.target_id, a.detail {where} "
            "ORDER BY a.id DESC LIMIT ?",
            (*ids, *ids, self.limit),
        )
        lines = []
        for r in rows:
            thread_id = r[4] if r[3] == "thread" else _thread_of_post(self.cache, r[4])
            reason = _reason(r[5])
            action = r[2].replace("_", " ")
            what = action if action.endswith(r[3]) else f"{action} {r[3]}"
            text = f"{what} #{r[4]} by {r[1]}"
            lines.append(Line(r[0], text + (f": {reason}" if reason else ""), thread_id))
        return Section("Decisions", count, tuple(lines))

    def rewards(self) -> Section:
        """Each account's statement from the rewards domain (console.rewards.ledger), merged."""
        statements = [ledger.member_lines(self.cache, i, limit=self.limit) for i in self.ids]
        lines = sorted(
            (line for statement in statements for line in statement.lines),
            key=lambda line: (line.occurred_at, line.entry_id),
            reverse=True,
        )[: self.limit]
        currencies = sorted({line.currency for line in lines})
        points = sum(s.points for s in statements)
        minor = sum(s.amount_minor for s in statements)
        money = (
            f"{minor} {'/'.join(currencies)} minor units" if currencies else f"{minor} minor units"
        )
        return Section(
            "Rewards",
            sum(s.entries for s in statements),
            tuple(
                Line(
                    line.occurred_at,
                    f"{line.kind} {line.rule}: {line.points:+} points, "
                    f"{line.amount_minor:+} {line.currency} minor units",
                    line.thread_id,
                )
                for line in lines
            ),
            f"balance {points} points, {money}",
        )

    def escalations(self) -> Section:
        where = (
            "FROM escalations e WHERE e.thread_id IN "
            f"(SELECT id FROM threads WHERE author_id IN {self.in_ids}) OR e.post_id IN "
            f"(SELECT id FROM posts WHERE author_id IN {self.in_ids})"
        )
        params = (*self.ids, *self.ids)
        count = self._count(f"SELECT count(*) {where}", params)
        open_count = self._count(
            f"SELECT count(*) FROM ({'SELECT e.state ' + where}) AS x "
            f"WHERE state IN ({_marks(OPEN_ESCALATION)})",
            (*params, *OPEN_ESCALATION),
        )
        rows = self.cache.query(
            f"SELECT e.raised_at, e.thread_id, e.severity, e.rule_name, e.state {where} "
            "ORDER BY e.raised_at DESC LIMIT ?",
            (*params, self.limit),
        )
        return Section(
            "Escalations",
            count,
            tuple(
                Line(r[0], f"#{r[1]} {r[2]} {r[3]} ({r[4].replace('_', ' ')})", r[1]) for r in rows
            ),
            f"{open_count} open" if open_count else "",
        )


def _parts(**counts: int) -> str:
    """The counts that are not zero, e.g. "2 on threads, 1 platform reviews"."""
    return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items() if n)


def _thread_of_post(cache: Cache, post_id: int | None) -> int | None:
    if post_id is None:
        return None
    row = cache.one("SELECT thread_id FROM posts WHERE id = ?", (post_id,))
    return int(row[0]) if row else None


def _reason(detail: str) -> str:
    try:
        data = json.loads(detail)
    except (TypeError, ValueError):
        return ""
    if not isinstance(data, dict):
        return ""
    payload = data.get("payload")
    where = payload if isinstance(payload, dict) else data
    value = where.get("reason") or where.get("body") or data.get("reason") or ""
    return str(value)[:80]
