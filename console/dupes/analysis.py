"""Each thread's analysed text, stored once, so scoring a candidate is a read plus arithmetic.

`scorer.analyze` (tokens, Porter2 stems, character 4-grams, exact details) is most of what a
candidate costs to score; the same originals are recalled for many new threads, and analysing
them again each time cost ~0.25 ms per candidate. Here the result is kept in `thread_analysis`
(one row per thread, a few zlib-compressed lines of text: portable, safe to read back, ~0.5 kB
a demo thread) and read back into exactly the `Analyzed` that `analyze` returns (same stems,
counts, word forms, 4-grams and their order, norms and details; `doc.body` is left empty: scoring
never reads it), so a stored candidate scores bit for bit as one analysed from its text
(tests/dupes/test_analysis.py compares them).

When it is written: `candidates.update_candidates` stores the analysis of every thread it
computes candidates for (new or changed threads: sync pages, import, the demo) and of every
recalled candidate it had to analyse from text; `backfill` fills a whole cache (`peerdesk dupes
--rebuild`, `--catch-up`, the benchmarks). Nothing is added to the import's write path.
When it is dropped: when the thread's indexed text changes (`forget`, called by
`console.ingest` where it replaces the thread's `thread_fts` row), so a stale analysis is never
read. Each row keeps the CRC of the text it was made from (`text_crc`: title and indexed
question), so a re-sync that rewrites the index with the same text (the rotating re-check reads
~400 unchanged topics a sync) keeps the analysis. A row of another VERSION (the analysis changed)
counts as missing.
"""

from __future__ import annotations

import array
import json
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

from console.db import Cache
from console.dupes.scorer import Analyzed, Doc, Piece, analyze, stem_codes
from console.storage import Connection, Row

# Bump when `scorer.analyze` changes what it produces (stop words, stemming, n-grams, details,
# MAX_CHARS, TITLE_BOOST) or how it is stored: rows of an older version are ignored and rewritten
# as needed. 2: the numbers a candidate is scored from first, binary (stem codes, counts).
VERSION = 2
SLICE = 2_000  # threads analysed per transaction by `backfill`


_HEADER = struct.Struct("<4I")  # stems, n-grams, bytes of the n-grams, bytes of the details
_NORM = struct.Struct("<d")


def encode(a: Analyzed) -> bytes:
    """The analysis as compact bytes (everything `decode` needs to rebuild it exactly),
    zlib-compressed.

    First what scoring a candidate reads (`decode_lean`), as numbers that numpy takes as they
    are: each stem's 64-bit code (`scorer.stem_code`), the n-grams' norm, each stem's count in
    the title and in the body, each n-gram's count (32-bit), the n-grams themselves (GRAM
    characters each, UTF-8) and the exact details (JSON, usually empty). Then, as lines of text
    that only an explanation reads (`decode`): the stems, their first raw word, their other word
    forms, the normalised title and the body's own word order if it differs. Stems and words
    hold no spaces, commas or line breaks (they are letters and digits)."""
    import numpy as np

    stems = list(a.terms)
    in_body = [s for s in stems if s in a.body_terms]
    order = ""
    if list(a.body_terms) != in_body:  # body words also in the title come first in `stems`
        position = {s: i for i, s in enumerate(stems)}
        order = " ".join(str(position[s]) for s in a.body_terms)
    details = b""
    if any(a.details.values()):
        details = json.dumps(
            {k: sorted(v) for k, v in a.details.items()}, ensure_ascii=False
        ).encode("utf-8")
    forms = ["" if f == (a.raw[s],) else ",".join(f) for s, f in _forms(a, stems)]
    grams = a.grams.encode("utf-8")
    lines = [" ".join(stems), " ".join(a.raw[s] for s in stems), " ".join(forms), a.title_norm]
    parts = [
        _HEADER.pack(len(stems), len(a.gram_counts), len(grams), len(details)),
        stem_codes(stems).astype("<u8").tobytes(),
        _NORM.pack(a.grams_norm),
        np.array([a.title_terms.get(s, 0) for s in stems], dtype="<u4").tobytes(),
        np.array([a.body_terms.get(s, 0) for s in stems], dtype="<u4").tobytes(),
        np.array(a.gram_counts, dtype="<u4").tobytes(),
        grams,
        details,
        "\n".join([*lines, order]).encode("utf-8"),
    ]
    return zlib.compress(b"".join(parts), 1)


def _forms(a: Analyzed, stems: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    return [(s, a.forms.get(s, (a.raw[s],))) for s in stems]


def _counter(pairs: Iterable[tuple[str, int]]) -> Counter[str]:
    """A Counter of these (key, count) pairs, filled by dict's own update (Counter's is Python)."""
    found: Counter[str] = Counter()
    dict.update(found, pairs)
    return found


_NO_DETAILS: dict[str, frozenset[str]] = {k: frozenset() for k in ("link", "code", "error")}


class Stored:
    """A stored analysis split into its parts (the numbers as bytes slices, not yet read),
    decompressed once for its `piece` and, if it is explained, its words (`decode`)."""

    def __init__(self, blob: bytes) -> None:
        raw = zlib.decompress(blob)
        stems, grams, gram_bytes, detail_bytes = _HEADER.unpack_from(raw)
        at = _HEADER.size
        self.codes = raw[at : at + 8 * stems]
        at += 8 * stems
        self.norm: float = _NORM.unpack_from(raw, at)[0]
        at += _NORM.size
        self.in_title = raw[at : at + 4 * stems]
        at += 4 * stems
        self.in_body = raw[at : at + 4 * stems]
        at += 4 * stems
        self.gram_counts = raw[at : at + 4 * grams]
        at += 4 * grams
        self.grams = raw[at : at + gram_bytes].decode("utf-8")
        at += gram_bytes
        text = raw[at : at + detail_bytes]
        self.details: dict[str, frozenset[str]] = (
            {k: frozenset(v) for k, v in json.loads(text).items()} if text else _NO_DETAILS
        )
        self.rest = raw[at + detail_bytes :]

    def piece(self, doc: Doc) -> Piece:
        """What scoring the candidate reads (`scorer.Pool`): no word strings."""
        return Piece(
            doc,
            dict(self.details),
            self.codes,
            self.in_title,
            self.in_body,
            self.grams,
            self.gram_counts,
            self.norm,
        )

    def decode(self, doc: Doc, *, complete: bool = True) -> Analyzed:
        """See `decode`."""
        stem_line, raw_line, form_line, title_norm, order = self.rest.decode("utf-8").split("\n")
        return _assemble(
            doc,
            _Words(stem_line, raw_line, form_line, title_norm, order),
            list(array.array("I", self.in_title)),
            list(array.array("I", self.in_body)),
            (self.grams, tuple(array.array("I", self.gram_counts)), self.norm, self.details),
            complete=complete,
        )


class _Words(NamedTuple):
    """The lines of text of a stored analysis (both versions): stems, their first raw words,
    their other word forms, the normalised title, the body's own word order if it differs."""

    stems: str
    raws: str
    forms: str
    title_norm: str
    order: str


def _assemble(
    doc: Doc,
    words: _Words,
    in_title: list[int],
    in_body: list[int],
    grams: tuple[str, tuple[int, ...], float, dict[str, frozenset[str]]],
    *,
    complete: bool,
) -> Analyzed:
    """The `Analyzed` of a stored row, whichever version it was read from: `grams` is the
    n-grams, their counts, their norm and the exact details."""
    stems = words.stems.split(" ") if words.stems else []
    raws = words.raws.split(" ") if words.raws else []
    title_terms = _counter((s, c) for s, c in zip(stems, in_title, strict=True) if c)
    terms = _counter(zip(stems, map(int.__add__, in_title, in_body), strict=True))
    body_terms: Counter[str] = Counter()
    forms: dict[str, tuple[str, ...]] = {}
    if complete:
        if words.order:  # the body's own order of its words
            body_terms = _counter((stems[i], in_body[i]) for i in map(int, words.order.split()))
        else:
            body_terms = _counter((s, c) for s, c in zip(stems, in_body, strict=True) if c)
        forms = dict(zip(stems, [(r,) for r in raws], strict=True))
        for s, f in zip(stems, words.forms.split(" ") if words.forms else [], strict=True):
            if f:
                forms[s] = tuple(f.split(","))
    gram_text, gram_counts, norm, details = grams
    return Analyzed(
        doc,
        title_terms,
        body_terms,
        dict(zip(stems, raws, strict=True)),
        words.title_norm,
        gram_text,
        dict(details),
        terms=terms,
        forms=forms,
        length=sum(terms.values()),
        grams_norm=norm,
        gram_counts=gram_counts,
    )


def piece(blob: bytes, doc: Doc) -> Piece:
    """What scoring a recalled candidate reads (`scorer.Pool`), with no word strings: the same
    as `analyze(...).piece()` of the thread's text."""
    return Stored(blob).piece(doc)


def decode(blob: bytes, doc: Doc, *, complete: bool = True) -> Analyzed:
    """The `Analyzed` that `analyze` made of the thread's text; `doc` gives title, tags, solved.

    `complete=False` leaves out what only the new thread of a search is read for (`body_terms`
    and `forms`, left empty): a recalled candidate scores exactly the same without them."""
    return Stored(blob).decode(doc, complete=complete)


def decode_version_1(blob: bytes, doc: Doc) -> Analyzed:
    """A row of VERSION 1 (lines of text only), as `decode(..., complete=False)` reads one of
    today's: a cache analysed before version 2 keeps its rows in use until they are redone
    (`backfill`, `peerdesk dupes --rebuild`), instead of analysing every candidate from text."""
    (
        stem_line,
        title_line,
        body_line,
        raw_line,
        form_line,
        title_norm,
        grams,
        count_line,
        norm,
        details,
        order,
    ) = zlib.decompress(blob).decode("utf-8").split("\n")
    found = {k: frozenset(v) for k, v in json.loads(details).items()} if details else _NO_DETAILS
    return _assemble(
        doc,
        _Words(stem_line, raw_line, form_line, title_norm, order),
        list(map(int, title_line.split())),
        list(map(int, body_line.split())),
        (grams, tuple(map(int, count_line.split())), float(norm), found),
        complete=False,
    )


def _stored_rows(cache: Cache, columns: str, thread_ids: Sequence[int]) -> Iterator[Row]:
    """`columns` of the stored analyses (of this VERSION) of these threads, 500 ids a query."""
    for start in range(0, len(thread_ids), 500):
        chunk = list(thread_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        yield from cache.query(
            f"SELECT {columns} FROM thread_analysis WHERE thread_id IN ({marks}) AND version = ?",
            [*chunk, VERSION],
        )


def load_any(cache: Cache, thread_ids: Sequence[int]) -> dict[int, tuple[int, bytes]]:
    """The stored analyses of these threads of this VERSION or of version 1 (still read, see
    `decode_version_1`), by thread id: (version, data)."""
    found: dict[int, tuple[int, bytes]] = {}
    for start in range(0, len(thread_ids), 500):
        chunk = list(thread_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for r in cache.query(
            f"SELECT thread_id, version, data FROM thread_analysis WHERE thread_id IN ({marks}) "
            "AND version IN (1, ?)",
            [*chunk, VERSION],
        ):
            found[int(r[0])] = (int(r[1]), bytes(r[2]))
    return found


def load(cache: Cache, thread_ids: Sequence[int]) -> dict[int, bytes]:
    """The stored analyses of these threads (of this VERSION), by thread id."""
    return {int(r[0]): bytes(r[1]) for r in _stored_rows(cache, "thread_id, data", thread_ids)}


def stored_ids(cache: Cache, thread_ids: Sequence[int]) -> set[int]:
    """Which of these threads have a stored analysis of this VERSION."""
    return {int(r[0]) for r in _stored_rows(cache, "thread_id", thread_ids)}


def text_crc(title: str, body: str) -> int:
    """The CRC of a thread's indexed text (its title and its question as `thread_fts` holds it):
    what an analysis was made from."""
    return zlib.crc32(f"{title}\0{body}".encode("utf-8", "surrogatepass"))


def store(conn: Connection, analysed: Mapping[int, Analyzed]) -> int:
    """Write (or replace) these threads' analyses; the caller holds the transaction. Each must
    come from `analyze` on the thread's whole indexed text (`doc.title`, `doc.body`), not from
    `decode` (whose body is empty): its CRC is kept to know later whether the text changed."""
    conn.executemany(
        "INSERT INTO thread_analysis (thread_id, version, data, text_crc) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (thread_id) DO UPDATE SET version = excluded.version, data = excluded.data, "
        "text_crc = excluded.text_crc",
        [
            (tid, VERSION, encode(a), text_crc(a.doc.title, a.doc.body))
            for tid, a in sorted(analysed.items())
        ],
    )
    return len(analysed)


def forget(conn: Connection, thread_ids: Iterable[int]) -> int:
    """Drop the analyses of these threads whose indexed text changed (ingest calls this for
    the threads whose `thread_fts` row it rewrites, once their rows and posts are written):
    the text is read as the index takes it (the title and the first post's searchable text).
    A row without a CRC (stored before it was kept) is dropped. Returns how many were dropped."""
    from console.ingest import fts_text  # what the full-text index takes of the question

    ids = sorted({int(t) for t in thread_ids})
    stale: list[tuple[int]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            "SELECT a.thread_id, a.text_crc, t.title, (SELECT p.body_text FROM posts p "
            "WHERE p.thread_id = t.id AND p.position = 0 ORDER BY p.id LIMIT 1) "
            "FROM thread_analysis a LEFT JOIN threads t ON t.id = a.thread_id "
            f"WHERE a.thread_id IN ({','.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        stale.extend(
            (int(r[0]),)
            for r in rows
            if r[1] is None or r[2] is None or int(r[1]) != text_crc(r[2], fts_text(r[3]))
        )
    conn.executemany("DELETE FROM thread_analysis WHERE thread_id = ?", stale)
    return len(stale)


def backfill(cache: Cache, progress: Callable[[int, int], None] | None = None) -> int:
    """Analyse and store every thread without a current analysis; returns threads analysed."""
    missing = [
        int(r[0])
        for r in cache.query(
            "SELECT t.id FROM threads t WHERE NOT EXISTS (SELECT 1 FROM thread_analysis a "
            "WHERE a.thread_id = t.id AND a.version = ?) ORDER BY t.id",
            (VERSION,),
        )
    ]
    done = 0
    for start in range(0, len(missing), SLICE):
        chunk = missing[start : start + SLICE]
        marks = ",".join("?" * len(chunk))
        rows = cache.query(
            "SELECT t.id, t.title, f.body FROM threads t JOIN thread_fts f ON f.rowid = t.id "
            f"WHERE t.id IN ({marks})",
            chunk,
        )
        analysed = {int(r[0]): analyze(Doc(r[1], r[2] or "")) for r in rows}
        with cache.transaction() as conn:
            store(conn, analysed)
        done += len(analysed)
        if progress is not None:
            progress(done, len(missing))
    return done
