"""Who liked which post, and members' join dates and registration IPs, from Discourse (the fake
server's replies are built from the recorded post_action_users.json and admin_get_user.json):
stored in `votes` and `member_signals`, where the rewards' fraud checks read them."""

from __future__ import annotations

import pytest

from console.db import Cache
from console.rewards import fraud
from sync import runner
from tests.backends import pytest_generate_tests
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import FakeDiscourse, community

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]


def _sync(cache: Cache, **kw: object) -> runner.SyncReport:
    return runner.sync_source(cache, runner.source(cache, "forum"), **kw)


def _votes(cache: Cache) -> set[tuple[str, str, bool]]:
    return {
        (str(r[0]), str(r[1]), r[2] is None)
        for r in cache.query(
            "SELECT p.remote_id, m.username, v.retracted_at FROM votes v "
            "JOIN posts p ON p.id = v.post_id JOIN members m ON m.id = v.voter_id"
        )
    }


def _ring(server: FakeDiscourse) -> None:
    """dave, erin and fred like each other's replies, three times each way."""
    state = server.state
    for uid, name in [(11, "dave"), (12, "erin"), (13, "fred")]:
        state.add_user(uid, name)
        state.joined[uid] = 50 + uid  # accounts made minutes apart
        state.registration_ip[uid] = "198.51.100.23"
    ring = [11, 12, 13]
    for n, tid in enumerate(range(1, 10)):
        author = ring[n % 3]
        post = state.add_reply(
            tid, f"reply {n} by {state.users[author]}", 5000 + n, state.users[author]
        )
        post.user_id = author
        post.likers = [u for u in ring if u != author]


def test_likes_and_member_facts_are_synced_and_the_ring_check_sees_them(
    cache: Cache, creds_env: None
) -> None:
    server = community(n_topics=10, posts_per_topic=2)
    _ring(server)
    server.start()
    try:
        add_source(cache, "forum", "discourse", server.url, per_page=20)
        report = _sync(cache)
        assert report.result == "ok", report.message
        calls = [path for _, path in server.state.requests]
    finally:
        server.stop()
    assert calls.count("/post_action_users.json") == 9  # one per reply with likes
    votes = _votes(cache)
    assert len(votes) == 18 and all(standing for *_, standing in votes)
    assert ("dave", "erin", True) not in votes  # (post, voter) pairs, not names of posts
    joined = dict(cache.query("SELECT username, joined_at FROM members WHERE username = 'erin'"))
    assert joined["erin"] == "2023-11-14T23:15:20Z"  # ts(62): the admin API's created_at
    signals = cache.query(
        "SELECT m.username, s.kind, s.value FROM member_signals s JOIN members m "
        "ON m.id = s.member_id WHERE m.username IN ('dave', 'erin', 'fred') ORDER BY 1"
    )
    assert [tuple(r) for r in signals] == [
        (name, "registration_ip", "198.51.100.23") for name in ("dave", "erin", "fred")
    ]
    assert cache.one("SELECT count(*) FROM sync_errors")[0] == 0
    flags = fraud.voting_rings(cache.conn, "2020-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
    names = {r[0]: r[1] for r in cache.query("SELECT id, username FROM members")}
    assert sorted(names[f.member_id] for f in flags) == ["dave", "erin", "fred"]


def test_an_unliked_post_retracts_the_vote_and_a_new_like_is_added(
    cache: Cache, creds_env: None
) -> None:
    server = community(n_topics=3, posts_per_topic=2).start()
    try:
        state = server.state
        post = state.topics[2].posts[1]
        post.likers = [1, 3]
        add_source(cache, "forum", "discourse", server.url, per_page=20)
        assert _sync(cache).result == "ok"
        assert _votes(cache) == {(str(post.id), "alice", True), (str(post.id), "carol", True)}
        post.likers = [3, 4]  # alice takes her like back, moderator1 likes it
        post.version += 1
        post.updated = 9000
        state.topics[2].bumped = 9000
        assert _sync(cache).result == "ok"
        assert _votes(cache) == {
            (str(post.id), "alice", False),
            (str(post.id), "carol", True),
            (str(post.id), "moderator1", True),
        }
        post.likers = []
        post.version += 1
        post.updated = 9100
        state.topics[2].bumped = 9100
        assert _sync(cache).result == "ok"
        assert {standing for *_, standing in _votes(cache)} == {False}
    finally:
        server.stop()


def test_without_an_admin_key_members_are_not_looked_up_and_it_is_said_once(
    cache: Cache, creds_env: None
) -> None:
    server = community(n_topics=3, posts_per_topic=2)
    server.state.admin_key = False
    server.start()
    try:
        add_source(cache, "forum", "discourse", server.url, per_page=20)
        first = _sync(cache)
        admin_calls = [p for _, p in server.state.requests if p.startswith("/admin/users/")]
        assert len(admin_calls) == 1  # refused once: not asked for every member
        again = len(server.state.requests)
        _sync(cache)
        assert not [p for _, p in server.state.requests[again:] if p.startswith("/admin/")]
    finally:
        server.stop()
    assert (
        first.result == "errors"
    )  # said once; `source add ... --options {"member_lookups": 0}` quiets it
    [error] = cache.query("SELECT message FROM sync_errors")
    assert "need a staff API key" in error[0] and "404" in error[0]
    assert cache.one("SELECT count(*) FROM members WHERE joined_at IS NOT NULL")[0] == 0
    assert threads_synced(cache) == 3


def threads_synced(cache: Cache) -> int:
    return int(cache.one("SELECT count(*) FROM threads")[0])
