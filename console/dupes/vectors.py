"""Thread embeddings in the cache: computed at ingest, incrementally; read for recall and rerank.

`thread_vectors` holds one int8 vector (384 bytes) per thread with its source, creation time,
a coarse language guess, a CRC of the embedded text (so an unchanged thread is never embedded
twice) and a sequence number (`seq`, from the meta counter `vector_seq`) that says in which
order vectors were stored. Semantic recall (`neighbours`) is `console.dupes.ann`: an HNSW graph
saved beside the cache plus the vectors stored since, searched exactly; storing vectors
(`embed_threads`) extends that graph when enough have arrived. On a team database (PostgreSQL)
the vectors are in the database and recall is exact over them (no graph file: see ann).

Everything here is a no-op when the model is unavailable (`embed.load_encoder()` is None).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence

from console.db import Cache
from console.dupes import ann, embed, language
from console.dupes.embed import Int8Matrix
from console.storage import Row

CHUNK = 256  # threads embedded per write transaction


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "replace"))


def _texts(cache: Cache, ids: Sequence[int]) -> list[Row]:
    marks = ",".join("?" * len(ids))
    return cache.query(
        "SELECT t.id, t.source_id, t.created_at, t.title, coalesce(f.body, '') AS body "
        f"FROM threads t LEFT JOIN thread_fts f ON f.rowid = t.id WHERE t.id IN ({marks})",
        list(ids),
    )


def store(
    cache: Cache,
    rows: Sequence[tuple[int, int, str, str, int]],
    vectors: Int8Matrix,
) -> None:
    """Write vectors for (thread id, source id, created_at, lang, text crc) rows, in one
    transaction; a thread's old vector (if any) is replaced. Each gets the next `seq`."""
    with cache.transaction() as conn:
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


def embed_threads(cache: Cache, thread_ids: Iterable[int]) -> int:
    """Embed these threads (new or changed); unchanged ones are skipped. Returns how many were
    embedded (0 when the model is unavailable)."""
    ids = sorted(set(thread_ids))
    if not ids:
        return 0
    encoder = embed.load_encoder()
    if encoder is None:
        return 0
    done = 0
    sources: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        known = {
            r[0]: r[1]
            for r in cache.query(
                f"SELECT thread_id, text_crc FROM thread_vectors WHERE thread_id IN "
                f"({','.join('?' * len(chunk))})",
                chunk,
            )
        }
        todo: list[tuple[int, int, str, str, int]] = []
        texts: list[str] = []
        for row in _texts(cache, chunk):
            text = embed.thread_text(row["title"], row["body"])
            crc = _crc(text)
            if known.get(row["id"]) == crc:
                continue
            todo.append((row["id"], row["source_id"], row["created_at"], language.guess(text), crc))
            texts.append(text)
        if todo:
            store(cache, todo, embed.to_int8(encoder.encode(texts)))
            done += len(todo)
            sources.update(r[1] for r in todo)
    for source in sorted(sources):
        ann.extend(cache, source)
    return done


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
    """Is there a thread without a vector?"""
    return (
        cache.one(
            "SELECT 1 FROM threads t WHERE NOT EXISTS "
            "(SELECT 1 FROM thread_vectors v WHERE v.thread_id = t.id) LIMIT 1"
        )
        is not None
    )


def embed_missing(
    cache: Cache,
    *,
    source_id: int | None = None,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Embed threads that have no vector yet, newest first, at most `limit` of them.

    Returns (embedded, still missing). Nothing is embedded when the model is unavailable."""
    todo = missing(cache, source_id)
    if embed.load_encoder() is None:
        return 0, len(todo)
    chosen = todo if limit is None else todo[: max(0, limit)]
    done = 0
    for start in range(0, len(chosen), CHUNK * 4):
        done += embed_threads(cache, chosen[start : start + CHUNK * 4])
        if progress:
            progress(min(start + CHUNK * 4, len(chosen)), len(chosen))
    return done, len(todo) - len(chosen)


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
