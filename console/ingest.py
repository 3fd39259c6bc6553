"""Writing what platforms (the demo, JSONL files) say into the cache: idempotent upserts.

Used by sync adapters, the demo builder and JSONL import. All rows of one call are written in the
caller's transaction (or a new one), so a cursor stored in the same transaction never runs ahead
of the data it covers.

A thread or post with a local decision still waiting in the outbox (pending or being sent) keeps
every locally decided field (`HELD_THREAD_FIELDS`, `HELD_POST_FIELDS`) and the Queue membership
that follows from them, whatever the platform says, until the decision is pushed or fails: the
platform has not heard of it yet. Counts, texts and times still come from the platform.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from console import search_index, sources, sqltext
from console.clock import now_iso
from console.db import Cache
from console.escalate.engine import on_ingest as raise_escalations
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.storage import SQLITE, Connection, Dialect
from console.urgency import in_queue, urgency_key

FTS_BODY_LIMIT = search_index.FTS_BODY_LIMIT
HELD_THREAD_FIELDS = ("status", "accepted_post_id", "duplicate_of")
HELD_POST_FIELDS = ("hidden", "hidden_reason")
# decisions aimed at a post that change its thread's fields
THREAD_ACTIONS_ON_POSTS = frozenset({"accept", "unaccept"})


def fts_text(text: str | None) -> str:
    """What full-text search indexes of a post (see console.sqltext: a NUL must not cut it)."""
    return sqltext.searchable(text, FTS_BODY_LIMIT)


def fts_prefix_sql(column: str, dialect: Dialect = SQLITE) -> str:
    return dialect.searchable(column, FTS_BODY_LIMIT)


@contextmanager
def _writing(cache: Cache) -> Iterator[Connection]:
    """The caller's transaction when there is one, else a new one.

    Joined without a savepoint: under a savepoint SQLite copies every page a statement first
    changes into a statement journal so that it could roll back to it, which made the posts'
    insert of a JSONL import three times slower (bench/bench_import_floor.py). No caller goes on
    with its transaction after one of these upserts failed: the error ends all of it.
    """
    if cache.conn.in_transaction:
        yield cache.conn
        return
    with cache.transaction() as conn:
        yield conn


def ensure_source(cache: Cache, kind: str, name: str, base_url: str | None = None) -> int:
    """The id of source `name`, created if it is new (its name and address plain text)."""
    row = cache.one("SELECT id FROM sources WHERE name = ?", (name,))
    if row:
        return int(row[0])
    sources.check_plain(name, base_url)
    with cache.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO sources (kind, name, base_url, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING id",
            (kind, name, base_url, now_iso()),
        )
        return int(cursor.fetchone()[0])


def upsert_members(cache: Cache, source_id: int, members: Iterable[MemberRecord]) -> None:
    rows = [
        (
            source_id,
            m.remote_id,
            m.username,
            m.display_name,
            m.reputation,
            m.trust_level,
            m.joined_at,
        )
        for m in members
    ]
    with _writing(cache) as conn:
        conn.executemany(
            """INSERT INTO members (source_id, remote_id, username, display_name, reputation,
                                    trust_level, joined_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (source_id, remote_id) DO UPDATE SET
                 username = excluded.username,
                 display_name = coalesce(excluded.display_name, members.display_name),
                 reputation = excluded.reputation,
                 trust_level = coalesce(excluded.trust_level, members.trust_level),
                 joined_at = coalesce(excluded.joined_at, members.joined_at)""",
            rows,
        )


def _ids_by_remote(
    cache: Cache, table: str, source_id: int, remote_ids: Sequence[str]
) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(remote_ids), 500):
        chunk = list(remote_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in cache.conn.execute(
            f"SELECT remote_id, id FROM {table} WHERE source_id = ? AND remote_id IN ({marks})",
            (source_id, *chunk),
        ):
            found[row[0]] = row[1]
    return found


def upsert_threads(
    cache: Cache,
    source_id: int,
    threads: Sequence[ThreadRecord],
    posts: Sequence[PostRecord],
    *,
    index_search: bool = True,
) -> dict[str, int]:
    """Store threads and their posts; returns {thread remote id: local id}.

    Members named as authors must have been stored first (unknown authors are kept as NULL).
    With `index_search` False (a bulk import on SQLite) new rows are left to the search
    index's catch-up (console/search_index.py) instead of being indexed in this transaction.
    """
    with _writing(cache) as conn:
        # Rows with ids above these are new in this call: no full-text rows to replace. That
        # holds only while no other writer adds threads or posts before this commits: on the
        # team database two syncs take turns here (the cache's BEGIN IMMEDIATE already does).
        cache.dialect.take_turns(conn, "ingest")
        newest_before = (
            conn.execute("SELECT coalesce(max(id), 0) FROM threads").fetchone()[0],
            conn.execute("SELECT coalesce(max(id), 0) FROM posts").fetchone()[0],
        )
        held_threads, held_posts = _held(cache, source_id, threads, posts)
        authors = {t.author_remote_id for t in threads if t.author_remote_id}
        authors |= {p.author_remote_id for p in posts if p.author_remote_id}
        member_ids = _ids_by_remote(cache, "members", source_id, sorted(authors))
        conn.executemany(
            """INSERT INTO threads (source_id, remote_id, title, author_id, status, created_at,
                   last_activity_at, reply_count, flag_count, report_count, tags, url,
                   remote_updated_at, in_queue, urgency)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (source_id, remote_id) DO UPDATE SET
                 title = excluded.title,
                 author_id = excluded.author_id,
                 status = excluded.status,
                 created_at = excluded.created_at,
                 last_activity_at = excluded.last_activity_at,
                 reply_count = excluded.reply_count,
                 flag_count = excluded.flag_count,
                 report_count = excluded.report_count,
                 tags = excluded.tags,
                 url = excluded.url,
                 remote_updated_at = excluded.remote_updated_at,
                 in_queue = excluded.in_queue,
                 urgency = excluded.urgency""",
            [
                (
                    source_id,
                    t.remote_id,
                    t.title,
                    member_ids.get(t.author_remote_id or ""),
                    t.status,
                    t.created_at,
                    t.last_activity_at,
                    t.reply_count,
                    t.flag_count,
                    t.report_count,
                    json.dumps(list(t.tags)),
                    t.url,
                    t.remote_updated_at,
                    int(in_queue(t.status, t.flag_count, t.report_count)),
                    urgency_key(
                        created_at=t.created_at,
                        last_activity_at=t.last_activity_at,
                        reply_count=t.reply_count,
                        flag_count=t.flag_count,
                        report_count=t.report_count,
                    ),
                )
                for t in threads
            ],
        )
        thread_ids = _ids_by_remote(cache, "threads", source_id, [t.remote_id for t in threads])
        missing = {p.thread_remote_id for p in posts} - thread_ids.keys()
        if missing:
            thread_ids |= _ids_by_remote(cache, "threads", source_id, sorted(missing))
        conn.executemany(
            """INSERT INTO posts (thread_id, source_id, remote_id, author_id, position, body_text,
                   body_raw, created_at, updated_at, score, flag_count, hidden)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (source_id, remote_id) DO UPDATE SET
                 thread_id = excluded.thread_id,
                 author_id = excluded.author_id,
                 position = excluded.position,
                 body_text = excluded.body_text,
                 body_raw = excluded.body_raw,
                 created_at = excluded.created_at,
                 updated_at = excluded.updated_at,
                 score = excluded.score,
                 flag_count = excluded.flag_count,
                 hidden = excluded.hidden""",
            [
                (
                    thread_ids[p.thread_remote_id],
                    source_id,
                    p.remote_id,
                    member_ids.get(p.author_remote_id or ""),
                    p.position,
                    p.body_text,
                    p.body_raw,
                    p.created_at,
                    p.updated_at,
                    p.score,
                    p.flag_count,
                    int(p.hidden),
                )
                for p in posts
                if p.thread_remote_id in thread_ids
            ],
        )
        _link_threads(cache, source_id, threads, thread_ids, newest_before[0])
        _restore_held(cache, held_threads, held_posts)
        _reindex(cache, source_id, thread_ids, threads, posts, newest_before, index_search)
        # the escalation rules, in the same transaction: a page is never stored without them
        raise_escalations(cache, source_id, thread_ids, posts, threads)
    return thread_ids


def remove_posts(cache: Cache, source_id: int, remote_ids: Sequence[str]) -> int:
    """Forget posts the platform deleted (their search rows too); returns how many went.

    A thread whose accepted answer was deleted has no accepted answer any more; notes, claims
    and decisions stay with the thread.
    """
    with _writing(cache) as conn:
        ids = _ids_by_remote(cache, "posts", source_id, remote_ids)
        local = sorted(ids.values())
        if not local:
            return 0
        conn.executemany("DELETE FROM post_fts WHERE rowid = ?", [(i,) for i in local])
        conn.executemany(
            "UPDATE threads SET accepted_post_id = NULL WHERE accepted_post_id = ?",
            [(i,) for i in local],
        )
        conn.executemany("DELETE FROM posts WHERE id = ?", [(i,) for i in local])
    return len(local)


def leave_queue(cache: Cache, source_id: int, thread_remote_ids: Sequence[str]) -> None:
    """Threads the platform no longer shows: kept (with their notes and history), not queued."""
    with _writing(cache) as conn:
        conn.executemany(
            "UPDATE threads SET in_queue = 0 WHERE source_id = ? AND remote_id = ?",
            [(source_id, rid) for rid in thread_remote_ids],
        )


def _held(
    cache: Cache,
    source_id: int,
    threads: Sequence[ThreadRecord],
    posts: Sequence[PostRecord],
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The locally decided fields of the rows of this call that wait in the outbox."""
    conn = cache.conn
    waiting = conn.execute(
        "SELECT o.target_kind, o.target_id, o.action FROM outbox o "
        "WHERE o.state IN ('pending', 'sending') AND o.source_id = ?",
        (source_id,),
    ).fetchall()
    if not waiting:
        return [], []
    thread_ids: set[int] = set()
    post_ids: set[int] = set()
    for kind, target, action in waiting:
        if target is None:
            continue
        if kind == "thread":
            thread_ids.add(int(target))
        elif kind == "post":
            post_ids.add(int(target))
            if action in THREAD_ACTIONS_ON_POSTS:
                row = conn.execute("SELECT thread_id FROM posts WHERE id = ?", (target,)).fetchone()
                if row:
                    thread_ids.add(int(row[0]))
    held_threads = _held_rows(
        conn, "threads", HELD_THREAD_FIELDS, thread_ids, {t.remote_id for t in threads}
    )
    held_posts = _held_rows(conn, "posts", HELD_POST_FIELDS, post_ids, {p.remote_id for p in posts})
    return held_threads, held_posts


def _held_rows(
    conn: Connection, table: str, fields: Sequence[str], ids: set[int], incoming: set[str]
) -> list[tuple[object, ...]]:
    """(id, remote_id, *fields) of the rows `ids` of `table` that this call brings anew."""
    if not ids:
        return []
    return [
        tuple(r)
        for r in conn.execute(
            f"SELECT id, remote_id, {', '.join(fields)} FROM {table} "
            f"WHERE id IN ({','.join('?' * len(ids))})",
            sorted(ids),
        )
        if r[1] in incoming
    ]


def _restore_held(
    cache: Cache, held_threads: list[tuple[object, ...]], held_posts: list[tuple[object, ...]]
) -> None:
    """Put back the locally decided fields, and the Queue membership that follows from them."""
    conn = cache.conn
    for row in held_threads:
        local_id, values = row[0], row[2:]
        counts = conn.execute(
            "SELECT flag_count, report_count FROM threads WHERE id = ?", (local_id,)
        ).fetchone()
        queued = in_queue(str(values[0]), int(counts[0]), int(counts[1]))
        conn.execute(
            f"UPDATE threads SET {', '.join(f + ' = ?' for f in HELD_THREAD_FIELDS)}, "
            "in_queue = ? WHERE id = ?",
            (*values, int(queued), local_id),
        )
    for row in held_posts:
        conn.execute(
            f"UPDATE posts SET {', '.join(f + ' = ?' for f in HELD_POST_FIELDS)} WHERE id = ?",
            (*row[2:], row[0]),
        )


def _link_threads(
    cache: Cache,
    source_id: int,
    threads: Sequence[ThreadRecord],
    thread_ids: dict[str, int],
    newest_thread_before: int,
) -> None:
    accepted = [t for t in threads if t.accepted_post_remote_id]
    post_ids = _ids_by_remote(
        cache, "posts", source_id, [t.accepted_post_remote_id or "" for t in accepted]
    )
    # A new thread has no accepted answer yet: only those naming one, and the threads that were
    # there before (whose answer may have changed or gone), are updated. Each UPDATE of a row
    # runs the `threads` triggers' checks (dupe_features follows accepted_post_id). An answer
    # is only ever accepted in its own thread, whatever post the platform or file names.
    cache.conn.executemany(
        "UPDATE threads SET accepted_post_id = "
        "(SELECT p.id FROM posts p WHERE p.id = ? AND p.thread_id = threads.id) WHERE id = ?",
        [
            (post_ids.get(t.accepted_post_remote_id or ""), thread_ids[t.remote_id])
            for t in threads
            if t.accepted_post_remote_id or thread_ids[t.remote_id] <= newest_thread_before
        ],
    )
    dupes = [t for t in threads if t.duplicate_of_remote_id]
    if dupes:
        originals = _ids_by_remote(
            cache, "threads", source_id, [t.duplicate_of_remote_id or "" for t in dupes]
        )
        cache.conn.executemany(
            "UPDATE threads SET duplicate_of = ? WHERE id = ?",
            [
                (originals.get(t.duplicate_of_remote_id or ""), thread_ids[t.remote_id])
                for t in dupes
            ],
        )


def _reindex(
    cache: Cache,
    source_id: int,
    thread_ids: dict[str, int],
    threads: Sequence[ThreadRecord],
    posts: Sequence[PostRecord],
    newest_before: tuple[int, int],
    index_new: bool = True,
) -> None:
    """Refresh the full-text rows of the threads and posts just written.

    `thread_fts` holds each thread's title and question: it is rebuilt for threads in this call
    and for threads whose question (position 0) arrived in it. Rows with ids above
    `newest_before` (threads, posts) are new, so they have no old full-text rows to delete.
    (FTS5 kept by triggers was tried: inserts ran five times slower.)

    On SQLite only rows up to each index's mark are in it (console/search_index.py): rows above
    it (the backlog) are left to the catch-up, and new rows are indexed here only when there is
    no backlog and `index_new` (else they join the backlog). The team database has no marks:
    everything is indexed here.
    """
    conn = cache.conn
    if cache.dialect.is_sqlite:
        threads_mark, posts_mark = search_index.marks(conn)
        # ids are not AUTOINCREMENT: after the newest rows were deleted a mark can lie above
        # the ids new rows get, which must not count as indexed
        if threads_mark > newest_before[0]:
            threads_mark = newest_before[0]
            search_index.set_mark(conn, search_index.THREADS, threads_mark)
        if posts_mark > newest_before[1]:
            posts_mark = newest_before[1]
            search_index.set_mark(conn, search_index.POSTS, posts_mark)
    else:
        threads_mark, posts_mark = newest_before
        index_new = True
    new_threads_now = index_new and threads_mark >= newest_before[0]
    new_posts_now = index_new and posts_mark >= newest_before[1]
    touched = {thread_ids[t.remote_id] for t in threads}
    touched |= {
        thread_ids[p.thread_remote_id]
        for p in posts
        if p.position == 0 and p.thread_remote_id in thread_ids
    }
    rewritten = sorted(i for i in touched if i <= min(threads_mark, newest_before[0]))
    ordered = sorted(
        i for i in touched if i <= threads_mark or (new_threads_now and i > newest_before[0])
    )
    conn.executemany("DELETE FROM thread_fts WHERE rowid = ?", [(i,) for i in rewritten])
    if rewritten:  # their duplicate-scorer analysis was made from the old text
        from console.dupes.analysis import forget

        forget(conn, rewritten)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        conn.execute(
            "INSERT INTO thread_fts (rowid, title, body) "
            "SELECT t.id, t.title, coalesce((SELECT "
            f"{fts_prefix_sql('p.body_text', cache.dialect)} FROM posts p "
            "WHERE p.thread_id = t.id AND p.position = 0 "
            "ORDER BY p.id LIMIT 1), '') "
            f"FROM threads t WHERE t.id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
    if new_threads_now and cache.dialect.is_sqlite and threads:
        search_index.set_mark(conn, search_index.THREADS, max(threads_mark, *touched))
    # New posts are indexed in one statement inside SQLite; only posts that already existed
    # (edits, re-syncs) need their old rows found and replaced.
    # substr() stops at a NUL: the rare new post with one is indexed again below, from Python.
    if new_posts_now:
        new_posts = conn.execute(
            "INSERT INTO post_fts (rowid, body) "
            f"SELECT id, substr(body_text, 1, {FTS_BODY_LIMIT}) FROM posts WHERE id > ?",
            (newest_before[1],),
        ).rowcount
        if cache.dialect.is_sqlite and new_posts:
            newest = conn.execute("SELECT max(id) FROM posts").fetchone()[0]
            search_index.set_mark(conn, search_index.POSTS, int(newest))
        with_nul = [p.remote_id for p in posts if "\0" in p.body_text]
    else:  # left to the catch-up, which reads past a NUL
        new_posts = conn.execute(
            "SELECT count(*) FROM posts WHERE id > ?", (newest_before[1],)
        ).fetchone()[0]
        with_nul = []
    if new_posts == len(posts) and not with_nul:
        return
    post_ids = _ids_by_remote(cache, "posts", source_id, [p.remote_id for p in posts])
    indexed = min(posts_mark, newest_before[1])
    changed = {i for i in post_ids.values() if i <= indexed}
    changed |= {post_ids[r] for r in with_nul if r in post_ids}
    conn.executemany("DELETE FROM post_fts WHERE rowid = ?", [(i,) for i in sorted(changed)])
    conn.executemany(
        "INSERT INTO post_fts (rowid, body) VALUES (?, ?)",
        [
            (post_ids[p.remote_id], fts_text(p.body_text))
            for p in posts
            if post_ids.get(p.remote_id) in changed
        ],
    )
