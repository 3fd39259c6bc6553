"""Fraud and quality checks before a payout. Each finding carries its evidence.

A flag never removes anything: it holds the member's payout line for a human, who reads the
evidence and releases or keeps the line (console.rewards.payouts). Checks:

- voting_ring: a few members who vote for each other again and again (reciprocal votes), with
  most of their votes going inside the group;
- sock_puppets: several accounts that put most of their votes on one member and either joined
  within a day of each other or share a signal the platform gives (registration IP, device);
  the member they vote for is flagged;
- self_answer: a member with two or more accepted answers on one asker's questions where the
  two accounts share a signal, or joined together and most of the member's accepted answers go
  to that asker (answering one's own questions from a second account);
- copy_paste: paid answers that are near-verbatim copies (rapidfuzz ratio >= 98.5) of an earlier
  post by someone else, also in what is particular to the two posts (lines that fewer than 3
  other members ever posted: a greeting to its asker, its own explanation), twice or more and in at
  least a quarter of the member's paid answers. Quotes never count, and two answers that agree
  only in the community's stock steps share boilerplate, not authorship;
- burst: far more paid answers of one's own (accepted, verified, first responses, duplicates
  flagged; not votes received) in the last week before the period ends than the member's usual
  rate;
- rejected_by_verification: points still held for answers that verification later rejected
  (their accepted-answer accrual and the helpful votes they earned; console.verify's
  `verifications` table).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from rapidfuzz import fuzz

from console.clock import iso, parse
from console.rewards.events import has_table
from console.storage import Connection, dialect_of

RING_MIN_RECIPROCAL = 3  # votes each way
RING_MAX_SIZE = 6
RING_INSIDE_SHARE = 0.5
PUPPET_MIN_VOTES = 3
PUPPET_TARGET_SHARE = 0.8
PUPPET_MIN_ACCOUNTS = 3
PUPPET_JOINED_WITHIN = timedelta(hours=24)
SELF_MIN_ACCEPTED = 2
SELF_SHARE = 0.6
COPY_MIN_CHARS = 120
COPY_RATIO = 98.5
COPY_MIN_COPIES = 2
COPY_MIN_SHARE = 0.25
COPY_STOCK_AUTHORS = 3  # a line this many other members posted is community stock text
COPY_MIN_PARTICULAR = 24  # characters of non-stock text a copy must reproduce (a greeting)
BURST_DAYS = 7
BURST_BASELINE_DAYS = 56
BURST_MIN_EVENTS = 8
BURST_FACTOR = 4.0

CHECKS = (
    "voting_ring",
    "sock_puppets",
    "self_answer",
    "copy_paste",
    "burst",
    "rejected_by_verification",
)


@dataclass(frozen=True)
class Flag:
    check: str
    member_id: int
    summary: str
    evidence: dict[str, Any]

    def evidence_json(self) -> str:
        return json.dumps(self.evidence, sort_keys=True, ensure_ascii=False)


@dataclass
class CheckRun:
    flags: list[Flag] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def by_member(self) -> dict[int, list[Flag]]:
        found: dict[int, list[Flag]] = defaultdict(list)
        for flag in self.flags:
            found[flag.member_id].append(flag)
        return found


def _names(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT id, username FROM members WHERE id IN ({marks})", sorted(ids))
    return {int(r[0]): str(r[1]) for r in rows}


def _vote_edges(conn: Connection, end: str) -> dict[tuple[int, int], int]:
    """(voter, author) -> standing up-votes cast before `end`."""
    if not has_table(conn, "votes"):
        return {}
    edges: dict[tuple[int, int], int] = {}
    for voter, author, count in conn.execute(
        "SELECT v.voter_id, p.author_id, count(*) FROM votes v JOIN posts p ON p.id = v.post_id "
        "WHERE v.value > 0 AND v.retracted_at IS NULL AND v.created_at < ? "
        "AND p.author_id IS NOT NULL AND p.author_id != v.voter_id GROUP BY 1, 2",
        (end,),
    ):
        edges[(int(voter), int(author))] = int(count)
    return edges


def voting_rings(conn: Connection, start: str, end: str) -> list[Flag]:
    edges = _vote_edges(conn, end)
    cast: Counter[int] = Counter()
    for (voter, _), count in edges.items():
        cast[voter] += count
    linked: dict[int, set[int]] = defaultdict(set)
    for (a, b), count in edges.items():
        if a < b and count >= RING_MIN_RECIPROCAL and edges.get((b, a), 0) >= RING_MIN_RECIPROCAL:
            linked[a].add(b)
            linked[b].add(a)
    flags: list[Flag] = []
    seen: set[int] = set()
    for member in sorted(linked):
        if member in seen:
            continue
        group, stack = set(), [member]
        while stack:
            node = stack.pop()
            if node in group:
                continue
            group.add(node)
            stack.extend(linked[node] - group)
        seen |= group
        if len(group) > RING_MAX_SIZE:
            continue  # a large web of mutual votes is a community, not a ring
        inside = {m: sum(edges.get((m, o), 0) for o in group if o != m) for m in group}
        if any(inside[m] < RING_INSIDE_SHARE * cast[m] for m in group):
            continue
        names = _names(conn, group)
        pairs = [
            {
                "from": names.get(a, str(a)),
                "to": names.get(b, str(b)),
                "votes": edges.get((a, b), 0),
            }
            for a in sorted(group)
            for b in sorted(group)
            if a != b and edges.get((a, b), 0)
        ]
        members = ", ".join(sorted(names.values()))
        for m in sorted(group):
            flags.append(
                Flag(
                    "voting_ring",
                    m,
                    f"votes in a ring of {len(group)} ({members}): "
                    f"{inside[m]} of {cast[m]} votes cast inside it",
                    {"members": sorted(names.values()), "votes": pairs},
                )
            )
    return flags


def _signals(conn: Connection) -> dict[int, set[tuple[str, str]]]:
    found: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for member, kind, value in conn.execute("SELECT member_id, kind, value FROM member_signals"):
        found[int(member)].add((str(kind), str(value)))
    return found


def _joined(conn: Connection, ids: set[int]) -> dict[int, str | None]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT id, joined_at FROM members WHERE id IN ({marks})", sorted(ids))
    return {int(r[0]): r[1] for r in rows}


def sock_puppets(conn: Connection, start: str, end: str) -> list[Flag]:
    edges = _vote_edges(conn, end)
    per_voter: dict[int, Counter[int]] = defaultdict(Counter)
    for (voter, author), count in edges.items():
        per_voter[voter][author] += count
    followers: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for voter, targets in per_voter.items():
        total = sum(targets.values())
        target, count = targets.most_common(1)[0]
        if total >= PUPPET_MIN_VOTES and count >= PUPPET_TARGET_SHARE * total:
            followers[target].append((voter, count, total))
    signals = _signals(conn)
    flags: list[Flag] = []
    for target in sorted(followers):
        voters = followers[target]
        if len(voters) < PUPPET_MIN_ACCOUNTS:
            continue
        joined = _joined(conn, {v for v, _, _ in voters} | {target})
        group = _together(voters, joined, signals)
        if len(group) < PUPPET_MIN_ACCOUNTS:
            continue
        names = _names(conn, {v for v, _, _ in group} | {target})
        shared = sorted(
            {
                f"{k}={v}"
                for a, _, _ in group
                for (k, v) in signals.get(a, set())
                if sum((k, v) in signals.get(b, set()) for b, _, _ in group) > 1
            }
        )
        accounts = [
            {
                "account": names.get(v, str(v)),
                "joined_at": joined.get(v),
                "votes_for_member": c,
                "votes_cast": t,
            }
            for v, c, t in sorted(group)
        ]
        flags.append(
            Flag(
                "sock_puppets",
                target,
                f"{len(group)} accounts created together cast most of their votes for "
                f"{names.get(target, target)}"
                + (f"; shared {', '.join(shared[:3])}" if shared else ""),
                {"accounts": accounts, "shared_signals": shared},
            )
        )
    return flags


def _together(
    voters: list[tuple[int, int, int]],
    joined: dict[int, str | None],
    signals: dict[int, set[tuple[str, str]]],
) -> list[tuple[int, int, int]]:
    """The largest set of `voters` that joined within a day of each other or share a signal."""
    best: list[tuple[int, int, int]] = []
    dated = sorted((parse(joined[v[0]] or ""), v) for v in voters if joined.get(v[0]))
    for i, (first, _) in enumerate(dated):
        window = [v for when, v in dated[i:] if when - first <= PUPPET_JOINED_WITHIN]
        if len(window) > len(best):
            best = window
    by_signal: dict[tuple[str, str], list[tuple[int, int, int]]] = defaultdict(list)
    for v in voters:
        for sig in signals.get(v[0], set()):
            by_signal[sig].append(v)
    for group in by_signal.values():
        if len(group) > len(best):
            best = group
    return best


def self_answers(conn: Connection, start: str, end: str) -> list[Flag]:
    pairs: Counter[tuple[int, int]] = Counter()
    accepted_by: Counter[int] = Counter()
    threads: dict[tuple[int, int], list[int]] = defaultdict(list)
    for answerer, asker, thread in conn.execute(
        "SELECT p.author_id, t.author_id, t.id FROM threads t JOIN posts p "
        "ON p.id = t.accepted_post_id WHERE p.author_id IS NOT NULL AND t.author_id IS NOT NULL "
        "AND p.author_id != t.author_id AND p.created_at < ? AND p.hidden = 0",
        (end,),
    ):
        pairs[(int(answerer), int(asker))] += 1
        accepted_by[int(answerer)] += 1
        threads[(int(answerer), int(asker))].append(int(thread))
    signals = _signals(conn)
    flags: list[Flag] = []
    for (answerer, asker), count in sorted(pairs.items()):
        if count < SELF_MIN_ACCEPTED:
            continue
        shared = sorted(signals.get(answerer, set()) & signals.get(asker, set()))
        joined = _joined(conn, {answerer, asker})
        together = bool(
            joined.get(answerer)
            and joined.get(asker)
            and abs(parse(joined[answerer] or "") - parse(joined[asker] or ""))
            <= PUPPET_JOINED_WITHIN
        )
        # a shared signal is enough; joining together also needs most answers to go to the asker
        if not shared and not (together and count >= SELF_SHARE * accepted_by[answerer]):
            continue
        names = _names(conn, {answerer, asker})
        why = f"shared {', '.join(f'{k}={v}' for k, v in shared)}" if shared else "joined together"
        flags.append(
            Flag(
                "self_answer",
                answerer,
                f"{count} of {accepted_by[answerer]} accepted answers are on questions of "
                f"{names.get(asker, asker)} ({why})",
                {
                    "asker": names.get(asker, str(asker)),
                    "accepted_on_threads": sorted(threads[(answerer, asker)]),
                    "shared_signals": [f"{k}={v}" for k, v in shared],
                    "joined_together": together,
                },
            )
        )
    return flags


_SPACE = re.compile(r"\s+")
_QUOTE_BLOCK = re.compile(r"\[quote[^\]]*\].*?\[/quote\]", re.IGNORECASE | re.DOTALL)


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text.lower()).strip()


def _own_lines(body: str) -> list[str]:
    """The post's own lines, normalised: quotes of other posts (Discourse's [quote] blocks,
    Markdown's `>` lines) are someone else's words, so they never make a post a copy."""
    lines = (_normal(line) for line in _QUOTE_BLOCK.sub("\n", body).splitlines())
    return [line for line in lines if line and not line.startswith(">")]


def _sketch(text: str, k: int = 4) -> list[int]:
    """The k smallest hashes of the text's word 3-grams: near-identical texts share most."""
    words = text.split()
    grams = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}
    hashes = sorted(
        int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big") for g in grams
    )
    return hashes[:k]


@dataclass(frozen=True)
class _Answer:
    author: int
    created: str
    lines: tuple[str, ...]  # its own lines, normalised
    text: str  # the lines, joined


class _Answers:
    """Every reply before `end` long enough to judge, and who posted each of its lines.

    A line that COPY_STOCK_AUTHORS or more members other than the two being compared have posted
    is community stock text (canned troubleshooting steps, a macro everybody pastes, a
    signature): two answers that agree only in stock lines share boilerplate, not authorship.
    What is particular to an answer (its greeting to the asker, its own explanation) is what a
    copy reproduces."""

    def __init__(self, conn: Connection, end: str) -> None:
        self.posts: dict[int, _Answer] = {}
        self.authors_of: dict[str, set[int]] = defaultdict(set)
        keep = COPY_STOCK_AUTHORS + 2  # enough to know a line is stock whichever pair asks
        length = dialect_of(conn).text_length("body_text")  # past a NUL on the cache too
        for post_id, author, created, body in conn.execute(
            "SELECT id, author_id, created_at, body_text FROM posts WHERE position > 0 "
            f"AND hidden = 0 AND author_id IS NOT NULL AND {length} >= ? "
            f"AND {length} < 20000 AND created_at < ?",
            (COPY_MIN_CHARS, end),
        ):
            lines = tuple(_own_lines(str(body)))
            self.posts[int(post_id)] = _Answer(int(author), str(created), lines, " ".join(lines))
            for line in set(lines):
                if len(self.authors_of[line]) < keep:
                    self.authors_of[line].add(int(author))

    def particular(self, answer: _Answer, pair: set[int]) -> str:
        return " ".join(
            line for line in answer.lines if len(self.authors_of[line] - pair) < COPY_STOCK_AUTHORS
        )


def near_copies(
    conn: Connection, post_ids: set[int], end: str
) -> tuple[dict[int, tuple[float, int]], dict[int, tuple[int, str, str]]]:
    """For each of `post_ids`: (similarity, earlier post) of its best near-verbatim original by
    someone else, and the answers read (post -> (author, created, normalised text)).

    A copy is near-verbatim (rapidfuzz ratio >= COPY_RATIO) as a whole AND in what is particular
    to the two answers: at least COPY_MIN_PARTICULAR characters of non-stock text, copied too."""
    answers = _Answers(conn, end)
    index: dict[int, list[int]] = defaultdict(list)
    for post_id, answer in answers.posts.items():
        if len(answer.text) >= COPY_MIN_CHARS:
            for h in _sketch(answer.text):
                index[h].append(post_id)
    found: dict[int, tuple[float, int]] = {}
    for post_id in sorted(post_ids & answers.posts.keys()):
        mine = answers.posts[post_id]
        if len(mine.text) < COPY_MIN_CHARS:
            continue
        candidates: set[int] = set()
        for h in _sketch(mine.text):
            candidates.update(index.get(h, ()))
        best: tuple[float, int] | None = None
        for other in sorted(candidates):
            theirs = answers.posts[other]
            if theirs.author == mine.author or (theirs.created, other) >= (mine.created, post_id):
                continue
            score = fuzz.ratio(mine.text, theirs.text, score_cutoff=COPY_RATIO)
            if not score or (best is not None and score <= best[0]):
                continue
            pair = {mine.author, theirs.author}
            own = answers.particular(mine, pair)
            if len(own) >= COPY_MIN_PARTICULAR and fuzz.ratio(
                own, answers.particular(theirs, pair), score_cutoff=COPY_RATIO
            ):
                best = (score, other)
        if best is not None:
            found[post_id] = best
    return found, {p: (a.author, a.created, a.text) for p, a in answers.posts.items()}


def copy_paste(conn: Connection, start: str, end: str) -> list[Flag]:
    """Paid answers (accepted or verified) that copy an earlier post by someone else."""
    paid: set[int] = set()
    for (key,) in conn.execute(
        "SELECT event_key FROM ledger WHERE kind = 'accrual' "
        "AND rule IN ('accepted_answer', 'verified_answer') AND occurred_at < ?",
        (end,),
    ):
        paid.add(int(key.rpartition(":")[2]))
    found, posts = near_copies(conn, paid, end)
    copies: dict[int, list[dict[str, Any]]] = defaultdict(list)
    paid_by: Counter[int] = Counter()
    for post_id in sorted(paid & posts.keys()):
        paid_by[posts[post_id][0]] += 1
        if post_id in found:
            score, other = found[post_id]
            copies[posts[post_id][0]].append(
                {"post": post_id, "copied_from_post": other, "similarity": round(score, 1)}
            )
    flags = []
    for author in sorted(copies):
        found_here = copies[author]
        if len(found_here) < COPY_MIN_COPIES or len(found_here) < COPY_MIN_SHARE * paid_by[author]:
            continue
        origin = _names(conn, {posts[c["copied_from_post"]][0] for c in found_here})
        for c in found_here:
            c["original_author"] = origin.get(posts[c["copied_from_post"]][0], "?")
        flags.append(
            Flag(
                "copy_paste",
                author,
                f"{len(found_here)} of {paid_by[author]} paid answers are near-verbatim copies of "
                "earlier posts by others",
                {"copies": found_here},
            )
        )
    return flags


def bursts(conn: Connection, start: str, end: str) -> list[Flag]:
    end_at = parse(end)
    recent_from = iso(end_at - timedelta(days=BURST_DAYS))
    base_from = iso(end_at - timedelta(days=BURST_DAYS + BURST_BASELINE_DAYS))
    rows = conn.execute(
        "SELECT member_id, sum(CASE WHEN occurred_at >= ? THEN 1 ELSE 0 END), "
        "sum(CASE WHEN occurred_at < ? THEN 1 ELSE 0 END) FROM ledger"
        f"{dialect_of(conn).indexed_by('ledger_accruals_by_time')} "
        "WHERE kind = 'accrual' AND rule != 'helpful_vote' AND occurred_at >= ? "
        "AND occurred_at < ? GROUP BY member_id",
        (recent_from, recent_from, base_from, end),
    ).fetchall()
    flags = []
    weeks = BURST_BASELINE_DAYS / 7
    for member, recent, before in rows:
        recent, before = int(recent or 0), int(before or 0)
        usual = before / weeks
        if recent >= BURST_MIN_EVENTS and recent >= BURST_FACTOR * max(usual, 1.0):
            flags.append(
                Flag(
                    "burst",
                    int(member),
                    f"{recent} paid answers in the {BURST_DAYS} days before {end[:10]} "
                    f"(usually {usual:.1f} a week)",
                    {
                        "events_last_week": recent,
                        "usual_per_week": round(usual, 2),
                        "window": [recent_from, end],
                    },
                )
            )
    return flags


def rejected_by_verification(conn: Connection, start: str, end: str) -> list[Flag]:
    """Members still holding points for answers that answer verification rejected.

    Reads console.verify's `verifications` (state `rejected`): the answer's accepted-answer
    accrual and the helpful votes it earned, unless already reversed. (A verified-answer accrual
    is reversed by the ledger itself when the verification is undone or rejected.)"""
    found: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    # the rejected answers' events first (few), then their entries by the ledger_once index:
    # join_in_order keeps SQLite from scanning the ledger and probing verifications instead
    join = dialect_of(conn).join_in_order
    for member, post, points, reason, decided_by, decided_at in conn.execute(
        "WITH events (post_id, rule, event_key, reason, decided_by, decided_at) AS ("
        "SELECT post_id, 'accepted_answer', 'post:' || post_id, reject_reason, decided_by, "
        "decided_at FROM verifications WHERE state = 'rejected' UNION ALL "
        "SELECT v.post_id, 'helpful_vote', 'vote:' || x.id, v.reject_reason, v.decided_by, "
        "v.decided_at FROM verifications v JOIN votes x ON x.post_id = v.post_id "
        "WHERE v.state = 'rejected') "
        "SELECT l.member_id, e.post_id, l.points, e.reason, e.decided_by, e.decided_at "
        f"FROM events e {join} ledger l ON l.kind = 'accrual' AND l.rule = e.rule "
        "AND l.event_key = e.event_key WHERE l.occurred_at < ? AND l.points > 0 "
        # a reversal has the accrual's rule and event (the ledger_once index finds it)
        "AND NOT EXISTS (SELECT 1 FROM ledger r WHERE r.kind = 'reversal' AND r.rule = l.rule "
        "AND r.event_key = l.event_key)",
        (end,),
    ):
        post_found = found[int(member)].setdefault(
            int(post),
            {
                "post": int(post),
                "points": 0,
                "reason": reason,
                "rejected_by": decided_by,
                "rejected_at": decided_at,
            },
        )
        post_found["points"] += int(points)
    return [
        Flag(
            "rejected_by_verification",
            member,
            f"{len(posts)} paid answer(s) later rejected by verification "
            f"({sum(p['points'] for p in posts.values())} points)",
            {"answers": [posts[p] for p in sorted(posts)]},
        )
        for member, posts in sorted(found.items())
    ]


CheckFn = Callable[[Connection, str, str], list[Flag]]

RUNNERS: dict[str, tuple[CheckFn, Callable[[Connection], bool]]] = {
    "voting_ring": (voting_rings, lambda c: has_table(c, "votes")),
    "sock_puppets": (sock_puppets, lambda c: has_table(c, "votes")),
    "self_answer": (self_answers, lambda c: True),
    "copy_paste": (copy_paste, lambda c: True),
    "burst": (bursts, lambda c: True),
    "rejected_by_verification": (
        rejected_by_verification,
        lambda c: has_table(c, "verifications", "post_id", "state") and has_table(c, "votes"),
    ),
}


def run_checks(conn: Connection, start: str, end: str, only: tuple[str, ...] = CHECKS) -> CheckRun:
    """Every check for the period [start, end); each check's time is measured."""
    run = CheckRun()
    for name in only:
        check, available = RUNNERS[name]
        if not available(conn):
            run.skipped[name] = "its table is not in this cache yet"
            continue
        began = time.perf_counter()
        run.flags.extend(check(conn, start, end))
        run.seconds[name] = round(time.perf_counter() - began, 4)
    return run
