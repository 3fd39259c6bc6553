"""Remote changes that do not bump a topic (edits of older posts, closes, accepted answers,
deleted posts) against a fake Discourse that changes between and during syncs: a plain sync
sees them within the documented bound (the rotating re-check), `sync --full` at once."""

from __future__ import annotations

from typing import Any

import pytest

from console.db import Cache
from sync import runner
from tests.backends import pytest_generate_tests
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import FakeDiscourse, community

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]

EVERY = 3  # re-check every active topic at least once every 3 syncs


def _sync(cache: Cache, **kw: Any) -> runner.SyncReport:
    report = runner.sync_source(cache, runner.source(cache, "forum"), **kw)
    assert report.result == "ok", report.message
    return report


def _body(cache: Cache, remote_post: int) -> str | None:
    row = cache.one("SELECT body_text FROM posts WHERE remote_id = ?", (str(remote_post),))
    return None if row is None else str(row[0])


def _status(cache: Cache, topic: int) -> str:
    return str(cache.one("SELECT status FROM threads WHERE remote_id = ?", (str(topic),))[0])


def _change_quietly(server: FakeDiscourse) -> dict[str, int]:
    """Edits, a close, an accept and a deletion on older topics; nothing is bumped."""
    st = server.state
    edited = st.topics[4].posts[0]  # the question, not the last post of its topic
    st.edit_post(edited.id, "Buy cheap phones at http://spam.example", minute=500_000)
    deep = st.topics[30].posts[29]  # beyond the first 20 posts of the long topic
    st.edit_post(deep.id, "edited far down the thread", minute=500_001)
    st.topics[7].closed = True
    accepted = st.topics[8].posts[1]
    accepted.accepted = True
    deleted = st.topics[9].posts[1]  # the middle post of three
    st.delete_post(deleted.id)
    return {"edited": edited.id, "deep": deep.id, "accepted": accepted.id, "deleted": deleted.id}


def _assert_seen(cache: Cache, ids: dict[str, int]) -> None:
    assert _body(cache, ids["edited"]) == "Buy cheap phones at http://spam.example"
    assert _body(cache, ids["deep"]) == "edited far down the thread"
    assert _status(cache, 7) == "closed"
    assert _status(cache, 8) == "solved"
    accepted = cache.one(
        "SELECT p.remote_id FROM threads t JOIN posts p ON p.id = t.accepted_post_id "
        "WHERE t.remote_id = '8'"
    )
    assert accepted[0] == str(ids["accepted"])
    assert _body(cache, ids["deleted"]) is None
    assert cache.one("SELECT reply_count FROM threads WHERE remote_id = '9'")[0] == 1
    hits = cache.query(
        f"SELECT rowid FROM post_fts WHERE {cache.dialect.fts_match('post_fts')}",
        (cache.dialect.fts_terms(["spam"], prefix_last=False),),
    )
    assert len(hits) == 1


def _server() -> FakeDiscourse:
    return community(n_topics=30, posts_per_topic=3, long_topic=45).start()


def _source(cache: Cache, server: FakeDiscourse) -> None:
    add_source(
        cache,
        "forum",
        "discourse",
        server.url,
        per_page=10,
        recheck_every=EVERY,
        recheck_days=100_000,  # every fake topic counts as active
    )


def test_plain_syncs_see_quiet_changes_within_the_bound(cache: Cache, creds_env: None) -> None:
    server = _server()
    try:
        _source(cache, server)
        _sync(cache)
        ids = _change_quietly(server)
        costs = []
        for _ in range(EVERY):
            mark = len(server.state.requests)
            _sync(cache)
            costs.append(len(server.state.requests) - mark)
        _assert_seen(cache, ids)
        # each plain sync re-reads about a third of the 30 topics (+2 for the 45-post topic's
        # later posts), on top of the 3 requests of a no-change sync
        assert sum(costs) == 3 * EVERY + 30 + 2, costs
        assert max(costs) <= 3 + 12 + 2, costs
    finally:
        server.stop()


def test_full_sync_reconciles_everything_at_once(cache: Cache, creds_env: None) -> None:
    server = _server()
    try:
        _source(cache, server)
        _sync(cache)
        server.state.staff_sees_deleted = True  # deleted posts listed with deleted_at
        ids = _change_quietly(server)
        _sync(cache, full=True)
        _assert_seen(cache, ids)
        before = cache.query("SELECT * FROM posts ORDER BY id")
        _sync(cache, full=True)  # nothing changed: nothing rewritten
        assert [tuple(r) for r in cache.query("SELECT * FROM posts ORDER BY id")] == [
            tuple(r) for r in before
        ]
    finally:
        server.stop()


def test_an_edit_made_while_syncing_is_caught_later(cache: Cache, creds_env: None) -> None:
    server = _server()
    st = server.state
    try:
        _source(cache, server)
        _sync(cache)
        target = st.topics[1].posts[1]

        def edit_midway(method: str, path: str) -> str | None:
            # the pinned topic 1 is listed, and read, first: edit it once the sync has moved on
            if path == "/t/2.json" and target.version == 1:
                st.edit_post(target.id, "now with a link to http://spam.example", 600_000)
            return None

        st.hold = edit_midway
        st.add_reply(2, "bump", minute=700_000)  # topic 2 and then 1 are read this sync
        st.add_reply(1, "bump", minute=700_001)
        _sync(cache)
        st.hold = None
        assert target.version == 2
        assert _body(cache, target.id) != "now with a link to http://spam.example"
        for _ in range(EVERY):
            _sync(cache)
        assert _body(cache, target.id) == "now with a link to http://spam.example"
    finally:
        server.stop()


def test_topics_quiet_for_long_are_reconciled_daily_and_by_full(
    cache: Cache, creds_env: None, monkeypatch: Any
) -> None:
    """Outside the re-check window: closes and accepts within a day (the walk of the whole
    topic list), edits and deletions with --full, as the README says."""
    server = _server()
    try:
        add_source(cache, "forum", "discourse", server.url, per_page=10, recheck_days=1)
        _sync(cache)  # the fake topics are years old: none is in the re-check window
        ids = _change_quietly(server)
        for _ in range(EVERY):
            _sync(cache)
        assert _status(cache, 7) != "closed"
        monkeypatch.setenv("PEERDESK_NOW", "2026-11-21T13:00:00Z")  # a day later
        _sync(cache)
        assert _status(cache, 7) == "closed" and _status(cache, 8) == "solved"
        assert _body(cache, ids["edited"]) != "Buy cheap phones at http://spam.example"
        _sync(cache, full=True)
        _assert_seen(cache, ids)
    finally:
        server.stop()
