"""Thread embeddings in the cache: computed at ingest, incrementally; read for recall and rerank.

`thread_vectors` holds one int8 vector (384 bytes) per thread with its source, creation time,
a coarse language guess, a CRC of the embedded text (so an unchanged thread is never embedded
twice) and a sequence number (`seq`, from the meta counter `vector_seq`) that says in which
order vectors were stored. Semantic recall (`neighbours`) is `console.dupes.ann`: an HNSW graph
saved beside the cache, a small one of the vectors stored since, and the newest few searched
exactly; storing vectors (`embed_threads`) extends those graphs when enough have arrived. On a
team database (PostgreSQL) the vectors are in the database and recall is exact over them (no
graph file: see ann).

The cache's meta `vector_model` names what its vectors are (`VECTORS`: the model, how it
is run, how many word pieces; console.dupes.vector_names, which also says which threads have no
vector, without numpy); a cache with vectors and no name holds `LEGACY_VECTORS`.
Vectors of two identities are never stored side by side: while the cache names an older one,
new vectors are embedded as that one was (its word-piece limit), and `redo_stale` (the catch-up,
`--rebuild`, the demo: `embed_missing`) moves the cache to today's identity, re-embedding only
the vectors that differ (the texts that reach the old limit) or, for another model, all of them.

Everything here is a no-op when the model is unavailable (`embed.load_encoder()` is None).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence

from console.db import Cache
from console.dupes import ann, e5_vectors, embed, language
from console.dupes.embed import Int8Matrix
from console.dupes.vector_names import MODEL_KEY, VECTORS, identity, missing
from console.storage import Row

CHUNK = 256  # threads embedded per write transaction


def stale_note(cache: Cache) -> str | None:
    """One line for the user when the cache's vectors are not today's, else None."""
    found = identity(cache)
    if found == VECTORS:
        return None
    return (
        f"the stored sentence vectors are {found}, today's are {VECTORS}: "
        "`peerdesk dupes --catch-up` re-embeds those that differ"
    )


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "replace"))


def _texts(cache: Cache, ids: Sequence[int]) -> list[Row]:
    marks = ",".join("?" * len(ids))
    return cache.query(
        "SELECT t.id, t.source_id, t.created_at, t.title, coalesce(f.body, '') AS body "
        f"FROM threads t LEFT JOIN thread_fts f ON f.rowid = t.id WHERE t.id IN ({marks})",
        list(ids),
    )


def text_rows(cache: Cache, ids: Sequence[int]) -> list[tuple[int, str, int]]:
    """(thread id, the text embedded for it, the text's CRC) of those of these threads that
    exist: what both models embed (`e5_vectors` too)."""
    out = []
    for row in _texts(cache, ids):
        text = embed.thread_text(row["title"], row["body"])
        out.append((int(row["id"]), text, _crc(text)))
    return out


def known_crcs(cache: Cache, table: str, ids: Sequence[int]) -> dict[int, int]:
    """{thread id: the CRC of the text its vector in `table` was embedded from}."""
    return {
        int(r[0]): int(r[1])
        for r in cache.query(
            f"SELECT thread_id, text_crc FROM {table} WHERE thread_id IN "
            f"({','.join('?' * len(ids))})",
            list(ids),
        )
    }


def store(
    cache: Cache,
    rows: Sequence[tuple[int, int, str, str, int]],
    vectors: Int8Matrix,
    made_as: str | None = None,
) -> bool:
    """Write vectors for (thread id, source id, created_at, lang, text crc) rows, in one
    transaction; a thread's old vector (if any) is replaced. Each gets the next `seq`.

    `made_as`: the identity they were embedded as; when the cache names another one by the
    time the transaction holds the write lock, nothing is written and False is returned (the
    caller embeds them again as the cache now says). None: not the model's vectors (the
    benchmarks' stand-ins), stored whatever the cache's identity."""
    with cache.transaction() as conn:
        current = identity(cache)
        if made_as is not None and current != made_as:
            return False
        if cache.meta(MODEL_KEY) is None:
            cache.set_meta(MODEL_KEY, current)
        conn.executemany("DELETE FROM thread_vectors WHERE thread_id = ?", [(r[0],) for r in rows])
        # the first vectors since migration 11 come after every numbered one; the counter's
        # row is locked until commit (PostgreSQL: FOR UPDATE), so writers take their numbers
        # in commit order and a reader that has seen a number has seen every vector below it
        conn.execute(
            "INSERT INTO meta (key, value) SELECT 'vector_seq', "
            "CAST(coalesce(max(seq), 0) AS TEXT) FROM thread_vectors WHERE true "
            "ON CONFLICT (key) DO NOTHING"
        )
        counter = conn.execute(
            cache.dialect.lock("SELECT value FROM meta WHERE key = 'vector_seq'")
        ).fetchone()[0]
        first = int(counter) + 1
        cache.set_meta("vector_seq", str(first + len(rows) - 1))
        conn.executemany(
            "INSERT INTO thread_vectors (source_id, cell, thread_id, created_at, lang, "
            "text_crc, vec, seq) VALUES (?, 0, ?, ?, ?, ?, ?, ?)",
            [
                (source, tid, created, lang, crc, vec.tobytes(), first + i)
                for i, ((tid, source, created, lang, crc), vec) in enumerate(
                    zip(rows, vectors, strict=True)
                )
            ],
        )
    return True


def _limit_for(cache: Cache) -> tuple[str, int | None]:
    """The identity new vectors are embedded as, and its word-piece limit (None: today's).
    A cache of another model is moved to today's first (its vectors are all redone)."""
    found = identity(cache)
    differ = embed.differ_from(found)
    if differ is None:
        return found, None
    if differ == 0:
        redo_stale(cache)
        return VECTORS, None
    return found, differ


def embed_threads(cache: Cache, thread_ids: Iterable[int], *, bulk: bool = False) -> int:
    """Embed these threads (new or changed); unchanged ones are skipped. Returns how many were
    embedded (0 when the model is unavailable). `bulk`: with the bulk encoder (two threads:
    `embed.load_encoder`), for runs that embed a cache's missing vectors."""
    ids = sorted(set(thread_ids))
    if not ids:
        return 0
    encoder = embed.load_encoder(bulk=bulk)
    if encoder is None:
        return 0
    done = 0
    sources: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        known = known_crcs(cache, "thread_vectors", chunk)
        todo: list[tuple[int, int, str, str, int]] = []
        texts: list[str] = []
        for row in _texts(cache, chunk):
            text = embed.thread_text(row["title"], row["body"])
            crc = _crc(text)
            if known.get(row["id"]) == crc:
                continue
            todo.append((row["id"], row["source_id"], row["created_at"], language.guess(text), crc))
            texts.append(text)
        while todo:
            made_as, limit = _limit_for(cache)
            if store(cache, todo, embed.to_int8(encoder.encode(texts, limit=limit)), made_as):
                done += len(todo)
                sources.update(r[1] for r in todo)
                break
    for source in sorted(sources):
        ann.extend(cache, source)
    e5_vectors.embed_threads(cache, ids, bulk=bulk)  # unchanged texts are skipped there too
    return done


def redo_stale(cache: Cache, progress: Callable[[int, int], None] | None = None) -> int:
    """Move the cache's vectors to today's identity; returns how many were re-embedded.

    Another model: every vector (and the saved graphs) is dropped in one transaction with the
    new name, and re-embedded as missing. Only a lower word-piece limit: a text that does not
    reach it is run exactly as before (same bytes), so only the vectors of texts that reach it
    are dropped (with any vector stored while they were being found) and embedded again."""
    found = identity(cache)
    differ = embed.differ_from(found)
    if differ is None:
        return 0
    encoder = embed.load_encoder(bulk=True)
    if encoder is None:
        return 0
    since = int(cache.meta("vector_seq") or 0)
    redo: list[int] = []
    if differ:
        ids = [r[0] for r in cache.query("SELECT thread_id FROM thread_vectors ORDER BY thread_id")]
        for start in range(0, len(ids), CHUNK * 4):
            rows = _texts(cache, ids[start : start + CHUNK * 4])
            texts = [embed.thread_text(r["title"], r["body"]) for r in rows]
            long = embed.reaching(encoder.tokenizer, texts, differ)
            redo.extend(r["id"] for r, hit in zip(rows, long, strict=True) if hit)
    with cache.transaction() as conn:
        if identity(cache) != found:  # another process moved it meanwhile
            return 0
        if differ:
            redo.extend(
                r[0]
                for r in conn.execute(
                    "SELECT thread_id FROM thread_vectors WHERE seq > ?", (since,)
                )
            )
            conn.executemany("DELETE FROM thread_vectors WHERE thread_id = ?", [(t,) for t in redo])
        else:
            redo = [r[0] for r in conn.execute("SELECT thread_id FROM thread_vectors")]
            conn.execute("DELETE FROM thread_vectors")
            conn.execute("DELETE FROM meta WHERE key LIKE 'ann:%'")
        cache.set_meta(MODEL_KEY, VECTORS)
    if not differ:
        ann.forget()
    done = 0
    for start in range(0, len(redo), CHUNK * 4):
        done += embed_threads(cache, redo[start : start + CHUNK * 4], bulk=True)
        if progress:
            progress(min(start + CHUNK * 4, len(redo)), len(redo))
    return done


def embed_missing(
    cache: Cache,
    *,
    source_id: int | None = None,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Embed threads that have no vector yet, newest first, at most `limit` of them.

    Returns (embedded, still missing). Nothing is embedded when the model is unavailable."""
    if embed.load_encoder() is None:
        return 0, len(missing(cache, source_id))
    redone = redo_stale(cache, progress)
    todo = missing(cache, source_id)
    chosen = todo if limit is None else todo[: max(0, limit)]
    done = 0
    for start in range(0, len(chosen), CHUNK * 4):
        done += embed_threads(cache, chosen[start : start + CHUNK * 4], bulk=True)
        if progress:
            progress(min(start + CHUNK * 4, len(chosen)), len(chosen))
    if limit is None:  # a cache from before e5: the e5 vectors of threads embedded then
        e5_vectors.embed_missing(cache, progress)
    return redone + done, len(todo) - len(chosen)


def vectors_of(cache: Cache, thread_ids: Sequence[int]) -> dict[int, tuple[Int8Matrix, str]]:
    """{thread id: (int8 vector, language)} for those of these threads that have one."""
    found: dict[int, tuple[Int8Matrix, str]] = {}
    for start in range(0, len(thread_ids), 500):
        chunk = list(thread_ids[start : start + 500])
        for tid, vec, lang in cache.query(
            "SELECT thread_id, vec, lang FROM thread_vectors WHERE thread_id IN "
            f"({','.join('?' * len(chunk))})",
            chunk,
        ):
            found[int(tid)] = (embed.from_blob(vec), lang)
    return found


def neighbours(
    cache: Cache,
    vector: Int8Matrix,
    source_id: int,
    *,
    limit: int,
    before: str | None = None,
    exclude: int | None = None,
) -> list[tuple[int, float]]:
    """The `limit` nearest threads of the source to `vector` created at or before `before`
    (any time if None): [(id, cosine)], best first."""
    found = ann.nearest(cache, vector, source_id, limit + (exclude is not None), before=before)
    return [(tid, cos) for tid, cos in found if tid != exclude][:limit]
