"""Reading the Queue the fast way: search pages from the newest matches, filters from small
indexes, and counts and searches on a read-only connection of their own (store.QueueReader)."""

from __future__ import annotations

import threading
import time

import pytest

from console import claims, store
from console.db import Cache
from console.desk import Desk
from console.filters import whole_last_word
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord
from console.store import QueueFilter, QueueReader, fts_query
from tests.plans import query_plan


def add_threads(cache: Cache, count: int, word: str) -> list[int]:
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    threads = [
        ThreadRecord(
            f"w{i}",
            f"Question {i} about {word}",
            "u1",
            "open",
            f"2026-11-{1 + i % 19:02d}T12:00:00Z",
            f"2026-11-{1 + i % 19:02d}T12:00:00Z",
            flag_count=i % 3,
        )
        for i in range(count)
    ]
    posts = [
        PostRecord(f"w{i}.0", f"w{i}", "u1", 0, f"Body {i}", f"Body {i}", "2026-11-01T12:00:00Z")
        for i in range(count)
    ]
    ids = upsert_threads(cache, source, threads, posts)
    return [ids[f"w{i}"] for i in range(count)]


def test_a_prefix_needs_three_letters() -> None:
    assert fts_query("ro") == '"ro"'
    assert fts_query("roa") == '"roa"*'
    assert fts_query("sim ca") == '"sim" "ca"'
    assert fts_query("  ") is None


def test_an_empty_search_on_a_short_last_word_says_it_must_appear_whole() -> None:
    """Typing "ro" on the way to "roaming" finds nothing: the Queue says why, not just that."""
    from console.screens.queue_layout import empty_text

    assert whole_last_word("sim ro") == "ro" and whole_last_word("roa") is None
    assert whole_last_word("tag:esim") is None and whole_last_word("") is None
    said = empty_text("all", "ro")
    assert "3 letters or more also finds the words it begins, “ro” only itself" in said
    said = empty_text("flagged", "tag:esim roa")
    assert "among flagged threads (titles and posts are searched" in said


@pytest.mark.backends
def test_search_pages_list_the_newest_threads_first_and_agree_with_the_count(
    desk: Desk, cache: Cache
) -> None:
    ids = add_threads(cache, 250, "voicemail")
    flt = QueueFilter(text="voicemail", everything=True)
    assert desk.queue_count(flt) == 250
    seen: list[int] = []
    for offset in (0, 100, 200):
        seen += [i.thread_id for i in desk.queue(flt, offset=offset, limit=100)]
    assert seen == sorted(ids, reverse=True)  # every match once, newest first


@pytest.mark.backends
def test_mine_and_likely_duplicates_filters(desk: Desk, cache: Cache, ids: dict[str, int]) -> None:
    claims.claim(cache, ids["t2"], Desk.for_cache(cache, actor="alice").who, minutes=15)
    mine = QueueFilter(claimed_by="alice")
    assert [i.thread_id for i in desk.queue(mine)] == [ids["t2"]]
    assert desk.queue_count(mine) == 1
    assert desk.queue_count(QueueFilter(claimed_by="nobody")) == 0
    cache.conn.execute(
        "INSERT INTO duplicate_links (thread_id, original_id, score, method, decision, "
        "created_at) VALUES (?, ?, 0.95, 'test', 'pending', '2026-11-20T12:00:00Z')",
        (ids["t1"], ids["t2"]),
    )
    strong = QueueFilter(strong_duplicates=True)
    assert [i.thread_id for i in desk.queue(strong)] == [ids["t1"]]
    assert desk.queue_count(strong) == 1


@pytest.mark.backends
def test_keyset_pages_equal_offset_pages_both_ways(desk: Desk, cache: Cache) -> None:
    add_threads(cache, 250, "porting")  # many share an urgency: ties are ordered by id
    everything = [i.thread_id for i in desk.queue(limit=1000)]
    assert len(everything) > 250
    for flt in (QueueFilter(), QueueFilter(text="porting", everything=True)):
        pages = [[i.thread_id for i in desk.queue(flt, offset=o, limit=50)] for o in (0, 50, 100)]
        after = [i.thread_id for i in desk.queue(flt, offset=50, limit=50, after=pages[0][-1])]
        before = [i.thread_id for i in desk.queue(flt, offset=50, limit=50, before=pages[2][0])]
        assert after == pages[1] == before
        assert len(pages[1]) == 50


@pytest.mark.backends
def test_the_reader_works_on_a_read_only_connection_of_either_store(
    desk: Desk, cache: Cache
) -> None:
    """The console's counts, searches and previews (QueueReader) on a second connection: the
    cache file opened read-only, or a team database session whose transactions only read."""
    add_threads(cache, 30, "topup")
    reader = QueueReader(cache)
    try:
        flt = QueueFilter(text="topup", everything=True)
        assert reader.count(flt) == desk.queue_count(flt) == 30
        assert reader.count_at_most(QueueFilter(text="topup"), 400) == (30, True)
        assert reader.count_at_most(QueueFilter(text="topup"), 10) == (10, False)
        page = reader.page(flt, offset=0, limit=10)
        assert page is not None
        wanted = [i.thread_id for i in desk.queue(flt, limit=10)]
        assert [i.thread_id for i in page] == wanted
        shown = reader.previews(wanted[:3])
        assert [shown[t].title for t in wanted[:3]] == [desk.preview(t).title for t in wanted[:3]]
        with desk.cache.transaction() as conn:  # the Desk's connection is free meanwhile
            conn.execute("UPDATE threads SET flag_count = flag_count WHERE id = ?", (wanted[0],))
    finally:
        reader.close()
    reading = cache.read_only()
    try:
        with pytest.raises(Exception, match="read-only|readonly"):
            reading.conn.execute("UPDATE threads SET flag_count = 0")
    finally:
        reading.close()


@pytest.mark.backends
def test_a_read_nobody_needs_any_more_is_interrupted(cache: Cache) -> None:
    """`interrupt()` from another thread stops the statement running on the reading
    connection, and the reader's callers see it as interrupted (None), not as an error."""
    reading = cache.read_only()
    outcome: list[BaseException | None] = []

    def slow() -> None:
        try:
            reading.conn.execute(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                "WHERE x < 1000000000) SELECT count(*) FROM c"
            ).fetchone()
            outcome.append(None)
        except Exception as error:
            outcome.append(error)

    worker = threading.Thread(target=slow)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while worker.is_alive() and time.monotonic() < deadline:
            reading.interrupt()  # nothing happens until the statement runs
            worker.join(0.05)
        assert not worker.is_alive()
        (error,) = outcome
        assert error is not None and store._interrupted(error)
    finally:
        worker.join()
        reading.close()


@pytest.mark.backends
def test_a_search_is_counted_among_its_newest_matches_then_to_the_end(
    desk: Desk, cache: Cache
) -> None:
    """count_at_most: a common word is counted among its newest matches (a lower bound, said to
    be one); a rarer one exactly; the Queue's other terms still apply."""
    ids = add_threads(cache, 30, "eSIM")
    reader = QueueReader(cache)
    try:
        flt = QueueFilter(text="esim")
        every = reader.count(flt)
        assert every == desk.queue_count(flt) == 30
        assert reader.count_at_most(flt, 10) == (10, False)  # titles hold 30 matches
        assert reader.count_at_most(flt, 31) == (30, True)
        assert reader.count_at_most(QueueFilter(text="esi"), 31) == (30, True)  # as a prefix
        assert reader.count_at_most(QueueFilter(text="nowhere"), 10) == (0, True)
        flagged = QueueFilter(text="esim", flagged_only=True)  # flag_count = i % 3
        assert reader.count_at_most(flagged, 31) == (20, True) == (desk.queue_count(flagged), True)
        with cache.transaction() as conn:  # out of the Queue: not counted
            conn.execute("UPDATE threads SET in_queue = 0 WHERE id = ?", (ids[-1],))
        assert reader.count_at_most(flt, 31) == (29, True)
        assert reader.count_at_most(QueueFilter(), 5) == (desk.queue_count(), True)  # no search
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("flt", "order"),
    [
        (QueueFilter(text="roaming"), "t.id DESC"),
        (QueueFilter(claimed_by="alice"), "t.urgency DESC, t.id"),
        (QueueFilter(strong_duplicates=True), "t.urgency DESC, t.id"),
    ],
)
def test_a_page_of_a_few_ids_is_read_by_those_ids_not_the_queue_index(
    cache: Cache, flt: QueueFilter, order: str
) -> None:  # SQLite only: its query plans (PostgreSQL's planner chooses by statistics)
    """On the Queue's index SQLite walks every thread in the Queue to find a page of search
    results, or of the threads someone holds, or of those with a strong duplicate candidate
    (70-460 ms at a million threads); by the ids of those few it reads only them."""
    from console.dupes.thresholds import STRONG_SCORE
    from console.store import _count_sql, _named, _queue_select, _where

    add_threads(cache, 5, "roaming")
    where, params = _named(*_where(flt, 400))
    page = f"{_queue_select(cache.dialect)} WHERE {where} ORDER BY {order} LIMIT 100"
    reads = [(page, {**params, "strong": STRONG_SCORE})]
    if not flt.text:  # a search is counted among its newest matches (count_at_most)
        reads.append(_count_sql(flt))
    for sql, values in reads:
        plan = query_plan(cache.conn, sql, values)
        assert "threads_queue" not in plan, plan
        assert "SEARCH t USING INTEGER PRIMARY KEY" in plan


@pytest.mark.parametrize(
    "flt",
    [QueueFilter(), QueueFilter(flagged_only=True), QueueFilter(unanswered_only=True)],
    ids=["all", "flagged", "unanswered"],
)
def test_every_read_of_a_built_in_filter_follows_the_queue_index_in_its_order(
    cache: Cache, flt: QueueFilter
) -> None:  # SQLite only: its query plans (PostgreSQL's planner chooses by statistics)
    """What the console reads for `all`, `flagged` and `unanswered` (the start, `f`, clearing a
    search): the first page, the pages after and before a thread (keyset), the last screenful
    read from the far end, and the count. Every page walks the Queue's index in the Queue's
    order from where it starts (no sort of the whole Queue: the first rows of a million-thread
    Queue cost what they cost at a hundred) and the count is the kept one (no thread read)."""
    add_threads(cache, 60, "porting")
    statements: list[str] = []
    cache.conn.set_trace_callback(statements.append)
    try:
        total = store.queue_count(cache, flt)
        first = store.queue(cache, flt, limit=10)
        store.queue(cache, flt, offset=10, limit=10, after=first[-1].thread_id)
        store.queue(cache, flt, offset=0, limit=5, before=first[5].thread_id)
        last = store.queue(cache, flt, offset=total - 5, limit=5, total=total)
    finally:
        cache.conn.set_trace_callback(None)
    assert total > 20 and len(first) == 10 and len(last) == 5  # the test's data
    pages = [s for s in statements if "FROM threads t" in s]
    assert len(pages) == 4, statements
    for sql in pages:
        plan = query_plan(cache.conn, sql)
        assert plan.startswith("SEARCH t USING INDEX threads_queue (in_queue=?"), plan
        assert "TEMP B-TREE" not in plan and "SCAN" not in plan, plan
    (count,) = [s for s in statements if "queue_counts" in s]
    assert "threads" not in count
    assert statements.count(count) == 1


@pytest.mark.backends
def test_a_filter_without_a_kept_count_is_counted_only_up_to_a_bound(
    desk: Desk, cache: Cache
) -> None:
    """A saved view or a filter typed on the search line (here `tag:` and `source:`): its count
    stops after `at_most` rows ("n+" on the screen, as a search's), where counting it all walks
    the whole Queue (seconds at a million threads); fewer rows than that are counted exactly."""
    add_threads(cache, 30, "porting")
    reader = QueueReader(cache)
    try:
        for flt in (QueueFilter(source="forum"), QueueFilter(status="open", flagged_only=True)):
            every = desk.queue_count(flt)
            assert every >= 20  # the test's data
            assert reader.count(flt) == every
            assert reader.count_at_most(flt, 10) == (10, False)
            assert reader.count_at_most(flt, every) == (every, True)
            assert reader.count_at_most(flt, every - 1) == (every - 1, False)
        nothing = QueueFilter(tag="no-such-tag")
        assert reader.count_at_most(nothing, 10) == (0, True)
        kept = QueueFilter(flagged_only=True)  # the cache keeps it: always exact
        assert reader.count_at_most(kept, 2) == (desk.queue_count(kept), True)
    finally:
        reader.close()


def _age_filter_pages(desk: Desk, flt: QueueFilter) -> list[list[int]]:
    """Every way the console reads `flt`: the first page, the pages after and before a thread
    (keyset), the last screenful from the far end; as ids."""
    total = desk.queue_count(flt)
    first = desk.queue(flt, limit=10)
    after = desk.queue(flt, offset=10, limit=10, after=first[-1].thread_id)
    before = desk.queue(flt, offset=0, limit=5, before=after[0].thread_id)
    last = desk.queue(flt, offset=total - 7, limit=10, total=total)
    return [[i.thread_id for i in page] for page in (first, after, before, last)]


DAY = 24 * 60


@pytest.mark.backends
@pytest.mark.parametrize(
    ("newer", "older"), [(3 * DAY, None), (None, 15 * DAY), (8 * DAY, 5 * DAY)], ids=str
)
def test_an_age_filter_read_by_created_time_keeps_the_queue_order_and_its_pages(
    desk: Desk,
    cache: Cache,
    monkeypatch: pytest.MonkeyPatch,
    newer: int | None,
    older: int | None,
) -> None:
    """`age<3d`, `age>15d` and `age>5d age<8d` leave a few threads: on SQLite they are read from
    the threads_created index and put in the Queue's order; pages (first, after, before, the
    far end) and counts are the same ids in the same order as the filter applied to the whole
    Queue in Python, and as read the slow way (the Queue's index walked to its end)."""
    add_threads(cache, 190, "porting")  # created on 1-19 Nov; now is 20 Nov
    with cache.transaction() as conn:  # few urgencies: ties are ordered by id
        conn.execute("UPDATE threads SET urgency = id % 4")
    flt = QueueFilter(newer_than_minutes=newer, older_than_minutes=older)
    assert store.few_created(cache, flt) == cache.dialect.is_sqlite
    since = store._minutes_ago(newer) if newer else ""
    before = store._minutes_ago(older) if older else "9999"
    every = desk.queue(limit=1000)
    wanted = [i.thread_id for i in every if since < i.created_at <= before]
    assert 20 < len(wanted) < len(every) // 2  # the test's data
    pages = _age_filter_pages(desk, flt)
    assert pages == [wanted[:10], wanted[10:20], wanted[5:10], wanted[-7:]]
    assert desk.queue_count(flt) == len(wanted)
    reader = QueueReader(cache)
    try:
        assert reader.count_at_most(flt, 10) == (10, False)
        assert reader.count_at_most(flt, 400) == (len(wanted), True)
    finally:
        reader.close()
    monkeypatch.setattr(store, "AGE_DRIVEN_AT_MOST", -1)  # the slow way: never by created time
    monkeypatch.setattr(store, "OLDER_DRIVEN_AT_MOST", -1)
    assert not store.few_created(cache, flt)
    assert _age_filter_pages(desk, flt) == pages
    assert desk.queue_count(flt) == len(wanted)
    reader = QueueReader(cache)  # (an age< bound's count stops early by created time anyway)
    try:
        assert reader.count_at_most(flt, 10) == (10, False)
        assert reader.count_at_most(flt, 400) == (len(wanted), True)
    finally:
        reader.close()


def test_an_age_filter_with_few_threads_is_read_by_created_time_not_the_queue_index(
    desk: Desk, cache: Cache
) -> None:  # SQLite only: its query plans (PostgreSQL's planner chooses by statistics)
    """The newest threads are the least urgent: on the Queue's index an `age<` filter's first
    page and count walked the whole Queue (0.8-1.1 s at a million threads for `age<1d`), as
    an `age>` did when few threads were older. Every read of one that leaves few threads
    (first page, after, before, far end, count, with a source; age<, age>, both) starts from
    the threads_created index, sorts only those threads' ids, and reads the page's rows by
    id."""
    add_threads(cache, 190, "porting")
    statements: list[str] = []
    reads: list[tuple[str, dict[str, object]]] = []
    for flt in (
        QueueFilter(newer_than_minutes=3 * 24 * 60),
        QueueFilter(newer_than_minutes=3 * 24 * 60, source="forum", flagged_only=True),
        QueueFilter(older_than_minutes=15 * 24 * 60),
        QueueFilter(newer_than_minutes=8 * 24 * 60, older_than_minutes=5 * 24 * 60),
    ):
        cache.conn.set_trace_callback(statements.append)
        try:
            _age_filter_pages(desk, flt)
        finally:
            cache.conn.set_trace_callback(None)
        reads.append(store._bounded_count_sql(flt, 400, cache=cache))  # the reader's count
    pages = [s for s in statements if "FROM threads t" in s]
    assert len(pages) == 20, statements  # a count and 4 pages, for each
    for sql, values in [(page, {}) for page in pages] + reads:
        plan = query_plan(cache.conn, sql, values)
        assert "USING INDEX threads_created (created_at" in plan, plan
        assert "threads_queue" not in plan and "SCAN t" not in plan, plan


def test_an_age_filter_with_many_threads_is_counted_to_its_bound_by_created_time(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:  # SQLite only: its query plans (PostgreSQL's planner chooses by statistics)
    """An `age<` bound leaving more than AGE_DRIVEN_AT_MOST threads: its pages walk the Queue's
    index (its order), but the count that stops after a few hundred rows needs no order and
    reads them from the bound on by created time (`age<30d` at a million threads: 452-707 ms
    -> 0.3 ms); an `age>` bound alone keeps the Queue's index (its threads are found first)."""
    add_threads(cache, 60, "porting")
    monkeypatch.setattr(store, "AGE_DRIVEN_AT_MOST", 5)
    monkeypatch.setattr(store, "OLDER_DRIVEN_AT_MOST", 5)
    many = QueueFilter(newer_than_minutes=10 * 24 * 60, flagged_only=True)
    assert not store.few_created(cache, many)
    count = query_plan(cache.conn, *store._bounded_count_sql(many, 400, cache=cache))
    assert "SEARCH t USING INDEX threads_created (created_at>?)" in count, count
    assert "threads_queue" not in count, count
    statements: list[str] = []
    cache.conn.set_trace_callback(statements.append)
    try:
        store.queue(cache, many, limit=10)
    finally:
        cache.conn.set_trace_callback(None)
    (page,) = [s for s in statements if "FROM threads t" in s]
    assert "SEARCH t USING INDEX threads_queue" in query_plan(cache.conn, page)
    older = QueueFilter(older_than_minutes=2 * 24 * 60)
    count = query_plan(cache.conn, *store._bounded_count_sql(older, 400, cache=cache))
    assert "threads_queue" in count and "threads_created" not in count, count
