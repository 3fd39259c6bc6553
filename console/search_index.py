"""Full-text indexing as its own resumable step: what is indexed, what waits, the catch-up.

A bulk import (sync/jsonl.py) commits posts and threads without their full-text rows, which
would otherwise be most of its time. On the SQLite cache each full-text table holds exactly the
rows whose ids are at most its mark in `search_index_state` (migration 18), made from their
current text:

- `post_fts`: every post with `id <= mark` (its first FTS_BODY_LIMIT characters);
- `thread_fts`: every thread with `id <= mark` (its title and question).

Rows above a mark are the backlog. `catch_up` indexes it in batches, each batch one transaction
together with its new mark, so a killed catch-up loses nothing and the next one goes on from the
mark. A write that changes an indexed row (a re-sync, an edit) replaces its full-text row in the
same transaction (console/ingest.py); a row of the backlog is left to the catch-up, which reads
its text as it is then. So once the backlog is empty the index equals one built from scratch
(tests/sync/test_import_search_unchanged.py).

While there is a backlog, searches miss the posts in it: whoever searches is told how many
(`backlog`; the Queue's status line and `peerdesk queue --search` say it), and the console, a
sync and `peerdesk import` catch up first.

The team database (PostgreSQL) writes its search documents in the same transaction as the rows
(console/ingest.py through the dialect): it has no backlog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console import sqltext
from console.db import Cache
from console.storage import Connection
from console.words import counted

POSTS = "post_fts"
THREADS = "thread_fts"
FTS_BODY_LIMIT = 20_000  # characters of a post indexed for search; the rest is kept, not indexed
CATCH_UP_BATCH = 50_000  # rows indexed per transaction by the catch-up


@dataclass(frozen=True)
class Backlog:
    """Rows not in their full-text index yet."""

    posts: int = 0
    threads: int = 0

    @property
    def empty(self) -> bool:
        return not (self.posts or self.threads)

    def describe(self) -> str:
        """What a user reads while the index catches up (empty when it is complete)."""
        if self.empty:
            return ""
        parts = [counted(self.posts, "post")] if self.posts else []
        parts += [counted(self.threads, "thread")] if self.threads else []
        return f"search index catching up: {' and '.join(parts)} not searchable yet"


def mark(conn: Connection, index: str) -> int:
    """The highest id whose rows are all in `index` (0 when none are: migration 18 wrote the
    mark of every cache that had rows)."""
    row = conn.execute(
        "SELECT indexed_through FROM search_index_state WHERE index_name = ?", (index,)
    ).fetchone()
    return int(row[0]) if row else 0


def marks(conn: Connection) -> tuple[int, int]:
    """(thread_fts mark, post_fts mark)."""
    return mark(conn, THREADS), mark(conn, POSTS)


def set_mark(conn: Connection, index: str, through: int) -> None:
    conn.execute(
        "INSERT INTO search_index_state (index_name, indexed_through) VALUES (?, ?) "
        "ON CONFLICT (index_name) DO UPDATE SET indexed_through = excluded.indexed_through",
        (index, through),
    )


def mark_all_threads_indexed(conn: Connection) -> None:
    """After `thread_fts` was rebuilt from every thread (console/dupes/candidates.py)."""
    row = conn.execute("SELECT coalesce(max(id), 0) FROM threads").fetchone()
    set_mark(conn, THREADS, int(row[0]))


def backlog(cache: Cache) -> Backlog:
    """How many posts and threads are not searchable yet (none on the team database)."""
    if not cache.dialect.is_sqlite:
        return Backlog()
    conn = cache.conn
    threads_mark, posts_mark = marks(conn)
    posts = conn.execute("SELECT count(*) FROM posts WHERE id > ?", (posts_mark,)).fetchone()
    threads = conn.execute("SELECT count(*) FROM threads WHERE id > ?", (threads_mark,)).fetchone()
    return Backlog(posts=int(posts[0]), threads=int(threads[0]))


def index_posts(conn: Connection, post_ids: list[int]) -> None:
    """(Re)write the full-text rows of indexed posts whose text changed; posts still in the
    backlog are left to the catch-up (it reads their text as it is then)."""
    through = mark(conn, POSTS)
    ids = sorted(i for i in post_ids if i <= through)
    if not ids:
        return
    conn.executemany("DELETE FROM post_fts WHERE rowid = ?", [(i,) for i in ids])
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(
            "INSERT INTO post_fts (rowid, body) "
            f"SELECT id, {sqltext.searchable_sql('body_text', FTS_BODY_LIMIT)} FROM posts "
            f"WHERE id IN ({','.join('?' * len(chunk))})",
            chunk,
        )


@dataclass
class CatchUp:
    """What one catch-up indexed."""

    posts: int = 0
    threads: int = 0

    def describe(self) -> str:
        return (
            f"search index up to date ({counted(self.posts, 'post')}, "
            f"{counted(self.threads, 'thread')} indexed)"
        )


def catch_up(
    cache: Cache,
    *,
    batch: int | None = None,
    progress: Callable[[CatchUp, Backlog], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CatchUp:
    """Index the backlog: threads first (duplicate candidates read `thread_fts`), then posts,
    `batch` rows (CATCH_UP_BATCH) per transaction with their new mark. Safe to kill and to run
    from several processes at once (each batch reads its mark inside its own write
    transaction).

    `progress` gets what is done and what is left after each batch; `should_stop` ends it
    between batches (the rest stays for the next catch-up)."""
    done = CatchUp()
    if not cache.dialect.is_sqlite:
        return done
    size = batch or CATCH_UP_BATCH
    left = backlog(cache)
    for index in (THREADS, POSTS):
        while True:
            if should_stop is not None and should_stop():
                return done
            with cache.transaction() as conn:
                indexed = _batch(conn, index, size)
            if not indexed:
                break
            if index == THREADS:
                done.threads += indexed
                left = Backlog(left.posts, max(0, left.threads - indexed))
            else:
                done.posts += indexed
                left = Backlog(max(0, left.posts - indexed), left.threads)
            if progress is not None:
                progress(done, left)
    return done


def _batch(conn: Connection, index: str, size: int) -> int:
    """Index the next `size` rows of `index`'s backlog; returns how many (0: none left)."""
    table = "threads" if index == THREADS else "posts"
    low = mark(conn, index)
    row = conn.execute(
        f"SELECT id FROM {table} WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?", (low, size - 1)
    ).fetchone()
    high = (
        int(row[0])
        if row
        else int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])
    )
    if high <= low:
        return 0
    if index == POSTS:
        cursor = conn.execute(
            "INSERT INTO post_fts (rowid, body) "
            f"SELECT id, {sqltext.searchable_sql('body_text', FTS_BODY_LIMIT)} FROM posts "
            "WHERE id > ? AND id <= ? ORDER BY id",
            (low, high),
        )
    else:
        cursor = conn.execute(
            "INSERT INTO thread_fts (rowid, title, body) "
            "SELECT t.id, t.title, coalesce((SELECT "
            f"{sqltext.searchable_sql('p.body_text', FTS_BODY_LIMIT)} FROM posts p "
            "WHERE p.thread_id = t.id AND p.position = 0 ORDER BY p.id LIMIT 1), '') "
            "FROM threads t WHERE t.id > ? AND t.id <= ? ORDER BY t.id",
            (low, high),
        )
        # an analysis made while the thread had no full-text row may have been made without
        # its question: only those whose text (by its CRC, migration 20) differs are dropped
        analysed = [
            int(r[0])
            for r in conn.execute(
                "SELECT thread_id FROM thread_analysis WHERE thread_id > ? AND thread_id <= ?",
                (low, high),
            ).fetchall()
        ]
        if analysed:
            from console.dupes.analysis import forget  # (the scorer: imported when needed)

            forget(conn, analysed)
    set_mark(conn, index, high)
    return max(int(cursor.rowcount), 0) or 1
