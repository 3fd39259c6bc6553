"""Discourse pull against the fake server (real HTTP on 127.0.0.1): full and incremental sync,
long post streams, pinned topics, solved answers, closed state, review queue, members."""

from __future__ import annotations

import json

import pytest

from console.db import Cache
from sync import runner
from tests.backends import pytest_generate_tests
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import (
    community,
    flagged_reviewable,
    queued_reviewable,
)

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]


def _sync(cache: Cache, **kw: object) -> runner.SyncReport:
    return runner.sync_source(cache, runner.source(cache, "forum"), **kw)


def test_first_sync_stores_everything(cache: Cache, creds_env: None) -> None:
    server = community(n_topics=5, posts_per_topic=3, long_topic=47).start()
    try:
        state = server.state
        state.topics[3].closed = True
        state.topics[2].posts[1].accepted = True
        add_source(cache, "forum", "discourse", server.url, per_page=2)
        report = _sync(cache)
    finally:
        server.stop()
    assert report.result == "ok", report.message
    threads = {r["remote_id"]: r for r in cache.query("SELECT * FROM threads")}
    assert sorted(threads) == ["1", "2", "3", "4", "5"]
    assert threads["3"]["status"] == "closed"
    assert threads["2"]["status"] == "solved"
    accepted = cache.one(
        "SELECT remote_id FROM posts WHERE id = ?", (threads["2"]["accepted_post_id"],)
    )
    assert accepted[0] == str(state.topics[2].posts[1].id)
    # the long topic: 20 posts in the first response, the other 27 fetched by id
    long_posts = cache.query(
        "SELECT position FROM posts WHERE thread_id = ? ORDER BY position", (threads["5"]["id"],)
    )
    assert [r[0] for r in long_posts] == list(range(47))
    assert threads["5"]["reply_count"] == 46
    members = {r["remote_id"]: r for r in cache.query("SELECT * FROM members")}
    assert members["2"]["username"] == "bob"
    assert members["3"]["reputation"] == 9  # likes_received from the directory
    cursor = json.loads(
        runner.source(cache, "forum").cursor and cache.one("SELECT cursor FROM sources")[0]
    )
    assert cursor["watermark"] and cursor["last_post_id"] == max(
        p.id for t in state.topics.values() for p in t.posts
    )
    assert cache.one("SELECT count(*) FROM sync_errors")[0] == 0


def test_no_change_resync_is_cheap_and_changes_are_seen(cache: Cache, creds_env: None) -> None:
    server = community(n_topics=30, posts_per_topic=2).start()
    try:
        add_source(cache, "forum", "discourse", server.url, per_page=10)
        assert _sync(cache).result == "ok"
        before = len(server.state.requests)
        again = _sync(cache)
        assert again.result == "ok"
        calls = server.state.requests[before:]
        # posts feed, review queue, one page of the topic list: nothing else
        assert [p for _, p in calls] == ["/posts.json", "/review.json", "/latest.json"]

        # changes that do not bump: closing (a moderator elsewhere), a new flag in review
        state = server.state
        state.topics[4].closed = True  # old topic, not on the first page, not bumped
        post = state.topics[5].posts[1]
        post.flags[8] = 1
        state.reviewables[77] = flagged_reviewable(77, state.topics[5], post, version=2)
        state.reviewables[78] = queued_reviewable(78, state.topics[6], "buy cheap pills")
        state.add_reply(12, "new answer", minute=999_999)  # bumps topic 12 to the top
        mark = len(state.requests)
        report = _sync(cache)
        assert report.result == "ok", report.message
        fetched = {p for _, p in state.requests[mark:] if p.startswith("/t/")}
        assert fetched == {"/t/12.json", "/t/5.json", "/t/6.json"}
        # topic 4's closing is seen by the reconciliation walk
        assert cache.one("SELECT status FROM threads WHERE remote_id = '4'")[0] != "closed"
        _sync(cache, full=True)
        assert cache.one("SELECT status FROM threads WHERE remote_id = '4'")[0] == "closed"
    finally:
        server.stop()
    t5 = cache.one("SELECT flag_count, in_queue FROM threads WHERE remote_id = '5'")
    assert t5["flag_count"] == 1 and t5["in_queue"] == 1
    reviews = {r["remote_id"]: r for r in cache.query("SELECT * FROM review_items")}
    assert reviews["77"]["kind"] == "flagged_post" and reviews["77"]["version"] == 2
    assert reviews["77"]["post_id"] is not None
    assert json.loads(reviews["77"]["actions"]) == ["agree_and_hide", "agree_and_keep", "disagree"]
    assert reviews["78"]["kind"] == "queued_post" and reviews["78"]["body"] == "buy cheap pills"
    assert cache.one("SELECT count(*) FROM posts WHERE body_text = 'new answer'")[0] == 1


def test_pinned_topic_does_not_end_or_hide_the_walk(cache: Cache, creds_env: None) -> None:
    server = community(n_topics=8, posts_per_topic=1).start()
    try:
        add_source(cache, "forum", "discourse", server.url, per_page=3)
        _sync(cache)
        # the pinned topic (1) is old but listed first; a reply to it must still be seen
        server.state.add_reply(1, "reply to the pinned one", minute=50)
        _sync(cache)
    finally:
        server.stop()
    assert cache.one("SELECT reply_count FROM threads WHERE remote_id = '1'")[0] == 1
