"""Likely originals for threads in the cache, kept current incrementally.

For one thread, recall a pool of possible originals among older threads of the same source and
language in two ways: its few most telling words (highest idf, from the `thread_fts` vocabulary)
sent to FTS5 (BM25), and its nearest embeddings (`console.dupes.vectors`: all-MiniLM-L6-v2, so a
duplicate that shares no rare word is still found). The pool is reranked by the lexical scorer
(`console.dupes.scorer`) and the embedding cosine, fused with per-pool z-scores
(`console.dupes.fusion`), and each pair gets a calibrated probability of being a duplicate. The
best few are kept as `duplicate_links` rows (decision 'pending', score = that probability, the
method, a short explanation). Only pairs at PROPOSE or above are *proposals* (`candidates`, the
Queue's `≈`, the Thread band, the Duplicates panel); weaker ones are shown only when asked for
(`candidates(..., weaker=True)`, `peerdesk dupes THREAD --weaker`). Pairs a moderator has decided
(confirmed, rejected, merged) are never proposed again or changed. A solved or closed thread is
never proposed as the new duplicate of an original that is not itself solved.

Without the model (not installed, or PEERDESK_SEMANTIC=off) everything works on the lexical path:
recall by FTS5 only and the probability from the lexical features.

`update_candidates(cache, thread_ids)` is the hook for sync, import and the demo builder: it
recomputes only the threads given (and threads whose pending candidates point at them), never the
whole cache.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from console import search_index
from console.clock import now_iso
from console.db import Cache
from console.dupes import (
    analysis,
    e5,
    e5_vectors,
    embed,
    features,
    fusion,
    language,
    scorer,
    vectors,
    warm,
)
from console.dupes.embed import Int8Matrix
from console.dupes.scorer import (
    STOP_WORDS,
    Analyzed,
    Doc,
    Idf,
    Piece,
    Pool,
    analyze,
    chars,
    score,
    tokens,
)
from console.dupes.stored import LEXICAL_METHOD as LEXICAL_METHOD  # re-exported
from console.dupes.stored import METHOD as METHOD
from console.dupes.stored import MINILM_METHOD as MINILM_METHOD
from console.dupes.stored import candidates as candidates
from console.dupes.thresholds import PROPOSE as PROPOSE  # re-exported: used here and by others
from console.dupes.thresholds import STRONG_SCORE as STRONG_SCORE
from console.errors import NotFound
from console.storage import Connection, Row, dialect_of

QUERY_TERMS = 8  # words sent to FTS5 per thread: the most telling ones
TITLE_TERMS = 4  # of which at most this many from the title
WORD_POSTINGS = 500  # a word in more threads than this is never a query word, whatever the
# cache's size: slow to match, it tells little (was also 0.1% of the threads when more: 1,000
# at a million, so a query read more the bigger the cache)
POSTINGS = 2_500  # at most this many matches (the sum of the terms' document frequencies) per
# FTS5 query, whatever the cache's size: the query's cost is bounded by what it reads
QUERY_POOL = 64  # distinct words of a thread considered for them (title first)
RECALL = 24  # FTS5 matches reranked by the scorer
SEMANTIC_RECALL = 12  # nearest embeddings added to the pool
OVERFETCH = 4  # FTS5 returns RECALL * OVERFETCH, of which the first RECALL possible originals stay
FIRST_READ = RECALL + 8  # hits whose rows are read first (more only if too few can be originals)
KEEP = 5  # candidates stored per thread
MIN_SCORE = 0.05  # pairs less likely than this are not stored at all
# PROPOSE (what is proposed) and STRONG_SCORE (the Queue's ≈) live in console.dupes.thresholds
CLOSED_STATUSES = ("solved", "closed")
TITLE_WEIGHT = 2.0  # BM25 weight of the title column against the body


FTS_TABLE = "thread_fts"  # what recall searches (an FTS5 table; on PostgreSQL its tsvector)
FUZZY_RECALL = 4  # threads with a most alike title added first where the engine has trigrams


@dataclass
class Timing:
    """Where the time of one thread's candidate search went (milliseconds)."""

    terms_ms: float = 0.0
    fts_ms: float = 0.0
    fetch_ms: float = 0.0
    score_ms: float = 0.0
    write_ms: float = 0.0
    query_terms: list[str] = field(default_factory=list)
    recalled: int = 0
    semantic_ms: float = 0.0
    semantic_added: int = 0
    from_text: int = 0  # recalled candidates with no stored analysis (analysed from their text)
    explained: int = 0  # explanations written (with `keep`: the kept pairs at PROPOSE or more)
    e5: bool = False  # the pool was ranked with e5's cosine too (every member had its vector)


class VocabStats:
    """Document frequencies of `thread_fts` words, memoised per instance.

    Read from the `dupe_terms` snapshot (one primary-key look-up per word); words the snapshot
    has not seen (new since it was taken: rare by nature) are counted live through fts5vocab,
    which is cheap for rare words. The snapshot is retaken when the cache has grown or shrunk by
    a quarter since (`refresh_terms`), and by `rebuild_index`.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = dialect_of(conn)
        search_page_cache(conn)
        for statement in self.dialect.fts_vocabulary_setup(FTS_TABLE):
            conn.execute(statement)
        row = conn.execute("SELECT value FROM meta WHERE key = 'dupe_terms_docs'").fetchone()
        self._n = int(row[0]) if row else 0
        self._df: dict[str, int] = {}

    @property
    def n_docs(self) -> int:
        return self._n

    def prefetch(self, terms: Iterable[str]) -> None:
        missing = list({t for t in terms if t not in self._df})
        unseen: list[str] = []
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found = dict(
                self.conn.execute(
                    f"SELECT term, df FROM dupe_terms WHERE term IN ({marks})", chunk
                ).fetchall()
            )
            self._df.update(found)
            unseen.extend(t for t in chunk if t not in found)
        for start in range(0, len(unseen), 200):
            chunk = unseen[start : start + 200]
            for term in chunk:
                self._df[term] = 0
            for term, doc in self.conn.execute(
                self.dialect.fts_document_counts(FTS_TABLE, len(chunk)), chunk
            ):
                self._df[term] = int(doc)

    def live_df(self, terms: Sequence[str]) -> dict[str, int]:
        """Current document frequencies straight from the index (for rare words only)."""
        found = dict.fromkeys(terms, 0)
        for start in range(0, len(terms), 200):
            chunk = list(terms[start : start + 200])
            for term, doc in self.conn.execute(
                self.dialect.fts_document_counts(FTS_TABLE, len(chunk)), chunk
            ):
                found[term] = int(doc)
        return found

    def df(self, term: str) -> int:
        if term not in self._df:
            self.prefetch([term])
        return self._df[term]


SEARCH_CACHE_KIB = 32_768  # SQLite page cache of a connection that runs candidate searches


def search_page_cache(conn: Connection) -> None:
    """Give a connection that runs candidate searches a page cache of SEARCH_CACHE_KIB (unless
    it has a larger one already; SQLite only: a team database's server has its own).

    A search reads ~300 pages of a large cache: FTS5's doclists and, for each of up to 2,500
    matches, the row's column sizes its bm25 needs (`thread_fts_docsize`, ~12 MB at a million
    threads), then for each of ~36 recalled threads its row, vector and stored analysis, each
    a descent through its table's inner pages. SQLite's default 2 MB held none of that from one
    search to the next (the same thread searched again read as many pages); with 32 MB the
    inner pages and the column sizes stay, and a search reads about a third as many. Memory:
    only what is read fills it (at most 32 MB a connection), in processes that search (sync,
    import, catch-up, demo, `peerdesk dupes`), not in the console's own connection."""
    if not dialect_of(conn).is_sqlite:
        return
    size = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    if size > 0:  # a number of pages
        size = -size * int(conn.execute("PRAGMA page_size").fetchone()[0]) // 1024
    if -size < SEARCH_CACHE_KIB:
        conn.execute(f"PRAGMA cache_size = -{SEARCH_CACHE_KIB}")


def refresh_terms(cache: Cache, *, force: bool = False) -> bool:
    """Retake the document-frequency snapshot if it is missing or stale; True if retaken."""
    # max(id), not count(*): one index probe instead of a scan of a million rows; ids only
    # grow, so it follows the cache's growth (deletions are rare and only delay a retake)
    threads = int(cache.one("SELECT coalesce(max(id), 0) FROM threads")[0])  # type: ignore[index]
    taken = int(cache.meta("dupe_terms_docs") or 0)
    if not force and taken and 0.75 * taken <= threads <= 1.25 * taken:
        return False
    with cache.transaction() as conn:
        for statement in cache.dialect.fts_vocabulary_setup(FTS_TABLE):
            conn.execute(statement)
        conn.execute("DELETE FROM dupe_terms")
        conn.execute(cache.dialect.fts_vocabulary_snapshot(FTS_TABLE, "dupe_terms"))
        cache.set_meta("dupe_terms_docs", str(max(1, threads)))
    return True


def _chunks(items: Sequence[int], size: int = 500) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _query_terms(title: str, body: str, stats: VocabStats) -> list[str]:
    """The thread's most telling words, seen in 2+ threads: its title words first (a title says
    what is asked; at most TITLE_TERMS of them, rarest first), then the rarest body words.

    Words in more than WORD_POSTINGS threads are left out (they cost the most time and tell the
    least), and the words' postings (document frequencies) add up to at most POSTINGS: what
    the FTS5 query reads is bounded by the same numbers at any size of cache.
    """
    parts: list[list[str]] = []
    seen: set[str] = set()
    for text in (title, body):
        part: list[str] = []
        for token in tokens(text):
            if token in seen or token in STOP_WORDS or len(token) < 2:
                continue
            seen.add(token)
            part.append(token)
            if len(seen) >= QUERY_POOL:
                break
        parts.append(part)
    pool = [t for part in parts for t in part]
    stats.prefetch(pool)
    # The snapshot may predate this thread: count the rarest words live (cheap for rare words).
    live = stats.live_df([t for t in pool if stats.df(t) <= 2])

    def usable(part: list[str]) -> list[str]:
        scored = []
        for token in part:
            df = live.get(token, stats.df(token))
            if 2 <= df <= WORD_POSTINGS:  # df 1: only the thread has it
                scored.append((df, token))
        return [token for _, token in sorted(scored)]

    chosen: list[str] = []
    budget = POSTINGS

    def take(token: str) -> None:
        nonlocal budget
        df = live.get(token, stats.df(token))
        if token not in chosen and df <= budget:
            chosen.append(token)
            budget -= df

    for token in usable(parts[0])[:TITLE_TERMS]:
        take(token)
    for token in usable(parts[1]):
        if len(chosen) >= QUERY_TERMS:
            break
        take(token)
    return chosen


def lexical_recall(
    cache: Cache, row: Row, terms: list[str], stats: VocabStats | None = None
) -> list[int]:
    """Threads sharing the thread's telling words, best first (the engine's ranking: FTS5's
    BM25 on the cache; on the team database the words' rarity (from `stats`), then ts_rank:
    console.storage.dialect), after, where
    the engine has a trigram index (PostgreSQL), the few older threads of the source whose
    titles are most alike (typos and word order that no shared word finds)."""
    dialect = cache.dialect
    fuzzy = dialect.similar_titles()
    hits: list[int] = []
    if fuzzy is not None and row["title"]:
        near = (row["source_id"], row["id"], row["created_at"], row["title"], FUZZY_RECALL)
        hits = [r[0] for r in cache.query(fuzzy, (*near, row["title"]))]
    if terms:
        n = max(1, stats.n_docs) if stats is not None else 1
        rarity = [math.log(1 + n / max(1, stats.df(t))) if stats else 1.0 for t in terms]
        sql, ranked = dialect.fts_ranked(FTS_TABLE, TITLE_WEIGHT, terms, rarity, RECALL * OVERFETCH)
        hits += [r[0] for r in cache.query(sql, ranked)]
    return list(dict.fromkeys(hits))


def _thread_doc(cache: Cache, thread_id: int) -> tuple[Row, Doc] | None:
    row = cache.one(
        "SELECT t.id, t.source_id, t.title, t.status, t.created_at, t.tags, t.duplicate_of, "
        "t.accepted_post_id, coalesce(f.body, '') AS body FROM threads t "
        "LEFT JOIN thread_fts f ON f.rowid = t.id WHERE t.id = ?",
        (thread_id,),
    )
    if row is None:
        return None
    return row, Doc(row["title"], row["body"], _tags(row["tags"]), _solved(row))


_TAGS: dict[str, tuple[str, ...]] = {}  # parsed tag lists (a forum reuses a few thousand)


def _tags(raw: str | None) -> tuple[str, ...]:
    found = _TAGS.get(raw or "[]")
    if found is not None:
        return found
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        value = None
    found = tuple(str(t) for t in value) if isinstance(value, list) else ()
    if len(_TAGS) >= 4_096:
        _TAGS.clear()
    _TAGS[raw or "[]"] = found
    return found


def _solved(row: Row) -> bool:
    return row["status"] == "solved" or row["accepted_post_id"] is not None


def _pool_row_ok(r: Row, row: Row, thread_id: int, any_source: bool) -> bool:
    """Can `r` be the original of `row`: older, not a duplicate itself, same source (unless
    asked), and not an unsolved original for a solved or closed new thread."""
    if r["duplicate_of"] is not None or r["status"] == "duplicate":
        return False
    if not any_source and r["source_id"] != row["source_id"]:
        return False
    if row["status"] in CLOSED_STATUSES and not _solved(r):
        return False
    return bool((r["created_at"], r["id"]) < (row["created_at"], thread_id))


def _bodies(cache: Cache, ids: Sequence[int]) -> dict[int, str]:
    """The indexed question text of the threads kept in the pool (only those are read)."""
    if not ids:
        return {}
    return {
        r[0]: r[1] or ""
        for r in cache.query(
            f"SELECT rowid, body FROM thread_fts WHERE rowid IN ({','.join('?' * len(ids))})",
            list(ids),
        )
    }


ANALYSED_KEEP = 2_048  # analysed candidate threads kept per process (popular originals recur)
_analysed_lock = threading.Lock()
_analysed_memo: OrderedDict[tuple[int, Doc], Analyzed] = OrderedDict()


def _analysed(thread_id: int, doc: Doc) -> Analyzed:
    """`analyze(doc)`, remembered for the ANALYSED_KEEP most recently used candidates: the same
    originals are recalled for many new threads, and analysing one is most of its scoring cost.
    Keyed by the text itself, so an edited thread is analysed again."""
    key = (thread_id, doc)
    with _analysed_lock:
        found = _analysed_memo.get(key)
        if found is not None:
            _analysed_memo.move_to_end(key)
            found.memo.clear()  # per-Idf look-ups of an earlier search: never reused
            return found
    found = analyze(doc)
    with _analysed_lock:
        _analysed_memo[key] = found
        while len(_analysed_memo) > ANALYSED_KEEP:
            _analysed_memo.popitem(last=False)
    return found


def _pair(row: Row, body: str) -> tuple[int, Analyzed]:
    doc = Doc(row["title"], body, _tags(row["tags"]), _solved(row))
    return int(row["id"]), _analysed(int(row["id"]), doc)


def _stored_pair(row: Row, stored: tuple[int, bytes]) -> tuple[int, Piece, Callable[[], Analyzed]]:
    """A candidate from its stored analysis (`console.dupes.analysis`): no text is read; the
    numbers it is scored from now, its words only if it is explained."""
    doc = Doc(row["title"], "", _tags(row["tags"]), _solved(row))
    version, blob = stored
    if version != analysis.VERSION:  # an older row, read as it is until it is redone
        whole = analysis.decode_version_1(blob, doc)
        return int(row["id"]), whole.piece(), lambda: whole
    parts = analysis.Stored(blob)
    return int(row["id"]), parts.piece(doc), partial(parts.decode, doc, complete=False)


def _from_text(row: Row, body: str) -> tuple[int, Piece, Callable[[], Analyzed]]:
    thread_id, analysed = _pair(row, body)
    return thread_id, analysed.piece(), lambda: analysed


def forget_analysed() -> None:
    """Empty the memo of analysed candidates (benchmarks measure a cold start with it)."""
    with _analysed_lock:
        _analysed_memo.clear()


@dataclass(frozen=True)
class PoolItem:
    """One recalled possible original with the signals its probability is computed from.

    Its explanation is written when asked for (`explanation`): a pool of ~36 is scored, and
    only the few kept are shown."""

    original_id: int
    lexical: float
    cosine: float | None
    fused: float
    why: Callable[[], str] = field(compare=False, repr=False)
    e5: float | None = None  # e5's cosine, when both models ranked the pool

    @property
    def probability(self) -> float:
        return fusion.probability(self.lexical, self.cosine, self.fused, self.e5)

    @property
    def explanation(self) -> str:
        return self.why()


def _why(
    query: Analyzed,
    whole: Callable[[], Analyzed],
    stats: VocabStats,
    idf: Idf,
    chars_sim: float,
    cosine: float | None,
) -> str:
    """A candidate's explanation: the scorer's (as `score` writes it), after the meaning."""
    cand = whole()
    stats.prefetch(cand.raw[t] for t in cand.title_terms)  # its title words' df, in one query
    why = score(query, cand, idf, chars_sim).explanation
    if cosine is not None:
        why = f"meaning {round(100 * max(0.0, cosine))}% alike; {why}"
    return why


def scored_pool(
    cache: Cache,
    thread_id: int,
    *,
    stats: VocabStats | None = None,
    timing: Timing | None = None,
    any_source: bool = False,
    any_language: bool = False,
    semantic: bool = True,
    fresh: dict[int, Analyzed] | None = None,
) -> list[PoolItem]:
    """The thread's recalled pool with its signals (in recall order).

    `fresh`, if given, receives the analyses made from text here (the thread's own, and those
    of recalled candidates with none stored) for the caller to store."""
    timing = timing or Timing()
    if stats is None:
        refresh_terms(cache)
        stats = VocabStats(cache.conn)
    started = time.perf_counter()
    found = _thread_doc(cache, thread_id)
    if found is None:
        raise NotFound(f"There is no thread {thread_id} {cache.dialect.where}.")
    row, doc = found
    terms = _query_terms(doc.title, doc.body, stats)
    timing.query_terms = terms
    mark = time.perf_counter()
    timing.terms_ms = (mark - started) * 1000
    # Plain full-text matches first (a join per match would cost a row read for every match),
    # then keep the best RECALL that can be originals: older, same source, not duplicates.
    hits = [h for h in lexical_recall(cache, row, terms, stats) if h != thread_id]
    now = time.perf_counter()
    timing.fts_ms, mark = (now - mark) * 1000, now
    # Semantic recall: the nearest embeddings among older threads of the same source.
    own = vectors.vectors_of(cache, [thread_id]).get(thread_id) if semantic else None
    if own is None and semantic and embed.load_encoder() is not None:
        vectors.embed_threads(cache, [thread_id])
        own = vectors.vectors_of(cache, [thread_id]).get(thread_id)
    near: dict[int, float] = {}
    if own is not None:
        sources = [row["source_id"]]
        if any_source:
            sources = [r[0] for r in cache.query("SELECT id FROM sources ORDER BY id")]
        for source in sources:
            for tid, cos in vectors.neighbours(
                cache,
                own[0],
                source,
                limit=SEMANTIC_RECALL + 4,
                before=row["created_at"],
                exclude=thread_id,
            ):
                near[tid] = cos
    now = time.perf_counter()
    timing.semantic_ms, mark = (now - mark) * 1000, now
    if not hits and not near:
        return []
    # Filtered here, not in SQL: a condition on source_id would tempt the planner into walking
    # the (source_id, remote_id) index over every thread of the source.
    # Read the rows of the first hits (and of every semantic one) first, and of further hits
    # only while fewer than RECALL of those read can be originals: usually one short read,
    # each row a random page of a big cache. A row holds what decides whether the thread can
    # be an original (no text), its vector and its stored analysis (`console.dupes.features`).
    rows: dict[int, Row] = {}
    read: set[int] = set()
    upto = min(FIRST_READ, len(hits))  # hits[:upto] are read
    wanted = list(dict.fromkeys([*hits[:upto], *near]))
    while True:
        if wanted:
            rows.update(
                (r["id"], r)
                for r in features.rows(cache, wanted)
                if _pool_row_ok(r, row, thread_id, any_source)
            )
            read.update(wanted)
        short = RECALL - sum(1 for h in hits[:upto] if h in rows)
        if short <= 0 or upto >= len(hits):
            break
        step = max(2 * short, 8)
        wanted = [h for h in hits[upto : upto + step] if h not in read]
        upto = min(len(hits), upto + step)
    pool_ids = [h for h in hits[:upto] if h in rows][:RECALL]
    semantic_ids = sorted((t for t in near if t in rows), key=lambda t: -near[t])
    added = [t for t in semantic_ids if t not in pool_ids][:SEMANTIC_RECALL]
    pool_ids += added
    timing.semantic_added = len(added)
    pool_vectors: dict[int, tuple[Int8Matrix, str]] = {}
    if own is not None:
        pool_vectors = {p: v for p in pool_ids if (v := features.vector(rows[p])) is not None}
    unembedded = [p for p in pool_ids if p not in pool_vectors]
    if own is not None and unembedded:  # threads from before the model (or a bulk import)
        vectors.embed_threads(cache, unembedded)
        pool_vectors.update(vectors.vectors_of(cache, unembedded))
    if own is not None and not any_language:
        lang = own[1]
        pool_ids = [
            p for p in pool_ids if language.compatible(lang, pool_vectors.get(p, (None, ""))[1])
        ]
    stored = {p: a for p in pool_ids if (a := features.stored_analysis(rows[p])) is not None}
    # the text of candidates without a stored analysis (a thread missing from the word index
    # has neither, and is not compared)
    bodies = _bodies(cache, [p for p in pool_ids if p not in stored])
    pool = [rows[h] for h in pool_ids if h in stored or h in bodies]
    timing.recalled = len(pool)
    now = time.perf_counter()
    timing.fetch_ms, mark = (now - mark) * 1000, now
    if not pool:
        return []
    query = analyze(doc)
    analysed = [
        _stored_pair(o, stored[o["id"]]) if o["id"] in stored else _from_text(o, bodies[o["id"]])
        for o in pool
    ]
    timing.from_text = sum(1 for o in pool if o["id"] not in stored)
    if fresh is not None:
        fresh[thread_id] = query
        fresh.update((tid, whole()) for tid, _, whole in analysed if tid not in stored)
    # The pool's scores look up df only for the new thread's word forms (BM25): fetch just
    # those, in one pass (an explanation fetches its candidate's title words when written).
    raw_terms = {form for forms in query.forms.values() for form in forms}
    raw_terms.update(query.raw.values())
    stats.prefetch(raw_terms)
    idf = Idf(stats)
    pool_numbers = Pool([piece for _, piece, _ in analysed])
    similar = chars(query, pool_numbers)  # the whole pool in one numpy pass, and so is BM25
    lexical = scorer.pool_scores(query, pool_numbers, idf, similar)
    ids = [tid for tid, _, _ in analysed]
    cosines: list[float] | None = None
    if own is not None:
        embedded = [oid for oid in ids if oid in pool_vectors]
        alike: dict[int, float] = {}
        if embedded:  # one integer matrix product for the pool: the same values as one by one
            matrix = np.stack([pool_vectors[oid][0] for oid in embedded])
            alike = dict(zip(embedded, embed.cosine_int8(own[0], matrix).tolist(), strict=True))
        cosines = [alike.get(oid, 0.0) for oid in ids]
    second = _e5_cosines(cache, thread_id, ids) if own is not None else None
    timing.e5 = second is not None
    keys = fusion.fuse(lexical, cosines, second)
    items = []
    for i, (original_id, _, whole) in enumerate(analysed):
        cosine = None if cosines is None else cosines[i]
        why = partial(_why, query, whole, stats, idf, similar[i], cosine)
        e5_cosine = None if second is None else second[i]
        items.append(PoolItem(original_id, lexical[i], cosine, keys[i], why, e5_cosine))
    timing.score_ms = (time.perf_counter() - mark) * 1000
    return items


def _e5_cosines(cache: Cache, thread_id: int, ids: list[int]) -> list[float] | None:
    """e5's cosine of the thread to each of `ids`; None (the pool is ranked by words and
    MiniLM) when e5 is unavailable or a candidate has no e5 vector yet. The thread's own is
    embedded now if missing (one text); candidates' are not: in a cache from before e5, or
    after a bulk import, a pool could meet ~36 of them (~0.7 s), so the pool waits for the
    catch-up, which embeds them and redoes the pairs ranked without e5 (method MINILM_METHOD)."""
    if e5.load_e5() is None:
        return None
    found = e5_vectors.vectors_of(cache, [thread_id, *ids])
    if any(oid not in found for oid in ids):
        return None
    if thread_id not in found:
        e5_vectors.embed_threads(cache, [thread_id])
        found.update(e5_vectors.vectors_of(cache, [thread_id]))
        if thread_id not in found:
            return None
    if not ids:
        return []
    matrix = np.stack([found[oid] for oid in ids])
    return [float(c) for c in embed.cosine_int8(found[thread_id], matrix)]


def find_candidates(
    cache: Cache,
    thread_id: int,
    *,
    stats: VocabStats | None = None,
    timing: Timing | None = None,
    any_source: bool = False,
    any_language: bool = False,
    semantic: bool = True,
    fresh: dict[int, Analyzed] | None = None,
    keep: int | None = None,
) -> list[tuple[int, float, str]]:
    """Likely originals of one thread: [(original id, probability, explanation)], best first.

    Same source and language only, unless `any_source` / `any_language`. With `keep`, only
    what would be stored: the best `keep` at MIN_SCORE or more whose pair no moderator has
    decided, and only those at PROPOSE or more are explained (the others get "", and their
    explanation is written when one is asked for: `explain`, `candidates`)."""
    timing = timing or Timing()
    items = scored_pool(
        cache,
        thread_id,
        stats=stats,
        timing=timing,
        any_source=any_source,
        any_language=any_language,
        semantic=semantic,
        fresh=fresh,
    )
    ranked = sorted(
        ((round(i.probability, 4), i) for i in items),
        key=lambda r: (-r[0], r[1].original_id),
    )
    if keep is not None:
        decided = _decided(cache.conn, thread_id)
        ranked = [r for r in ranked if r[0] >= MIN_SCORE and r[1].original_id not in decided]
        ranked = ranked[:keep]
        timing.explained = sum(1 for c, _ in ranked if c >= PROPOSE)
        return [(i.original_id, c, i.explanation if c >= PROPOSE else "") for c, i in ranked]
    timing.explained = len(ranked)
    return [(i.original_id, chance, i.explanation) for chance, i in ranked]


def explain(cache: Cache, thread_id: int, original_id: int, *, semantic: bool = True) -> str:
    """The explanation of one pair, as `find_candidates` writes it for a pair of its pool (the
    scorer's words and details, after the meaning when `semantic` and both have a vector):
    what a stored weaker candidate, kept without one, shows when it is asked for. "" if
    either thread is gone or the original has no text to compare."""
    found = _thread_doc(cache, thread_id)
    rows = features.rows(cache, [original_id])
    if found is None or not rows:
        return ""
    _, doc = found
    row = rows[0]
    stored = features.stored_analysis(row)
    if stored is not None:
        _, piece, whole = _stored_pair(row, stored)
    else:
        body = _bodies(cache, [original_id]).get(original_id)
        if body is None:
            return ""
        _, piece, whole = _from_text(row, body)
    stats = VocabStats(cache.conn)
    query = analyze(doc)
    cosine: float | None = None
    if semantic:
        both = vectors.vectors_of(cache, [thread_id, original_id])
        if thread_id in both:  # as in a pool: a candidate without a vector is 0% alike
            other = both.get(original_id)
            cosine = (
                0.0
                if other is None
                else float(embed.cosine_int8(both[thread_id][0], other[0][None])[0])
            )
    return _why(query, whole, stats, Idf(stats), chars(query, Pool([piece]))[0], cosine)


def _decided(conn: Connection, thread_id: int) -> set[int]:
    """The originals of the thread's pairs a moderator decided (never proposed again)."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT original_id FROM duplicate_links WHERE thread_id = ? AND decision != 'pending'",
            (thread_id,),
        )
    }


def _store(
    conn: Connection, thread_id: int, results: list[tuple[int, float, str]], method: str
) -> int:
    """Replace the thread's pending candidates with `results` (decided pairs stay as they are)."""
    decided = _decided(conn, thread_id)
    keep = [r for r in results if r[1] >= MIN_SCORE and r[0] not in decided][:KEEP]
    conn.execute(
        "DELETE FROM duplicate_links WHERE thread_id = ? AND decision = 'pending'", (thread_id,)
    )
    stamp = now_iso()
    conn.executemany(
        "INSERT INTO duplicate_links (thread_id, original_id, score, method, explanation, "
        "decision, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?) "
        "ON CONFLICT (thread_id, original_id) DO NOTHING",
        [(thread_id, oid, s, method, why, stamp) for oid, s, why in keep],
    )
    return len(keep)


def update_candidates(cache: Cache, thread_ids: Iterable[int], *, semantic: bool = True) -> int:
    """Recompute the candidates of these threads (just written or changed); returns pairs stored.

    Threads whose pending candidates point at one of them are refreshed too (their original
    changed). Threads already closed as duplicates get no candidates. The threads given are
    embedded first (new or changed text only): this is the embedding hook of sync pages.
    With `semantic=False` nothing is embedded and the lexical path alone is used (the demo's
    first build; `console.dupes.catch_up` recomputes those threads once vectors exist).
    """
    ids = sorted(set(thread_ids))
    if not ids:
        return 0
    if semantic:  # the disk reads the graphs while the model loads and embeds (warm.py)
        warm.before_first_search(cache)
        vectors.embed_threads(cache, ids)
    semantic = semantic and embed.load_encoder() is not None
    affected = set(ids)
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        affected.update(
            r[0]
            for r in cache.query(
                "SELECT DISTINCT thread_id FROM duplicate_links "
                f"WHERE decision = 'pending' AND original_id IN ({marks})",
                list(chunk),
            )
        )
    refresh_terms(cache)
    stats = VocabStats(cache.conn)
    stored = 0
    for chunk in _chunks(sorted(affected), 200):
        marks = ",".join("?" * len(chunk))
        live = [
            r[0]
            for r in cache.query(
                f"SELECT id FROM threads WHERE id IN ({marks}) "
                "AND duplicate_of IS NULL AND status != 'duplicate'",
                list(chunk),
            )
        ]
        fresh: dict[int, Analyzed] = {}
        computed = []
        for tid in live:
            timing = Timing()
            found = find_candidates(
                cache, tid, stats=stats, timing=timing, semantic=semantic, fresh=fresh, keep=KEEP
            )
            ranked = METHOD if timing.e5 else MINILM_METHOD if semantic else LEXICAL_METHOD
            computed.append((tid, found, ranked))
        # analyses made from text here are kept (the threads' own, and candidates that had
        # none), so the next search reads them instead of analysing the texts again
        have = analysis.stored_ids(cache, sorted(fresh))
        with cache.transaction() as conn:
            analysis.store(conn, {t: a for t, a in fresh.items() if t not in have})
            for tid, results, ranked in computed:
                stored += _store(conn, tid, results, ranked)
    return stored


def rebuild_index(cache: Cache) -> int:
    """Rebuild `thread_fts` from the threads and their first posts; returns threads indexed."""
    from console.ingest import fts_prefix_sql  # a NUL in a body must not cut what is indexed

    with cache.transaction() as conn:
        conn.execute("DELETE FROM thread_fts")
        conn.execute(
            "INSERT INTO thread_fts (rowid, title, body) "
            f"SELECT t.id, t.title, coalesce({fts_prefix_sql('p.body_text', cache.dialect)}, '') "
            "FROM threads t LEFT JOIN posts p ON p.thread_id = t.id AND p.position = 0 "
            "ORDER BY t.id"
        )
        for statement in cache.dialect.fts_optimize(FTS_TABLE):
            conn.execute(statement)
        search_index.mark_all_threads_indexed(conn)  # no thread waits for the catch-up now
        conn.execute("DELETE FROM thread_analysis")  # redone from the new index (`backfill`)
        row = conn.execute("SELECT count(*) FROM threads").fetchone()
        refresh_terms(cache, force=True)
    return int(row[0])


def open_thread_ids(cache: Cache) -> list[int]:
    """Threads that can still be closed as duplicates: not closed, not already duplicates."""
    return [
        r[0]
        for r in cache.query(
            "SELECT id FROM threads WHERE status IN ('open', 'answered') "
            "AND duplicate_of IS NULL ORDER BY id"
        )
    ]
