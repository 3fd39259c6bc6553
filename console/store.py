"""Reading the cache for the console: the Queue, search and whole threads.

All functions return dataclasses from console.models; no SQL leaves this module's callers.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from console import previews, queue_counts, search_terms
from console.clock import now
from console.db import Cache, open_read_only
from console.dupes.thresholds import STRONG_SCORE, may_propose
from console.errors import CacheError, NotFound
from console.escalate.severity import SEVERITIES
from console.models import NoteView, PostView, QueueItem, ThreadView
from console.previews import ThreadPreview
from console.storage import POSTGRESQL, SQLITE, Dialect, Row
from console.urgency import score


@dataclass(frozen=True)
class QueueFilter:
    """What the Queue shows. Empty fields do not filter."""

    text: str = ""
    status: str | None = None
    source: str | None = None
    flagged_only: bool = False
    unanswered_only: bool = False
    claimed_by: str | None = None
    author_id: int | None = None
    strong_duplicates: bool = False
    tag: str | None = None
    older_than_minutes: int | None = None  # created at least this long ago
    newer_than_minutes: int | None = None  # created less than this long ago
    everything: bool = False  # include threads that left the Queue (solved, closed)


_TOKEN = re.compile(r"\w+", re.UNICODE)


PREFIX_FROM = 3  # the last word is matched as a prefix once it has this many characters
MAX_AUTHOR_SELECTION = 1000  # threads `A` selects at most
SEARCH_REACH = 300  # newest matches read from each full-text index beyond the page asked for


def search_words(text: str) -> list[str]:
    """The words of a search as the full-text query takes them (lowercase)."""
    return _TOKEN.findall(text.lower())


def fts_query(text: str, dialect: Dialect = SQLITE, cache: Cache | None = None) -> str | None:
    """User text as a safe full-text query (FTS5's, or a tsquery on the team database): every
    word must appear (prefix match on the last, once it has PREFIX_FROM characters: a one- or
    two-letter prefix matches most of the index and costs seconds at a million posts). Given the
    cache, a last word longer than the prefix indexes is matched as the words it stands for
    (console.search_terms)."""
    words = search_words(text)[:12]
    if not words:
        return None
    prefix_last = len(words[-1]) >= PREFIX_FROM
    if cache is not None and prefix_last and cache.dialect.is_sqlite:
        last = search_terms.words_for(cache, words[-1])
        if last is not None:
            return search_terms.match_text(words, last)
    return dialect.fts_terms(words, prefix_last=prefix_last)


def _minutes_ago(minutes: int) -> str:
    return (now() - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


AGE_DRIVEN_AT_MOST = 100_000
"""An `age<` filter whose bound leaves at most this many threads (created since it) is read by
the threads' created time (the threads_created index) and those few put in the Queue's order;
more than that, by the Queue's index as every other filter."""

OLDER_DRIVEN_AT_MOST = 10_000
"""The same for an `age>` filter alone, whose bound at most this many threads are older than
(counted more cheaply: under a millisecond); more, and the Queue's index finds them first, the
oldest threads being the most urgent (`age>1d` at a million threads: page 2 ms)."""


def few_created(cache: Cache, flt: QueueFilter) -> bool:
    """Whether `flt` has age bounds that few threads were created within: at most
    AGE_DRIVEN_AT_MOST since an age< bound (and before an age> one, if it has both), or at most
    OLDER_DRIVEN_AT_MOST before an age> bound alone, counted on the threads_created index up to
    there (a few milliseconds). The newest threads are the least urgent: on the Queue's index,
    finding them walks the whole Queue (0.8-1.4 s at a million threads for `age<1d`); and a
    bound older than nearly every thread walked it for nothing (`age>365d` on the 90-day demo:
    page 0.9 s, count 1.0 s). SQLite only: PostgreSQL's planner chooses by its statistics."""
    newer, older = flt.newer_than_minutes, flt.older_than_minutes
    if (newer is None and older is None) or not _plain_sqlite(cache, flt):
        return False
    window, bounds = [], []
    if newer is not None:
        window.append("created_at > ?")
        bounds.append(_minutes_ago(newer))
    if older is not None:
        window.append("created_at <= ?")
        bounds.append(_minutes_ago(older))
    at_most = AGE_DRIVEN_AT_MOST if newer is not None else OLDER_DRIVEN_AT_MOST
    row = cache.one(
        "SELECT count(*) FROM (SELECT 1 FROM threads INDEXED BY threads_created "
        f"WHERE {' AND '.join(window)} LIMIT ?)",
        (*bounds, at_most + 1),
    )
    return row is not None and int(row[0]) <= at_most


TAG_PAGE_AT_MOST = 5_000
"""A page of a `tag:` filter whose tag at most this many threads have is read from those
threads (the tag's range of thread_tags, migration 38), which are then sorted in the Queue's
order (~2 µs a thread at a million threads); a tag more threads have is read on the Queue's
index, each thread's tag looked up in thread_tags as the walk passes it (the page fills first).
At a million threads a tag on 2,000 threads spread through the Queue: page 23-38 ms walked, 8
ms read from its threads; on 5,000: 11-12 and 14-16 ms; on 20,000: 4 and 43-47 ms."""

TAG_COUNT_AT_MOST = 25_000
"""The same for the bounded count (n+): counting stops after a few hundred rows on the Queue's
index, but a rare tag walks far for them, while its threads are counted at ~0.3 µs each (a tag
on 5,000 threads: 32 ms walked, 3 read from its threads; on 20,000: 9 and 6; on 79,000: 3 and
26). A count to the end (TAG_COUNT_ALL_AT_MOST) reads every row either way: a tag's threads
are fewer than the Queue's, and each is read more cheaply than a step of the walk."""

TAG_COUNT_ALL_AT_MOST = 100_000
"""A count to the end is read from the tag's threads up to this many (as AGE_DRIVEN_AT_MOST):
more, and an `age<` bound that leaves fewer is the better start."""


def few_tagged(cache: Cache, flt: QueueFilter, at_most: int) -> bool:
    """Whether `flt`'s tag is read from its threads in thread_tags: the tag at most `at_most`
    threads have (counted in thread_tags up to there: a few milliseconds).
    On the Queue's index a tag few threads have walks the Queue until the page or count is
    full or the Queue ends (a tag no thread has: page 1.5 s, count 1.3 s at a million
    threads). Not for a search (its newest matches come first). SQLite only: PostgreSQL's
    planner chooses by its statistics."""
    if flt.tag is None or not _plain_sqlite(cache, flt):
        return False
    row = cache.one(
        "SELECT count(*) FROM (SELECT 1 FROM thread_tags WHERE tag = ? LIMIT ?)",
        (flt.tag, at_most + 1),
    )
    return row is not None and int(row[0]) <= at_most


def _read_by(
    cache: Cache, flt: QueueFilter, tag_at_most: int, *, counting_to: bool = False
) -> tuple[bool, bool]:
    """(by_created, by_tag) for `_where`: a tag's threads when at most `tag_at_most` have it,
    else the few threads created within its age bounds (few_created; the tag looked up for
    each). `counting_to`: for a count that stops after a few hundred rows, which needs no
    order: an age< bound is then read by created time however many threads it leaves (from the
    bound on, the newest threads are nearly all in the Queue: `age<30d` at a million threads,
    330,000 threads, 452-507 ms on the Queue's index, 0.3-0.4 ms so)."""
    if few_tagged(cache, flt, tag_at_most):
        return False, True
    if counting_to and flt.newer_than_minutes is not None and _plain_sqlite(cache, flt):
        return True, False
    return few_created(cache, flt), False


def _plain_sqlite(cache: Cache, flt: QueueFilter) -> bool:
    """A filter on the cache that is no search (a search is read from its newest matches)."""
    return cache.dialect.is_sqlite and not fts_query(flt.text)


def _where(
    flt: QueueFilter,
    reach: int | None = None,
    dialect: Dialect = SQLITE,
    *,
    by_ids: bool = False,
    by_created: bool = False,
    by_tag: bool = False,
    cache: Cache | None = None,
) -> tuple[str, list[Any]]:
    """The Queue's WHERE for `flt`. `by_ids`: the caller adds a short `t.id IN (...)` list, so
    the Queue's own index is kept out of the plan (see below); `by_created`: the same for the
    few threads its age bounds leave (few_created); `by_tag`: for the few threads of a
    tag (few_tagged), read from thread_tags. `cache`: see fts_query."""
    clauses: list[str] = []
    params: list[Any] = []
    match = fts_query(flt.text, dialect, cache)
    if not flt.everything:
        # a page of search results is found from the few newest matches (the IN list below) by
        # their ids; on the Queue's index SQLite would walk every thread in the Queue instead
        # (70-90 ms at a million threads against 0.3-25 ms): unary + keeps it off that index
        # (the same for the few threads someone holds or with a strong duplicate candidate,
        # the few created since an age< bound, and the few of a tag)
        few = bool(flt.claimed_by or flt.strong_duplicates or by_created or by_tag)
        driven = by_ids or (dialect.is_sqlite and (few or bool(match and reach is not None)))
        clauses.append("+t.in_queue = 1" if driven else "t.in_queue = 1")
    if flt.status:
        clauses.append("t.status = ?")
        params.append(flt.status)
    if flt.source:
        clauses.append("s.name = ?")
        params.append(flt.source)
    if flt.flagged_only:
        clauses.append("(t.flag_count > 0 OR t.report_count > 0)")
    if flt.unanswered_only:
        clauses.append("t.reply_count = 0")
    if flt.claimed_by:  # from the few claims, not a scan of the Queue
        clauses.append(
            "t.id IN (SELECT thread_id FROM claims WHERE holder = ? "
            f"AND expires_at > {dialect.clock})"
        )
        params.append(flt.claimed_by)
    if flt.author_id is not None:
        clauses.append("t.author_id = ?")
        params.append(flt.author_id)
    if flt.tag and by_tag:  # the tag's few threads, from the tag's range of thread_tags
        clauses.append("t.id IN (SELECT g.thread_id FROM thread_tags g WHERE g.tag = ?)")
        params.append(flt.tag)
    elif flt.tag:  # each thread looked up as it is met (its primary key: tag, thread)
        clauses.append(
            "EXISTS (SELECT 1 FROM thread_tags g WHERE g.tag = ? AND g.thread_id = t.id)"
        )
        params.append(flt.tag)
    if flt.older_than_minutes is not None:
        clauses.append("t.created_at <= ?")
        params.append(_minutes_ago(flt.older_than_minutes))
    if flt.newer_than_minutes is not None:
        clauses.append("t.created_at > ?")
        params.append(_minutes_ago(flt.newer_than_minutes))
    if flt.strong_duplicates:  # the few strong pending pairs, from their (decision, score) index
        clauses.append(
            "t.id IN (SELECT d.thread_id FROM duplicate_links d "
            "JOIN threads n ON n.id = d.thread_id JOIN threads o ON o.id = d.original_id "
            f"WHERE d.decision = 'pending' AND d.score >= ? AND {may_propose('n', 'o')})"
        )
        params.append(STRONG_SCORE)
    in_titles, in_posts = dialect.fts_match("thread_fts"), dialect.fts_match("post_fts")
    if match and reach is not None:  # a page of results: the newest `reach` matches of each
        clauses.append(
            f"t.id IN (SELECT * FROM (SELECT rowid FROM thread_fts WHERE {in_titles} "
            "ORDER BY rowid DESC LIMIT ?) y UNION SELECT p.thread_id FROM (SELECT rowid FROM "
            f"post_fts WHERE {in_posts} ORDER BY rowid DESC LIMIT ?) x "
            "JOIN posts p ON p.id = x.rowid)"
        )
        params.extend([match, reach, match, reach])
    elif match:  # every match (counting)
        clauses.append(
            f"t.id IN (SELECT rowid FROM thread_fts WHERE {in_titles} "
            "UNION SELECT p.thread_id FROM post_fts JOIN posts p ON p.id = post_fts.rowid "
            f"WHERE {in_posts})"
        )
        params.extend([match, match])
    where = " AND ".join(clauses) if clauses else "1 = 1"
    return where, params


_QUEUE_SELECT = """
    SELECT t.id, s.name AS source, t.title, coalesce(m.username, '(unknown)') AS author,
           m.display_name AS author_name,
           t.status, t.created_at, t.last_activity_at, t.reply_count, t.flag_count,
           t.report_count, t.urgency, c.holder, c.expires_at,
           EXISTS (SELECT 1 FROM duplicate_links d JOIN threads o ON o.id = d.original_id
                   WHERE d.thread_id = t.id AND +d.decision = 'pending' AND +d.score >= :strong
                   AND MAY_PROPOSE) AS has_strong_dupe,
           (SELECT max(CASE e.severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2
                   WHEN 'medium' THEN 1 ELSE 0 END) FROM escalations e WHERE e.thread_id = t.id
              AND e.state IN ('new', 'acknowledged', 'sent_to_support', 'waiting_on_customer')
           ) AS escalation_rank
    FROM threads t
    JOIN sources s ON s.id = t.source_id
    LEFT JOIN members m ON m.id = t.author_id
    LEFT JOIN claims c ON c.thread_id = t.id AND c.expires_at > :now
""".replace("MAY_PROPOSE", may_propose("t", "o"))


_QUEUE_SELECT_PG = _QUEUE_SELECT.replace("+d.", "d.").replace(":now", POSTGRESQL.clock)
"""PostgreSQL has no unary + on text (SQLite's way of keeping a column off an index), and
claims are live by the server's clock (the dialect's `clock`)."""


def _queue_select(dialect: Dialect) -> str:
    return _QUEUE_SELECT if dialect.is_sqlite else _QUEUE_SELECT_PG


def _named(where: str, params: list[Any], dialect: Dialect = SQLITE) -> tuple[str, dict[str, Any]]:
    """Turn positional '?' marks into named ones so :now (the cache's clock, see
    Dialect.clock) can sit beside them."""
    named: dict[str, Any] = dialect.clock_parameters()
    parts = where.split("?")
    out = parts[0]
    for index, part in enumerate(parts[1:]):
        out += f":p{index}{part}"
        named[f"p{index}"] = params[index]
    return out, named


def queue(
    cache: Cache,
    flt: QueueFilter | None = None,
    *,
    offset: int = 0,
    limit: int = 100,
    total: int | None = None,
    after: int | None = None,
    before: int | None = None,
) -> list[QueueItem]:
    """A page of the Queue, most urgent first.

    Keyset paging: given `after` (the thread just above the page wanted) or `before` (the
    thread just below it), the page is read from that thread's place in the index, however
    deep it is; `offset` then only says how far the search reaches.

    Given the Queue's `total`, a page in its second half is read from the far end of the index
    and turned round, so the last page costs as little as the first (OFFSET walks every row it
    skips).

    Search results (`flt.text`) list the newest threads first, taken from the newest
    `offset + limit + SEARCH_REACH` matches in titles and in posts: full-text indexes give
    their newest matches without reading the rest, so a common word costs milliseconds, not
    seconds, at a million posts.
    """
    flt = flt or QueueFilter()
    searching = fts_query(flt.text) is not None
    reach = offset + limit + SEARCH_REACH if searching else None
    by_created, by_tag = _read_by(cache, flt, TAG_PAGE_AT_MOST)
    where, params = _named(
        *_where(flt, reach, cache.dialect, by_created=by_created, by_tag=by_tag, cache=cache),
        cache.dialect,
    )
    select = _queue_select(cache.dialect)

    def page(condition: str, order: str) -> str:
        if not (by_created or by_tag):
            return f"{select} WHERE {condition} ORDER BY {order} LIMIT :limit OFFSET :offset"
        # the few threads since the age bound or of the tag, ordered by their ids alone; then
        # the page's rows (the sort of whole rows would work out every column of every one)
        ids = (
            f"SELECT t.id FROM threads t{_source_join(flt, by_created or by_tag)} "
            f"WHERE {condition} "
            f"ORDER BY {order} LIMIT :limit OFFSET :offset"
        )
        return f"{select} WHERE t.id IN ({ids}) ORDER BY {order}"

    anchor = after if after is not None else before
    if anchor is not None:
        keyset = _keyset(cache, anchor, forward=after is not None, searching=searching)
        if keyset is not None:
            clause, order, values = keyset
            rows = cache.query(
                page(f"{where} AND {clause}", order),
                {**params, **values, "strong": STRONG_SCORE, "limit": limit, "offset": 0},
            )
            return _items(rows if after is not None else rows[::-1])
    from_the_end = total is not None and offset > total // 2 and not searching
    order = "t.id DESC" if searching else "t.urgency DESC, t.id"
    if from_the_end and total is not None:
        order = "t.urgency ASC, t.id DESC"
        limit = max(0, min(limit, total - offset))
        offset = max(0, total - offset - limit)
    rows = cache.query(
        page(where, order), {**params, "strong": STRONG_SCORE, "limit": limit, "offset": offset}
    )
    if from_the_end:
        rows = rows[::-1]
    return _items(rows)


def _keyset(
    cache: Cache, anchor: int, *, forward: bool, searching: bool
) -> tuple[str, str, dict[str, Any]] | None:
    """(condition, order, parameters) for the rows after (or before) thread `anchor` in Queue
    order; None if the anchor is gone (the caller falls back to OFFSET)."""
    if searching:  # newest first
        if forward:
            return "t.id < :anchor", "t.id DESC", {"anchor": anchor}
        return "t.id > :anchor", "t.id ASC", {"anchor": anchor}
    row = cache.one("SELECT urgency FROM threads WHERE id = ?", (anchor,))
    if row is None:
        return None
    values = {"anchor": anchor, "anchor_urgency": row[0]}
    if forward:  # urgency DESC, id ASC; the range on urgency keeps SQLite on the index
        return (
            "t.urgency <= :anchor_urgency AND (t.urgency < :anchor_urgency OR t.id > :anchor)",
            "t.urgency DESC, t.id",
            values,
        )
    return (
        "t.urgency >= :anchor_urgency AND (t.urgency > :anchor_urgency OR t.id < :anchor)",
        "t.urgency ASC, t.id DESC",
        values,
    )


def _items(rows: list[Row]) -> list[QueueItem]:
    at = now()
    return [
        QueueItem(
            thread_id=r["id"],
            source=r["source"],
            title=r["title"],
            author=r["author"],
            status=r["status"],
            created_at=r["created_at"],
            last_activity_at=r["last_activity_at"],
            reply_count=r["reply_count"],
            flag_count=r["flag_count"],
            report_count=r["report_count"],
            urgency=round(score(r["urgency"], at), 1),
            claimed_by=r["holder"],
            claim_expires_at=r["expires_at"],
            strong_duplicate=bool(r["has_strong_dupe"]),
            escalation=SEVERITIES[r["escalation_rank"]]
            if r["escalation_rank"] is not None
            else None,
            author_name=r["author_name"],
        )
        for r in rows
    ]


def _source_join(flt: QueueFilter, few: bool) -> str:
    """The join a `source:` term needs (a lookup per row: only then). CROSS JOIN keeps the
    threads first when a few of them are read (by created time, or a tag's): otherwise SQLite
    starts from the source and reads every thread of it."""
    if not flt.source:
        return ""
    return f" {'CROSS ' if few else ''}JOIN sources s ON s.id = t.source_id"


def _count_sql(
    flt: QueueFilter, dialect: Dialect = SQLITE, cache: Cache | None = None
) -> tuple[str, dict[str, Any]]:
    kept = queue_counts.count_sql(flt) if dialect.is_sqlite else None
    if kept is not None:  # `all`, `flagged`, `unanswered`: the cache keeps them (one row)
        return kept, {}
    rows, params = _filtered(flt, dialect, cache, tag_at_most=TAG_COUNT_ALL_AT_MOST)
    return f"SELECT count(*) FROM {rows}", params


def _filtered(
    flt: QueueFilter,
    dialect: Dialect,
    cache: Cache | None,
    *,
    tag_at_most: int,
    counting_to: bool = False,
) -> tuple[str, dict[str, Any]]:
    """`threads t ... WHERE ...`: the Queue's rows of `flt` for a count, read by created time
    when its age bounds leave few of them (few_created), or from the threads of a tag at
    most `tag_at_most` threads have (few_tagged), and its parameters. `counting_to`: see
    _read_by."""
    by_created, by_tag = (
        _read_by(cache, flt, tag_at_most, counting_to=counting_to) if cache else (False, False)
    )
    where, params = _named(
        *_where(flt, dialect=dialect, by_created=by_created, by_tag=by_tag, cache=cache), dialect
    )
    return f"threads t{_source_join(flt, by_created or by_tag)} WHERE {where}", params


def _search_count_sql(
    flt: QueueFilter, at_most: int, dialect: Dialect = SQLITE, cache: Cache | None = None
) -> tuple[str, dict[str, Any]]:
    """The Queue rows among the newest `at_most` matches of the search in titles and in posts,
    and how many matches each index gave (fewer than `at_most` in both: that is every match).
    Each index is read once."""
    where, params = _named(*_where(replace(flt, text=""), dialect=dialect, by_ids=True), dialect)
    joins = " JOIN sources s ON s.id = t.source_id" if flt.source else ""
    in_titles = dialect.fts_match("thread_fts", ":search_terms")
    in_posts = dialect.fts_match("post_fts", ":search_terms")
    sql = (
        "WITH y AS MATERIALIZED (SELECT rowid AS id FROM thread_fts "
        f"WHERE {in_titles} ORDER BY rowid DESC LIMIT :at_most), "
        "x AS MATERIALIZED (SELECT rowid AS id FROM post_fts "
        f"WHERE {in_posts} ORDER BY rowid DESC LIMIT :at_most) "
        f"SELECT (SELECT count(*) FROM threads t{joins} WHERE {where} AND t.id IN "
        "(SELECT id FROM y UNION SELECT p.thread_id FROM x JOIN posts p ON p.id = x.id)), "
        "(SELECT count(*) FROM y), (SELECT count(*) FROM x)"
    )
    terms = fts_query(flt.text, dialect, cache)
    return sql, {**params, "search_terms": terms, "at_most": at_most}


def _bounded_count_sql(
    flt: QueueFilter, at_most: int, dialect: Dialect = SQLITE, cache: Cache | None = None
) -> tuple[str, dict[str, Any]]:
    """The Queue rows of a filter the cache does not keep a count of (a saved view, a filter
    typed on the search line), counted up to `at_most` + 1: the walk stops there. Counting them
    all walks every thread in the Queue (`status:answered` 2.0 s, `age>30d` 2.2 s, `tag:esim`
    13.6 s at a million threads), a core busy while the moderator goes on."""
    rows, params = _filtered(flt, dialect, cache, tag_at_most=TAG_COUNT_AT_MOST, counting_to=True)
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {rows} LIMIT :at_most) b"
    return sql, {**params, "at_most": at_most + 1}


def queue_count(cache: Cache, flt: QueueFilter | None = None) -> int:
    sql, params = _count_sql(flt or QueueFilter(), cache.dialect, cache)
    row = cache.one(sql, params)
    return int(row[0]) if row else 0


INTERRUPTED = object()  # what a QueueReader read returns when interrupt() stopped it


def _interrupted(error: BaseException | None) -> bool:
    """A read stopped by `interrupt()`: SQLite's "interrupted" or PostgreSQL's query_canceled
    (SQLSTATE 57014), as raised or as the cause of the one-line error it became."""
    while error is not None:
        if isinstance(error, sqlite3.OperationalError) and "interrupted" in str(error):
            return True
        if getattr(error, "sqlstate", None) == "57014":
            return True
        error = error.__cause__
    return False


class QueueReader:
    """Reads the Queue on a read-only connection of its own (`Cache.read_only`: a second
    connection to the cache file or to the team database).

    A count walks every matching row (0.2-5 s at a million threads) and a search can take a
    while, so the console does them here: they never hold the connection that loads pages and
    threads, and one nobody needs any more (the search changed) is interrupted.
    """

    def __init__(self, store: Path | Cache) -> None:
        self._store = store
        self._reading: Cache | None = None
        self._lock = threading.Lock()

    def _cache(self) -> Cache:
        if self._reading is None:
            store = self._store
            self._reading = store.read_only() if isinstance(store, Cache) else open_read_only(store)
        return self._reading

    def _one_row(self, statement: Callable[[Cache], tuple[str, Mapping[str, Any]]]) -> Any:
        """The first row of the statement made for this connection (None if none), or
        INTERRUPTED if `interrupt()` stopped it."""
        with self._lock:
            cache = self._cache()
            try:
                sql, params = statement(cache)
                return cache.conn.execute(sql, params).fetchone()
            except (sqlite3.OperationalError, CacheError) as error:
                if _interrupted(error):
                    return INTERRUPTED
                raise

    def count(self, flt: QueueFilter) -> int | None:
        """The number of Queue rows matching `flt`, or None if interrupted."""
        row = self._one_row(lambda cache: _count_sql(flt, cache.dialect, cache))
        if row is INTERRUPTED:
            return None
        return int(row[0]) if row else 0

    def count_at_most(self, flt: QueueFilter, at_most: int) -> tuple[int, bool] | None:
        """For a search: (Queue rows among its newest `at_most` matches in titles and in posts,
        whether that is every match), or None if interrupted. A common word has hundreds of
        thousands of matches at a million threads and counting them all takes 0.5-2 s; this
        takes a few milliseconds. `all`, `flagged`, `unanswered`: the exact count (kept by the
        cache). Any other filter: (its rows, True) if it has at most `at_most`, else
        (`at_most`, False), read without walking the rest of the Queue (`count` counts them all
        when the moderator gets near the end)."""
        if fts_query(flt.text) is None:
            if queue_counts.column_for(flt) is not None:
                total = self.count(flt)
                return None if total is None else (total, True)
            row = self._one_row(
                lambda cache: _bounded_count_sql(flt, at_most, cache.dialect, cache)
            )
            if row is INTERRUPTED:
                return None
            found = int(row[0])
            return (found, True) if found <= at_most else (at_most, False)
        row = self._one_row(lambda cache: _search_count_sql(flt, at_most, cache.dialect, cache))
        if row is INTERRUPTED:
            return None
        found, in_titles, in_posts = (int(x) for x in row)
        return found, in_titles < at_most and in_posts < at_most

    def page(
        self,
        flt: QueueFilter,
        *,
        offset: int = 0,
        limit: int = 100,
        total: int | None = None,
        after: int | None = None,
        before: int | None = None,
    ) -> list[QueueItem] | None:
        """A page of the Queue (see `queue`), or None if interrupted."""
        with self._lock:
            try:
                return queue(
                    self._cache(),
                    flt,
                    offset=offset,
                    limit=limit,
                    total=total,
                    after=after,
                    before=before,
                )
            except CacheError as error:
                if _interrupted(error):
                    return None
                raise

    def previews(self, thread_ids: Sequence[int]) -> dict[int, ThreadPreview]:
        """The preview pane's reads for several threads (console.previews), on this connection
        (read again once if an interrupt meant for the read before reached this one)."""
        with self._lock:
            try:
                return previews.previews(self._cache(), thread_ids)
            except CacheError as error:
                if not _interrupted(error):
                    raise
            return previews.previews(self._cache(), thread_ids)

    def interrupt(self) -> None:
        """Stop the read running now (it returns None); nothing when none runs (on the team
        database a cancel sent between two reads could otherwise stop the next one)."""
        reading = self._reading
        if reading is not None and self._lock.locked():
            reading.interrupt()

    def close(self) -> None:
        with self._lock:
            if self._reading is not None:
                self._reading.close()
                self._reading = None


def escalation_lines(cache: Cache, thread_id: int) -> tuple[str, ...]:
    """The thread's escalations in lines (console.escalate.panel: imported when a thread is first
    read, not at start)."""
    from console.escalate.panel import thread_lines

    return thread_lines(cache, thread_id)


def thread(cache: Cache, thread_id: int, *, window: int | None = None) -> ThreadView:
    """The whole conversation of `thread_id`.

    With `window`, each post's body holds at most its first `window` characters (and
    `body_length` says how long the post is): the console never holds a huge post whole,
    it pages through it with `post_body`."""
    head = cache.one(
        "SELECT t.*, s.name AS source, s.kind AS source_kind, "
        "coalesce(m.username, '(unknown)') AS author, m.display_name AS author_name, "
        "c.holder, c.expires_at AS claim_expires "
        "FROM threads t JOIN sources s ON s.id = t.source_id "
        "LEFT JOIN members m ON m.id = t.author_id "
        f"LEFT JOIN claims c ON c.thread_id = t.id AND c.expires_at > {cache.dialect.clock} "
        "WHERE t.id = :id",
        {"id": thread_id, **cache.dialect.clock_parameters()},
    )
    if head is None:
        raise NotFound(f"There is no thread {thread_id} {cache.dialect.where}")
    posts = [
        PostView(
            post_id=r["id"],
            remote_id=r["remote_id"],
            author=r["author"],
            author_reputation=r["reputation"],
            position=r["position"],
            body=r["body"] if window is None else r["body"][:window],
            created_at=r["created_at"],
            score=r["score"],
            accepted=r["id"] == head["accepted_post_id"],
            hidden=bool(r["hidden"]),
            hidden_reason=r["hidden_reason"],
            flag_count=r["flag_count"],
            body_length=(
                _length(cache, r["id"]) if window is not None and len(r["body"]) > window else None
            ),
            author_name=r["author_name"],
        )
        for r in cache.query(
            "SELECT p.id, p.remote_id, p.position, p.created_at, p.score, p.hidden, "
            "p.hidden_reason, p.flag_count, "
            + (
                "p.body_text AS body, "
                if window is None
                # one character more than the window tells a long post; its length is asked
                # for after this query, so a huge value passes through SQLite's memory once at a
                # time, never twice at once
                else f"{cache.dialect.prefix('p.body_text', int(window) + 1)} AS body, "
            )
            + "coalesce(m.username, '(unknown)') AS author, m.display_name AS author_name, "
            "coalesce(m.reputation, 0) AS reputation FROM posts p "
            "LEFT JOIN members m ON m.id = p.author_id WHERE p.thread_id = :thread "
            "ORDER BY p.position, p.id",
            {"thread": thread_id, "window": window},
        )
    ]
    notes = [
        NoteView(r["id"], r["author"], r["body"], r["created_at"])
        for r in cache.query(
            "SELECT * FROM notes WHERE thread_id = ? AND deleted = 0 ORDER BY id", (thread_id,)
        )
    ]
    return ThreadView(
        thread_id=head["id"],
        source=head["source"],
        source_kind=head["source_kind"],
        remote_id=head["remote_id"],
        title=head["title"],
        author=head["author"],
        status=head["status"],
        created_at=head["created_at"],
        tags=json.loads(head["tags"]),
        url=head["url"],
        flag_count=head["flag_count"],
        report_count=head["report_count"],
        posts=posts,
        notes=notes,
        claimed_by=head["holder"],
        claim_expires_at=head["claim_expires"],
        duplicate_of=head["duplicate_of"],
        escalations=escalation_lines(cache, thread_id),
        author_name=head["author_name"],
    )


def _length(cache: Cache, post_id: int) -> int:
    length = cache.dialect.text_length("body_text")
    row = cache.one(f"SELECT {length} FROM posts WHERE id = ?", (post_id,))
    return int(row[0]) if row else 0


def post_body(cache: Cache, post_id: int, start: int, length: int) -> str:
    """Characters `start .. start+length` (0-based) of a post's text: one window of a long post."""
    part = cache.dialect.part("body_text", start + 1, length)
    row = cache.one(f"SELECT {part} FROM posts WHERE id = ?", (post_id,))
    if row is None:
        raise NotFound(f"There is no post {post_id} {cache.dialect.where}")
    return str(row[0])


def open_threads_by_author_of(
    cache: Cache, thread_id: int, within: QueueFilter | None = None
) -> list[int]:
    """Ids of the open Queue threads started by the author of `thread_id` (itself included);
    with `within`, only those that filter (and search) shows."""
    author = cache.one("SELECT author_id FROM threads WHERE id = ?", (thread_id,))
    if author is None or author[0] is None:
        return []
    if within is None:
        rows = cache.query(
            "SELECT t.id FROM threads t WHERE t.in_queue = 1 "
            "AND t.status IN ('open', 'answered') AND t.author_id = ? ORDER BY t.urgency DESC",
            (author[0],),
        )
        return [r[0] for r in rows]
    flt = replace(within, author_id=int(author[0]))
    items = queue(cache, flt, limit=MAX_AUTHOR_SELECTION)
    return [i.thread_id for i in items if i.status in ("open", "answered")]
