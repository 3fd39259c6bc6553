"""The Audit panel's domain read (console.audit_pages) on both engines: newest first, pages
read from the row above or below or from either end agree with one full read, filters (a
person, an action, a target), and the chain's check names a tampered entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from console import audit_pages
from console.audit_pages import AuditFilter, FilterError, parse_filter
from console.db import Cache
from console.desk import Desk
from tests.backends import tamper


def history(desk: Desk, ids: dict[str, int]) -> list[int]:
    """Eleven entries, alice's and dave's, about three threads; their ids, oldest first."""
    dave = Desk.for_cache(desk.cache, actor="dave")
    for n in range(4):
        desk.add_note(ids["t2"], f"alice's note {n}")
        dave.add_note(ids["t4"], f"dave's note {n}")
    desk.close([ids["t1"]])
    dave.close([ids["t5"]])
    desk.reopen([ids["t1"]])
    return [int(r[0]) for r in desk.cache.query("SELECT id FROM audit ORDER BY id")]


@pytest.mark.backends
def test_pages_newest_first_from_any_anchor_agree(desk: Desk, ids: dict[str, int]) -> None:
    every = history(desk, ids)[::-1]
    cache = desk.cache
    assert [e.id for e in audit_pages.page(cache, limit=100)] == every
    total = audit_pages.count(cache)
    assert total == len(every) and audit_pages.newest(cache) == every[0]
    pages = [audit_pages.page(cache, offset=o, limit=4) for o in range(0, total, 4)]
    assert [e.id for page in pages for e in page] == every
    # keyset: after the row just above, before the row just below, from the oldest end
    assert [e.id for e in audit_pages.page(cache, offset=4, limit=4, after=every[3])] == every[4:8]
    assert [e.id for e in audit_pages.page(cache, offset=4, limit=4, before=every[8])] == every[4:8]
    far = audit_pages.page(cache, offset=8, limit=4, total=total)
    assert [e.id for e in far] == every[8:]


@pytest.mark.backends
def test_filters_by_person_action_and_target(desk: Desk, ids: dict[str, int]) -> None:
    history(desk, ids)
    cache = desk.cache

    def listed(wanted: AuditFilter) -> list[tuple[str, str, str]]:
        found = audit_pages.page(cache, wanted, limit=100)
        assert audit_pages.count(cache, wanted) == len(found)
        return [(e.actor, e.action, e.target) for e in found]

    mine = listed(parse_filter("mine", "dave"))
    assert (
        mine
        == [("dave", "close", f"thread {ids['t5']}")]
        + [("dave", "note", f"thread {ids['t4']}")] * 4
    )
    closes = listed(parse_filter("action:close", "alice"))
    assert [a for a, _, _ in closes] == ["dave", "alice"]
    about_t1 = listed(parse_filter(f"#{ids['t1']}", "alice"))
    assert [action for _, action, _ in about_t1] == ["reopen", "close"]
    both = listed(parse_filter(f"who:alice thread:{ids['t2']} action:note", "x"))
    assert len(both) == 4 and {t for _, _, t in both} == {f"thread {ids['t2']}"}
    keyset = audit_pages.page(cache, parse_filter("mine", "dave"), limit=2, after=10**9)
    assert [e.action for e in keyset] == ["close", "note"]


@pytest.mark.backends
def test_an_entry_in_full(desk: Desk, ids: dict[str, int]) -> None:
    desk.close([ids["t1"]])
    entry = audit_pages.one(desk.cache, audit_pages.newest(desk.cache))
    assert entry is not None and entry.thread_id == ids["t1"]
    assert entry.detail["before"] == {"status": "open"}
    assert entry.summary == "status: open → closed"
    assert len(entry.hash) == 64 and len(entry.prev_hash) == 64
    assert audit_pages.one(desk.cache, 10**9) is None


@pytest.mark.backends
def test_the_check_names_a_tampered_entry(
    desk: Desk, cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest
) -> None:
    entries = history(desk, ids)
    intact = audit_pages.check(cache)
    assert intact.intact and intact.newest == entries[-1] and intact.entries == len(entries)
    assert intact.text() == f"chain intact through entry {entries[-1]}"
    third = entries[2]
    tamper(cache, request, "UPDATE audit SET actor = 'mallory' WHERE id = ?", (third,))
    broken = audit_pages.check(cache)
    assert broken.first_break is not None and broken.first_break.audit_id == third
    assert broken.text().startswith(f"CHAIN BROKEN at entry {third}: row edited")
    assert broken.problems == tuple(desk.verify_audit())  # what `audit verify` finds


@pytest.mark.backends
def test_a_check_resumes_after_an_intact_one_and_the_whole_check_still_finds_old_edits(
    desk: Desk, cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest
) -> None:
    entries = history(desk, ids)
    first = audit_pages.check(cache)
    assert first.intact and not first.resumed and first.newest == entries[-1]
    assert first.newest_hash == cache.one("SELECT hash FROM audit WHERE id = ?", (entries[-1],))[0]
    desk.add_note(ids["t2"], "one more")
    desk.add_note(ids["t2"], "and another")
    grown = audit_pages.check(cache, first)
    assert audit_pages.resume(cache, first) == grown  # what the panel's list read checks
    newest = entries[-1] + 2
    assert grown.intact and grown.newest == newest and grown.entries == len(entries) + 2
    assert grown.checked_from == entries[-1] + 1  # only the two new entries were read
    assert grown.text() == (
        f"chain intact through entry {newest} (checked {entries[-1] + 1}–{newest} now, "
        f"1–{entries[-1]} earlier; r checks it all)"
    )
    assert grown == audit_pages.check(cache, first)  # the same check again reads the same
    whole = audit_pages.check(cache)
    assert (whole.intact, whole.newest, whole.newest_hash) == (True, newest, grown.newest_hash)

    # an old entry edited in place (the chain after it left alone): a resumed check does not
    # read it; the whole check (the panel's r) and `audit verify` name it
    tamper(cache, request, "UPDATE audit SET actor = 'mallory' WHERE id = ?", (entries[2],))
    desk.add_note(ids["t2"], "a third")
    assert audit_pages.check(cache, grown).intact
    full = audit_pages.check(cache)
    assert full.first_break is not None and full.first_break.audit_id == entries[2]
    assert full.problems == tuple(desk.verify_audit())
    # a resumed check reads the new entries by the same rules: one edited there is named
    tamper(cache, request, "UPDATE audit SET detail = '{}' WHERE id = ?", (newest + 1,))
    later = audit_pages.check(cache, grown)
    assert later.resumed and [p.audit_id for p in later.problems] == [newest + 1]


@pytest.mark.backends
def test_a_rewritten_chain_is_checked_whole_not_resumed(
    desk: Desk, cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest
) -> None:
    """The kept entry's hash changed (someone recomputed the chain through it): the check does
    not trust what it had read, and reads every entry again."""
    entries = history(desk, ids)
    first = audit_pages.check(cache)
    tamper(cache, request, "UPDATE audit SET hash = ? WHERE id = ?", ("f" * 64, entries[-1]))
    assert audit_pages.resume(cache, first) is None  # only the whole check can say
    again = audit_pages.check(cache, first)
    assert not again.resumed and not again.intact
    assert again.problems == tuple(desk.verify_audit())
    tamper(cache, request, "DELETE FROM audit WHERE id = ?", (entries[-1],))
    assert audit_pages.resume(cache, first) is None
    cut = audit_pages.check(cache, first)
    assert not cut.resumed and "deleted from the end" in cut.text()


def statements(
    cache: Cache, monkeypatch: pytest.MonkeyPatch, read: Callable[[], object]
) -> list[tuple[str, tuple[object, ...]]]:
    """The statements (and their parameters) `read` runs on `cache`."""
    asked: list[tuple[str, tuple[object, ...]]] = []
    with monkeypatch.context() as patch:
        for name in ("query", "one"):
            real = getattr(cache, name)

            def recorded(sql: str, params: Any = (), real: Any = real) -> Any:
                asked.append((sql, tuple(params)))
                return real(sql, params)

            patch.setattr(cache, name, recorded)
        read()
    return asked


def plan(cache: Cache, sql: str, params: tuple[object, ...]) -> str:
    """How the store would run `sql`: SQLite's query plan; on the team database the planner's,
    told to avoid a table scan (for a log of a few rows one is cheaper than any index)."""
    if cache.dialect.is_sqlite:
        return " | ".join(str(r[3]) for r in cache.query(f"EXPLAIN QUERY PLAN {sql}", params))
    with cache.transaction() as conn:
        conn.execute("SET LOCAL enable_seqscan = off")
        return " | ".join(str(r[0]) for r in cache.query(f"EXPLAIN {sql}", params))


@pytest.mark.backends
@pytest.mark.parametrize(
    ("wanted", "index", "matching"),
    [
        (AuditFilter(actor="dave"), "audit_actor", 5),
        (AuditFilter(action="note"), "audit_action", 8),
    ],
    ids=["person", "action"],
)
def test_filtered_pages_and_counts_read_the_person_and_action_indexes(
    desk: Desk,
    cache: Cache,
    ids: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    wanted: AuditFilter,
    index: str,
    matching: int,
) -> None:
    """Migration 34: the count of one person's or one action's entries, and a page of them
    from the top, after a row, before a row and from the oldest end, read audit_actor or
    audit_action in id order (no sort), not the whole log."""
    history(desk, ids)

    def every_read() -> None:
        assert audit_pages.count(cache, wanted) == matching
        assert len(audit_pages.page(cache, wanted, limit=2)) == 2
        second = audit_pages.page(cache, wanted, offset=2, limit=2, after=10**9)
        audit_pages.page(cache, wanted, offset=2, limit=2, before=second[-1].id)
        assert audit_pages.page(cache, wanted, offset=matching - 1, limit=2, total=matching)

    asked = statements(cache, monkeypatch, every_read)
    assert len(asked) == 5
    for sql, params in asked:
        how = plan(cache, sql, params)
        assert index in how, (sql, how)
        assert "TEMP B-TREE" not in how and "Sort" not in how, (sql, how)  # read in id order


def test_filter_words() -> None:
    assert parse_filter("", "alice") == AuditFilter()
    assert parse_filter("mine Action:Close 12", "alice") == AuditFilter(
        "alice", "close", "thread", 12
    )
    assert parse_filter("post:7 by:dave", "alice") == AuditFilter("dave", None, "post", 7)
    assert parse_filter("kind:source", "a") == AuditFilter(target_kind="source")
    assert parse_filter("kind:source", "a").describe("a") == "kind:source"
    assert (
        AuditFilter("alice", "close", "thread", 3).describe("alice") == "mine action:close thread:3"
    )
    with pytest.raises(FilterError, match="'bogus' is not a filter"):
        parse_filter("mine bogus", "alice")
