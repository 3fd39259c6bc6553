"""The `tag:` filter read through thread_tags (migration 38): the table holds every thread's
tags as its triggers keep them on both engines, and the filter shows the same threads in the
same order, page by page, counted the same, however it is read (from a tag's threads or on the
Queue's index), as the filter applied to the whole Queue in Python."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from console import sources, store
from console.db import Cache, open_cache
from console.desk import Desk
from console.ingest import ensure_source, upsert_threads
from console.migrations import LATEST_VERSION, MIGRATIONS
from console.models import PostRecord, ThreadRecord
from console.store import QueueFilter, QueueReader
from console.team import dialect
from tests.domain.conftest import older_cache_file
from tests.plans import query_plan

NUMBER = next(
    index + 1
    for index, statements in enumerate(MIGRATIONS)
    if any("EXISTS thread_tags (" in statement for statement in statements)
)

# as written by the sources: case and spaces kept, a comma is part of a tag
POOL = ("sim", "SIM", "esim", "pay as you go", "café", "a,b", "rare")
WEIGHTS = (40, 10, 25, 15, 10, 5, 1)


def tagged(rng: random.Random) -> tuple[str, ...]:
    tags = rng.choices(POOL, WEIGHTS, k=rng.randint(0, 3))
    return tuple(tags)  # a tag twice in one list stays one row


def records(rng: random.Random, count: int, prefix: str = "g") -> list[ThreadRecord]:
    return [
        ThreadRecord(
            f"{prefix}{i}",
            f"Question {i}",
            "u1",
            rng.choice(("open", "open", "answered", "solved")),
            f"2026-11-{1 + i % 19:02d}T12:00:00Z",
            f"2026-11-{1 + i % 19:02d}T12:00:00Z",
            flag_count=rng.choice((0, 0, 1)),
            tags=tagged(rng),
        )
        for i in range(count)
    ]


def add(cache: Cache, threads: list[ThreadRecord], source: str = "forum") -> dict[str, int]:
    source_id = ensure_source(cache, "discourse", source, f"https://{source}.example")
    posts = [
        PostRecord(f"{t.remote_id}.0", t.remote_id, "u1", 0, "Body", "Body", t.created_at)
        for t in threads
    ]
    return upsert_threads(cache, source_id, threads, posts)


def rows(cache: Cache) -> set[tuple[str, int]]:
    return {(str(r[0]), int(r[1])) for r in cache.query("SELECT tag, thread_id FROM thread_tags")}


def expected(cache: Cache) -> set[tuple[str, int]]:
    """Every thread's tags the slow way: its JSON list read in Python."""
    return {
        (tag, int(r[0]))
        for r in cache.query("SELECT id, tags FROM threads")
        for tag in json.loads(r[1])
    }


@pytest.mark.backends
def test_the_triggers_keep_every_threads_tags(cache: Cache) -> None:
    """New threads, an upsert that changes tags (and one that leaves them), a thread whose
    tags are all removed, threads deleted with their source: the table is the tags after each."""
    rng = random.Random(38)
    before = rows(cache)
    assert before == expected(cache)
    ids = add(cache, records(rng, 40), "other")
    assert rows(cache) == expected(cache) and len(rows(cache)) > len(before) + 20
    changed = records(rng, 40)  # the same remote ids, other tags
    changed[0] = replace(changed[0], tags=("sim", "sim", "new tag"))
    changed[1] = replace(changed[1], tags=())
    add(cache, changed, "other")
    assert rows(cache) == expected(cache)
    assert {t for t, i in rows(cache) if i == ids["g0"]} == {"sim", "new tag"}
    assert not {t for t, i in rows(cache) if i == ids["g1"]}
    with cache.transaction() as tx:  # the source goes, and its threads with it (cascade)
        sources.remove(tx, "other")
    assert rows(cache) == before == expected(cache)


@pytest.mark.backends
def test_the_migration_fills_the_table_from_every_thread_on_either_engine(cache: Cache) -> None:
    """The migration's own statement that fills thread_tags (the cache's, or the team
    database's rendering of it), run on threads whose tags the table does not hold yet."""
    add(cache, records(random.Random(5), 30))
    held = rows(cache)
    assert len(held) > 20 and held == expected(cache)
    if cache.dialect.is_sqlite:
        (fill,) = [s for s in MIGRATIONS[NUMBER - 1] if "INSERT" in s and "FROM threads" in s]
    else:
        (fill,) = [s for s in dialect.migration(NUMBER) if s.startswith("INSERT")]
    with cache.transaction() as tx:
        tx.execute("DELETE FROM thread_tags")
        tx.execute(fill)
    assert rows(cache) == held


def _pages(desk: Desk, flt: QueueFilter) -> list[list[int]]:
    """Every way the console reads `flt`: first page, after and before a thread (keyset), the
    last screenful from the far end; as ids."""
    total = desk.queue_count(flt)
    first = desk.queue(flt, limit=6)
    if not first:
        return [[], [], [], []]
    after = desk.queue(flt, offset=6, limit=6, after=first[-1].thread_id)
    before = desk.queue(flt, offset=0, limit=3, before=first[-1].thread_id)
    last = desk.queue(flt, offset=max(0, total - 4), limit=6, total=total)
    return [[i.thread_id for i in page] for page in (first, after, before, last)]


@pytest.mark.backends
def test_the_filter_shows_what_the_tags_say_however_it_is_read(
    desk: Desk, cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random tags on 120 threads; for each tag (and one no thread has), alone and with other
    terms: the pages and counts equal the Queue filtered by the threads' JSON tags in Python,
    read from the tag's threads and walked on the Queue's index alike."""
    rng = random.Random(16)
    add(cache, records(rng, 120))
    with cache.transaction() as conn:  # few urgencies: ties are ordered by id
        conn.execute("UPDATE threads SET urgency = id % 5")
    tags = {int(r[0]): set(json.loads(r[1])) for r in cache.query("SELECT id, tags FROM threads")}
    reader = QueueReader(cache)
    try:
        for others in (
            QueueFilter(),
            QueueFilter(status="answered"),
            QueueFilter(flagged_only=True, source="forum"),
            QueueFilter(newer_than_minutes=6 * 24 * 60),
            QueueFilter(status="solved", everything=True),
            QueueFilter(text="question"),  # a search: its newest matches, the tag looked up
        ):
            every = [i.thread_id for i in desk.queue(others, limit=1000)]
            for tag in (*POOL, "Sim", "absent"):
                flt = replace(others, tag=tag)
                wanted = [i for i in every if tag in tags[i]]
                if tag == "esim" and others == QueueFilter():
                    assert len(wanted) > 20  # the test's data
                seen = []
                for most in (-1, 10_000):  # walked on the Queue's index; read from its threads
                    for name in ("TAG_PAGE_AT_MOST", "TAG_COUNT_AT_MOST", "TAG_COUNT_ALL_AT_MOST"):
                        monkeypatch.setattr(store, name, most)
                    assert store.few_tagged(cache, flt, most) == (
                        most > 0 and cache.dialect.is_sqlite and not flt.text
                    )
                    assert desk.queue_count(flt) == len(wanted), (tag, others)
                    if not others.text:  # (a search's is counted among its newest matches)
                        assert reader.count_at_most(flt, 5) == (
                            (5, False) if len(wanted) > 5 else (len(wanted), True)
                        )
                    pages = _pages(desk, flt)
                    if wanted:
                        last = wanted.index(pages[0][-1])
                        assert pages == [
                            wanted[:6],
                            wanted[6:12],
                            wanted[max(0, last - 3) : last],
                            wanted[max(0, len(wanted) - 4) :],
                        ], (tag, others)
                    else:
                        assert pages == [[], [], [], []]
                    seen.append(pages)
                assert seen[0] == seen[1]
    finally:
        reader.close()


def test_a_rare_tag_is_read_from_its_threads_a_common_one_on_the_queue_index(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:  # SQLite only: its query plans (PostgreSQL's planner chooses by statistics)
    """A tag few threads have: every read (pages, the bounded count, the count to the end)
    starts from the tag's range of thread_tags and sorts only those threads' ids, never walking
    the Queue's index (a tag no thread has walked all of it: 1.5 s at a million threads). A
    tag many threads have: its pages walk the Queue's index in its order (no sort), each
    thread's tag looked up by thread_tags' primary key."""
    rng = random.Random(7)
    add(cache, records(rng, 60))
    monkeypatch.setattr(store, "TAG_PAGE_AT_MOST", 3)
    monkeypatch.setattr(store, "TAG_COUNT_AT_MOST", 3)
    monkeypatch.setattr(store, "TAG_COUNT_ALL_AT_MOST", 3)
    few = {t for t, i in rows(cache)}
    counts = {t: sum(1 for g, _ in rows(cache) if g == t) for t in few}
    rare = next(t for t, n in counts.items() if 0 < n <= 3)
    common = next(t for t, n in counts.items() if n > 10)
    for tag, read_by_tag in ((rare, True), ("absent", True), (common, False)):
        for flt in (QueueFilter(tag=tag), QueueFilter(tag=tag, source="forum", status="open")):
            statements: list[str] = []
            cache.conn.set_trace_callback(statements.append)
            try:
                first = store.queue(cache, flt, limit=2)
                if first:
                    store.queue(cache, flt, offset=2, limit=2, after=first[-1].thread_id)
                store.queue_count(cache, flt)
            finally:
                cache.conn.set_trace_callback(None)
            reads = [s for s in statements if "FROM threads t" in s]
            reads.append(store._bounded_count_sql(flt, 400, cache=cache)[0])
            params = store._bounded_count_sql(flt, 400, cache=cache)[1]
            assert len(reads) >= 3, statements
            for sql in reads:
                plan = query_plan(cache.conn, sql, params if ":at_most" in sql else {})
                if read_by_tag:
                    assert "SEARCH g USING PRIMARY KEY (tag=?)" in plan, plan
                    assert "threads_queue" not in plan and "SCAN t" not in plan, plan
                else:
                    assert "SEARCH g USING PRIMARY KEY (tag=? AND thread_id=?)" in plan, plan
                    if "count(*)" not in sql:  # (a count reads as the same filter without
                        # the tag does: the Queue's index, or a source's threads)
                        assert "SEARCH t USING INDEX threads_queue (in_queue=?" in plan, plan
                    assert "TEMP B-TREE" not in plan and "SCAN t" not in plan, plan


def test_the_migration_fills_the_table_from_the_threads_a_cache_holds(tmp_path: Path) -> None:
    # SQLite only: the cache file at the version before (the team database fills it alike)
    path = tmp_path / "old.sqlite3"
    kept = ['["sim", "esim"]', '["sim", "sim"]', "[]", '["pay as you go", "caf\\u00e9"]']
    odd = ["not json", '"bare"', '{"a": "b"}', '[1, ["x"], "y"]']  # no list of texts: no tags
    older_cache_file(path, NUMBER - 1, ["tags"], [(tags,) for tags in kept + odd])
    cache = open_cache(path)  # migrates to the latest version
    try:
        assert cache.one("PRAGMA user_version")[0] == LATEST_VERSION
        assert rows(cache) == {
            ("sim", 1),
            ("esim", 1),
            ("sim", 2),
            ("pay as you go", 4),
            ("café", 4),
            ("y", 8),
        }
        with cache.transaction() as tx:  # written alike by the triggers, and never refused
            tx.execute("UPDATE threads SET tags = '[\"z\"]' WHERE id = 5")
            tx.execute("UPDATE threads SET tags = 'still not json' WHERE id = 1")
            tx.execute("DELETE FROM threads WHERE id IN (2, 6)")
        assert rows(cache) == {("pay as you go", 4), ("café", 4), ("y", 8), ("z", 5)}
    finally:
        cache.close()
