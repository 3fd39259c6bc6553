"""How alike two threads are: text in, score and a short human explanation out.

Pure: no database, no clock, no I/O. The same function ranks candidates in the console
(`console.dupes.candidates`) and in the SemEval benchmark (`bench/semeval.py`), so the benchmark
measures exactly what moderators get.

The score is a weighted sum of a few similarities, each in [0, 1]:

- `text`: idf-weighted cosine of the two whole texts (title + body), with sub-linear term counts
  and light suffix stemming; the candidate's title words count twice (a title says what is asked);
- `title`: idf-weighted cosine of the two titles;
- `cover`: the idf-weighted share of the new thread's title terms that the candidate mentions
  anywhere (a duplicate answers the same question, so it must talk about the same things);
- `chars`: cosine of character 4-gram counts of the whole texts (title words twice), which
  forgives the misspellings and word forms that forum posts are full of ("sponser", "sponsorship");
- `fuzzy`: rapidfuzz `token_sort_ratio` of the normalised titles (catches near-copies);
- exact shared details: error strings, code fragments, links and tags, which rarely match by
  chance;
- `solved`: a small bonus when the candidate has an accepted or verified answer, so that among
  equally good originals the solved one is proposed first.

Document frequencies come from a `TermStats` (the cache's full-text vocabulary in production, the
split's corpus in the benchmark). Texts are cut to `MAX_CHARS` before analysis, so a 200 kB post
costs no more than a long one.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from rapidfuzz import fuzz

MAX_CHARS = 6_000  # of title + body analysed; the rest of a huge post adds little and costs time

# The weights of the signals. Chosen on the SemEval-2016 dev split, rounded, then left alone.
# Half the weight is word-level, half character-level; no weight was fitted beyond that split.
W_TEXT = 0.30
W_TITLE = 0.10
W_COVER = 0.10
W_CHARS = 0.50
W_FUZZY = 0.0  # shown in explanations; as a score it only echoes `title` and `chars`
W_DETAIL = 0.15  # per kind of exact shared detail (error, code, link), capped at 2 kinds
W_TAGS = 0.05
W_SOLVED = 0.04
TITLE_BOOST = 2  # a thread's title words count this many times in its whole-text vectors
GRAM = 4

_WORD = re.compile(r"[^\W_]+")
_URL = re.compile(r"https?://[^\s<>\"'()\[\]]+", re.IGNORECASE)
_CODE = re.compile(r"`([^`\n]{4,200})`")
_ERROR = re.compile(
    r"\b(?:[A-Z][A-Za-z0-9]*(?:Error|Exception|Fault)\b[^\n]{0,80}"  # ValueError: ...
    r"|(?:[Ee]rror|errno|[Cc]ode)\s*[:#]?\s*[A-Z0-9][-_A-Z0-9x]{2,}"  # error 0x8007, code E-42
    r"|E[A-Z]{3,}\b)",  # EACCES, ENOENT
)
_MARKUP = re.compile(r"\[/?[a-z@#][^\]\n]{0,40}\]")  # Rich/BBCode-like tags: noise, not words

# fmt: off
STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "he", "her", "him", "his", "how", "i", "if",
    "im", "in", "into", "is", "it", "its", "just", "me", "my", "no", "not", "of", "on", "or",
    "our", "she", "so", "than", "that", "the", "their", "them", "then", "there", "these",
    "they", "this", "to", "too", "us", "was", "we", "were", "what", "when", "where", "which",
    "who", "why", "will", "with", "would", "you", "your", "hi", "hello", "thanks", "thank",
    "please", "pls", "any", "anyone", "anybody", "someone", "know",
))
# fmt: on


class TermStats(Protocol):
    """Document frequencies of raw (lower-cased, unstemmed) tokens in some collection."""

    @property
    def n_docs(self) -> int: ...

    def df(self, term: str) -> int: ...


@dataclass
class CountStats:
    """TermStats from an in-memory collection (the benchmark, tests)."""

    counts: Mapping[str, int]
    total: int

    @property
    def n_docs(self) -> int:
        return self.total

    def df(self, term: str) -> int:
        return self.counts.get(term, 0)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> CountStats:
        counts: Counter[str] = Counter()
        total = 0
        for text in texts:
            counts.update(set(tokens(text)))
            total += 1
        return cls(counts, total)


@dataclass(frozen=True)
class Doc:
    """What the scorer knows of a thread."""

    title: str
    body: str = ""
    tags: tuple[str, ...] = ()
    solved: bool = False


@dataclass(frozen=True)
class Analyzed:
    """A Doc cut into the pieces the signals compare. Build once with `analyze`, reuse freely."""

    doc: Doc
    title_terms: Counter[str]  # stem -> count
    body_terms: Counter[str]
    raw: dict[str, str]  # stem -> one raw token it came from (for df look-ups)
    title_norm: str
    grams: dict[str, float]  # character n-gram -> sub-linear weight
    details: dict[str, frozenset[str]] = field(default_factory=dict)
    memo: dict[int, tuple[dict[str, float], dict[str, float]]] = field(
        default_factory=dict, compare=False, repr=False
    )


@dataclass(frozen=True)
class Scored:
    score: float
    explanation: str
    signals: dict[str, float]
    shared_terms: tuple[str, ...]


def _fold(text: str) -> str:
    """Lower-case and strip diacritics, as SQLite's unicode61 tokenizer does."""
    text = text.lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Raw tokens as the full-text index sees them (lower-case letters and digits)."""
    return _WORD.findall(_fold(text[:MAX_CHARS]))


def stem(token: str) -> str:
    """A light English suffix stripper: plurals and a few verb endings. Non-Latin stays as is."""
    if len(token) <= 3 or not token.isascii() or token.isdigit():
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("sses", "shes", "ches", "xes")):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def _terms(text: str, raw: dict[str, str], grams: Counter[str], weight: int) -> Counter[str]:
    found: Counter[str] = Counter()
    for token in tokens(_MARKUP.sub(" ", text)):
        if token in STOP_WORDS:
            continue
        key = stem(token)
        raw.setdefault(key, token)
        found[key] += 1
        padded = f" {token} "
        for i in range(max(1, len(padded) - GRAM + 1)):
            grams[padded[i : i + GRAM]] += weight
    return found


def _details(text: str) -> dict[str, frozenset[str]]:
    text = text[:MAX_CHARS]
    return {
        "link": frozenset(u.rstrip(".,;:!?").lower() for u in _URL.findall(text)),
        "code": frozenset(c.strip().lower() for c in _CODE.findall(text) if c.strip()),
        "error": frozenset(" ".join(e.split()).lower() for e in _ERROR.findall(text)),
    }


def analyze(doc: Doc) -> Analyzed:
    title = doc.title[:MAX_CHARS]
    body = doc.body[: max(0, MAX_CHARS - len(title))]
    raw: dict[str, str] = {}
    grams: Counter[str] = Counter()
    title_terms = _terms(title, raw, grams, TITLE_BOOST)
    body_terms = _terms(body, raw, grams, 1)
    norm = " ".join(stem(t) for t in tokens(_MARKUP.sub(" ", title)) if t not in STOP_WORDS)
    weights = {g: 1.0 + math.log(c) for g, c in grams.items()}
    return Analyzed(doc, title_terms, body_terms, raw, norm, weights, _details(title + "\n" + body))


class Idf:
    """idf per stem, from raw-token document frequencies; memoised for one scoring run."""

    def __init__(self, stats: TermStats) -> None:
        self.stats = stats
        self.n = max(1, stats.n_docs)
        self.cache: dict[str, float] = {}

    def __call__(self, raw_token: str) -> float:
        value = self.cache.get(raw_token)
        if value is None:
            df = min(self.stats.df(raw_token), self.n)
            value = math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))
            self.cache[raw_token] = value
        return value


def _weights(terms: Counter[str], raw: dict[str, str], idf: Idf) -> dict[str, float]:
    return {t: (1.0 + math.log(c)) * idf(raw[t]) for t, c in terms.items()}


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b[t] for t, w in a.items() if t in b)
    if not dot:
        return 0.0
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


def _whole(doc: Analyzed) -> Counter[str]:
    whole = Counter(doc.body_terms)
    for term, count in doc.title_terms.items():
        whole[term] += count * TITLE_BOOST
    return whole


def _vectors(doc: Analyzed, idf: Idf) -> tuple[dict[str, float], dict[str, float]]:
    """The doc's idf-weighted whole-text and title vectors, memoised per Idf."""
    found = doc.memo.get(id(idf))
    if found is None:
        found = (_weights(_whole(doc), doc.raw, idf), _weights(doc.title_terms, doc.raw, idf))
        doc.memo.clear()
        doc.memo[id(idf)] = found
    return found


def score(new: Analyzed, candidate: Analyzed, stats: TermStats | Idf) -> Scored:
    """How likely `candidate` is the original that `new` duplicates."""
    idf = stats if isinstance(stats, Idf) else Idf(stats)
    new_whole, new_title = _vectors(new, idf)
    cand_whole, cand_title = _vectors(candidate, idf)
    text = _cosine(new_whole, cand_whole)
    title = _cosine(new_title, cand_title)
    raw = new.raw
    title_idf = {t: idf(raw[t]) for t in new.title_terms}
    total = sum(title_idf.values())
    cover = sum(w for t, w in title_idf.items() if t in cand_whole) / total if total else 0.0
    chars = _cosine(new.grams, candidate.grams)
    fuzzy = (
        fuzz.token_sort_ratio(new.title_norm, candidate.title_norm) / 100.0
        if new.title_norm and candidate.title_norm
        else 0.0
    )
    shared_details = {
        kind: sorted(values & candidate.details.get(kind, frozenset()))
        for kind, values in new.details.items()
    }
    detail_kinds = [k for k, v in shared_details.items() if v]
    new_tags = {t.lower() for t in new.doc.tags}
    cand_tags = {t.lower() for t in candidate.doc.tags}
    tags = len(new_tags & cand_tags) / len(new_tags | cand_tags) if new_tags and cand_tags else 0.0
    signals = {
        "text": text,
        "title": title,
        "cover": cover,
        "chars": chars,
        "fuzzy": fuzzy,
        "details": float(min(2, len(detail_kinds))),
        "tags": tags,
        "solved": 1.0 if candidate.doc.solved else 0.0,
    }
    value = (
        W_TEXT * text
        + W_TITLE * title
        + W_COVER * cover
        + W_CHARS * chars
        + W_FUZZY * fuzzy
        + W_DETAIL * signals["details"]
        + W_TAGS * tags
        + W_SOLVED * signals["solved"]
    )
    shared = sorted(
        (t for t in new_whole if t in cand_whole),
        key=lambda t: (-(new_whole[t] * cand_whole[t]), t),
    )
    shared_raw = tuple(new.raw[t] for t in shared[:5])
    return Scored(
        round(value, 4), _explain(signals, shared_raw, shared_details), signals, shared_raw
    )


def _explain(
    signals: dict[str, float], shared: tuple[str, ...], details: dict[str, list[str]]
) -> str:
    parts = [f"title {round(100 * max(signals['title'], signals['fuzzy']))}% alike"]
    if shared:
        parts.append("shares " + ", ".join(shared))
    for kind, label in (("error", "same error"), ("code", "same code"), ("link", "same link")):
        if details.get(kind):
            parts.append(f"{label} {_short(details[kind][0])}")
    if signals["tags"]:
        parts.append(f"tags {round(100 * signals['tags'])}% alike")
    if signals["solved"]:
        parts.append("original is solved")
    return "; ".join(parts)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rank(new: Doc, candidates: Mapping[str, Doc], stats: TermStats) -> list[tuple[str, Scored]]:
    """Candidates best first; ties keep the given order."""
    idf = Idf(stats)
    query = analyze(new)
    scored = [(key, score(query, analyze(doc), idf)) for key, doc in candidates.items()]
    order = {key: i for i, key in enumerate(candidates)}
    return sorted(scored, key=lambda item: (-item[1].score, order[item[0]]))
