"""Signals about one answer in its thread, each with points and a reason a moderator can read.

The score is documented once, here, and shown with its reasons everywhere (panel, CLI, JSON):

    score = 50 + the sum of every signal's points, shown clamped to 0..100

Points are whole numbers so a moderator can add them up: "+15 the asker accepted it, −30 written
by the asker". The queue and the benchmark (`bench/answers.py`) rank by the unclamped total, ties
in posting order. Every signal reads plain facts (`ThreadFacts`), which the cache
(`console.verify.facts`) and the benchmark build the same way; nothing here knows SQLite.

The points are set by hand from what each fact means to a moderator (see `WEIGHTS`); they are not
fitted to the benchmark. `bench/answers.py --cross-validate` fits weights by logistic regression
on four fifths of the threads and scores the fifth, to show how far hand-set points are from fitted
ones; the hand-set points ship.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from rapidfuzz import fuzz

from console.dupes.scorer import STOP_WORDS, stem, tokens

BASE = 50
VERY_EXPERIENCED = 100  # answers elsewhere that make an author very experienced (counted up to it)


@dataclass(frozen=True)
class Reply:
    """One reply in a thread (position 1 is the first reply after the question)."""

    key: str
    author: str | None
    position: int
    text: str
    created_at: str | None = None
    votes: int = 0
    staff: bool = False
    edited_at: str | None = None


@dataclass(frozen=True)
class AuthorRecord:
    """What the community knows of an author, from threads other than this one."""

    answers: int = 0  # replies they wrote elsewhere here, counted up to VERY_EXPERIENCED
    verified: int = 0  # of their answers, verified correct by a moderator
    rejected: int = 0  # of their answers, rejected as wrong by a moderator
    joined_at: str | None = None


@dataclass(frozen=True)
class KnownAnswer:
    """A decided answer on a duplicate of this thread (confirmed either way round)."""

    thread: str
    text: str
    verified: bool  # True: verified correct; False: rejected as wrong


@dataclass(frozen=True)
class ThreadFacts:
    title: str
    question: str
    asker: str | None
    replies: tuple[Reply, ...]
    accepted: str | None = None  # key of the reply the asker accepted
    created_at: str | None = None
    authors: Mapping[str, AuthorRecord] = field(default_factory=dict)
    known: tuple[KnownAnswer, ...] = ()
    official_domains: tuple[str, ...] = ()
    weights: Mapping[str, int] = field(default_factory=lambda: WEIGHTS)


@dataclass(frozen=True)
class Signal:
    name: str
    points: int
    reason: str

    def line(self) -> str:
        return f"{self.points:+d} {self.reason}"


@dataclass(frozen=True)
class Assessment:
    key: str
    total: int  # BASE + every signal's points, unclamped (for ordering)
    signals: tuple[Signal, ...]

    @property
    def score(self) -> int:
        return max(0, min(100, self.total))

    def why(self, limit: int | None = None) -> str:
        ordered = sorted(self.signals, key=lambda s: -abs(s.points))
        return "; ".join(s.line() for s in ordered[:limit])


# Points of each signal. One table, so the README, the panel and the benchmark agree.
WEIGHTS: dict[str, int] = {
    "accepted": 15,  # the asker accepted it
    "vote_up": 3,  # per net up-vote, at most 4 of them
    "vote_down": -5,  # per net down-vote, at most 3 of them
    "asker_thanked": 10,  # the asker's next post thanks or says it worked (right after it)
    "asker_thanked_later": 5,  # ... with other replies in between
    "asker_still_broken": -12,  # the asker's next post says it did not work
    "by_asker": -20,  # the asker's own reply: a follow-up, rarely an answer
    "staff": 10,  # official / staff reply
    "track_record": 10,  # scaled by (verified - rejected) / decided, at least 3 decided
    "very_experienced": 3,  # 100+ answers elsewhere
    "first_reply": 6,  # position 1 (then 4, 2, 0, -2, -4 from the sixth on)
    "revived": -3,  # posted 30+ days after the question
    "very_short": -10,  # fewer than 8 words
    "short": -6,  # fewer than 20 words
    "substantive": 4,  # 40 to 79 words
    "detailed": 8,  # 80 words or more
    "link_only": -10,  # a link with almost nothing else
    "official_link": 6,  # links an official help page
    "asks_question": -12,  # a short reply (under 30 words) with a question: asks back
    "asks_in_passing": -6,  # a longer reply that also asks a question
    "chatter": -8,  # thanks, "same here", "+1", jokes and laughter
    "advice": 4,  # gives instructions: "you can", "try", "contact", "go to"
    "specifics": 5,  # concrete details: numbers, prices, times
    "on_topic": 8,  # shares the question's words (scaled by overlap, 0..8)
    "off_topic": -5,  # shares no word with the question
    "near_copy": -15,  # a near-copy of an earlier reply in the thread
    "edited_after_accept": -4,  # edited after the asker accepted / reacted
    "talkative": -8,  # the author's second or later reply in this thread
    "agrees_with_verified": 10,  # like the verified answer on a duplicate
    "repeats_rejected": -10,  # like an answer rejected on a duplicate
    "contradicts_verified": -4,  # unlike the verified answer on a duplicate
}

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]]+", re.IGNORECASE)
_THANKS = re.compile(
    r"\b(thanks?|thank you|thx|ty|cheers|worked|works now|working now|solved|fixed|sorted|"
    r"perfect|brilliant|great|helpful|appreciated?|that did it)\b",
    re.IGNORECASE,
)
_STILL_BROKEN = re.compile(
    r"(still (not|doesn|isn|broken|no|the same|getting|having)|did(n'?t| not) (work|help)|"
    r"does(n'?t| not) work|not working|no luck|same (problem|issue|error)|tried that|"
    r"\bno joy\b|that'?s wrong|not true)",
    re.IGNORECASE,
)
_CHATTER = re.compile(
    r"^\W*(thanks?|thank you|thx|lol|haha+|hehe|same here|me too|\+1|agreed?|"
    r"good luck|welcome|bump|ok+|wow|yes|no)\b",
    re.IGNORECASE,
)
_LAUGHTER = re.compile(r"\b(lol|lmao|rofl|haha\w*|hehe\w*)\b|[:;]-?[)dp]\B", re.IGNORECASE)
_ADVICE = re.compile(
    r"\b(you (can|could|should|need|have to|must|will|may)|try|go to|contact|call|check|visit|"
    r"apply|ask for|make sure|settings?)\b",
    re.IGNORECASE,
)
_SPECIFIC = re.compile(r"\d")
MIN_WORDS_SHORT, MIN_WORDS_LONG, SUBSTANTIVE_WORDS, DETAILED_WORDS = 8, 20, 40, 80
QUESTION_WORDS = 30  # a reply shorter than this that asks a question is asking, not answering
COPY_RATIO = 90  # rapidfuzz ratio of two normalised replies from which the later is a copy
COPY_MIN_CHARS = 40
KNOWN_ALIKE = 50  # % of words shared (Jaccard) from which a reply repeats a known answer
KNOWN_UNLIKE = 15  # ... and below which a reply of 8+ words contradicts a verified one
COMPARE_CHARS = 2_000
REVIVED_DAYS = 30


@lru_cache(maxsize=512)  # a thread's question is compared with each of its replies
def content_words(text: str) -> frozenset[str]:
    """Stemmed words of a text, stop words left out (the duplicate scorer's analysis)."""
    return frozenset(stem(t) for t in tokens(text) if t not in STOP_WORDS and len(t) > 1)


def word_count(text: str) -> int:
    return len(text.split())


def _normalised(text: str) -> str:
    return " ".join(tokens(text[:COMPARE_CHARS]))


def _days_between(first: str | None, later: str | None) -> float | None:
    if not first or not later:
        return None
    try:
        a = datetime.fromisoformat(first.replace("Z", "+00:00").replace(" ", "T"))
        b = datetime.fromisoformat(later.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    if (a.tzinfo is None) != (b.tzinfo is None):
        a, b = a.replace(tzinfo=None), b.replace(tzinfo=None)
    return (b - a).total_seconds() / 86400.0


def _signal(facts: ThreadFacts, name: str, reason: str, scale: float = 1.0) -> Signal:
    return Signal(name, round(facts.weights.get(name, 0) * scale), reason)


# ---- the signals, one function each; each returns zero or more Signal ----


def accepted(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    if facts.accepted == reply.key:
        yield _signal(facts, "accepted", "the asker accepted it")


def votes(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    if reply.votes > 0:
        n = min(reply.votes, 4)
        yield Signal("votes", facts.weights.get("vote_up", 0) * n, f"{reply.votes} net up-vote(s)")
    elif reply.votes < 0:
        n = min(-reply.votes, 3)
        yield Signal(
            "votes", facts.weights.get("vote_down", 0) * n, f"{-reply.votes} net down-vote(s)"
        )


def asker_follow_up(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    """The asker's first post after this reply: thanks / it worked, or still broken."""
    if not facts.asker or reply.author == facts.asker:
        return
    for later in facts.replies:
        if later.position <= reply.position or later.author != facts.asker:
            continue
        immediate = later.position == reply.position + 1
        if _STILL_BROKEN.search(later.text):
            yield _signal(
                facts,
                "asker_still_broken",
                f"the asker replied it did not work (#{later.position})",
            )
        elif _THANKS.search(later.text):
            name = "asker_thanked" if immediate else "asker_thanked_later"
            where = "right after it" if immediate else f"in reply #{later.position}"
            yield _signal(facts, name, f"the asker thanked / said it worked {where}")
        return


def authorship(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    if facts.asker and reply.author == facts.asker:
        yield _signal(facts, "by_asker", "written by the asker: a follow-up, rarely an answer")
        return
    if reply.staff:
        yield _signal(facts, "staff", "an official / staff reply")
    record = facts.authors.get(reply.author or "")
    if record is None:
        return
    decided = record.verified + record.rejected
    if decided >= 3:
        share = (record.verified - record.rejected) / decided
        yield _signal(
            facts,
            "track_record",
            f"author's record: {record.verified} verified, {record.rejected} rejected",
            share,
        )
    if record.answers >= VERY_EXPERIENCED:
        yield _signal(
            facts, "very_experienced", f"author has {VERY_EXPERIENCED}+ answers elsewhere"
        )


def talkative(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    if not reply.author or reply.author == facts.asker:
        return
    earlier = sum(
        1 for r in facts.replies if r.author == reply.author and r.position < reply.position
    )
    if earlier >= 1:
        yield _signal(
            facts, "talkative", f"the author's reply no. {earlier + 1} here: a conversation"
        )


def position_and_timing(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    points = max(-4, facts.weights.get("first_reply", 0) - 2 * (reply.position - 1))
    if points:
        where = "the first reply" if reply.position == 1 else f"reply no. {reply.position}"
        yield Signal("position", points, where + (" (early)" if points > 0 else " (late)"))
    days = _days_between(facts.created_at, reply.created_at)
    if days is not None and days >= REVIVED_DAYS:
        yield _signal(facts, "revived", f"posted {int(days)} days after the question")


def length(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    words = word_count(_URL.sub(" ", reply.text))
    links = _URL.findall(reply.text)
    if links and words < 5:
        yield _signal(facts, "link_only", "a link with almost no explanation")
        return
    if words < MIN_WORDS_SHORT:
        yield _signal(facts, "very_short", f"very short ({words} words)")
    elif words < MIN_WORDS_LONG:
        yield _signal(facts, "short", f"short ({words} words)")
    elif words >= DETAILED_WORDS:
        yield _signal(facts, "detailed", f"a detailed answer ({words} words)")
    elif words >= SUBSTANTIVE_WORDS:
        yield _signal(facts, "substantive", f"a substantive answer ({words} words)")


def official_link(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    if not facts.official_domains:
        return
    for link in _URL.findall(reply.text):
        host = re.sub(r"^(https?://)?(www\.)?", "", link.lower()).split("/")[0]
        if any(host == d or host.endswith("." + d) for d in facts.official_domains):
            yield _signal(facts, "official_link", f"links an official help page ({host})")
            return


def tone(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    text = _URL.sub(" ", reply.text)
    words = word_count(text)
    if (_CHATTER.match(text) and words < MIN_WORDS_LONG) or _LAUGHTER.search(text):
        yield _signal(facts, "chatter", "chatter (thanks, +1, jokes, laughter), not an answer")
    if "?" in text:
        if words < QUESTION_WORDS:
            yield _signal(facts, "asks_question", "asks a question rather than answering")
        else:
            yield _signal(facts, "asks_in_passing", "also asks a question")
    if _ADVICE.search(text):
        yield _signal(facts, "advice", 'gives instructions or advice ("you can", "try", "contact")')
    if _SPECIFIC.search(text):
        yield _signal(facts, "specifics", "gives specifics (numbers, prices, times)")


def on_topic(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    question = content_words(f"{facts.title} {facts.question}")
    answer = content_words(reply.text)
    if not question or not answer:
        return
    shared = question & answer
    if not shared:
        yield _signal(facts, "off_topic", "shares no word with the question")
        return
    overlap = len(shared) / math.sqrt(len(question) * len(answer))
    scale = min(1.0, overlap / 0.25)
    if scale >= 0.1:
        words = ", ".join(sorted(shared)[:4])
        yield _signal(facts, "on_topic", f"on the question's topic (shares {words})", scale)


def near_copy(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    if len(reply.text) < COPY_MIN_CHARS:
        return
    mine = _normalised(reply.text)
    for other in facts.replies:
        if other.position >= reply.position or len(other.text) < COPY_MIN_CHARS:
            continue
        if fuzz.ratio(mine, _normalised(other.text)) >= COPY_RATIO:
            yield _signal(
                facts, "near_copy", f"a near-copy of reply no. {other.position}, posted earlier"
            )
            return


def edited_after_accept(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    """An accepted answer edited after the asker reacted to it (or an hour after posting)."""
    if facts.accepted != reply.key or not reply.edited_at:
        return
    reacted = next(
        (
            r.created_at
            for r in facts.replies
            if r.position > reply.position and r.author == facts.asker and r.created_at
        ),
        None,
    )
    since = _days_between(reacted or reply.created_at, reply.edited_at)
    if since is not None and since > (0 if reacted else 1 / 24):
        yield _signal(
            facts,
            "edited_after_accept",
            "edited after the asker accepted it: check the current text",
        )


def _alike(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of words two texts have in common (Jaccard of their stemmed content words), 0..100."""
    union = a | b
    return 100.0 * len(a & b) / len(union) if union else 0.0


def known_answers(facts: ThreadFacts, reply: Reply) -> Iterable[Signal]:
    if not facts.known or word_count(reply.text) < MIN_WORDS_SHORT:
        return
    mine = content_words(reply.text[:COMPARE_CHARS])
    best_verified: tuple[float, str] | None = None
    for known in facts.known:
        alike = _alike(mine, content_words(known.text[:COMPARE_CHARS]))
        if alike >= KNOWN_ALIKE:
            if known.verified:
                yield _signal(
                    facts,
                    "agrees_with_verified",
                    f"like the verified answer on duplicate #{known.thread}",
                )
            else:
                yield _signal(
                    facts,
                    "repeats_rejected",
                    f"like the answer rejected on duplicate #{known.thread}",
                )
            return
        if known.verified and (best_verified is None or alike > best_verified[0]):
            best_verified = (alike, known.thread)
    if best_verified and best_verified[0] < KNOWN_UNLIKE:
        yield _signal(
            facts,
            "contradicts_verified",
            f"differs from the verified answer on duplicate #{best_verified[1]}",
        )


SIGNALS = (
    accepted,
    votes,
    asker_follow_up,
    authorship,
    talkative,
    position_and_timing,
    length,
    official_link,
    tone,
    on_topic,
    near_copy,
    edited_after_accept,
    known_answers,
)


def assess(facts: ThreadFacts, reply: Reply) -> Assessment:
    """Every signal about `reply` and its score."""
    found = tuple(s for signal in SIGNALS for s in signal(facts, reply) if s.points)
    return Assessment(reply.key, BASE + sum(s.points for s in found), found)


def assess_thread(facts: ThreadFacts) -> list[Assessment]:
    """Every reply of the thread, best first (ties in posting order)."""
    order = {r.key: r.position for r in facts.replies}
    found = [assess(facts, r) for r in facts.replies]
    return sorted(found, key=lambda a: (-a.total, order[a.key]))
