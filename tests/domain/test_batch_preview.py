"""What a batch will touch, read before it is confirmed: every item with its thread, its source
and whether the decision goes to the platform or stays in peerdesk; nothing is written."""

from __future__ import annotations

import pytest

from console.db import Cache
from console.desk import Desk
from console.errors import InvalidDecision, NotFound
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord


def post_id(cache: Cache, remote: str) -> int:
    return int(cache.one("SELECT id FROM posts WHERE remote_id = ?", (remote,))[0])


@pytest.mark.backends
def test_threads_listed_in_order_with_where_they_go(
    desk: Desk, cache: Cache, ids: dict[str, int]
) -> None:
    site = ensure_source(cache, "stackexchange", "askmobile", "https://mobile.example")
    upsert_members(cache, site, [MemberRecord("s1", "sam")])
    stamp = "2026-11-20T11:00:00Z"
    se = upsert_threads(
        cache,
        site,
        [ThreadRecord("q1", "APN lost", "s1", "open", stamp, stamp)],
        [PostRecord("q1.0", "q1", "s1", 0, "Help", "Help", stamp)],
    )["q1"]
    audit_before = cache.one("SELECT count(*) FROM audit")[0]
    preview = desk.batch_preview("close", [ids["t5"], se, ids["t1"], ids["t5"]])
    assert [(i.thread_id, i.title, i.source, i.sent) for i in preview.items] == [
        (ids["t5"], "Another from bob", "forum", True),
        (se, "APN lost", "askmobile", False),
        (ids["t1"], "SIM not activating", "forum", True),
    ]
    assert preview.destinations() == [
        "2 sent to forum (Discourse)",
        "1 kept in peerdesk only (askmobile: the Stack Exchange API offers no write access "
        "for moderation actions; kept in peerdesk only)",
    ]
    assert cache.one("SELECT count(*) FROM audit")[0] == audit_before
    assert cache.one("SELECT count(*) FROM outbox")[0] == 0


@pytest.mark.backends
def test_posts_say_who_wrote_them_and_how_they_begin(desk: Desk, cache: Cache) -> None:
    preview = desk.batch_preview("hide_post", [post_id(cache, "p22"), post_id(cache, "p51")])
    first, second = preview.items
    assert (first.post_author, first.post_start, first.title) == (
        "carol",
        "Text PAC to 65075",
        "PAC code for porting",
    )
    assert (second.post_author, second.post_start) == ("bob", "Still broken")
    assert preview.destinations() == ["2 sent to forum (Discourse)"]


@pytest.mark.backends
def test_unknown_items_and_actions_are_clear_errors(desk: Desk) -> None:
    with pytest.raises(NotFound, match="There is no thread 999"):
        desk.batch_preview("close", [999])
    with pytest.raises(InvalidDecision, match="Unknown decision 'explode'"):
        desk.batch_preview("explode", [1])
