"""How alike two threads are: text in, score and a short human explanation out.

Pure: no database, no clock, no I/O. The same function ranks candidates in the console
(`console.dupes.candidates`) and in the SemEval benchmark (`bench/semeval.py`), so the benchmark
measures exactly what moderators get.

The score is a weighted sum of a few similarities, each in [0, 1]:

- `bm25`: Okapi BM25 (k1=1.2, b=0.75) of the candidate for the new thread's words (title + body,
  stop words dropped, Porter2-stemmed with `snowballstemmer`), divided by the new thread's BM25
  against itself. Dividing by a per-thread constant changes no ranking; it only puts the score on
  a 0..1 scale that the console's thresholds understand. Document length is normalised against
  the mean length of the pair, so a score needs no pool and stays a pure function of two texts;
- `chars`: cosine of character 4-gram counts of the whole texts (title words twice), which
  forgives the misspellings and word forms that forum posts are full of ("sponser", "sponsorship");
- exact shared details: error strings, code fragments, links and tags, which rarely match by
  chance;
- `solved`: a small bonus when the candidate has an accepted or verified answer, so that among
  equally good originals the solved one is proposed first.

`title` (idf-weighted cosine of the titles) and `fuzzy` (rapidfuzz `token_sort_ratio` of the
normalised titles) are reported and explained ("title 80% alike") but not scored: on the
SemEval-2016 dev split every title-specific weighting lowered MAP.

Document frequencies come from a `TermStats` (the cache's full-text vocabulary in production, the
split's corpus in the benchmark). Texts are cut to `MAX_CHARS` before analysis, so a 200 kB post
costs no more than a long one.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Protocol

import snowballstemmer
from rapidfuzz import fuzz

if TYPE_CHECKING:  # numpy is imported on first use: the console starts without it
    import numpy as np

MAX_CHARS = 6_000  # of title + body analysed; the rest of a huge post adds little and costs time

# The weights of the signals. BM25 carries the ranking; character n-grams add robustness to
# misspellings (neutral on SemEval dev, where 0.6..1.0 for BM25 all land within 0.5 MAP).
W_BM25 = 0.80
W_CHARS = 0.20
W_DETAIL = 0.15  # per kind of exact shared detail (error, code, link), capped at 2 kinds
W_TAGS = 0.05
W_SOLVED = 0.04
K1 = 1.2  # BM25 term-frequency saturation (textbook values; MAP is flat for k1 0.6..2, b 0.3..0.9)
B = 0.75  # BM25 length normalisation
TITLE_BOOST = 2  # a thread's title words count this many times in its character n-grams
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


PAD = "\x00"  # pads the 3-character n-gram of a one-letter word (never in a word)


@cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """The multipliers of the n-gram hash, and 1 + ln(c) for counts 0..255 (as `sublinear`)."""
    import numpy as np

    hashing = np.array(
        [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 1], dtype=np.uint64
    )
    return hashing, np.array([0.0] + [1.0 + math.log(c) for c in range(1, 256)])


def gram_codes(grams: str) -> np.ndarray:
    """One 64-bit code per n-gram of `grams` (GRAM characters each): its code points, 16 bits
    each, so the code IS the n-gram for every character of the Basic Multilingual Plane; an
    n-gram with a character beyond it (emoji, rare scripts) gets a multiplicative hash of its
    code points instead (a clash with another n-gram's code is a 1 in 2**64 chance)."""
    import numpy as np

    if not grams:
        return np.zeros(0, dtype=np.uint64)
    packed = grams.encode("utf-16-be")
    if len(packed) == 2 * len(grams):  # no character beyond the BMP: 16 bits each, in order
        return np.frombuffer(packed, dtype=">u8").astype(np.uint64)
    points = np.frombuffer(grams.encode("utf-32-le"), dtype=np.uint32).reshape(-1, GRAM)
    wide = points.astype(np.uint64)
    codes = (wide[:, 0] << 48) | (wide[:, 1] << 32) | (wide[:, 2] << 16) | wide[:, 3]
    astral = (points > 0xFFFF).any(axis=1)
    if astral.any():
        with np.errstate(over="ignore"):
            codes[astral] = (wide[astral] * _tables()[0]).sum(axis=1, dtype=np.uint64)
    return codes


def gram_weights(counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """The sub-linear weight (1 + ln count) of each n-gram count (`sublinear`, bit for bit)."""
    import numpy as np

    found = np.asarray(counts, dtype=np.int64)
    table = _tables()[1]
    if not len(found) or found.max() < 256:
        result: np.ndarray = table[found]
        return result
    big = found >= 256
    result = table[np.where(big, 0, found)]
    result[big] = [sublinear(int(c)) for c in found[big]]
    return result


@dataclass(frozen=True)
class Analyzed:
    """A Doc cut into the pieces the signals compare. Build once with `analyze`, reuse freely."""

    doc: Doc
    title_terms: Counter[str]  # stem -> count
    body_terms: Counter[str]
    raw: dict[str, str]  # stem -> one raw token it came from (for df look-ups)
    title_norm: str
    grams: str  # its distinct character n-grams, each padded to GRAM characters, first seen first
    details: dict[str, frozenset[str]] = field(default_factory=dict)
    memo: dict[int, tuple[dict[str, float], dict[str, float]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # as a new thread, per Idf: each stem with its count and BM25 weight (see `_bm25`)
    bm25_terms: dict[int, tuple[tuple[str, int, float], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    terms: Counter[str] = field(default_factory=Counter)  # stem -> count in title + body
    forms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # stem -> its raw tokens
    length: int = 0  # words counted in `terms`
    grams_norm: float = 0.0  # Euclidean norm of the n-grams' weights
    gram_counts: tuple[int, ...] = ()  # times each n-gram of `grams` is seen (title ones twice)
    # computed from `grams` and `gram_counts`, the same way for `analyze` and a stored analysis
    gram_codes: np.ndarray = field(init=False, compare=False, repr=False)
    gram_weights: np.ndarray = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gram_codes", gram_codes(self.grams))
        object.__setattr__(self, "gram_weights", gram_weights(self.gram_counts))

    def piece(self) -> Piece:
        """This analysis as a candidate of a `Pool` (the numbers its stored form starts with)."""
        import numpy as np

        stems = list(self.terms)
        return Piece(
            self.doc,
            self.details,
            stem_codes(stems).astype("<u8").tobytes(),
            np.array([self.title_terms.get(t, 0) for t in stems], dtype="<u4").tobytes(),
            np.array(  # from `terms`: a lean analysis (`complete=False`) has no body_terms
                [c - self.title_terms.get(t, 0) for t, c in self.terms.items()], dtype="<u4"
            ).tobytes(),
            self.grams,
            np.array(self.gram_counts, dtype="<u4").tobytes(),
            self.grams_norm,
        )


_CODES: dict[str, int] = {}


def stem_code(stem: str) -> int:
    """A stem's 64-bit code (the first 8 bytes of its BLAKE2b digest): the same in every
    process, so it can be stored. Two stems sharing a code is a 1 in 2**64 chance per pair."""
    found = _CODES.get(stem)
    if found is None:
        digest = hashlib.blake2b(stem.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        found = int.from_bytes(digest, "little")
        if len(_CODES) >= _STEMS_MAX:
            _CODES.clear()
        _CODES[stem] = found
    return found


def stem_codes(stems: Iterable[str]) -> np.ndarray:
    """`stem_code` of each stem, in order, as uint64."""
    import numpy as np

    return np.fromiter(map(stem_code, stems), dtype=np.uint64)


@dataclass(frozen=True)
class Piece:
    """What a recalled candidate is scored from, as its stored analysis begins
    (`console.dupes.analysis.piece`): no word strings, the numbers as little-endian bytes, so a
    whole pool is joined and read by numpy in one go (`Pool`)."""

    doc: Doc
    details: dict[str, frozenset[str]]
    term_codes: bytes  # uint64: `stem_code` of each stem, in the order of `Analyzed.terms`
    in_title: bytes  # uint32: each stem's count in the title
    in_body: bytes  # uint32: ... and in the body
    grams: str  # the n-grams, GRAM characters each (as `Analyzed.grams`)
    gram_counts: bytes  # uint32: times each n-gram is seen
    grams_norm: float


class Pool:
    """The candidates of one search, every number in one array, candidate after candidate
    (each in its own order): what `chars` and `pool_scores` read."""

    def __init__(self, pieces: Sequence[Piece]) -> None:
        import numpy as np

        self.docs = [p.doc for p in pieces]
        self.details = [p.details for p in pieces]
        self.size = n = len(pieces)
        join = b"".join
        self.term_codes = np.frombuffer(join([p.term_codes for p in pieces]), dtype="<u8")
        terms = np.fromiter((len(p.term_codes) // 8 for p in pieces), dtype=np.int64, count=n)
        self.term_owner = np.repeat(np.arange(n), terms)
        self.term_counts = np.frombuffer(join([p.in_title for p in pieces]), dtype="<u4").astype(
            np.int64
        ) + np.frombuffer(join([p.in_body for p in pieces]), dtype="<u4")
        self.lengths = np.bincount(self.term_owner, weights=self.term_counts, minlength=n).astype(
            np.int64
        )
        self.gram_codes = gram_codes("".join([p.grams for p in pieces]))
        counts = np.frombuffer(join([p.gram_counts for p in pieces]), dtype="<u4")
        self.gram_weights = gram_weights(counts)
        grams = np.fromiter((len(p.gram_counts) // 4 for p in pieces), dtype=np.int64, count=n)
        self.gram_owner = np.repeat(np.arange(n), grams)
        self.grams_norm = [p.grams_norm for p in pieces]

    @classmethod
    def of(cls, candidates: Sequence[Analyzed]) -> Pool:
        return cls([c.piece() for c in candidates])


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


_STEMMER = snowballstemmer.stemmer("english")
_STEMS: dict[str, str] = {}
_STEMS_MAX = 200_000  # memo entries; cleared when full (hostile text cannot grow it forever)


def stem(token: str) -> str:
    """Porter2 (English snowball) stem of an ASCII word; digits and non-Latin words stay as is."""
    found = _STEMS.get(token)
    if found is None:
        if len(token) <= 3 or not token.isascii() or token.isdigit():
            found = token
        else:
            found = _STEMMER.stemWord(token)
        if len(_STEMS) >= _STEMS_MAX:
            _STEMS.clear()
        _STEMS[token] = found
    return found


_GRAMS: dict[str, tuple[str, ...]] = {}


def _grams(token: str) -> tuple[str, ...]:
    """The character GRAM-grams of a word padded with spaces (memoised like `stem`)."""
    found = _GRAMS.get(token)
    if found is None:
        padded = f" {token} "
        found = tuple(padded[i : i + GRAM] for i in range(max(1, len(padded) - GRAM + 1)))
        if len(_GRAMS) >= _STEMS_MAX:
            _GRAMS.clear()
        _GRAMS[token] = found
    return found


def _terms(
    text: str, raw: dict[str, str], forms: dict[str, set[str]], grams: list[str], weight: int
) -> Counter[str]:
    """Stem counts of a text; adds its word forms to `raw`/`forms`, its n-grams to `grams`."""
    words = Counter(tokens(_MARKUP.sub(" ", text)))  # counted in C
    for stop in STOP_WORDS.intersection(words):
        del words[stop]
    found: Counter[str] = Counter()
    for token, count in words.items():  # each distinct word once: stems and n-grams are memoised
        key = stem(token)
        raw.setdefault(key, token)
        forms.setdefault(key, set()).add(token)
        found[key] += count
        grams.extend(_grams(token) * (count * weight))  # counted in C by `analyze`
    return found


_LOG1 = [0.0] + [1.0 + math.log(c) for c in range(1, 256)]


def sublinear(count: int) -> float:
    """1 + ln(count): the weight of a term or n-gram seen `count` times."""
    return _LOG1[count] if count < 256 else 1.0 + math.log(count)


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
    forms: dict[str, set[str]] = {}
    grams: list[str] = []
    title_terms = _terms(title, raw, forms, grams, TITLE_BOOST)
    body_terms = _terms(body, raw, forms, grams, 1)
    norm = " ".join(stem(t) for t in tokens(_MARKUP.sub(" ", title)) if t not in STOP_WORDS)
    log1 = _LOG1
    counted = Counter(grams)
    counts = tuple(counted.values())
    terms = title_terms + body_terms
    return Analyzed(
        doc,
        title_terms,
        body_terms,
        raw,
        norm,
        "".join(g if len(g) == GRAM else g.ljust(GRAM, PAD) for g in counted),
        _details(title + "\n" + body),
        terms=terms,
        forms={t: tuple(sorted(f)) for t, f in forms.items()},
        length=sum(terms.values()),
        grams_norm=math.sqrt(
            sum(w * w for w in (log1[c] if c < 256 else sublinear(c) for c in counts))
        ),
        gram_counts=counts,
    )


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
    return {t: sublinear(c) * idf(raw[t]) for t, c in terms.items()}


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


def _title_vector(doc: Analyzed, idf: Idf) -> dict[str, float]:
    """The doc's idf-weighted title vector, memoised per Idf."""
    found = doc.memo.get(id(idf))
    if found is None:
        found = (_weights(doc.title_terms, doc.raw, idf), {})
        doc.memo.clear()
        doc.memo[id(idf)] = found
    return found[0]


def _query_idf(doc: Analyzed, idf: Idf) -> dict[str, float]:
    """idf of each of the doc's stems, memoised per Idf (the new thread is scored many times)."""
    title, weights = doc.memo.get(id(idf)) or (_title_vector(doc, idf), {})
    if not weights and doc.terms:
        # A stem is as common as its most common word form (the index counts words, not stems).
        forms = doc.forms
        weights.update((t, min(idf(f) for f in forms[t])) for t in doc.terms)
        doc.memo[id(idf)] = (title, weights)
    return weights


def _bm25_terms(
    query: Analyzed, query_idf: Mapping[str, float], idf: Idf
) -> tuple[tuple[str, int, float], ...]:
    """The new thread's stems with their counts and weights (count x idf x (k1 + 1)), in its
    own order, memoised per Idf: the same for every candidate of a pool."""
    found = query.bm25_terms.get(id(idf))
    if found is None:
        found = tuple((t, c, c * query_idf[t] * (K1 + 1.0)) for t, c in query.terms.items())
        query.bm25_terms.clear()
        query.bm25_terms[id(idf)] = found
    return found


def _bm25(
    query: Analyzed, query_idf: Mapping[str, float], cand: Analyzed, idf: Idf | None = None
) -> float:
    """BM25 of `cand` for `query`'s words over BM25 of `query` for itself (0..1).

    Both sums run over the query's stems in its own order, one addition at a time, so the
    value does not depend on how the candidate's stems are stored."""
    if not query.length or not cand.length:
        return 0.0
    avg = (query.length + cand.length) / 2.0
    own = K1 * (1.0 - B + B * query.length / avg)
    other = K1 * (1.0 - B + B * cand.length / avg)
    terms = (
        _bm25_terms(query, query_idf, idf)
        if idf is not None
        else tuple((t, c, c * query_idf[t] * (K1 + 1.0)) for t, c in query.terms.items())
    )
    itself = sum(weight * count / (count + own) for _, count, weight in terms)
    found = 0.0
    tf_of = cand.terms.get
    for term, _, weight in terms:
        tf = tf_of(term)
        if tf:
            found += weight * tf / (tf + other)
    return min(1.0, found / itself) if itself > 0.0 else 0.0


def chars(query: Analyzed, candidates: Pool | Sequence[Analyzed]) -> list[float]:
    """Cosine of character n-gram weights between the query and each candidate, for a whole
    pool at once (numpy). Each candidate's dot product is summed in its own n-gram order,
    whatever else is in the pool, so one candidate alone gets exactly the same value."""
    import numpy as np

    pool = candidates if isinstance(candidates, Pool) else Pool.of(candidates)
    found = [0.0] * pool.size
    codes = pool.gram_codes
    if not query.grams_norm or not pool.size or not len(codes) or not len(query.gram_codes):
        return found
    order = np.argsort(query.gram_codes, kind="stable")
    mine, my_weights = query.gram_codes[order], query.gram_weights[order]
    at = np.minimum(np.searchsorted(mine, codes), len(mine) - 1)
    hit = mine[at] == codes
    dots = np.bincount(
        pool.gram_owner[hit],
        weights=pool.gram_weights[hit] * my_weights[at[hit]],
        minlength=pool.size,
    )
    for i, norm in enumerate(pool.grams_norm):
        dot = float(dots[i])
        if dot and norm:
            found[i] = dot / (query.grams_norm * norm)
    return found


def _exact(
    new: Analyzed, doc: Doc, details: Mapping[str, frozenset[str]]
) -> tuple[float, float, float]:
    """The exact signals of a pair: kinds of shared details (up to 2), tag overlap, solved."""
    kinds = sum(
        1
        for kind, values in new.details.items()
        if values and not values.isdisjoint(details.get(kind, ()))
    )
    tags = 0.0
    if new.doc.tags and doc.tags:
        new_tags = {t.lower() for t in new.doc.tags}
        cand_tags = {t.lower() for t in doc.tags}
        tags = len(new_tags & cand_tags) / len(new_tags | cand_tags)
    return float(min(2, kinds)), tags, 1.0 if doc.solved else 0.0


def _value(bm25: float, char_sim: float, details: float, tags: float, solved: float) -> float:
    value = W_BM25 * bm25 + W_CHARS * char_sim + W_DETAIL * details + W_TAGS * tags
    value += W_SOLVED * solved
    return value


def pool_scores(new: Analyzed, pool: Pool, idf: Idf, char_cosines: Sequence[float]) -> list[float]:
    """`score(new, c, idf, char_cosine).score` of every candidate of a pool at once, the same
    values bit for bit: BM25 is one numpy pass over the pool (each candidate's sums still run
    over the new thread's stems in its own order, one addition at a time: `np.cumsum` is
    sequential, and adding the 0.0 of a stem the candidate lacks changes no sum)."""
    import numpy as np

    n = pool.size
    bm25 = [0.0] * n
    terms = _bm25_terms(new, _query_idf(new, idf), idf) if new.length else ()
    lengths = pool.lengths
    if n and terms and lengths.any():
        codes = stem_codes(t for t, _, _ in terms)
        counts = np.fromiter((c for _, c, _ in terms), dtype=np.int64, count=len(terms))
        weights = np.fromiter((w for _, _, w in terms), dtype=np.float64, count=len(terms))
        avg = (new.length + lengths) / 2.0
        own = K1 * (1.0 - B + B * new.length / avg)
        other = K1 * (1.0 - B + B * lengths / avg)
        itself = np.cumsum((weights * counts) / (counts + own[:, None]), axis=1)[:, -1]
        tf = np.zeros((n, len(terms)), dtype=np.int64)
        order = np.argsort(codes, kind="stable")
        mine = codes[order]
        if len(pool.term_codes):
            at = np.minimum(np.searchsorted(mine, pool.term_codes), len(mine) - 1)
            hit = mine[at] == pool.term_codes
            tf[pool.term_owner[hit], order[at[hit]]] = pool.term_counts[hit]
        found = np.cumsum((weights * tf) / (tf + other[:, None]), axis=1)[:, -1]
        for i in range(n):
            if lengths[i] and itself[i] > 0.0:
                bm25[i] = min(1.0, float(found[i]) / float(itself[i]))
    scores = []
    for i, (doc, details) in enumerate(zip(pool.docs, pool.details, strict=True)):
        exact = _exact(new, doc, details)
        scores.append(round(_value(bm25[i], char_cosines[i], *exact), 4))
    return scores


def score(
    new: Analyzed,
    candidate: Analyzed,
    stats: TermStats | Idf,
    char_cosine: float | None = None,
    *,
    explain: bool = True,
) -> Scored:
    """How likely `candidate` is the original that `new` duplicates. `char_cosine`: its
    `chars` value if already computed with the rest of its pool.

    `explain=False` computes only the score (the same value, bit for bit): the explanation, the
    shared words and the title similarities (`title`, `fuzzy`), which the score does not use,
    are left out, for a pool whose few kept candidates are explained afterwards."""
    idf = stats if isinstance(stats, Idf) else Idf(stats)
    query_idf = _query_idf(new, idf)
    bm25 = _bm25(new, query_idf, candidate, idf)
    char_sim = chars(new, [candidate])[0] if char_cosine is None else char_cosine
    details, tags, solved = _exact(new, candidate.doc, candidate.details)
    value = _value(bm25, char_sim, details, tags, solved)
    if not explain:
        signals = {"bm25": bm25, "chars": char_sim, "details": details, "tags": tags}
        return Scored(round(value, 4), "", {**signals, "solved": solved}, ())
    title = _cosine(_title_vector(new, idf), _title_vector(candidate, idf))
    fuzzy = (
        fuzz.token_sort_ratio(new.title_norm, candidate.title_norm) / 100.0
        if new.title_norm and candidate.title_norm and title < 1.0
        else title
    )
    shared_details = {
        kind: sorted(values & candidate.details.get(kind, frozenset()))
        for kind, values in new.details.items()
        if values
    }
    signals = {
        "bm25": bm25,
        "title": title,
        "chars": char_sim,
        "fuzzy": fuzzy,
        "details": details,
        "tags": tags,
        "solved": solved,
    }
    # Shared words for the explanation: the rarest first, words of both titles before the rest
    # (they say what is asked), one-letter fragments ("e" of "E-4012") never.
    cand_terms, cand_title = candidate.terms, candidate.title_terms
    new_title = new.title_terms
    shared = sorted(  # a total order (ties by the word): the set's order cannot show through
        (t for t in new.terms.keys() & cand_terms.keys() if len(t) > 1),
        key=lambda t: (-query_idf[t] * (2 if t in new_title and t in cand_title else 1), t),
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
    analysed = [analyze(doc) for doc in candidates.values()]
    similar = chars(query, Pool.of(analysed))
    scored = [
        (key, score(query, cand, idf, sim))
        for key, cand, sim in zip(candidates, analysed, similar, strict=True)
    ]
    order = {key: i for i, key in enumerate(candidates)}
    return sorted(scored, key=lambda item: (-item[1].score, order[item[0]]))
