"""Rewards in the demo community: votes, payout addresses, a schedule, planted fraud.

`plant(cache, seed)` is the one call from `console.demo.build_demo`. Everything comes from
`Random(seed)`, so the same demo gives the same rows. It adds:

- up-votes behind every answer's score, cast by ordinary members soon after the answer;
- a registration-IP signal per member (2001:db8::/32, the documentation range) and an example.com
  payout address for nearly everyone;
- the schedule `demo-2026.2` and the ledger accrued from it, so the month before the demo's
  reference time (October 2026 for the tests' frozen clock) is a payout period ready to prepare;
- fraud with ground truth in meta `demo_planted_fraud` ({check: [member usernames]}), made out of
  the generated forum so its thread, post and member counts stay as asked: some accepted answers
  of the period change hands to a voting ring, a member with sock puppets (five accounts made the
  same evening, sharing a registration IP, voting for them), a second account answering its
  owner's questions, a copy-paster (the period's answers replaced by verbatim copies of other
  members' earlier accepted answers, greeting to their asker included: the one change to the
  generated text, listed in meta `demo_planted_copies`) and a member with a burst
  of answers in the last week of the period; a small demo plants what its period can hold;
- demo staff identities in meta `demo_staff` for trying four-eyes (the demo gives everyone every
  role; four-eyes is about who, not which role): priya prepares, tom and una approve.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import chain
from random import Random

from console import search_index
from console.db import Cache
from console.rewards.accrue import accrue
from console.rewards.schedule import parse_schedule
from console.rewards.schedule_store import install_schedule

SCHEDULE = """\
# The demo community's points schedule (Kestrel Mobile's "Community Rewards").
version = "demo-2026.2"
currency = "GBP"
point_value = "0.01"          # a point is 1p

[points]
accepted_answer = 50
verified_answer = 100
helpful_vote = 2
escalation_first_response = 20
duplicate_flagged = 10

[caps]
per_day = 400
per_thread = 150

[payouts]
threshold_points = 500        # GBP 5.00
second_approver_over = "250.00"
"""

STAFF = {"priya": "payout_preparer", "tom": "payout_approver", "una": "payout_approver"}
DEFAULT_REFERENCE = datetime(2026, 11, 20, 12, tzinfo=UTC)


class _Calendar:
    """The payout period (the calendar month before the reference time's) and the windows the
    planted fraud is drawn from, as ISO dates."""

    def __init__(self, reference: datetime) -> None:
        reference = reference.astimezone(UTC)
        end = reference.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        start = (end - timedelta(days=1)).replace(day=1)
        self.period = start.strftime("%Y-%m")
        self.start, self.end = _day(start), _day(end)
        self.main_end = _day(end - timedelta(days=3))  # the period but its last three days
        self.late_start = _day(end - timedelta(days=7))  # its last week
        self.before = _day(start - timedelta(days=42))  # six weeks before it
        self.earlier = _day(start - timedelta(days=61))  # two months before it
        self.evening = start - timedelta(days=19) + timedelta(hours=21, minutes=5)
        self.latest = reference - timedelta(hours=1)  # no vote after the demo was built


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Planter:
    """Plants fraud into the generated forum by changing who wrote some accepted answers."""

    def __init__(self, cache: Cache, seed: int, calendar: _Calendar) -> None:
        self.cache = cache
        self.cal = calendar
        self.rng = Random(seed ^ 0x5EED)
        self.source = int(str(_first(cache, "SELECT id FROM sources WHERE name = 'demo'")))
        self.truth: dict[str, list[str]] = {}
        # the copy-paster's answers rewritten as copies: [copy remote id, original remote id]
        self.copied: list[tuple[str, str]] = []
        self.votes: list[tuple[int, int, str]] = []  # (post id, voter id, at)
        self.signals: list[tuple[int, str, str]] = []
        self.planted: set[int] = set()
        hostile = json.loads(cache.meta("demo_hostile") or "[]")
        avoid_threads = {str(h[1]) for h in hostile}
        # accepted answers by ordinary members, oldest first: (post, thread, asker, author, at)
        self.answers = [
            tuple(r)
            for r in cache.query(
                "SELECT p.id, t.id, t.author_id, p.author_id, p.created_at, t.remote_id "
                "FROM threads t JOIN posts p ON p.id = t.accepted_post_id "
                "JOIN members m ON m.id = p.author_id WHERE t.source_id = ? AND p.hidden = 0 "
                "AND coalesce(m.trust_level, 0) < 4 AND t.author_id IS NOT NULL "
                "ORDER BY p.created_at, p.id",
                (self.source,),
            )
            if str(r[5]) not in avoid_threads
        ]
        self.taken: set[int] = set()
        # quiet, ordinary members to play the parts (never staff, never a hostile name)
        self.cast = [
            int(r[0])
            for r in cache.query(
                "SELECT m.id FROM members m WHERE m.source_id = ? AND m.reputation > 0 "
                "AND coalesce(m.trust_level, 0) BETWEEN 1 AND 3 "
                "AND (SELECT count(*) FROM posts p WHERE p.author_id = m.id) <= 3 ORDER BY m.id",
                (self.source,),
            )
            if self._plain(int(r[0]))
        ]
        self.rng.shuffle(self.cast)

    def _plain(self, member: int) -> bool:
        row = self.cache.one("SELECT username FROM members WHERE id = ?", (member,))
        return row is not None and str(row[0]).replace(".", "").replace("_", "").isalnum()

    def person(self) -> int | None:
        while self.cast:
            member = self.cast.pop()
            if member not in self.planted:
                self.planted.add(member)
                return member
        return None

    def later(self, at: str, hours: int) -> str:
        """`hours` after `at`, but never after the demo was built."""
        moment = datetime.fromisoformat(at.replace("Z", "+00:00")) + timedelta(hours=hours)
        return _iso(min(moment, self.cal.latest))

    def name(self, member: int) -> str:
        return str(_first(self.cache, "SELECT username FROM members WHERE id = ?", (member,)))

    def take(self, count: int, start: str, end: str, member: int) -> list[tuple[int, int, str]]:
        """`count` accepted answers written in [start, end) become `member`'s."""
        chosen = [
            a
            for a in self.answers
            if a[0] not in self.taken
            and start <= str(a[4]) < end
            and a[2] != member
            and a[3] not in self.planted
        ]
        self.rng.shuffle(chosen)
        picked = sorted(chosen[:count], key=lambda a: a[0])
        with self.cache.transaction() as conn:
            for post, *_ in picked:
                self.taken.add(int(post))
                conn.execute("UPDATE posts SET author_id = ? WHERE id = ?", (member, post))
        return [(int(a[0]), int(a[1]), str(a[4])) for a in picked]

    # ---- planted fraud ----
    def ring(self, each: int) -> None:
        members = [m for m in (self.person(), self.person(), self.person()) if m is not None]
        cal = self.cal
        posts = {m: self.take(each, cal.start, cal.main_end, m) for m in members}
        if len(members) < 3 or any(len(p) < 4 for p in posts.values()):
            return
        for voter in members:
            for author in members:
                if voter != author:
                    for post, _, at in posts[author]:
                        self.votes.append((post, voter, self.later(at, 2)))
        self.truth["voting_ring"] = sorted(self.name(m) for m in members)

    def puppets(self, each: int) -> None:
        target = self.person()
        puppets = [p for p in (self.person() for _ in range(5)) if p is not None]
        if target is None or len(puppets) < 5:
            return
        posts = self.take(each, self.cal.start, self.cal.main_end, target)
        if len(posts) < 4:
            return
        evening = self.cal.evening
        with self.cache.transaction() as conn:
            for k, puppet in enumerate(puppets):
                conn.execute(
                    "UPDATE members SET joined_at = ? WHERE id = ?",
                    (_iso(evening + timedelta(minutes=7 * k)), puppet),
                )
                self.signals.append((puppet, "registration_ip", "2001:db8:bad:1::7"))
                for post, _, at in self.rng.sample(posts, max(4, len(posts) - 2)):
                    self.votes.append((post, puppet, self.later(at, 3)))
        self.truth["sock_puppets"] = [self.name(target)]

    def self_answer(self, own: int, others: int) -> None:
        owner, second = self.person(), self.person()
        if owner is None or second is None:
            return
        posts = self.take(own, self.cal.start, self.cal.main_end, second)
        if len(posts) < 2:
            return
        with self.cache.transaction() as conn:
            for _post, thread, _ in posts:
                conn.execute("UPDATE threads SET author_id = ? WHERE id = ?", (owner, thread))
                conn.execute(
                    "UPDATE posts SET author_id = ? WHERE thread_id = ? AND position = 0",
                    (owner, thread),
                )
        self.take(others, self.cal.start, self.cal.main_end, second)
        for member in (owner, second):
            self.signals.append((member, "registration_ip", "2001:db8:77:5::12"))
        self.truth["self_answer"] = [self.name(second)]

    def copy_paste(self, copies: int, others: int) -> None:
        """A member whose October answers are verbatim copies of other members' earlier accepted
        answers, greeting and all (the forum's own stock steps are shared by many members and
        copy nothing: see console.rewards.fraud.near_copies). The copied answers keep their
        threads, times and counts; only their text and author change."""
        copier = self.person()
        if copier is None:
            return
        mine = self.take(copies, self.cal.start, self.cal.main_end, copier)
        earlier = [
            a
            for a in self.answers
            if self.cal.earlier <= str(a[4]) < self.cal.start
            and int(a[0]) not in self.taken
            and a[3] not in self.planted
        ]
        self.rng.shuffle(earlier)
        originals = [a for a in earlier if self._particular(int(a[0]))][: len(mine)]
        if len(mine) < 2 or len(originals) < len(mine):
            return
        with self.cache.transaction() as conn:
            for (post, _, _), original in zip(mine, originals, strict=True):
                body_text, body_raw, original_remote = conn.execute(
                    "SELECT body_text, body_raw, remote_id FROM posts WHERE id = ?",
                    (original[0],),
                ).fetchone()
                copy_remote = conn.execute(
                    "SELECT remote_id FROM posts WHERE id = ?", (post,)
                ).fetchone()[0]
                self.copied.append((str(copy_remote), str(original_remote)))
                conn.execute(
                    "UPDATE posts SET body_text = ?, body_raw = ? WHERE id = ?",
                    (body_text, body_raw, post),
                )
                search_index.index_posts(conn, [post])
        self.take(others, self.cal.start, self.cal.main_end, copier)
        self.truth["copy_paste"] = [self.name(copier)]

    def _particular(self, post: int) -> bool:
        """Whether the answer has a first line of its own (a greeting naming its asker)."""
        row = self.cache.one(
            "SELECT p.body_text, m.username FROM posts p JOIN threads t ON t.id = p.thread_id "
            "JOIN members m ON m.id = t.author_id WHERE p.id = ?",
            (post,),
        )
        return row is not None and str(row[1]) in str(row[0]).split("\n", 1)[0]

    def burst(self, late: int) -> None:
        member = self.person()
        if member is None:
            return
        self.take(2, self.cal.before, self.cal.start, member)
        if len(self.take(late, self.cal.late_start, self.cal.end, member)) >= 8:
            self.truth["burst"] = [self.name(member)]

    # ---- organic votes, signals, payees ----
    def organic_votes(self) -> Iterator[tuple[int, int, int, str]]:
        """The votes behind every answer's score, made as they are written (a million-thread
        demo casts ~22 million: a list of them alone took gigabytes)."""
        voters = [
            int(r[0])
            for r in self.cache.query(
                "SELECT id FROM members WHERE source_id = ? AND reputation > 0 ORDER BY id",
                (self.source,),
            )
            if int(r[0]) not in self.planted
        ]
        for post_id, author, created, score in self.cache.query(
            "SELECT id, author_id, created_at, score FROM posts WHERE source_id = ? "
            "AND position > 0 AND score > 0 AND author_id IS NOT NULL ORDER BY id",
            (self.source,),
        ):
            chosen: set[int] = set()
            for voter in self.rng.sample(voters, min(len(voters), int(score) + 2)):
                if voter != author and len(chosen) < min(int(score), 30):
                    chosen.add(voter)
            for voter in sorted(chosen):
                at = self.later(str(created), self.rng.randrange(1, 72))
                yield (self.source, int(post_id), voter, at)

    def write(self) -> None:
        organic = self.organic_votes()  # drawn from the same generator, in the same order,
        rng = self.rng  # as when they were a list: the signals below come after them
        members = [
            int(r[0])
            for r in self.cache.query(
                "SELECT id FROM members WHERE source_id = ? ORDER BY id", (self.source,)
            )
        ]
        special = {m for m, _, _ in self.signals}
        with self.cache.transaction() as conn:
            conn.executemany(
                "INSERT INTO votes (source_id, post_id, voter_id, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                chain(organic, ((self.source, p, v, at) for p, v, at in self.votes)),
            )
            signals = [
                (
                    m,
                    "registration_ip",
                    f"2001:db8:{rng.randrange(0x10000):x}:{rng.randrange(0x10000):x}::{m:x}",
                )
                for m in members
                if m not in special
            ]
            conn.executemany(
                "INSERT INTO member_signals (member_id, kind, value) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                signals + self.signals,
            )
            conn.executemany(
                "INSERT INTO reward_payees (member_id, recipient_type, receiver) "
                "VALUES (?, 'EMAIL', ?) ON CONFLICT DO NOTHING",
                [
                    (m, f"member{m}@example.com")
                    for m in members
                    if m in self.planted or rng.random() > 0.03
                ],
            )
            self.cache.set_meta("demo_planted_fraud", json.dumps(self.truth, sort_keys=True))
            self.cache.set_meta("demo_planted_copies", json.dumps(self.copied))
            self.cache.set_meta("demo_staff", json.dumps(STAFF, sort_keys=True))
            self.cache.set_meta("demo_payout_period", self.cal.period)


def _first(cache: Cache, sql: str, params: tuple[object, ...] = ()) -> object:
    row = cache.one(sql, params)
    if row is None:
        raise LookupError(f"the demo has no row for {sql!r} {params!r}")
    return row[0]


def plant(cache: Cache, seed: int, reference: datetime = DEFAULT_REFERENCE) -> dict[str, list[str]]:
    """Add the rewards part of the demo (its period: the month before `reference`, the demo's
    reference time); returns the planted fraud's ground truth."""
    planter = _Planter(cache, seed, _Calendar(reference))
    planter.burst(late=9)
    planter.ring(each=8)
    planter.puppets(each=8)
    planter.self_answer(own=4, others=5)
    planter.copy_paste(copies=3, others=5)
    planter.write()
    schedule = parse_schedule(SCHEDULE, "the demo schedule")
    with cache.transaction() as conn:
        install_schedule(conn, schedule, loaded_by="peerdesk-demo")
    accrue(cache, schedule)
    return planter.truth
