"""The Audit panel's domain read (console.audit_pages) on both engines: newest first, pages
read from the row above or below or from either end agree with one full read, filters (a
person, an action, a target), and the chain's check names a tampered entry."""

from __future__ import annotations

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
