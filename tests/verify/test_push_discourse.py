"""A verification decided in peerdesk reaches the (fake, recorded-response) Discourse server:
the solved plugin's accept plus an official reply; undo gives the asker's accept back; a
needs-edit note is a reply mentioning the author."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from console.db import Cache
from console.verify.service import Verification
from sync import push, runner
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import API_KEY, API_USER, FakeDiscourse, community
from tests.verify.conftest import door

pytestmark = pytest.mark.backends  # on a cache file and on a team database


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDiscourse]:
    monkeypatch.setenv("PEERDESK_NO_KEYRING", "1")
    monkeypatch.setenv("PEERDESK_FORUM_API_KEY", API_KEY)
    monkeypatch.setenv("PEERDESK_FORUM_API_USERNAME", API_USER)
    server = community().start()
    yield server
    server.stop()


def _synced(cache: Cache, server: FakeDiscourse) -> runner.SourceRow:
    add_source(cache, "forum", "discourse", server.url)
    row = runner.source(cache, "forum")
    assert runner.sync_source(cache, row).result == "ok"
    return runner.source(cache, "forum")


def _pid(cache: Cache, remote: int) -> int:
    return int(cache.one("SELECT id FROM posts WHERE remote_id = ?", (str(remote),))[0])


def _door(cache: Cache, actor: str) -> Verification:
    return door(cache, actor)


def test_verify_pick_and_undo_reach_discourse(cache: Cache, fake: FakeDiscourse) -> None:
    row = _synced(cache, fake)
    topic = fake.state.topics[2]
    answer = topic.posts[1]
    alice = _door(cache, "alice")
    alice.verify(_pid(cache, answer.id))
    report = push.push_source(cache, row)
    assert report.applied == 1, report.messages
    assert ("accept", answer.id) in fake.state.applied
    replies = [a for a in fake.state.applied if a[0] == "reply"]
    assert replies and "verified it as correct" in replies[-1][2]
    assert answer.accepted
    # undo after the push: the platform's accept is taken back (nobody had accepted before)
    alice.undo()
    assert push.push_source(cache, row).applied == 1
    assert ("unaccept", answer.id) in fake.state.applied
    assert not answer.accepted


def test_needs_edit_is_a_reply_mentioning_the_author(cache: Cache, fake: FakeDiscourse) -> None:
    row = _synced(cache, fake)
    answer = fake.state.topics[3].posts[1]
    _door(cache, "alice").needs_edit(_pid(cache, answer.id), "Please add the price")
    assert push.push_source(cache, row).applied == 1
    _, _, raw = [a for a in fake.state.applied if a[0] == "reply"][-1]
    assert raw.startswith("@") and "Please add the price" in raw
