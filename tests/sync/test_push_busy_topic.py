"""A reply whose push was killed after it reached Discourse, retried after the topic got busy:
found, however many posts came after it, and never posted twice. The fake Discourse server
numbers posts as Discourse does (ids only grow, across the site); every cache is a real file."""

from __future__ import annotations

# SQLite only: real `peerdesk push` processes killed on a cache FILE; the send mark on the team
# database is tested beside its outbox lease (tests/sync/test_outbox_lease.py).
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from console import outbox
from console.db import Cache, open_cache
from sync import push, runner, status
from sync.base import Outcome, PushRequest
from sync.credentials import Credentials
from sync.discourse import DiscourseAdapter
from sync.http import FAST_RETRIES
from tests.sync.conftest import add_source, finished, peerdesk
from tests.sync.fake_discourse import (
    API_KEY,
    API_USER,
    FakeDiscourse,
    community,
    flagged_reviewable,
)

RAW = "Have you tried the APN settings?\n\nSettings > Mobile network > Access point names."
DEAD = f"{socket.gethostname()}:999999999:deadbeef"  # a holder that no longer runs here
BUSY = 60  # posts by others after ours: three times what a look at the last 20 sees


@pytest.fixture(autouse=True)
def _credentials(creds_env: None) -> None:
    """The API key and user of the fake server, from the environment as a user sets them."""


@pytest.fixture
def server() -> Iterator[FakeDiscourse]:
    fake = community(n_topics=4, posts_per_topic=2).start()
    yield fake
    fake.stop()


def _synced(cache: Cache, server: FakeDiscourse) -> runner.SourceRow:
    add_source(cache, "forum", "discourse", server.url)
    row = runner.source(cache, "forum")
    assert runner.sync_source(cache, row).result == "ok"
    return runner.source(cache, "forum")


def _reply_item(cache: Cache, action: str = "reply", raw: str = RAW) -> int:
    tid = int(cache.one("SELECT id FROM threads WHERE remote_id = '3'")[0])
    payload: dict[str, object] = {"thread_id": tid, "raw": raw}
    if action == "close_duplicate":
        original = cache.one("SELECT id FROM threads WHERE remote_id = '1'")[0]
        payload = {"thread_id": tid, "original_id": int(original)}
    with cache.transaction() as conn:
        return outbox.enqueue(
            conn,
            source_id=1,
            action=action,
            target_kind="thread",
            target_id=tid,
            payload=payload,
            batch_id=None,
            audit_id=None,
        )


def _adapter(server: FakeDiscourse) -> DiscourseAdapter:
    return DiscourseAdapter(
        server.url, Credentials(api_key=API_KEY, api_username=API_USER), policy=FAST_RETRIES
    )


def _sent_and_killed(
    cache: Cache, server: FakeDiscourse, oid: int, *, marked: bool = True, raw: str = RAW
) -> int:
    """An attempt as `peerdesk push` makes one, killed after the platform took the reply: the
    claim (with the mark an adapter reads first, or none as an older peerdesk left it), the
    reply on the platform, and the lease held by a process that is gone. Then the topic gets
    busy. Returns the reply's post id."""
    mark = None
    if marked:
        adapter = _adapter(server)
        try:
            mark = adapter.send_mark("reply")
        finally:
            adapter.close()
        assert mark is not None
    assert isinstance(outbox.claim(cache, oid, DEAD, mark=mark), outbox.Claim)
    mine = server.state.add_reply(3, raw, 500, API_USER)
    for n in range(BUSY):
        server.state.add_reply(3, f"Same problem here on a Pixel 7 ({n})", 501 + n, "bob")
    return mine.id


def _replies(server: FakeDiscourse, raw: str = RAW) -> list[int]:
    return [p.id for p in server.state.topics[3].posts if p.raw.split() == raw.split()]


def _outbox(cache: Cache, oid: int) -> tuple[str, str | None, str | None]:
    row = cache.one("SELECT state, remote_ref, last_error FROM outbox WHERE id = ?", (oid,))
    return row[0], row[1], row[2]


def _reads_since(server: FakeDiscourse, start: int) -> list[tuple[str, str]]:
    return server.state.requests[start:]


def test_a_reply_sent_before_sixty_others_is_found_not_posted_again(
    cache: Cache, server: FakeDiscourse
) -> None:
    row = _synced(cache, server)
    oid = _reply_item(cache)
    mine = _sent_and_killed(cache, server, oid)
    start = len(server.state.requests)
    report = push.push_source(cache, row)
    assert report.applied == 1, report.messages
    assert _replies(server) == [mine]
    assert _outbox(cache, oid) == ("applied", str(mine), None)
    sent = _reads_since(server, start)
    assert ("POST", "/posts.json") not in sent
    # bounded: the topic, one batch of the posts after the mark (ours is first), ours in full
    assert sent.count(("GET", "/t/3/posts.json")) <= 1, sent
    assert [r for r in sent if r[1].startswith("/posts/")] == [("GET", f"/posts/{mine}.json")]


def test_the_mark_is_recorded_as_the_item_is_marked_sent_and_kept_by_a_retry(
    cache: Cache, server: FakeDiscourse
) -> None:
    row = _synced(cache, server)
    oid = _reply_item(cache)
    highest = server.state.next_post_id - 1
    mine = _sent_and_killed(cache, server, oid)
    first = cache.one("SELECT state, sent_mark FROM outbox WHERE id = ?", (oid,))
    assert first[0] == "sending" and first[1] == f'{{"after_post": {highest}}}'
    assert highest < mine
    push.push_source(cache, row)
    # the retry read the site again (a higher id now), but the first attempt's mark stays
    assert cache.one("SELECT sent_mark FROM outbox WHERE id = ?", (oid,))[0] == first[1]


def test_a_reply_that_never_reached_the_platform_is_sent_once(
    cache: Cache, server: FakeDiscourse
) -> None:
    row = _synced(cache, server)
    oid = _reply_item(cache)
    adapter = _adapter(server)
    mark = adapter.send_mark("reply")
    adapter.close()
    assert isinstance(outbox.claim(cache, oid, DEAD, mark=mark), outbox.Claim)
    for n in range(BUSY):  # killed before the request went out; the topic got busy
        server.state.add_reply(3, f"Same problem here ({n})", 501 + n, "bob")
    report = push.push_source(cache, row)
    assert report.applied == 1, report.messages
    [posted] = _replies(server)
    assert _outbox(cache, oid) == ("applied", str(posted), None)


def test_an_item_sent_by_an_older_peerdesk_is_found_after_its_decision(
    cache: Cache, server: FakeDiscourse
) -> None:
    """No mark (sent before marks were recorded): the posts after the newest one the decision
    was made against are read, so sixty newer posts do not hide it either."""
    row = _synced(cache, server)
    oid = _reply_item(cache)
    mine = _sent_and_killed(cache, server, oid, marked=False)
    assert cache.one("SELECT sent_mark FROM outbox WHERE id = ?", (oid,))[0] is None
    report = push.push_source(cache, row)
    assert report.applied == 1, report.messages
    assert _replies(server) == [mine]
    assert _outbox(cache, oid)[:2] == ("applied", str(mine))


def test_an_older_item_without_a_base_reads_the_whole_topic(
    cache: Cache, server: FakeDiscourse
) -> None:
    row = _synced(cache, server)
    oid = _reply_item(cache)
    mine = _sent_and_killed(cache, server, oid, marked=False)
    with cache.transaction() as conn:  # as after a human's retry (R): the base is dropped
        conn.execute("UPDATE outbox SET base = NULL WHERE id = ?", (oid,))
    report = push.push_source(cache, row)
    assert report.applied == 1, report.messages
    assert _replies(server) == [mine]


def test_whitespace_the_platform_changed_is_not_a_different_reply(
    cache: Cache, server: FakeDiscourse
) -> None:
    row = _synced(cache, server)
    sent = "Have you tried the APN settings?  \r\n\r\nSettings > Mobile network.\n\n"
    oid = _reply_item(cache, raw=sent)
    mine = _sent_and_killed(
        cache, server, oid, raw="Have you tried the APN settings?\n\nSettings > Mobile network."
    )
    report = push.push_source(cache, row)
    assert report.applied == 1, report.messages
    assert _outbox(cache, oid)[:2] == ("applied", str(mine))
    assert len(server.state.topics[3].posts) == 2 + 1 + BUSY


def test_a_close_as_duplicate_killed_between_reply_and_close_closes_without_a_second_reply(
    cache: Cache, server: FakeDiscourse
) -> None:
    row = _synced(cache, server)
    oid = _reply_item(cache, "close_duplicate")
    raw = f"Closed as a duplicate of {server.url}/t/1"
    mine = _sent_and_killed(cache, server, oid, raw=raw)
    # bob's posts since the decision are a conflict first; a human looked and retried (R)
    with cache.transaction() as conn:
        conn.execute("UPDATE outbox SET base = NULL WHERE id = ?", (oid,))
    report = push.push_source(cache, row)
    assert report.applied == 1, report.messages
    assert _replies(server, raw) == [mine]
    assert server.state.topics[3].closed


def test_an_edited_reply_of_ours_after_the_mark_is_for_a_human(
    cache: Cache, server: FakeDiscourse
) -> None:
    row = _synced(cache, server)
    oid = _reply_item(cache)
    mine = _sent_and_killed(cache, server, oid)
    server.state.edit_post(mine, RAW + "\n\n(Edit: and restart the phone.)", 600)
    report = push.push_source(cache, row)
    assert report.conflicts == 1
    state, _, error = _outbox(cache, oid)
    assert state == "conflict" and f"post {mine} in topic 3" in (error or "")
    assert [p.id for p in server.state.topics[3].posts if p.username == API_USER] == [mine]
    # the human looked and sends it anyway: one new reply, applied
    assert status.retry_item(cache, oid)
    assert push.push_source(cache, row).applied == 1
    posted = [p.id for p in server.state.topics[3].posts if p.username == API_USER]
    assert len(posted) == 2 and _outbox(cache, oid)[:2] == ("applied", str(posted[1]))


def test_a_reply_deleted_on_the_platform_since_is_not_posted_again(
    server: FakeDiscourse,
) -> None:
    server.state.staff_sees_deleted = True  # a moderator's API key sees deleted posts
    adapter = _adapter(server)
    try:
        mark = adapter.send_mark("reply")
        assert mark is not None
        mine = server.state.add_reply(3, RAW, 500, API_USER)
        for n in range(BUSY):
            server.state.add_reply(3, f"Same here ({n})", 501 + n, "bob")
        server.state.delete_post(mine.id)
        result = adapter.push(
            PushRequest(
                7,
                "reply",
                {"raw": RAW},
                {"thread": "3"},
                "k",
                2,
                "2026-11-29T10:00:00Z",
                mark=mark,
            )
        )
    finally:
        adapter.close()
    assert result.outcome is Outcome.APPLIED
    assert result.message == "found on the platform (deleted there since)"
    assert result.remote_ref == str(mine.id)
    assert ("POST", "/posts.json") not in server.state.requests


def test_a_topic_deleted_meanwhile_is_a_conflict_and_nothing_is_sent(
    cache: Cache, server: FakeDiscourse
) -> None:
    row = _synced(cache, server)
    oid = _reply_item(cache)
    _sent_and_killed(cache, server, oid)
    server.state.topics[3].deleted = True
    report = push.push_source(cache, row)
    assert report.conflicts == 1 and report.waiting == 0
    state, _, error = _outbox(cache, oid)
    assert state == "conflict"
    assert "topic 3 no longer exists on the platform" in (error or "")
    assert "not sent again" in (error or "")
    assert server.state.requests.count(("POST", "/posts.json")) == 0


def test_a_review_action_cut_off_after_it_acted_says_it_may_have_been_ours(
    cache: Cache, server: FakeDiscourse
) -> None:
    """Discourse took the action and moved the reviewable's version; the retry's 409 is a
    conflict for a human, as before, but it no longer blames someone else only."""
    st = server.state
    st.reviewables[9] = flagged_reviewable(9, st.topics[2], st.topics[2].posts[1], version=1)
    row = _synced(cache, server)
    rid = int(cache.one("SELECT id FROM review_items WHERE remote_id = '9'")[0])
    with cache.transaction() as conn:
        oid = outbox.enqueue(
            conn,
            source_id=row.id,
            action="review",
            target_kind="review",
            target_id=rid,
            payload={"reviewable_id": rid, "action": "agree_and_keep", "version": 1},
            batch_id=None,
            audit_id=None,
        )
    assert isinstance(outbox.claim(cache, oid, DEAD), outbox.Claim)
    st.reviewables[9].update(status=1, version=2)  # the cut-off attempt's action, applied
    report = push.push_source(cache, row)
    assert report.conflicts == 1 and report.applied == 0
    state, _, error = _outbox(cache, oid)
    assert state == "conflict"
    assert "Someone else acted on this item first" in (error or "")
    assert "an earlier attempt of this decision was sent and cut off" in (error or "")
    assert [a for a in st.applied if a[0] == "review"] == []  # the retry performed nothing


# ---- a real `peerdesk push` process, killed after Discourse took the reply


@pytest.mark.slow
def test_killed_push_then_a_busy_topic_posts_the_reply_once(
    tmp_path: Path, server: FakeDiscourse
) -> None:
    db = tmp_path / "push.sqlite3"
    cache = open_cache(db, create=True)
    add_source(cache, "forum", "discourse", server.url)
    cache.close()
    finished(db, "sync", "forum", "-q")
    cache = open_cache(db)
    oid = _reply_item(cache)
    cache.close()
    state = server.state
    state.held.clear()
    state.release.clear()
    # Discourse creates the post, and the process is killed before it hears back
    state.hold = lambda method, path: "after" if (method, path) == ("POST", "/posts.json") else None
    proc = peerdesk(db, "push", "forum")
    assert state.held.wait(60), "the push never sent its reply"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    state.hold = None
    state.release.set()
    [mine] = _replies(server)
    for n in range(BUSY):
        state.add_reply(3, f"Same problem here on a Pixel 7 ({n})", 700 + n, "bob")
    assert "1 applied" in finished(db, "push", "forum")
    assert "0 applied" in finished(db, "push", "forum")  # nothing left to send
    assert _replies(server) == [mine]
    assert state.requests.count(("POST", "/posts.json")) == 1
    cache = open_cache(db)
    try:
        assert _outbox(cache, oid)[:2] == ("applied", str(mine))
    finally:
        cache.close()
