"""JSONL import/export (schema: docs/jsonl-schema.md, version 1).

Import is streaming and crash safe: records are stored in chunks (default 20,000 posts), each
chunk in one transaction together with the import's progress, so a killed import re-run from the
start skips nothing and duplicates nothing (upserts are idempotent; the stored progress lets it
skip the lines already stored). New posts and threads are not indexed for full-text search here:
they join the search index's backlog, which `search_index.catch_up` indexes once the records
are stored (also after a kill: the next import, sync or console start catches up; see
console/search_index.py). A bad line is recorded in `sync_errors` (file, line, field) and
skipped; the import goes on. Bad lines include bytes that are not UTF-8 and a record whose id
already came earlier in the same file with different content (the first one is kept).

A well-formed line is decoded and type-checked in one step by msgspec (sync/jsonl_typed.py); any
other line is read here field by field, which names the bad field or mends the text.

Lone surrogates (`"\ud800"`, which Python's own json module writes for unpaired UTF-16 halves)
are read with the standard json module when orjson refuses the line, and stored as U+FFFD: the
record is kept and the report says which field was mended. A full disk (or any failure of the
cache) stops the import with one line saying which lines are stored; the same command resumes
after them.

A line is read with a cap (MAX_LINE_BYTES): a longer one is a bad line (its number and first
bytes recorded) and read past in pieces, never held whole, so a file with a gigantic line (or no
line end at all) costs that line and no memory. The file is a regular file or a pipe (`peerdesk
import <(zcat dump.jsonl.gz)`: read as it comes, never resumed); a device such as /dev/zero, a
socket or a directory is refused before anything is read.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

import msgspec
import orjson

from console import ingest, search_index
from console.bulk_sqlite import sqlite_bulk_load
from console.clock import now_iso
from console.db import Cache, free_space, out_of_space, size_limit_reached
from console.errors import DiskFull, PeerdeskError
from console.files import not_readable_kind
from console.models import MemberRecord, PostRecord, ThreadRecord
from sync import parse as p
from sync.jsonl_typed import typed_record
from sync.runner import record_problem

FORMAT = "peerdesk-jsonl"
VERSION = 1
STATUSES = frozenset({"open", "answered", "solved", "closed", "duplicate"})


class ImportFailed(PeerdeskError):
    """The file cannot be imported at all (not JSONL, wrong format or version)."""


class ImportStopped(ImportFailed):
    """The import stopped part-way (a full disk, a failing cache). The lines before the stop are
    stored with the import's progress, so running the same import again resumes after them."""

    exit_code = 1


@dataclass
class ImportReport:
    source: str
    lines: int = 0
    members: int = 0
    threads: int = 0
    posts: int = 0
    skipped: int = 0
    resumed_from: int = 0
    mended: int = 0  # records kept with lone surrogates replaced by U+FFFD
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was mended, not skipped


LONE_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class BadLine(ValueError):
    """A line that cannot be read at all: not UTF-8, or not JSON."""


def _mend(value: Any, where: str, mended: list[str]) -> Any:
    """`value` with every lone surrogate replaced by U+FFFD; the fields changed go in `mended`."""
    if isinstance(value, str):
        if LONE_SURROGATE.search(value):
            mended.append(where)
            return LONE_SURROGATE.sub("\ufffd", value)
        return value
    if isinstance(value, dict):
        return {
            key: _mend(item, key if not where else f"{where}.{key}", mended)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mend(item, where, mended) for item in value]
    return value


def _lenient(line: bytes, error: ValueError) -> tuple[Any, list[str]]:
    """A line orjson refused: say why precisely, or read it with json if only lone surrogates
    stopped orjson (returns the record and the fields mended)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise BadLine(
            f"not valid UTF-8 (byte 0x{line[bad.start]:02x} at byte {bad.start + 1} of the line)"
        ) from None
    if not SURROGATE_ESCAPE.search(line):
        raise BadLine(f"not JSON ({error})")
    try:
        rec = json.loads(text)
    except ValueError as also:
        raise BadLine(f"not JSON ({also})") from None
    mended: list[str] = []
    rec = _mend(rec, "", mended)
    if not mended:  # json accepted something orjson refuses for another reason (NaN...)
        raise BadLine(f"not JSON ({error})")
    return rec, mended


def _member(rec: dict[str, Any]) -> MemberRecord:
    trust = rec.get("trust_level")
    return MemberRecord(
        remote_id=p.str_(rec, "remote_id"),
        username=p.str_(rec, "username"),
        display_name=p.opt_str(rec, "display_name"),
        reputation=p.int_(rec, "reputation", default=0),
        trust_level=trust if isinstance(trust, int) and p.fits(trust) else None,
        joined_at=p.opt_time(rec, "joined_at"),
    )


def _thread(rec: dict[str, Any]) -> ThreadRecord:
    status = p.str_(rec, "status", default="open")
    if status not in STATUSES:
        raise p.BadField("status", f"unknown status {status!r}", status)
    tags = rec.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise p.BadField("tags", "expected a list of texts", tags)
    created = p.time_(rec, "created_at")
    return ThreadRecord(
        remote_id=p.str_(rec, "remote_id"),
        title=p.str_(rec, "title"),
        author_remote_id=p.opt_str(rec, "author"),
        status=status,
        created_at=created,
        last_activity_at=p.opt_time(rec, "last_activity_at") or created,
        reply_count=p.int_(rec, "reply_count", default=0),
        flag_count=p.int_(rec, "flag_count", default=0),
        report_count=p.int_(rec, "report_count", default=0),
        tags=tuple(tags),
        accepted_post_remote_id=p.opt_str(rec, "accepted_post"),
        url=p.opt_str(rec, "url"),
        remote_updated_at=p.opt_time(rec, "remote_updated_at"),
        duplicate_of_remote_id=p.opt_str(rec, "duplicate_of"),
    )


def _post(rec: dict[str, Any]) -> PostRecord:
    # Fast path for the common, well-formed line (bulk imports are millions of these); any
    # deviation falls through to the field-by-field checks that name the bad field.
    rid, thread, text, created = (
        rec.get("remote_id"),
        rec.get("thread"),
        rec.get("body_text"),
        rec.get("created_at"),
    )
    position, author = rec.get("position"), rec.get("author")
    score, flags = rec.get("score", 0), rec.get("flag_count", 0)
    if (
        type(rid) is str
        and type(thread) is str
        and type(text) is str
        and type(position) is int
        and (author is None or type(author) is str)
        and type(created) is str
        and len(created) == 20
        and p.is_canonical_time(created)
        and rec.get("updated_at") is None
        and type(score) is int
        and type(flags) is int
        and p.fits(position)
        and p.fits(score)
        and p.fits(flags)
        and type(rec.get("hidden", False)) is bool
    ):
        raw = rec.get("body_raw")
        return PostRecord(
            rid,
            thread,
            author,
            position,
            text,
            raw if type(raw) is str else text,
            created,
            None,
            score,
            flags,
            rec.get("hidden", False),
        )
    text = p.str_(rec, "body_text")
    return PostRecord(
        remote_id=p.str_(rec, "remote_id"),
        thread_remote_id=p.str_(rec, "thread"),
        author_remote_id=p.opt_str(rec, "author"),
        position=p.int_(rec, "position"),
        body_text=text,
        body_raw=p.str_(rec, "body_raw", default=text),
        created_at=p.time_(rec, "created_at"),
        updated_at=p.opt_time(rec, "updated_at"),
        score=p.int_(rec, "score", default=0),
        flag_count=p.int_(rec, "flag_count", default=0),
        hidden=p.bool_(rec, "hidden"),
    )


def _header(line: bytes, path: Path) -> dict[str, Any]:
    try:
        head = json.loads(line.decode("utf-8"))
    except ValueError:
        raise ImportFailed(f"{path} line 1 is not JSON: is this a peerdesk JSONL file?") from None
    if not isinstance(head, dict) or head.get("type") != "header" or head.get("format") != FORMAT:
        raise ImportFailed(
            f"{path} line 1 is not a peerdesk JSONL header "
            f'({{"type": "header", "format": "{FORMAT}", "version": {VERSION}, ...}})'
        )
    if head.get("version") != VERSION:
        raise ImportFailed(
            f"{path} is JSONL schema version {head.get('version')!r}; this peerdesk reads "
            f"version {VERSION}. Upgrade peerdesk or export again."
        )
    return head


HELD_LIMIT = 64_000_000  # flush early when waiting bodies pass ~64 M characters (200 kB posts)
MAX_LINE_BYTES = 64 * 1024 * 1024
"""The longest line read: a record is some kB, a post's body at most some hundred kB."""
_SKIP_PIECE = 1024 * 1024  # a too long line's rest is read past this much at a time


def _read_past(handle: IO[bytes]) -> None:
    """Read past the rest of a line too long to hold, a piece at a time."""
    while True:
        rest = handle.readline(_SKIP_PIECE)
        if not rest or rest.endswith(b"\n"):
            return


def _readline(handle: IO[bytes]) -> tuple[bytes, bool]:
    """The next line (b"" at the end) and whether it was longer than MAX_LINE_BYTES: then only
    its first 200 bytes, its rest read past and dropped."""
    line = handle.readline(MAX_LINE_BYTES + 1)
    if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
        return line, False
    _read_past(handle)
    return line[:200], True


def _unreadable_kind(path: Path) -> str | None:
    """What `path` is if it is neither a regular file nor a pipe (None if it is one)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # opening it says why
    return not_readable_kind(mode)


def import_file(
    cache: Cache,
    path: Path,
    *,
    source_name: str | None = None,
    chunk_posts: int = 20000,
    progress: Callable[[ImportReport], None] | None = None,
    index_search: bool = True,
    index_progress: Callable[[search_index.CatchUp, search_index.Backlog], None] | None = None,
) -> ImportReport:
    """Import `path`; then, unless `index_search` is False, index what it stored for full-text
    search (the backlog's catch-up: `index_progress` follows it)."""
    path = Path(path)
    kind = _unreadable_kind(path)
    if kind is not None:
        raise ImportFailed(
            f"Cannot import {path}: it is {kind}, not a file. peerdesk imports a JSONL file, or "
            "a pipe (`peerdesk import <(zcat dump.jsonl.gz)`). Nothing was imported."
        )
    try:
        handle = path.open("rb")  # decoded line by line: a bad byte costs one line, not the file
    except OSError as error:
        raise ImportFailed(f"Cannot read {path}: {error}") from error
    with sqlite_bulk_load(cache):
        report = _import(cache, path, handle, source_name, chunk_posts, progress)
        if index_search:
            try:
                search_index.catch_up(cache, progress=index_progress)
            except (sqlite3.Error, DiskFull) as error:
                raise ImportStopped(
                    f"Import of {path}: every line is stored, but indexing it for search "
                    f"stopped ({error}); the next import, sync or console start goes on with it."
                ) from None
    return report


def _import(
    cache: Cache,
    path: Path,
    handle: IO[bytes],
    source_name: str | None,
    chunk_posts: int,
    progress: Callable[[ImportReport], None] | None,
) -> ImportReport:
    with handle:
        first, too_long = _readline(handle)
        if too_long:
            raise ImportFailed(
                f"{path} line 1 is longer than {MAX_LINE_BYTES:,} bytes, not a peerdesk JSONL "
                "header. Nothing was imported."
            )
        head = _header(first, path)
        given = head.get("source")
        src: dict[str, Any] = given if isinstance(given, dict) else {}
        name = source_name or str(src.get("name") or path.stem)
        row = cache.one("SELECT id, kind FROM sources WHERE name = ?", (name,))
        if row is None:
            kind = str(src.get("kind") or "jsonl")
            if kind not in ("demo",):
                kind = "jsonl"  # an offline copy: nothing to push to
            source_id = ingest.ensure_source(cache, kind, name, src.get("base_url"))
        else:
            source_id = int(row[0])
        status = os.fstat(handle.fileno())
        identity = f"{path.resolve()}:{status.st_size}:{int(status.st_mtime)}"
        resumable = stat.S_ISREG(status.st_mode)  # a pipe: another stream each time
        progress_key = f"jsonl_import:{source_id}"
        stored = cache.meta(progress_key)
        resume = 0
        if stored and resumable:
            saved_identity, _, line_text = stored.rpartition("@")
            if saved_identity == identity and line_text.isdigit():
                resume = int(line_text)
        report = ImportReport(name, resumed_from=resume)
        members: list[MemberRecord] = []
        threads: list[ThreadRecord] = []
        posts: list[PostRecord] = []
        bad: list[tuple[int, str, str | None, str]] = []
        pending_accepts: dict[str, str] = {}
        stored_through = [max(resume, 1)]  # the last line whose records are in the cache

        def flush(line_no: int) -> None:
            with cache.transaction() as conn:
                for thread in threads:
                    if thread.accepted_post_remote_id:
                        pending_accepts[thread.remote_id] = thread.accepted_post_remote_id
                if members:
                    ingest.upsert_members(cache, source_id, members)
                if threads or posts:
                    stored = ingest.upsert_threads(
                        cache, source_id, threads, posts, index_search=False
                    )
                    orphans = [x for x in posts if x.thread_remote_id not in stored]
                    for orphan in orphans[:100]:
                        bad.append(
                            (
                                0,
                                f"post {orphan.remote_id} names thread "
                                f"{orphan.thread_remote_id!r}, which is not in the file or "
                                "the cache: skipped",
                                "thread",
                                "",
                            )
                        )
                    report.posts -= len(orphans)
                    report.skipped -= len(orphans) - min(len(orphans), 100)
                for n, message, fld, excerpt in bad:
                    record_problem(conn, source_id, f"{path.name}:{n}", message, fld, excerpt)
                cache.set_meta(progress_key, f"{identity}@{line_no}")
            stored_through[0] = line_no
            report.members += len(members)
            report.threads += len(threads)
            report.posts += len(posts)
            report.skipped += len(bad)
            report.problems.extend(f"{path.name} line {n}: {m}" for n, m, _, _ in bad[:20])
            if progress:
                progress(report)

        line_no = 1
        for chunk in _chunks(handle, path, resume, chunk_posts):
            line_no = chunk.last_line
            report.lines += chunk.lines
            report.mended += chunk.mended
            report.notes.extend(chunk.notes[: max(0, 20 - len(report.notes))])
            members, threads, posts, bad = chunk.members, chunk.threads, chunk.posts, chunk.bad
            try:
                flush(line_no)
            except (sqlite3.Error, DiskFull) as error:
                raise _stopped(error, cache, path, stored_through[0], line_no) from None
        try:
            _link_late_accepts(cache, source_id, pending_accepts)
            with cache.transaction():
                cache.set_meta(progress_key, f"{identity}@{line_no}")
                cache.conn.execute(
                    "UPDATE sources SET last_sync_at = ?, last_sync_result = ? WHERE id = ?",
                    (
                        now_iso(),
                        json.dumps(
                            {
                                "result": "errors" if report.skipped else "ok",
                                "message": f"imported {path.name}: {report.posts} posts",
                                "problems": report.skipped,
                            },
                            sort_keys=True,
                        ),
                        source_id,
                    ),
                )
        except (sqlite3.Error, DiskFull) as error:
            raise _stopped(error, cache, path, line_no, line_no) from None
    return report


@dataclass
class _Chunk:
    """The records of a run of lines, stored in one transaction (see `_parse`)."""

    last_line: int
    lines: int = 0
    members: list[MemberRecord] = field(default_factory=list)
    threads: list[ThreadRecord] = field(default_factory=list)
    posts: list[PostRecord] = field(default_factory=list)
    bad: list[tuple[int, str, str | None, str]] = field(default_factory=list)
    mended: int = 0  # records kept with lone surrogates replaced
    notes: list[str] = field(default_factory=list)


def _chunks(handle: IO[bytes], path: Path, resume: int, chunk_posts: int) -> Iterator[_Chunk]:
    """The file's records after line `resume`, a chunk at a time: read and checked in a second
    process for a big file (sync/jsonl_pipe.py: the cache is written here meanwhile), here for
    a small one."""
    from sync import jsonl_pipe

    if jsonl_pipe.worth_a_process(handle):

        def in_the_child() -> Iterator[_Chunk]:
            with path.open("rb") as again:
                _readline(again)  # the header, read by the parent
                yield from _parse(again, path, resume, chunk_posts)

        return jsonl_pipe.from_a_child(in_the_child, _pack, _unpack)
    return _parse(handle, path, resume, chunk_posts)


def _parse(handle: IO[bytes], path: Path, resume: int, chunk_posts: int) -> Iterator[_Chunk]:
    """Read and check the lines after `resume`: a chunk each `chunk_posts` posts or threads (or
    HELD_LIMIT characters of bodies), then the rest."""
    # hash of (kind, id) -> the line it first came on << 32 | a 32-bit hash of that line:
    # ~100 bytes a record (an SQLite temp table cost several times more at a million)
    first: dict[int, int] = {}
    chunk = _Chunk(1)
    held = 0  # characters of post bodies in the chunk
    line_no = 1
    limit = MAX_LINE_BYTES
    # (readline with a cap through iter(): as fast as iterating the file, which has none)
    for line_no, line in enumerate(iter(partial(handle.readline, limit + 1), b""), start=2):
        if len(line) > limit and not line.endswith(b"\n"):
            _read_past(handle)
            if line_no > resume:
                chunk.lines += 1
                message = f"longer than {limit:,} bytes: skipped, not read whole"
                chunk.bad.append((line_no, message, None, _excerpt(line)))
            continue
        if line_no <= resume:
            continue
        if not line.strip():
            continue
        chunk.lines += 1
        try:
            record = typed_record(line) or _checked_record(line, line_no, path, chunk)
            if type(record) is PostRecord:
                _first_time(first, "post", record.remote_id, line, line_no)
                chunk.posts.append(record)
                held += len(record.body_text) + len(record.body_raw)
            elif type(record) is ThreadRecord:
                _first_time(first, "thread", record.remote_id, line, line_no)
                chunk.threads.append(record)
            elif type(record) is MemberRecord:
                _first_time(first, "member", record.remote_id, line, line_no)
                chunk.members.append(record)
        except BadLine as error:
            chunk.bad.append((line_no, str(error), None, _excerpt(line)))
        except ValueError as error:
            chunk.bad.append((line_no, f"not JSON ({error})", None, _excerpt(line)))
        except p.BadField as error:
            chunk.bad.append((line_no, error.message, error.field, error.excerpt()))
        if max(len(chunk.posts), len(chunk.threads)) >= chunk_posts or held > HELD_LIMIT:
            chunk.last_line = line_no
            yield chunk
            chunk, held = _Chunk(line_no), 0
    chunk.last_line = line_no
    yield chunk


_PACK = msgspec.msgpack.Encoder().encode
_UNPACK = msgspec.msgpack.Decoder(_Chunk).decode


def _pack(chunk: _Chunk) -> bytes:
    """A chunk as MessagePack: msgspec writes and reads the records' dataclasses in C (pickle
    goes through Python code for a dataclass with slots: 4x the reading process's time, and
    rebuilding the records here cost the importing process as much as reading them)."""
    return _PACK(chunk)


def _unpack(packed: bytes) -> _Chunk:
    return _UNPACK(packed)


def _checked_record(
    line: bytes, line_no: int, path: Path, report: _Chunk
) -> PostRecord | ThreadRecord | MemberRecord:
    """A line the typed fast path did not take, read field by field: raises BadLine/BadField
    naming what is wrong, or mends lone surrogates (noted in the report)."""
    try:
        rec = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        rec, mended = _lenient(line, error)
        report.mended += 1
        if len(report.notes) < 20:
            report.notes.append(
                f"{path.name} line {line_no}: lone UTF-16 surrogate in "
                f"{', '.join(mended)} kept as U+FFFD"
            )
    if not isinstance(rec, dict):
        raise p.BadField("type", "a line must be a JSON object", rec)
    record_type = rec.get("type")
    if record_type == "post":
        return _post(rec)
    if record_type == "thread":
        return _thread(rec)
    if record_type == "member":
        return _member(rec)
    raise p.BadField("type", f"unknown record type {record_type!r}", record_type)


def _first_time(first: dict[int, int], kind: str, remote_id: str, line: bytes, n: int) -> None:
    """Note that `remote_id` came on line `n`; refuse (BadField) a record whose id came earlier
    in this import with other content. The first is kept; the very same line again is harmless.
    """
    packed = (n << 32) | (hash(line) & 0xFFFFFFFF)
    known = first.setdefault(hash((kind, remote_id)), packed)
    if known != packed and (known ^ packed) & 0xFFFFFFFF:
        raise p.BadField(
            "remote_id",
            f"{kind} {remote_id!r} came before at line {known >> 32} with different content: "
            "this line is skipped, the first kept",
            remote_id,
        )


def _excerpt(line: bytes) -> str:
    return line[:200].decode("utf-8", "replace").rstrip("\n")


def _stopped(
    error: BaseException, cache: Cache, path: Path, stored_through: int, line_no: int
) -> ImportStopped:
    """One line for an import that stopped part-way: why, what is stored, how to go on."""
    why = (
        f"the disk holding the cache {cache.path} is full ({free_space(cache.path)})"
        if isinstance(error, DiskFull) or out_of_space(error, cache.path)
        else f"the cache {cache.path} failed ({error})"
    )
    fix = "after freeing space"
    limit = size_limit_reached(error.__cause__ or error, cache.path)
    if limit is not None:  # `ulimit -f`: the disk may have plenty of room
        why = f"the cache {cache.path} reached this process's file size limit ({limit:,} bytes)"
        fix = "after raising the limit: `ulimit -f`"
    if stored_through <= 1:
        return ImportStopped(
            f"Import of {path} stopped at line {line_no}: {why}. Nothing of it was stored; "
            f"run the same import again ({fix})."
        )
    return ImportStopped(
        f"Import of {path} stopped at line {line_no}: {why}. Lines 1-{stored_through} are "
        f"stored; run the same import again ({fix}) and it resumes after line "
        f"{stored_through}."
    )


def _link_late_accepts(cache: Cache, source_id: int, accepts: dict[str, str]) -> None:
    """Accepted answers that came after their thread in the file (a later chunk)."""
    if not accepts:
        return
    with cache.transaction() as conn:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS _accepts (thread TEXT, post TEXT)")
        conn.execute("DELETE FROM _accepts")
        conn.executemany("INSERT INTO _accepts VALUES (?, ?)", list(accepts.items()))
        conn.execute(
            """UPDATE threads SET accepted_post_id = (
                   SELECT p.id FROM _accepts a JOIN posts p
                     ON p.source_id = threads.source_id AND p.remote_id = a.post
                   WHERE a.thread = threads.remote_id AND p.thread_id = threads.id)
               WHERE source_id = ? AND accepted_post_id IS NULL
                 AND remote_id IN (SELECT thread FROM _accepts)""",
            (source_id,),
        )
        conn.execute("DROP TABLE _accepts")


# ---------------------------------------------------------------------------- export


def export_records(cache: Cache, source_name: str) -> Iterator[dict[str, Any]]:
    row = cache.one("SELECT * FROM sources WHERE name = ?", (source_name,))
    if row is None:
        raise PeerdeskError(f"There is no source named {source_name!r}")
    sid = row["id"]
    yield {
        "type": "header",
        "format": FORMAT,
        "version": VERSION,
        "source": {"kind": row["kind"], "name": row["name"], "base_url": row["base_url"]},
        "exported_at": now_iso(),
    }
    for m in cache.conn.execute("SELECT * FROM members WHERE source_id = ? ORDER BY id", (sid,)):
        yield {
            "type": "member",
            "remote_id": m["remote_id"],
            "username": m["username"],
            "display_name": m["display_name"],
            "reputation": m["reputation"],
            "trust_level": m["trust_level"],
            "joined_at": m["joined_at"],
        }
    threads = cache.conn.execute(
        """SELECT t.*, a.remote_id AS author, ap.remote_id AS accepted, d.remote_id AS dup
           FROM threads t LEFT JOIN members a ON a.id = t.author_id
           LEFT JOIN posts ap ON ap.id = t.accepted_post_id
           LEFT JOIN threads d ON d.id = t.duplicate_of
           WHERE t.source_id = ? ORDER BY t.id""",
        (sid,),
    ).fetchall()
    for t in threads:
        yield {
            "type": "thread",
            "remote_id": t["remote_id"],
            "title": t["title"],
            "author": t["author"],
            "status": t["status"],
            "created_at": t["created_at"],
            "last_activity_at": t["last_activity_at"],
            "reply_count": t["reply_count"],
            "flag_count": t["flag_count"],
            "report_count": t["report_count"],
            "tags": json.loads(t["tags"]),
            "accepted_post": t["accepted"],
            "url": t["url"],
            "remote_updated_at": t["remote_updated_at"],
            "duplicate_of": t["dup"],
        }
    for post in cache.conn.execute(
        """SELECT p.*, t.remote_id AS thread, a.remote_id AS author FROM posts p
           JOIN threads t ON t.id = p.thread_id LEFT JOIN members a ON a.id = p.author_id
           WHERE p.source_id = ? ORDER BY p.thread_id, p.position, p.id""",
        (sid,),
    ):
        yield {
            "type": "post",
            "remote_id": post["remote_id"],
            "thread": post["thread"],
            "author": post["author"],
            "position": post["position"],
            "body_text": post["body_text"],
            "body_raw": post["body_raw"],
            "created_at": post["created_at"],
            "updated_at": post["updated_at"],
            "score": post["score"],
            "flag_count": post["flag_count"],
            "hidden": bool(post["hidden"]),
        }


def export(cache: Cache, source_name: str, out: IO[str]) -> int:
    count = 0
    for record in export_records(cache, source_name):
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count
