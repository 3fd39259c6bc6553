"""A decision waiting in the outbox keeps every field it decided, and the Queue membership that
follows, through any number of re-syncs, until it is pushed (then the platform agrees) or given
up (then the platform's state wins)."""

from __future__ import annotations

import pytest

from console import decisions, store
from console.db import Cache
from console.desk import Desk
from console.identity import Identity
from sync import push, runner, status
from tests.backends import pytest_generate_tests
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import FakeDiscourse

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]


def _alice(cache: Cache) -> Identity:
    """alice, established from the test's roles file (tests/sync/conftest.py grants them)."""
    return Desk.for_cache(cache, actor="alice").who


def _sync(cache: Cache) -> None:
    report = runner.sync_source(cache, runner.source(cache, "forum"))
    assert report.result == "ok", report.message


def _thread(cache: Cache, remote: str) -> tuple[int, str, int, int]:
    row = cache.one(
        "SELECT id, status, in_queue, reply_count FROM threads WHERE remote_id = ?", (remote,)
    )
    return row[0], row[1], row[2], row[3]


def _queued(cache: Cache) -> set[int]:
    return {item.thread_id for item in store.queue(cache, limit=1000)}


def test_resync_keeps_local_decisions_until_pushed(
    cache: Cache, creds_env: None, fake: FakeDiscourse
) -> None:
    st = fake.state
    add_source(cache, "forum", "discourse", fake.url)
    _sync(cache)
    t3, status3, queued3, _ = _thread(cache, "3")
    assert status3 == "answered" and queued3 == 1
    post4 = st.topics[4].posts[1]
    p4 = cache.one("SELECT id FROM posts WHERE remote_id = ?", (str(post4.id),))[0]
    decisions.decide(cache, who=_alice(cache), action="close", target_ids=[t3])
    decisions.decide(cache, who=_alice(cache), action="hide_post", target_ids=[p4])
    assert t3 not in _queued(cache)

    # the platform moves on (both topics bumped, one gets a like): the re-sync refetches them
    st.topics[3].bumped = 900_000
    st.topics[3].posts[1].flags[2] = 1  # a like: the score is the platform's
    st.topics[4].bumped = 900_001
    _sync(cache)
    _sync(cache)
    _, status3, queued3, replies3 = _thread(cache, "3")
    assert (status3, queued3, replies3) == ("closed", 0, 2)
    liked = cache.one(
        "SELECT score FROM posts WHERE remote_id = ?", (str(st.topics[3].posts[1].id),)
    )
    assert liked[0] == 1
    assert t3 not in _queued(cache)
    assert cache.one("SELECT hidden FROM posts WHERE id = ?", (p4,))[0] == 1

    report = push.push_source(cache, runner.source(cache, "forum"))
    assert report.applied == 2, report.messages
    _sync(cache)
    assert _thread(cache, "3")[1:3] == ("closed", 0)
    assert cache.one("SELECT hidden FROM posts WHERE id = ?", (p4,))[0] == 1


def test_a_decision_given_up_lets_the_platform_state_back(
    cache: Cache, creds_env: None, fake: FakeDiscourse
) -> None:
    st = fake.state
    add_source(cache, "forum", "discourse", fake.url)
    _sync(cache)
    t5 = _thread(cache, "5")[0]
    result = decisions.decide(cache, who=_alice(cache), action="close", target_ids=[t5])
    st.add_reply(5, "any news?", minute=900_000)
    _sync(cache)
    assert _thread(cache, "5")[1:3] == ("closed", 0)
    assert status.dismiss_item(cache, result.outbox_ids[0])
    st.add_reply(5, "hello?", minute=900_100)
    _sync(cache)
    assert _thread(cache, "5")[1:3] == ("answered", 1)
    assert t5 in _queued(cache)
