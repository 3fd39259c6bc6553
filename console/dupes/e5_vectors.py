"""Each thread's second sentence vector (multilingual-e5-small, `console.dupes.e5`): rerank only.

A candidate pool is ranked by three equal signals: the lexical score, MiniLM's cosine and e5's
cosine (`console.dupes.fusion`; `bench.semeval_e5_pc`, pre-registered, found +1.4 dev MAP with
17 queries better and 10 worse). Recall stays MiniLM's (its graph, `console.dupes.ann`): e5's
vectors are only read for the ~36 threads of a pool, by id, so they need no index.

`thread_vectors_e5` (migration 41) holds one int8 vector (384 bytes) per thread and the CRC of
the text it was embedded from, so an unchanged thread is never embedded twice. Whoever embeds a
thread's MiniLM vector embeds its e5 vector too (`vectors.embed_threads`: sync pages, the
catch-up, the demo, `--rebuild`); a cache from before e5 gets the missing ones from the
catch-up (`embed_missing`). A pool meeting a candidate without one is ranked without e5 until
then (`candidates._e5_cosines`: embedding ~36 of them would cost a sync page ~0.7 s), and the
catch-up redoes it. The cache's meta `e5_vector_model` names what the vectors are
(`e5.VECTORS`); vectors of another identity are dropped and embedded again, never compared with
today's.

Everything here is a no-op when e5 is unavailable (`e5.load_e5()` is None): the ranking is then
the lexical score and MiniLM's cosine, as before e5.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from console.db import Cache
from console.dupes import e5, embed
from console.dupes.embed import Int8Matrix
from console.dupes.vector_names import E5_MODEL_KEY as MODEL_KEY
from console.dupes.vector_names import e5_current as current

CHUNK = 256  # threads embedded per write transaction


def _marks(ids: Sequence[int]) -> str:
    return ",".join("?" * len(ids))


def drop_stale(cache: Cache) -> bool:
    """Drop e5 vectors of another identity than today's (one transaction); True if any were."""
    if current(cache):
        return False
    with cache.transaction() as conn:
        if current(cache):  # another process moved it meanwhile
            return False
        conn.execute("DELETE FROM thread_vectors_e5")
        cache.set_meta(MODEL_KEY, e5.VECTORS)
    return True


def vectors_of(cache: Cache, thread_ids: Sequence[int]) -> dict[int, Int8Matrix]:
    """{thread id: int8 e5 vector} for those of these threads that have one of today's."""
    if not thread_ids or not current(cache):
        return {}
    found: dict[int, Int8Matrix] = {}
    for start in range(0, len(thread_ids), 500):
        chunk = list(thread_ids[start : start + 500])
        for tid, vec in cache.query(
            f"SELECT thread_id, vec FROM thread_vectors_e5 WHERE thread_id IN ({_marks(chunk)})",
            chunk,
        ):
            found[int(tid)] = embed.from_blob(vec)
    return found


def embed_threads(cache: Cache, thread_ids: Iterable[int], *, bulk: bool = False) -> int:
    """Embed these threads' e5 vectors (new or changed text only); returns how many were
    embedded (0 when e5 is unavailable). `bulk`: the two-thread session (`e5.load_e5`)."""
    from console.dupes.vectors import known_crcs, text_rows  # vectors calls this module

    ids = sorted(set(thread_ids))
    if not ids:
        return 0
    encoder = e5.load_e5(bulk=bulk)
    if encoder is None:
        return 0
    drop_stale(cache)
    done = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        known = known_crcs(cache, "thread_vectors_e5", chunk)
        todo = [
            (tid, text, crc) for tid, text, crc in text_rows(cache, chunk) if known.get(tid) != crc
        ]
        if not todo:
            continue
        made = embed.to_int8(encoder.encode([text for _, text, _ in todo]))
        with cache.transaction() as conn:
            if not current(cache):  # moved to another identity meanwhile: theirs to redo
                return done
            if cache.meta(MODEL_KEY) is None:
                cache.set_meta(MODEL_KEY, e5.VECTORS)
            conn.executemany(
                "INSERT INTO thread_vectors_e5 (thread_id, text_crc, vec) VALUES (?, ?, ?) "
                "ON CONFLICT (thread_id) DO UPDATE SET text_crc = excluded.text_crc, "
                "vec = excluded.vec",
                [(tid, crc, vec.tobytes()) for (tid, _, crc), vec in zip(todo, made, strict=True)],
            )
        done += len(todo)
    return done


def missing(cache: Cache) -> list[int]:
    """Threads with a MiniLM vector and no e5 vector of today's, newest first."""
    if not current(cache):
        return [int(r[0]) for r in cache.query("SELECT thread_id FROM thread_vectors")]
    return [
        int(r[0])
        for r in cache.query(
            "SELECT t.id FROM threads t JOIN thread_vectors v ON v.thread_id = t.id "
            "WHERE NOT EXISTS (SELECT 1 FROM thread_vectors_e5 e WHERE e.thread_id = t.id) "
            "ORDER BY t.created_at DESC, t.id DESC"
        )
    ]


def embed_missing(cache: Cache, progress: Callable[[int, int], None] | None = None) -> int:
    """Embed the e5 vector of every thread that has a MiniLM vector and lacks one; returns how
    many were embedded (0 when e5 is unavailable)."""
    if e5.load_e5(bulk=True) is None:
        return 0
    drop_stale(cache)
    todo = missing(cache)
    done = 0
    for start in range(0, len(todo), CHUNK * 4):
        done += embed_threads(cache, todo[start : start + CHUNK * 4], bulk=True)
        if progress:
            progress(min(start + CHUNK * 4, len(todo)), len(todo))
    return done
