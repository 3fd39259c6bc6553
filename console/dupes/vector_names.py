"""What a cache's sentence vectors are and which threads have none, read without numpy.

`peerdesk dupes --catch-up` and `--pending`, and `peerdesk import`, first ask whether there is any
work; numpy (console.dupes.embed, ~0.1 s of CPU a process) and the model's runtime are loaded
only when there is. The names of today's vectors (`VECTORS`: the model, how it is run, how many
word pieces) are here for that, and console.dupes.embed and console.dupes.vectors use them.
"""

from __future__ import annotations

from console.db import Cache

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # word pieces per thread: the model's own max_seq_length (sentence_bert_config)
LEGACY_TOKENS = 128  # what tokenizer.json truncates at, and vectors were embedded with before

# What a stored vector is: the model, how it is run and how the vector is kept. Vectors with
# another identity are never compared with these (`vectors.redo_stale` re-embeds them).
VECTORS = f"{MODEL_NAME}/int8-dynamic/x127/{MAX_TOKENS}"
LEGACY_VECTORS = f"{MODEL_NAME}/int8-dynamic/x127/{LEGACY_TOKENS}"  # a cache that names none

MODEL_KEY = "vector_model"  # meta: the identity of the stored vectors (VECTORS)


def identity(cache: Cache) -> str:
    """What the cache's vectors are: its meta's name, else (vectors stored before names were
    kept) the legacy identity, else (no vector yet) today's."""
    named = cache.meta(MODEL_KEY)
    if named:
        return named
    if cache.one("SELECT 1 FROM thread_vectors LIMIT 1") is not None:
        return LEGACY_VECTORS
    return VECTORS


def stale(cache: Cache) -> bool:
    """Does the cache hold vectors of another identity than today's?"""
    return identity(cache) != VECTORS


def missing(cache: Cache, source_id: int | None = None) -> list[int]:
    """Threads without a vector, newest first."""
    where = "" if source_id is None else "AND t.source_id = ?"
    params = () if source_id is None else (source_id,)
    return [
        r[0]
        for r in cache.query(
            "SELECT t.id FROM threads t WHERE NOT EXISTS "
            f"(SELECT 1 FROM thread_vectors v WHERE v.thread_id = t.id) {where} "
            "ORDER BY t.created_at DESC, t.id DESC",
            params,
        )
    ]


def missing_any(cache: Cache) -> bool:
    """Is there a thread without a vector, or a vector of another identity than today's?"""
    if stale(cache):
        return True
    return (
        cache.one(
            "SELECT 1 FROM threads t WHERE NOT EXISTS "
            "(SELECT 1 FROM thread_vectors v WHERE v.thread_id = t.id) LIMIT 1"
        )
        is not None
    )
