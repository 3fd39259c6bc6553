"""Thread embeddings in the cache: computed at ingest, incrementally; read for recall and rerank.

`thread_vectors` holds one int8 vector (384 bytes) per thread with its source, creation time,
a coarse language guess and a CRC of the embedded text (so an unchanged thread is never embedded
twice). Rows are keyed (source, cell, thread): a cell is a cluster of an inverted-file index
(k-means centroids in `vector_cells`), so the threads of one cell sit together on disk and
semantic recall reads only the few cells nearest to the new thread, never every vector:

- while a cache has fewer than 2 x CELL_SIZE vectors there is one cell (exact search);
- when the number of vectors has doubled since the last training, `train_cells` reclusters a
  sample (spherical k-means, n / CELL_SIZE cells) and moves every vector to its nearest cell;
- recall reads the PROBE cells whose centroids are nearest (about PROBE x CELL_SIZE vectors).

Everything here is a no-op when the model is unavailable (`embed.load_encoder()` is None).
"""

from __future__ import annotations

import math
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from console.db import Cache
from console.dupes import embed, language

CELL_SIZE = 2_000  # vectors per cell, on average, after training
PROBE_ROWS = 6_000  # vectors read per recall, about (so PROBE = 3 cells)
TRAIN_SAMPLE = 20_000  # vectors k-means is trained on
TRAIN_ROUNDS = 8
CHUNK = 256  # threads embedded per write transaction


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "replace"))


def _texts(cache: Cache, ids: Sequence[int]) -> list[sqlite3.Row]:
    marks = ",".join("?" * len(ids))
    return cache.query(
        "SELECT t.id, t.source_id, t.created_at, t.title, coalesce(f.body, '') AS body "
        f"FROM threads t LEFT JOIN thread_fts f ON f.rowid = t.id WHERE t.id IN ({marks})",
        list(ids),
    )


def _centroids(cache: Cache) -> np.ndarray | None:
    rows = cache.query("SELECT centroid FROM vector_cells ORDER BY cell")
    if not rows:
        return None
    return np.stack([np.frombuffer(r[0], dtype=np.float32) for r in rows])


def _cells_of(vectors: np.ndarray, centroids: np.ndarray | None) -> list[int]:
    if centroids is None or not len(vectors):
        return [0] * len(vectors)
    sims = vectors.astype(np.float32) @ centroids.T
    return [int(c) for c in np.argmax(sims, axis=1)]


def store(
    cache: Cache,
    rows: Sequence[tuple[int, int, str, str, int]],
    vectors: np.ndarray,
) -> None:
    """Write vectors for (thread id, source id, created_at, lang, text crc) rows, in one
    transaction; a thread's old vector (if any) is replaced."""
    cells = _cells_of(vectors, _centroids(cache))
    with cache.transaction() as conn:
        replaced = conn.executemany(
            "DELETE FROM thread_vectors WHERE thread_id = ?", [(r[0],) for r in rows]
        ).rowcount
        # A running count (count(*) would scan a million rows): it only decides when to retrain
        count = int(cache.meta("vector_count") or 0) + len(rows) - max(0, replaced)
        cache.set_meta("vector_count", str(count))
        conn.executemany(
            "INSERT INTO thread_vectors (source_id, cell, thread_id, created_at, lang, "
            "text_crc, vec) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (source, cell, tid, created, lang, crc, vec.tobytes())
                for (tid, source, created, lang, crc), cell, vec in zip(
                    rows, cells, vectors, strict=True
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
    maybe_train(cache)
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


def vectors_of(cache: Cache, thread_ids: Sequence[int]) -> dict[int, tuple[np.ndarray, str]]:
    """{thread id: (int8 vector, language)} for those of these threads that have one."""
    found: dict[int, tuple[np.ndarray, str]] = {}
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
    vector: np.ndarray,
    source_id: int,
    *,
    before: str,
    limit: int,
    exclude: int | None = None,
) -> list[tuple[int, float]]:
    """The `limit` nearest threads of the source created before `before`: [(id, cosine)], best
    first, from the PROBE cells nearest to `vector`."""
    centroids = _centroids(cache)
    if centroids is None:
        cells = [0]
    else:
        probe = max(1, math.ceil(PROBE_ROWS / CELL_SIZE))
        sims = centroids @ vector.astype(np.float32)
        cells = [int(c) for c in np.argsort(-sims)[:probe]]
    marks = ",".join("?" * len(cells))
    rows = cache.conn.execute(
        "SELECT thread_id, vec FROM thread_vectors "
        f"WHERE source_id = ? AND cell IN ({marks}) AND created_at <= ?",
        (source_id, *cells, before),
    ).fetchall()
    if exclude is not None:
        rows = [r for r in rows if r[0] != exclude]
    if not rows:
        return []
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.int8).reshape(
        len(rows), embed.DIMS
    )
    cosines = embed.cosine_int8(vector, matrix)
    top = np.argsort(-cosines, kind="stable")[:limit]
    return [(int(rows[i][0]), float(cosines[i])) for i in top]


def maybe_train(cache: Cache) -> bool:
    """Retrain the cells when the vectors have doubled since the last training."""
    count = int(cache.meta("vector_count") or 0)
    trained = int(cache.meta("vector_cells_trained_on") or 0)
    if count < 2 * CELL_SIZE or (trained and count < 2 * trained):
        return False
    train_cells(cache)
    return True


def train_cells(cache: Cache, seed: int = 14) -> int:
    """Spherical k-means on a sample of the vectors; every vector then moves to its nearest cell.
    Returns the number of cells."""
    count = int(cache.one("SELECT count(*) FROM thread_vectors")[0])  # type: ignore[index]
    k = max(1, count // CELL_SIZE)
    rng = np.random.default_rng(seed)
    step = max(1, count // TRAIN_SAMPLE)
    sample_rows = cache.query(
        "SELECT vec FROM thread_vectors WHERE thread_id % ? = 0 LIMIT ?", (step, TRAIN_SAMPLE)
    )
    if len(sample_rows) < k:
        sample_rows = cache.query("SELECT vec FROM thread_vectors LIMIT ?", (TRAIN_SAMPLE,))
    sample = np.frombuffer(b"".join(r[0] for r in sample_rows), dtype=np.int8)
    sample = sample.reshape(-1, embed.DIMS).astype(np.float32) / embed.SCALE
    k = min(k, len(sample))
    centroids = sample[rng.choice(len(sample), size=k, replace=False)]
    for _ in range(TRAIN_ROUNDS):
        assign = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, sample)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        sums[empty] = centroids[empty]  # a cell that lost every member keeps its centroid
        centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    centroids = centroids.astype(np.float32)
    with cache.transaction() as conn:
        conn.execute("DELETE FROM vector_cells")
        conn.executemany(
            "INSERT INTO vector_cells (cell, centroid) VALUES (?, ?)",
            [(i, c.tobytes()) for i, c in enumerate(centroids)],
        )
        rows = conn.execute(
            "SELECT source_id, cell, thread_id, created_at, lang, text_crc, vec FROM thread_vectors"
        ).fetchall()
        conn.execute("DELETE FROM thread_vectors")
        for start in range(0, len(rows), 50_000):
            part = rows[start : start + 50_000]
            matrix = np.frombuffer(b"".join(r[6] for r in part), dtype=np.int8)
            cells = _cells_of(matrix.reshape(-1, embed.DIMS), centroids)
            conn.executemany(
                "INSERT INTO thread_vectors (source_id, cell, thread_id, created_at, lang, "
                "text_crc, vec) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r[0], c, r[2], r[3], r[4], r[5], r[6]) for r, c in zip(part, cells, strict=True)],
            )
        cache.set_meta("vector_cells_trained_on", str(count))
        cache.set_meta("vector_count", str(count))
    return k
