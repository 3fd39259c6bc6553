"""Decisions: one transaction each with audit entry and outbox item; batches; undo."""

from __future__ import annotations

import json

import pytest

from console.db import Cache
from console.desk import Desk
from console.errors import InvalidDecision, NothingToUndo, PermissionRefused
from console.store import QueueFilter


def counts(cache: Cache) -> tuple[int, int, int]:
    return (
        cache.one("SELECT count(*) FROM audit")[0],
        cache.one("SELECT count(*) FROM outbox")[0],
        cache.one("SELECT count(*) FROM batches")[0],
    )


def status(cache: Cache, thread_id: int) -> str:
    return cache.one("SELECT status FROM threads WHERE id = ?", (thread_id,))[0]


@pytest.mark.backends
def test_close_writes_state_audit_and_outbox_together(
    desk: Desk, cache: Cache, ids: dict[str, int]
) -> None:
    result = desk.close([ids["t1"]], reason="resolved elsewhere")
    assert status(cache, ids["t1"]) == "closed"
    entry = cache.one("SELECT * FROM audit ORDER BY id DESC LIMIT 1")
    assert (entry["actor"], entry["action"], entry["target_id"]) == ("alice", "close", ids["t1"])
    assert json.loads(entry["detail"])["before"] == {"status": "open"}
    item = cache.one("SELECT * FROM outbox WHERE id = ?", (result.outbox_ids[0],))
    assert item["action"] == "close" and item["state"] == "pending"
    assert item["audit_id"] == entry["id"]
    assert json.loads(item["payload"]) == {"thread_id": ids["t1"], "reason": "resolved elsewhere"}
    assert ids["t1"] not in [i.thread_id for i in desk.queue()]


@pytest.mark.backends
def test_failed_batch_writes_nothing(desk: Desk, cache: Cache, ids: dict[str, int]) -> None:
    desk.close([ids["t4"]])  # solved -> closed
    before = counts(cache)
    with pytest.raises(InvalidDecision, match="already closed"):
        desk.close([ids["t1"], ids["t4"]])
    assert counts(cache) == before
    assert status(cache, ids["t1"]) == "open"


@pytest.mark.backends
def test_batch_and_undo_of_the_whole_batch(desk: Desk, cache: Cache, ids: dict[str, int]) -> None:
    by_bob = desk.threads_by_same_author(ids["t1"])
    assert set(by_bob) == {ids["t1"], ids["t2"], ids["t5"]}
    result = desk.close(by_bob)
    assert result.count == 3 and len(result.outbox_ids) == 3
    assert {status(cache, t) for t in by_bob} == {"closed"}
    assert cache.one("SELECT count(DISTINCT batch_id) FROM audit")[0] == 1

    undo = desk.undo()
    assert undo.count == 3
    assert status(cache, ids["t2"]) == "answered"
    assert status(cache, ids["t1"]) == "open"
    # never pushed, so the original items are cancelled rather than reversed on the platform
    states = [r[0] for r in cache.query("SELECT state FROM outbox ORDER BY id")]
    assert states == ["cancelled"] * 3
    assert [r[0] for r in cache.query("SELECT action FROM audit ORDER BY id")][-3:] == [
        "undo_close"
    ] * 3
    with pytest.raises(NothingToUndo):
        desk.undo()


@pytest.mark.backends
def test_undo_after_push_queues_the_reverse_action(
    desk: Desk, cache: Cache, ids: dict[str, int]
) -> None:
    result = desk.close([ids["t1"]])
    # sent: leased (one more attempt), then applied (the team database allows only these steps)
    for step in ("state = 'sending', attempts = 1", "state = 'applied'"):
        cache.conn.execute(f"UPDATE outbox SET {step} WHERE id = ?", (result.outbox_ids[0],))
    undo = desk.undo()
    item = cache.one("SELECT action, state, payload FROM outbox WHERE id = ?", undo.outbox_ids)
    assert (item["action"], item["state"]) == ("reopen", "pending")
    assert json.loads(item["payload"]) == {"thread_id": ids["t1"]}


@pytest.mark.backends
def test_undo_refuses_to_overwrite_a_later_change(
    desk: Desk, cache: Cache, ids: dict[str, int]
) -> None:
    desk.close([ids["t1"]])
    cache.conn.execute("UPDATE threads SET status = 'solved' WHERE id = ?", (ids["t1"],))
    before = counts(cache)
    with pytest.raises(InvalidDecision, match="changed since"):
        desk.undo()
    assert counts(cache) == before


@pytest.mark.backends
def test_hide_post_and_undo(desk: Desk, cache: Cache, ids: dict[str, int]) -> None:
    post = desk.thread(ids["t3"]).posts[0]
    desk.hide_posts([post.post_id])
    assert desk.thread(ids["t3"]).posts[0].hidden
    desk.undo()
    view = desk.thread(ids["t3"]).posts[0]
    assert not view.hidden and view.hidden_reason is None


@pytest.mark.backends
def test_internal_note_is_local_only(desk: Desk, cache: Cache, ids: dict[str, int]) -> None:
    result = desk.add_note(ids["t2"], "called the customer")
    assert [n.body for n in desk.thread(ids["t2"]).notes] == ["called the customer"]
    item = cache.one("SELECT state, last_error FROM outbox WHERE id = ?", result.outbox_ids)
    assert item["state"] == "local_only" and "never sent" in item["last_error"]
    desk.undo()
    assert desk.thread(ids["t2"]).notes == []


@pytest.mark.backends
def test_undo_takes_back_only_your_own_decisions(
    desk: Desk, cache: Cache, ids: dict[str, int]
) -> None:
    desk.close([ids["t1"]])
    dave = Desk.for_cache(cache, actor="dave")
    with pytest.raises(NothingToUndo, match="dave has no decision"):
        dave.undo()


@pytest.mark.backends
def test_role_refusal_writes_nothing(cache: Cache, ids: dict[str, int]) -> None:
    erin = Desk.for_cache(cache, actor="erin")  # payout preparer only
    before = counts(cache)
    with pytest.raises(PermissionRefused, match="erin may not close.*moderator"):
        erin.close([ids["t1"]])
    with pytest.raises(PermissionRefused):
        erin.claim(ids["t1"])
    nobody = Desk.for_cache(cache, actor="mallory")
    with pytest.raises(PermissionRefused, match="you have: none"):
        nobody.add_note(ids["t1"], "hi")
    assert counts(cache) == before
    assert not erin.can("close") and erin.can("payout_prepare")


def test_demo_cache_gives_every_role_and_says_so(cache: Cache, ids: dict[str, int]) -> None:
    # SQLite only: a demo cache file; on a team database every role is the server's grant
    with cache.transaction():
        cache.set_meta("demo", "1")
    desk = Desk.for_cache(cache, actor="someone")
    assert desk.can("close") and desk.can("payout_approve")
    assert "every role" in desk.role_notice


@pytest.mark.backends
def test_stack_exchange_decisions_stay_local_with_reason(cache: Cache) -> None:
    from console.ingest import ensure_source, upsert_threads
    from console.models import ThreadRecord

    source = ensure_source(cache, "stackexchange", "so", "https://api.stackexchange.com")
    local = upsert_threads(
        cache,
        source,
        [ThreadRecord("q1", "Q", None, "open", "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z")],
        [],
    )
    desk = Desk.for_cache(cache, actor="alice")
    result = desk.close([local["q1"]])
    item = cache.one("SELECT state, last_error FROM outbox WHERE id = ?", result.outbox_ids)
    assert item["state"] == "local_only" and "Stack Exchange" in item["last_error"]


@pytest.mark.backends
def test_resync_does_not_undo_a_pending_local_decision(
    desk: Desk, cache: Cache, ids: dict[str, int]
) -> None:
    from .conftest import seed_community

    desk.close([ids["t1"]])
    seed_community(cache)  # the platform still says "open": it has not heard yet
    assert status(cache, ids["t1"]) == "closed"


@pytest.mark.backends
def test_queue_order_filters_and_search(desk: Desk, ids: dict[str, int]) -> None:
    order = [i.thread_id for i in desk.queue()]
    # flagged t3 (2 flags = 48 h) outranks t1 (24 h waiting); solved t4 is not in the Queue
    assert order[0] == ids["t3"] and ids["t4"] not in order
    assert desk.queue_count() == len(order) == 4
    flagged = desk.queue(QueueFilter(flagged_only=True))
    assert [i.thread_id for i in flagged] == [ids["t3"]]
    assert [i.thread_id for i in desk.search("65075")] == [ids["t2"]]  # a reply's text
    assert [i.thread_id for i in desk.search("roam")] == [ids["t4"]]  # prefix, solved too
    assert desk.search('"; DROP TABLE threads; --') == []
    assert desk.queue(QueueFilter(unanswered_only=True, text="sim"))[0].thread_id == ids["t1"]


@pytest.mark.backends
def test_hostile_text_is_stored_verbatim(desk: Desk, ids: dict[str, int]) -> None:
    from .conftest import HOSTILE

    view = desk.thread(ids["t3"])
    assert view.title == HOSTILE
    assert view.posts[0].body.startswith(HOSTILE)
    assert len(view.posts[0].body) == len(HOSTILE) + 1 + 200_000


@pytest.mark.backends
def test_pages_read_from_either_end_agree(desk: Desk, cache: Cache) -> None:
    from console.ingest import ensure_source, upsert_threads
    from console.models import ThreadRecord

    source = ensure_source(cache, "jsonl", "many")
    upsert_threads(
        cache,
        source,
        [
            ThreadRecord(
                f"m{i}",
                f"t{i}",
                None,
                "open",
                f"2026-10-{1 + i % 28:02d}T00:00:00Z",
                f"2026-10-{1 + i % 28:02d}T00:00:00Z",
                flag_count=i % 3,
            )
            for i in range(257)
        ],
        [],
    )
    total = desk.queue_count()
    everything = [i.thread_id for i in desk.queue(limit=total)]
    for offset in (0, 100, 129, 200, total - 7, total - 1):
        page = [i.thread_id for i in desk.queue(offset=offset, limit=50, total=total)]
        assert page == everything[offset : offset + 50], offset
