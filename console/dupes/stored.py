"""A thread's stored duplicate candidates, as the console and `peerdesk dupes THREAD` read them.

Reading them needs SQL only; this module loads neither the scorer, the embeddings nor numpy
(console.dupes.candidates, which computes them, loads all three: ~0.15 s of CPU a process). The
one exception is a weaker pair stored without its explanation, which is written when it is
shown (`stored_explanation`): that imports the scorer then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from console.db import Cache
from console.dupes.thresholds import PROPOSE, may_propose
from console.errors import NotFound

METHOD = "hybrid+e5"  # FTS5 + MiniLM recall; words, MiniLM and e5 fused; calibrated probability
MINILM_METHOD = "hybrid"  # the same without e5's vectors (e5 unavailable, or stored before it)
LEXICAL_METHOD = "fts5+rerank"  # the same without either model
MAY_PROPOSE = may_propose("n", "t")  # n: the new thread, t: the original


@dataclass(frozen=True)
class Candidate:
    thread_id: int
    original_id: int
    original_title: str
    original_status: str
    score: float
    explanation: str
    decision: str
    method: str = METHOD


def candidates(
    cache: Cache,
    thread_id: int,
    *,
    include_decided: bool = False,
    weaker: bool = False,
    explained: bool = True,
) -> list[Candidate]:
    """The stored candidates of a thread, best first: pending proposals (PROPOSE and up) only,
    unless `weaker` (every stored pending pair) or `include_decided` (decided pairs too).

    A pair stored without an explanation (below PROPOSE: `find_candidates`) gets it written
    now, unless `explained` is False (a caller that shows none)."""
    if cache.one("SELECT 1 FROM threads WHERE id = ?", (thread_id,)) is None:
        raise NotFound(f"There is no thread {thread_id} {cache.dialect.where}.")
    if include_decided:
        where = "" if weaker else f"AND (d.decision != 'pending' OR d.score >= {PROPOSE})"
    else:
        where = "AND d.decision = 'pending'" + ("" if weaker else f" AND d.score >= {PROPOSE}")
    rows = cache.query(
        "SELECT d.thread_id, d.original_id, t.title, t.status, d.score, d.explanation, "
        "d.decision, d.method FROM duplicate_links d JOIN threads t ON t.id = d.original_id "
        "JOIN threads n ON n.id = d.thread_id "
        f"WHERE d.thread_id = ? {where} AND (d.decision != 'pending' OR {MAY_PROPOSE}) "
        "ORDER BY d.score DESC, d.original_id",
        (thread_id,),
    )
    found = [Candidate(r[0], r[1], r[2], r[3], float(r[4]), r[5], r[6], r[7]) for r in rows]
    if not explained:
        return found
    return [
        replace(
            c,
            explanation=stored_explanation(
                cache, c.thread_id, c.original_id, c.explanation, c.method
            ),
        )
        for c in found
    ]


def stored_explanation(
    cache: Cache, thread_id: int, original_id: int, explanation: str, method: str
) -> str:
    """A stored pair's explanation: as stored, or written now if it was stored without one."""
    if explanation or method not in (METHOD, MINILM_METHOD, LEXICAL_METHOD):
        return explanation
    from console.dupes.candidates import explain  # the scorer: only for a pair never explained

    return explain(cache, thread_id, original_id, semantic=method != LEXICAL_METHOD)
