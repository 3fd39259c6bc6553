"""The demo community: a mobile network's peer-support forum, generated deterministically.

`generate_demo(threads, seed)` yields chunks of members, threads and posts from one
`random.Random(seed)`; nothing reads the wall clock, the network or the environment, so the same
seed, thread count and reference time give the same rows byte for byte. Times are relative to
the reference time, by default the hour the demo is built in (`demo_reference`: the clock, which
PEERDESK_NOW freezes, rounded down to the hour), and spread over `SPAN_DAYS` before it, so the
Queue's ages and the SLA clocks read as they would on a live forum. `build_demo(cache, ...)`
writes the chunks through `console.ingest` only, records the ground truth in `meta`, then lets the
duplicate finder propose candidates.

What the community holds (see console/demo_corpus.py for the text):
- statuses: open (some unanswered), answered, solved (with an accepted answer, now and then a
  wrong one), closed, a few duplicates already closed as such on the "platform";
- replies 0..12: "same here", helpful step-by-step answers, wrong answers, staff answers, the
  asker's thanks or complaints; angry complaints and legal threats (flagged or reported), spam
  (flagged, some already hidden), personal data (phone numbers in Ofcom's drama range, emails at
  example.com, addresses, IMEIs);
- members: a few staff, a few prolific helpers, regulars, many newcomers, spammers;
- near-duplicates: about 5% of threads re-ask an earlier thread's problem in other words, with
  typos; the pairs are in meta `demo_planted_duplicates` as [[duplicate remote id, original
  remote id], ...];
- hostile text meant to break a terminal: Rich/Textual markup, ANSI/OSC escapes, bidi overrides,
  right-to-left scripts, emoji and zero-width joiners, very long words, and a handful of 200 kB
  bodies; listed in meta `demo_hostile` as [[kind, thread remote id, post remote id], ...].
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import TypeVar

from console import demo_corpus as C
from console.clock import iso, now
from console.db import Cache
from console.demo_defaults import DEFAULT_CANDIDATE_LIMIT as DEFAULT_CANDIDATE_LIMIT
from console.demo_defaults import DEFAULT_SEED as DEFAULT_SEED
from console.demo_defaults import DEFAULT_THREADS as DEFAULT_THREADS
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord

CHUNK_THREADS = 2000
SPAN_DAYS = 90
SOURCE_NAME = "demo"
SOURCE_KIND = "demo"
HUGE_BODY_CHARS = 200_000
DUPLICATE_SHARE = 0.056
SPAM_SHARE = 0.01
MAX_REPLIES = 12
CANDIDATE_SLICE = 250

_DAY = 86_400
_HOUR = 3_600

Progress = Callable[[int, int, str], None]  # (done, total, stage)
T = TypeVar("T")


@dataclass(frozen=True)
class DemoSummary:
    """What `build_demo` wrote and how long it took."""

    threads: int
    posts: int
    members: int
    seed: int
    planted_duplicates: int
    hostile_posts: int
    huge_posts: int
    status_counts: dict[str, int]
    seconds: float
    ingest_seconds: float
    candidate_seconds: float
    candidate_pairs: int | None


@dataclass
class DemoChunk:
    """Rows for one `upsert_members` + `upsert_threads` call. Members come first."""

    members: list[MemberRecord] = field(default_factory=list)
    threads: list[ThreadRecord] = field(default_factory=list)
    posts: list[PostRecord] = field(default_factory=list)


@dataclass
class GroundTruth:
    """What was planted, filled in while the chunks are generated."""

    planted_duplicates: list[tuple[str, str]] = field(default_factory=list)
    hostile: list[tuple[str, str, str | None]] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)
    members: int = 0
    posts: int = 0


# --- time --------------------------------------------------------------------------------------

_DAY_TEXT: dict[int, str] = {}


def _iso(seconds: int) -> str:
    """ISO-8601 UTC text of epoch `seconds`, without a datetime per call (hot path)."""
    day, rest = divmod(seconds, _DAY)
    date = _DAY_TEXT.get(day)
    if date is None:
        date = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).strftime("%Y-%m-%d")
        _DAY_TEXT[day] = date
    hour, rest = divmod(rest, _HOUR)
    minute, second = divmod(rest, 60)
    return f"{date}T{hour:02d}:{minute:02d}:{second:02d}Z"


# --- text helpers ------------------------------------------------------------------------------

_SLUG = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[A-Za-z]{4,}")


def _slug(title: str) -> str:
    return _SLUG.sub("-", title.lower()).strip("-")[:60] or "topic"


def _cook(paragraphs: list[str]) -> str:
    """Discourse-style "cooked" HTML of plain paragraphs (numbered lines become a list)."""
    out = []
    for para in paragraphs:
        lines = para.split("\n")
        if len(lines) > 1 and all(line[:1].isdigit() and ". " in line[:4] for line in lines):
            items = "".join(f"<li>{html.escape(line.split('. ', 1)[1])}</li>" for line in lines)
            out.append(f"<ol>{items}</ol>")
        else:
            out.append("<p>" + "<br>\n".join(html.escape(line) for line in lines) + "</p>")
    return "\n".join(out)


def _typos(text: str, rng: Random, rate: float) -> str:
    """Swap, drop or double a letter in about `rate` of the longer words."""

    def mangle(match: re.Match[str]) -> str:
        word = match.group()
        if rng.random() >= rate:
            return word
        i = rng.randrange(1, len(word) - 1)
        how = rng.randrange(3)
        if how == 0:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if how == 1:
            return word[:i] + word[i + 1 :]
        return word[:i] + word[i] + word[i:]

    return _WORD.sub(mangle, text)


_PARAPHRASES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern), alternatives)
    for pattern, alternatives in (
        (r"\bphone\b", ("mobile", "handset", "phone")),
        (r"\bwon't\b", ("will not", "doesn't", "wont")),
        (r"\bI've\b", ("I have", "Ive", "I've")),
        (r"\bisn't\b", ("is not", "isnt")),
        (r"\bdoesn't\b", ("does not", "doesnt")),
        (r"\bsignal\b", ("reception", "coverage", "signal")),
        (r"\brestarted\b", ("rebooted", "turned off and on again")),
        (r"\bbill\b", ("invoice", "statement", "bill")),
        (r"\bcharged\b", ("billed", "charged")),
        (r"\bnumber\b", ("no.", "number")),
        (r"\bworking\b", ("working", "connecting")),
        (r"\bnothing\b", ("nothing at all", "zero", "nothing")),
        (r"\bstill\b", ("still", "STILL", "yet again")),
        (r"\bHow do I\b", ("How can I", "how do i", "What's the way to")),
        (r"\bIs there\b", ("Is there", "Has there been")),
        (r"\bthe app\b", ("the Kestrel app", "the app")),
        (r"\bDoes\b", ("Does", "Do you know if")),
        (r"\bnew\b", ("new", "brand new")),
    )
)


def _paraphrase(text: str, rng: Random) -> str:
    """The same words said a little differently: each phrase swapped half the time."""
    for pattern, alternatives in _PARAPHRASES:
        if rng.random() < 0.5:
            choice = alternatives[int(rng.random() * len(alternatives))]
            text = pattern.sub(choice, text)
    return text


# --- the generator -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Asked:
    """An earlier question, remembered so a later thread can ask it again."""

    remote: str
    topic: int
    problem: dict[str, str]
    details: tuple[int, ...]
    title: int
    ask: int


@dataclass
class _Member:
    remote_id: str
    username: str
    first: str


class _Builder:
    """One pass over the threads; all randomness from one `Random(seed)`, in a fixed order."""

    def __init__(self, threads: int, seed: int, truth: GroundTruth, reference: datetime) -> None:
        self.ref = int(reference.timestamp())
        self.n = threads
        self.seed = seed
        self.rng = Random(seed)
        self.random = self.rng.random
        self.truth = truth
        self.next_member = 1
        self.next_post = 1
        self.usernames: set[str] = set()
        self.pending_members: list[MemberRecord] = []
        self.names: dict[str, _Member] = {}
        self.topic_cum = list(_cumulative(t.weight for t in C.TOPICS))
        self.pool: list[_Asked] = []  # recent questions a later thread may ask again
        rng = self.rng
        self.staff = [self._member("staff", 0) for _ in range(6)]
        self.helpers = [self._member("helper", 0) for _ in range(12 + threads // 5000)]
        self.helper_cum = list(_cumulative(1.0 / (k + 1) for k in range(len(self.helpers))))
        self.regulars = [self._member("regular", 0) for _ in range(40 + threads // 50)]
        self.hostile_members = [self._hostile_member(k) for k in range(len(HOSTILE_NAMES))]
        self.spammers = [self._member("spammer", self.ref - 60 * _DAY) for _ in range(2)]
        self.newcomers: list[_Member] = []
        self.hostile_seen: dict[str, int] = {}
        self.answerer_ids = {m.remote_id for m in self.helpers + self.regulars}
        # Hostile threads: a few dozen in 2,000; fewer per thread in bigger builds; always some.
        n_hostile = min(threads, max(8, min(round(threads * 0.015), 30 + math.isqrt(threads))))
        picked = sorted(rng.sample(range(threads), n_hostile)) if threads else []
        self.hostile_at = {i: HOSTILE_KINDS[k % len(HOSTILE_KINDS)] for k, i in enumerate(picked)}
        n_huge = min(threads, 3 if threads >= 50 else 1)
        for k, i in enumerate(sorted(rng.sample(range(threads), n_huge)) if threads else []):
            self.hostile_at[i] = HUGE_KINDS[k % len(HUGE_KINDS)]

    # fast draws: `random()` is implemented in C; choice/randrange are not

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.random() * len(seq))]

    def between(self, low: int, high: int) -> int:
        """An int in [low, high)."""
        return low + int(self.random() * (high - low))

    # members

    def _unique(self, base: str) -> str:
        name = base
        while name in self.usernames:
            name = f"{base}{self.between(10, 1000)}"
        self.usernames.add(name)
        return name

    def _member(self, kind: str, joined: int) -> _Member:
        rng = self.rng
        first, last = self.pick(C.FIRST_NAMES), self.pick(C.SURNAMES)
        display: str | None = f"{first} {last}"
        if kind == "staff":
            username = self._unique(f"{first}_{C.NETWORK_SHORT}")
            display = f"{first} ({C.NETWORK_SHORT} Staff)"
            reputation, trust = self.between(8_000, 60_000), 4
            joined = self.ref - self.between(400, 2500) * _DAY
        elif kind == "helper":
            username = self._unique(
                self.pick(
                    (
                        f"{self.pick(C.HANDLE_WORDS)}{first}",
                        f"{first}{last[0]}",
                        f"{last}{self.between(70, 99)}",
                    )
                )
            )
            reputation, trust = self.between(5_000, 90_000), 3
            joined = self.ref - self.between(700, 4000) * _DAY
        elif kind == "regular":
            username = self._unique(
                self.pick(
                    (
                        f"{first}.{last}",
                        f"{first}{self.between(1, 99)}",
                        f"{self.pick(C.HANDLE_WORDS)}_{self.pick(C.HANDLE_WORDS)}",
                    )
                )
            )
            reputation, trust = self.between(150, 4_000), 2
            joined = self.ref - self.between(120, 3000) * _DAY
        elif kind == "spammer":
            username = self._unique(
                self.pick(
                    ("best_unlocks", "cheapphones", "earnfromhome", "promo_deals", "free_credit")
                )
                + str(self.between(100, 999))
            )
            display = None
            reputation, trust = 0, 0
        else:  # newcomer
            username = self._unique(
                self.pick(
                    (
                        f"{first}{last}{self.between(1, 99)}",
                        f"{first.lower()}{self.between(1970, 2008)}",
                        f"{first}_{last[0]}",
                        f"{self.pick(C.HANDLE_WORDS)}{self.between(100, 9999)}",
                        f"user{self.between(10_000, 999_999)}",
                    )
                )
            )
            display = display if rng.random() < 0.4 else None
            reputation, trust = self.between(0, 40), self.pick((0, 0, 1))
        member = _Member(str(self.next_member), username, first)
        self.next_member += 1
        self.pending_members.append(
            MemberRecord(member.remote_id, username, display, reputation, trust, _iso(joined))
        )
        self.truth.members += 1
        return member

    def _hostile_member(self, k: int) -> _Member:
        username, display = HOSTILE_NAMES[k]
        self.usernames.add(username)
        member = _Member(str(self.next_member), username, "friend")
        self.next_member += 1
        joined = self.ref - (30 + 7 * k) * _DAY
        self.pending_members.append(
            MemberRecord(member.remote_id, username, display, 3, 0, _iso(joined))
        )
        self.truth.members += 1
        return member

    def _newcomer(self, at: int) -> _Member:
        if self.newcomers and self.rng.random() < 0.3:
            return self.pick(self.newcomers)
        member = self._member("newcomer", at - self.between(600, 6 * _DAY))
        self.newcomers.append(member)
        return member

    def _asker(self, at: int) -> _Member:
        r = self.rng.random()
        if r < 0.80:
            return self._newcomer(at)
        if r < 0.97:
            return self.pick(self.regulars)
        return self._helper()

    def _helper(self) -> _Member:
        return self.rng.choices(self.helpers, cum_weights=self.helper_cum)[0]

    # slots

    def _problem(self, topic_index: int) -> dict[str, str]:
        """What makes a problem this problem: kept when the problem is asked again."""
        area, town = self.pick(C.POSTCODE_AREAS)
        country, _ = self.pick(C.COUNTRIES)
        return {
            "network": C.NETWORK,
            "device": self.pick(C.DEVICES),
            "other": self.pick(C.OTHER_NETWORKS),
            "country": country,
            "town": town,
            "area": area,
            "postcode": f"{area}{self.between(1, 30)}",
            "inward": f"{self.between(1, 9)}{self.pick('ABDEFGHJLNPQRSTUWXYZ')}"
            f"{self.pick('ABDEFGHJLNPQRSTUWXYZ')}",
            "error": self.pick(C.SIM_ERRORS),
            "plan": self.pick(C.PLANS),
            "amount": f"{self.between(3, 480)}.{self.between(0, 100):02d}",
            "amount2": f"{self.between(6, 45)}.{self.pick(('00', '50', '99', '49'))}",
            "pac": f"{''.join(self.pick('ABCDEFGHJKLMNPQRSTUVWXYZ') for _ in range(3))}"
            f"{self.between(100000, 999999)}",
            "since": self.pick(C.SINCE),
            "since_short": self.pick(C.SINCE_SHORT),
            "when": self.pick(C.WHEN),
            "days": str(self.between(2, 15)),
            "gb": str(self.between(3, 60)),
            "pct": str(self.pick((3.9, 4.5, 7.8, 8.8, 14.4, 17.3))),
            "topup": str(self.pick((5, 10, 10, 15, 20, 25))),
            "case": f"CASE-{self.between(1_000_000, 9_999_999)}",
            "order": f"KM-{self.between(100_000, 999_999)}",
            "years": str(self.between(2, 21)),
            "bought": self.pick(C.BOUGHT),
            "month": self.pick(C.MONTHS),
            "imei": f"35{self.between(10**12, 10**13)}",
            "topic": str(topic_index),
        }

    def _person(self, slots: dict[str, str], asker: _Member) -> dict[str, str]:
        last = self.pick(C.SURNAMES)
        return slots | {
            "asker": asker.username,
            "full_name": f"{asker.first} {last}",
            "phone": f"07700 900{self.between(0, 1000):03d}",
            "phone2": f"07700 900{self.between(0, 1000):03d}",
            "landline": f"01632 960{self.between(0, 1000):03d}",
            "email": f"{asker.first.lower()}.{last.lower().replace(chr(39), '')}"
            f"{self.between(1, 99)}@{self.pick(('example.com', 'example.org'))}",
            "house": str(self.between(1, 180)),
            "street": self.pick(C.STREETS),
            "solicitor": self.pick(C.SOLICITORS),
            "staff": "",
            "helper": "",
        }

    # posts

    def _question(
        self,
        topic: C.Topic,
        s: dict[str, str],
        mood: str,
        personal: bool,
        like: _Asked | None = None,
    ) -> tuple[list[str], tuple[int, ...], int]:
        """The question's paragraphs, the details it used and its ask (both as indices).

        With `like` (an earlier question about the same problem) the same facts are told again
        in another order, mostly, with a fact dropped or added now and then.
        """
        rng = self.rng
        n = len(topic.details)
        if like is None:
            chosen = rng.sample(range(n), min(n, self.between(1, 4)))
            ask = self.between(0, len(topic.asks))
        else:
            chosen = list(like.details)
            rng.shuffle(chosen)
            if len(chosen) > 1 and self.random() < 0.3:
                chosen.pop()
            if self.random() < 0.3:
                extra = self.between(0, n)
                if extra not in chosen:
                    chosen.append(extra)
            ask = like.ask if self.random() < 0.5 else self.between(0, len(topic.asks))
        first = " ".join(topic.details[d].format_map(s) for d in chosen)
        greeting = self.pick(C.GREETINGS)
        paras = [f"{greeting}\n{first}" if greeting else first]
        if self.random() < 0.8:
            paras.append(self.pick(topic.tried).format_map(s))
        if mood in ("angry", "legal"):
            paras.append(" ".join(a.format_map(s) for a in rng.sample(C.ANGRY, self.between(1, 3))))
        if mood == "legal":
            paras.append(self.pick(C.LEGAL).format_map(s))
        asking = topic.asks[ask].format_map(s)
        if personal:
            asking = f"{asking} {self.pick(C.PERSONAL).format_map(s)}"
        paras.append(asking)
        sign = self.pick(C.SIGNOFFS).format_map(s)
        if sign:
            paras.append(sign)
        return paras, tuple(chosen), ask

    def _title(
        self, topic: C.Topic, s: dict[str, str], avoid: int | None = None
    ) -> tuple[str, int]:
        index = self.between(0, len(topic.titles))
        if avoid is not None and index == avoid and self.random() < 0.7:
            index = (index + 1 + self.between(0, len(topic.titles) - 1)) % len(topic.titles)
        title = topic.titles[index].format_map(s)
        r = self.random()
        if r < 0.08:
            title = title.lower()
        elif r < 0.11:
            title = title.upper()
        return f"{self.pick(C.TITLE_PREFIXES)}{title}{self.pick(C.TITLE_SUFFIXES)}", index

    def _good(self, topic: C.Topic, s: dict[str, str]) -> list[str]:
        rng = self.rng
        k = min(len(topic.steps), self.between(3, 6))
        picked = sorted(rng.sample(range(len(topic.steps)), k))
        steps = "\n".join(f"{n}. {topic.steps[i].format_map(s)}" for n, i in enumerate(picked, 1))
        paras = [self.pick(C.GOOD_INTROS).format_map(s), steps]
        outro = self.pick(C.GOOD_OUTROS).format_map(s)
        if outro:
            paras.append(outro)
        return paras

    def _wrong(self, topic: C.Topic, s: dict[str, str]) -> list[str]:
        line = self.pick(topic.wrong).format_map(s)
        tail = self.pick(("", "", " Trust me.", " Happened to me.", " Simple.", " lol"))
        return [line + tail]

    def _staff(self, topic: C.Topic, s: dict[str, str]) -> list[str]:
        return [
            self.pick(C.STAFF_INTROS).format_map(s),
            self.pick(topic.staff).format_map(s),
            self.pick(C.STAFF_OUTROS).format_map(s),
        ]

    # threads

    def thread(self, i: int, chunk: DemoChunk) -> None:
        rng = self.rng
        span = SPAN_DAYS * _DAY
        created = self.ref - span + int((i + rng.random()) * span / max(self.n, 1))
        created = min(created, self.ref - 300)
        remote = str(i + 1)
        hostile = self.hostile_at.get(i)
        if hostile is None and rng.random() < SPAM_SHARE:
            self._spam(remote, created, chunk)
            return
        original: _Asked | None = None
        if hostile is None and len(self.pool) >= 20 and rng.random() < DUPLICATE_SHARE:
            original = self.pick(self.pool)
        if original is not None:
            topic_index, problem = original.topic, original.problem
        else:
            topic_index = rng.choices(range(len(C.TOPICS)), cum_weights=self.topic_cum)[0]
            problem = self._problem(topic_index)
        topic = C.TOPICS[topic_index]
        asker = self._asker(created)
        s = self._person(problem, asker)
        r = rng.random()
        mood = "legal" if r < 0.025 else "angry" if r < 0.09 else "calm"
        if topic.key in ("billing", "outage") and mood == "calm" and rng.random() < 0.06:
            mood = "angry"
        personal = rng.random() < 0.10
        if original is not None:
            title, title_index = self._title(topic, s, avoid=original.title)
            title = _typos(_paraphrase(title, rng), rng, 0.12)
            question, details, ask = self._question(topic, s, mood, personal, like=original)
            question = [_typos(_paraphrase(p, rng), rng, 0.05) for p in question]
        else:
            title, title_index = self._title(topic, s)
            question, details, ask = self._question(topic, s, mood, personal)
        age = self.ref - created
        q_flags = 0
        reports = 0
        if mood == "angry" and rng.random() < 0.4:
            q_flags = self.between(1, 3)
        if mood == "legal":
            q_flags = self.between(0, 3)
            reports = self.between(1, 3)
        if personal and rng.random() < 0.5:
            q_flags += 1

        # outcome and replies
        duplicate_of = None
        # Recent threads are often still unanswered; old ones rarely are.
        p_open = 0.10 + 0.45 * math.exp(-age / (7 * _DAY))
        r = rng.random()
        rest = (r - p_open) / (1.0 - p_open)  # uniform in [0, 1) when not open
        if original is not None and rng.random() < 0.3:
            status, kinds = "duplicate", ["dupe_close"]
            duplicate_of = original.remote
        elif r < p_open:
            status = "open"
            kinds = ["metoo"] * self.between(1, 3) if rng.random() < 0.25 else []
        elif rest < 0.42:
            status, kinds = (
                "answered",
                self._reply_kinds(rng.choices(_REPLY_N, cum_weights=_REPLY_CUM)[0]),
            )
        elif rest < 0.87:
            status, kinds = (
                "solved",
                self._reply_kinds(rng.choices(_REPLY_N, cum_weights=_REPLY_CUM)[0]),
            )
            a = self.between(0, len(kinds))
            kinds[a] = "accepted_" + (
                "staff" if rng.random() < 0.25 else "wrong" if rng.random() < 0.04 else "good"
            )
            if a + 1 < len(kinds) and rng.random() < 0.7:
                kinds[a + 1] = "thanks"
        else:
            status = "closed"
            kinds = [*self._reply_kinds(self.between(0, 6)), "close"]
        if status == "answered" and all(k == "metoo" for k in kinds):
            status = "open"

        # posts
        posts: list[tuple[_Member, list[str], int, int]] = []  # author, paragraphs, score, flags
        posts.append((asker, question, self.between(0, 6), q_flags))
        accepted_index: int | None = None
        last_helper = ""
        for kind in kinds:
            score, flags = 0, 0
            if kind in ("good", "accepted_good"):
                author = self._helper() if rng.random() < 0.65 else self.pick(self.regulars)
                s["helper"] = author.username
                paras = self._good(topic, s)
                score = self.between(1, 30)
            elif kind in ("staff", "accepted_staff"):
                author = self.pick(self.staff)
                s["staff"] = author.first
                paras = self._staff(topic, s)
                score = self.between(2, 20)
            elif kind in ("wrong", "accepted_wrong"):
                author = self._newcomer(created) if rng.random() < 0.5 else self.pick(self.regulars)
                paras = self._wrong(topic, s)
                score = self.between(-4, 3)
            elif kind == "metoo":
                author = self._newcomer(created) if rng.random() < 0.7 else self.pick(self.regulars)
                paras = [self.pick(C.ME_TOO).format_map(s)]
            elif kind == "clarify":
                author = self._helper() if rng.random() < 0.6 else self.pick(self.regulars)
                paras = [self.pick(CLARIFY).format_map(s)]
                score = self.between(0, 4)
            elif kind == "thanks":
                author = asker
                s["helper"] = last_helper or "all"
                paras = [self.pick(C.THANKS).format_map(s)]
            elif kind == "notfixed":
                author = asker
                paras = [self.pick(C.NOT_FIXED).format_map(s)]
                if mood != "calm" and rng.random() < 0.5:
                    paras.append(self.pick(C.ANGRY).format_map(s))
                    flags = int(rng.random() < 0.3)
            elif kind == "close":
                author = self.pick(self.staff)
                paras = [self.pick(CLOSING).format_map(s)]
            else:  # dupe_close
                author = self.pick(self.staff)
                where = f"{C.BASE_URL}/t/{original.remote if original else ''}"
                paras = [
                    f"This has already been answered here: {where} - closing as a duplicate "
                    "so the answers stay in one place."
                ]
            if kind.startswith("accepted_"):
                accepted_index = len(posts)
                score += self.between(3, 15)
            if author.remote_id in self.answerer_ids:
                last_helper = author.username
            posts.append((author, paras, score, flags))

        hostile_records: list[tuple[str, int]] = []
        if hostile is not None:
            title = self._plant_hostile(hostile, title, posts, s, created, hostile_records)

        # write records
        t = created
        post_records: list[PostRecord] = []
        accepted_remote = None
        for position, (author, paras, score, flags) in enumerate(posts):
            if position:
                gap = int(rng.expovariate(1.0 / (4 * _HOUR))) + self.between(60, 900)
                t = min(t + gap, self.ref - 60 + position)
            text = "\n\n".join(paras)
            raw = _cook(paras)
            pid = str(self.next_post)
            self.next_post += 1
            if position == accepted_index:
                accepted_remote = pid
            post_records.append(
                PostRecord(
                    pid,
                    remote,
                    author.remote_id,
                    position,
                    text,
                    raw,
                    _iso(t),
                    None,
                    score,
                    flags,
                    False,
                )
            )
        for kind, position in hostile_records:
            self.truth.hostile.append((kind, remote, post_records[position].remote_id))
        if hostile in ("title_markup", "title_ansi", "title_rtl", "title_long"):
            self.truth.hostile.append((hostile, remote, None))
        flag_total = sum(p[3] for p in posts)
        tags = list(topic.tags)
        if rng.random() < 0.35:
            tags.append("iphone" if s["device"].startswith("iPhone") else "android")
        if mood != "calm":
            tags.append("complaint")
        chunk.threads.append(
            ThreadRecord(
                remote_id=remote,
                title=title,
                author_remote_id=asker.remote_id,
                status=status,
                created_at=_iso(created),
                last_activity_at=post_records[-1].created_at,
                reply_count=len(post_records) - 1,
                flag_count=flag_total,
                report_count=reports,
                tags=tuple(tags),
                accepted_post_remote_id=accepted_remote,
                url=f"{C.BASE_URL}/t/{_slug(title)}/{remote}",
                remote_updated_at=post_records[-1].created_at,
                duplicate_of_remote_id=duplicate_of,
            )
        )
        chunk.posts.extend(post_records)
        self.truth.posts += len(post_records)
        self.truth.status_counts[status] = self.truth.status_counts.get(status, 0) + 1
        if original is not None:
            self.truth.planted_duplicates.append((remote, original.remote))
        elif hostile is None:
            self.pool.append(_Asked(remote, topic_index, problem, details, title_index, ask))
            if len(self.pool) > 4000:
                del self.pool[:2000]

    def _reply_kinds(self, n: int) -> list[str]:
        return self.rng.choices(_KINDS, cum_weights=_KINDS_CUM, k=n)

    def _spam(self, remote: str, created: int, chunk: DemoChunk) -> None:
        rng = self.rng
        author = (
            self.pick(self.spammers)
            if rng.random() < 0.4
            else self._member("spammer", created - self.between(60, 3 * _HOUR))
        )
        s = self._person(self._problem(0), author)
        title = self.pick(C.SPAM_TITLES).format_map(s)
        body = [self.pick(C.SPAM_BODIES).format_map(s)]
        flags = self.between(2, 7)
        hidden = rng.random() < 0.4
        status = "closed" if hidden and rng.random() < 0.5 else "open"
        pid = str(self.next_post)
        self.next_post += 1
        when = _iso(created)
        chunk.posts.append(
            PostRecord(
                pid,
                remote,
                author.remote_id,
                0,
                body[0],
                _cook(body),
                when,
                None,
                self.between(-8, 0),
                flags,
                hidden,
            )
        )
        chunk.threads.append(
            ThreadRecord(
                remote,
                title,
                author.remote_id,
                status,
                when,
                when,
                0,
                flags,
                self.between(0, 3),
                ("spam",),
                None,
                f"{C.BASE_URL}/t/{_slug(title)}/{remote}",
                when,
                None,
            )
        )
        self.truth.posts += 1
        self.truth.status_counts[status] = self.truth.status_counts.get(status, 0) + 1

    def _plant_hostile(
        self,
        kind: str,
        title: str,
        posts: list[tuple[_Member, list[str], int, int]],
        s: dict[str, str],
        created: int,
        records: list[tuple[str, int]],
    ) -> str:
        """Put hostile text into the thread; returns the (maybe hostile) title."""
        rng = self.rng
        if kind.startswith("title_"):
            if kind == "title_markup":
                return f"{self.pick(C.MARKUP_PAYLOADS).format_map(s)} {title}"
            if kind == "title_ansi":
                return f"{self.pick(C.ANSI_PAYLOADS)}{title}\x1b[0m"
            if kind == "title_rtl":
                return f"{self.pick(C.RTL_PAYLOADS).format_map(s)} {title}"
            return title + " " + "!" * 200 + " " + "HELP" * 60
        if kind.startswith("huge_"):
            payload = _huge(kind, rng)
        elif kind == "long_word":
            payload = self.pick(
                (
                    "A" * self.between(3000, 9000),
                    f"{C.BASE_URL}/t/" + "verylongslug-" * self.between(200, 600) + "1",
                    "why" * self.between(1000, 3000) + "?!" * 500,
                    "".join(self.pick("0123456789abcdef") for _ in range(4096)),
                )
            )
        else:
            bank = {
                "markup": C.MARKUP_PAYLOADS,
                "ansi": C.ANSI_PAYLOADS,
                "rtl": C.RTL_PAYLOADS,
                "emoji": C.EMOJI_PAYLOADS,
            }[kind]
            # The first post of each kind carries its whole bank, so every build has them all.
            seen = self.hostile_seen.get(kind, 0)
            self.hostile_seen[kind] = seen + 1
            chosen = bank if seen == 0 else rng.sample(bank, min(len(bank), self.between(1, 4)))
            parts = [p.format_map(s) for p in chosen]
            payload = " ".join(parts)
        as_reply = rng.random() < 0.5 or kind.startswith("huge_")
        if as_reply and len(posts) <= MAX_REPLIES:  # a thread keeps at most MAX_REPLIES replies
            author = (
                self.pick(self.hostile_members) if rng.random() < 0.5 else self._newcomer(created)
            )
            posts.append((author, [payload], self.between(-3, 4), self.between(0, 3)))
            records.append((kind, len(posts) - 1))
        else:
            asker, paras, score, flags = posts[0]
            where = self.between(0, len(paras) + 1)
            posts[0] = (asker, [*paras[:where], payload, *paras[where:]], score, flags)
            records.append((kind, 0))
        return title


def _cumulative(weights: Iterable[float]) -> Iterator[float]:
    total = 0.0
    for w in weights:
        total += float(w)
        yield total


_REPLY_N = list(range(1, 13))
_REPLY_CUM = list(_cumulative((20, 18, 15, 12, 9, 7, 5, 4, 3, 3, 2, 2)))
_KINDS = ["good", "wrong", "metoo", "notfixed", "staff", "clarify"]
_KINDS_CUM = list(_cumulative((26, 12, 26, 10, 6, 10)))

HOSTILE_KINDS = (
    "markup",
    "ansi",
    "rtl",
    "emoji",
    "long_word",
    "markup",
    "ansi",
    "title_markup",
    "title_ansi",
    "title_rtl",
    "title_long",
    "emoji",
)
HUGE_KINDS = ("huge_log", "huge_blob", "huge_rant")
HOSTILE_NAMES: tuple[tuple[str, str | None], ...] = (
    ("[bold red]Kestrel_Staff[/]", "[@click=app.quit]Official Support[/]"),
    ("\x1b[31mroot\x1b[0m", "\x1b]0;owned\x07Admin"),
    ("مستخدم_جديد", "שלום עולם"),
    ("👑signal_queen👑", "Z̸a̷l̶g̵o‍👩‍💻"),
)
CLARIFY = (
    "Which phone is it, and is it a new SIM or a replacement?",
    "What does it say exactly on the screen?",
    "Have you checked the network status page for {postcode}?",
    "Is this pay monthly or pay as you go?",
    "Does it happen everywhere or just at home?",
    "Did you get a confirmation text when you submitted it?",
)
CLOSING = (
    "Locking this thread as it's been resolved by private message.",
    "Closing as the problem in {town} is now fixed - please start a new thread if it comes back.",
    "Closing this one as it's gone off topic. Please keep it civil, everyone.",
    "Thread closed: account-specific, we're handling it privately.",
)


def _huge(kind: str, rng: Random) -> str:
    """A body of at least HUGE_BODY_CHARS characters: a pasted log, an image blob or a rant."""
    if kind == "huge_blob":
        blob = base64.b64encode(rng.randbytes(HUGE_BODY_CHARS * 3 // 4 + 600)).decode()
        return f"screenshot attached: data:image/png;base64,{blob}"
    if kind == "huge_rant":
        lines = []
        size = 0
        while size < HUGE_BODY_CHARS:
            line = rng.choice(C.ANGRY).format_map({"network": C.NETWORK, "years": "12"})
            if rng.random() < 0.1:
                line = f"[bold red]{line}[/] \x1b[31m!!!\x1b[0m"
            lines.append(line)
            size += len(line) + 1
        return "\n".join(lines)
    lines = ["Here's the log from my phone, hope someone can make sense of it:"]
    size = len(lines[0])
    stamp = 0
    while size < HUGE_BODY_CHARS:
        stamp += rng.randrange(1, 900)
        line = (
            f"11-{18 + stamp // 86_400_000:02d} {stamp // 3_600_000 % 24:02d}:"
            f"{stamp // 60_000 % 60:02d}:{stamp // 1000 % 60:02d}.{stamp % 1000:03d} "
            f"{rng.randrange(900, 4000):5d} {rng.randrange(900, 4000):5d} "
            f"{rng.choice('DIWE')} {rng.choice(_LOG_TAGS)}: {rng.choice(_LOG_MESSAGES)} "
            f"rat={rng.choice(('LTE', 'NR', 'UMTS', 'UNKNOWN'))} rssi=-{rng.randrange(60, 120)}"
        )
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


_LOG_TAGS = (
    "RILJ",
    "ServiceStateTracker",
    "DcTracker",
    "ImsService",
    "SubscriptionController",
    "QtiRadio",
    "CarrierConfig",
    "TelephonyNetworkFactory",
)
_LOG_MESSAGES = (
    "[UNSL]< UNSOL_RESPONSE_NETWORK_STATE_CHANGED",
    "pollStateDone: mSS.getState()=1",
    "onDataSetupComplete: error=SIGNAL_LOST",
    "registration state: SEARCHING",
    "SIM_STATE_CHANGED state=NOT_READY",
    "carrier config loaded for 23499",
    "setupDataCall failed cause=0x21",
    "IMS registration failed: 403 Forbidden",
)


def demo_reference(moment: datetime | None = None) -> datetime:
    """The moment the demo's times count back from: `moment` (default: the clock, which
    PEERDESK_NOW freezes) rounded down to the hour, so the same seed gives the same demo all
    hour long and a demo built today has threads from today."""
    return (moment or now()).astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def generate_demo(
    threads: int = DEFAULT_THREADS,
    seed: int = DEFAULT_SEED,
    *,
    chunk_threads: int = CHUNK_THREADS,
    truth: GroundTruth | None = None,
    reference: datetime | None = None,
) -> Iterator[DemoChunk]:
    """The demo rows, `chunk_threads` threads at a time; the same seed (and reference time, see
    `demo_reference`) gives the same rows.

    `truth` (if given) is filled in as chunks are produced: planted duplicates, hostile posts,
    status counts.
    """
    if threads < 0:
        raise ValueError("threads must be 0 or more")
    ref = demo_reference(reference)
    builder = _Builder(threads, seed, truth if truth is not None else GroundTruth(), ref)
    for start in range(0, max(threads, 1), chunk_threads):
        chunk = DemoChunk()
        for i in range(start, min(start + chunk_threads, threads)):
            builder.thread(i, chunk)
        chunk.members, builder.pending_members = builder.pending_members, []
        yield chunk


def build_demo(
    cache: Cache,
    threads: int = DEFAULT_THREADS,
    seed: int = DEFAULT_SEED,
    *,
    progress: Progress | None = None,
    candidate_limit: int = DEFAULT_CANDIDATE_LIMIT,
    embeddings: bool = True,
    reference: datetime | None = None,
    rewards: bool = True,
) -> DemoSummary:
    """Write the demo community into `cache` through `console.ingest`, then mark it as the demo.

    Duplicate candidates are then found for the newest `candidate_limit` threads (0: none,
    negative: all), oldest first, so each thread's candidates see every older thread. With
    `embeddings=False` no thread is embedded and the candidates are the lexical ones; the cache
    says so, and `console.dupes.catch_up` embeds and recomputes them later (`make demo` runs it
    in the background so the console opens sooner). With `rewards=False` the rewards part
    (votes' accruals, planted fraud, the payout period) is left out: a benchmark of something
    else at a million threads would wait on an accrual run of 22 million votes.
    """
    started = time.perf_counter()
    ref = demo_reference(reference)
    truth = GroundTruth()
    source_id = ensure_source(cache, SOURCE_KIND, SOURCE_NAME, C.BASE_URL)
    local_ids: list[int] = []
    done = 0
    ingest_seconds = 0.0
    for chunk in generate_demo(threads, seed, truth=truth, reference=ref):
        mark = time.perf_counter()
        if chunk.members:
            upsert_members(cache, source_id, chunk.members)
        if chunk.threads:
            local_ids.extend(upsert_threads(cache, source_id, chunk.threads, chunk.posts).values())
        ingest_seconds += time.perf_counter() - mark
        done += len(chunk.threads)
        if progress is not None:
            progress(done, threads, "threads")
    with cache.transaction():
        cache.set_meta("demo", "1")
        cache.set_meta("demo_seed", str(seed))
        cache.set_meta("demo_threads", str(threads))
        cache.set_meta("demo_reference_time", iso(ref))
        cache.set_meta("demo_planted_duplicates", json.dumps(truth.planted_duplicates))
        cache.set_meta("demo_hostile", json.dumps(truth.hostile, ensure_ascii=False))
    if rewards:
        _plant_rewards(cache, seed, ref)
    _add_escalations(cache, seed, ref)
    mark = time.perf_counter()
    pairs = None
    if candidate_limit != 0 and local_ids:
        chosen = sorted(local_ids)  # local ids follow remote ids, which follow creation time
        if candidate_limit > 0:
            chosen = chosen[-candidate_limit:]
        pairs = 0
        if embeddings:
            _embed_threads(cache, progress)
        else:
            _embed_later(cache, chosen[0], chosen[-1])
        for start in range(0, len(chosen), CANDIDATE_SLICE):
            pairs += _find_duplicate_candidates(
                cache, chosen[start : start + CANDIDATE_SLICE], semantic=embeddings
            )
            if progress is not None:
                progress(min(start + CANDIDATE_SLICE, len(chosen)), len(chosen), "candidates")
    candidate_seconds = time.perf_counter() - mark
    _plant_verification(cache)  # console.verify: answers worth verifying, past decisions
    return DemoSummary(
        threads=threads,
        posts=truth.posts,
        members=truth.members,
        seed=seed,
        planted_duplicates=len(truth.planted_duplicates),
        hostile_posts=sum(1 for h in truth.hostile if h[2] is not None),
        huge_posts=sum(1 for h in truth.hostile if h[0].startswith("huge_")),
        status_counts=dict(sorted(truth.status_counts.items())),
        seconds=time.perf_counter() - started,
        ingest_seconds=ingest_seconds,
        candidate_seconds=candidate_seconds,
        candidate_pairs=pairs,
    )


def _plant_verification(cache: Cache) -> None:
    """The one call into answer verification (console.verify.demo)."""
    from console.verify.demo import plant

    plant(cache)


def _plant_rewards(cache: Cache, seed: int, reference: datetime) -> None:
    """The one call into rewards (console.rewards.demo): votes, planted fraud, a payout period
    (the month before the reference time's)."""
    from console.rewards.demo import plant

    plant(cache, seed, reference)


def _embed_threads(cache: Cache, progress: Progress | None) -> None:
    """The one call into the embedding store (console.dupes.vectors): every thread's vector."""
    from console.dupes.vectors import embed_missing

    report = None if progress is None else (lambda d, t: progress(d, t, "embeddings"))
    embed_missing(cache, progress=report)


def _embed_later(cache: Cache, first: int, last: int) -> None:
    """The one call into console.dupes.catch_up: these threads' candidates are lexical for now."""
    from console.dupes.catch_up import mark_pending

    mark_pending(cache, first, last)


def _find_duplicate_candidates(cache: Cache, thread_ids: list[int], *, semantic: bool) -> int:
    """The one call into the duplicate finder (console.dupes): candidates for the new threads."""
    from console.dupes.candidates import update_candidates

    return update_candidates(cache, thread_ids, semantic=semantic)


def _add_escalations(cache: Cache, seed: int, reference: datetime) -> None:
    """The one call into escalation (console.escalate): its demo history, every kind of rule."""
    from console.escalate.demo import add_demo_escalations

    add_demo_escalations(cache, iso(reference), seed)
