"""Pushing outbox actions to the fake Discourse server: every action, conflicts, rejections,
offline, wrong credentials, and a retried push that must not apply twice."""

from __future__ import annotations

import json

import pytest

from console import outbox
from console.db import Cache
from sync import push, runner, status
from tests.backends import pytest_generate_tests
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import FakeDiscourse, community, flagged_reviewable

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]


def _setup(cache: Cache, server: FakeDiscourse) -> runner.SourceRow:
    add_source(cache, "forum", "discourse", server.url)
    row = runner.source(cache, "forum")
    assert runner.sync_source(cache, row).result == "ok"
    return runner.source(cache, "forum")


def _tid(cache: Cache, remote: str) -> int:
    return int(cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote,))[0])


def _pid(cache: Cache, remote: int) -> int:
    return int(cache.one("SELECT id FROM posts WHERE remote_id = ?", (str(remote),))[0])


def _enqueue(
    cache: Cache,
    row: runner.SourceRow,
    action: str,
    kind: str,
    target: int,
    payload: dict[str, object],
    state: str = "pending",
) -> int:
    with cache.transaction() as conn:
        return outbox.enqueue(
            conn,
            source_id=row.id,
            action=action,
            target_kind=kind,
            target_id=target,
            payload=payload,
            batch_id=None,
            audit_id=None,
            state=state,
        )


def _state(cache: Cache, oid: int) -> tuple[str, str | None]:
    r = cache.one("SELECT state, last_error FROM outbox WHERE id = ?", (oid,))
    return r[0], r[1]


def test_every_action_is_pushed(cache: Cache, creds_env: None, fake: FakeDiscourse) -> None:
    st = fake.state
    row = _setup(cache, fake)
    t2, t3 = _tid(cache, "2"), _tid(cache, "3")
    p = st.topics[2].posts
    st.reviewables[5] = flagged_reviewable(5, st.topics[3], st.topics[3].posts[1], version=3)
    runner.sync_source(cache, row)
    rid = int(cache.one("SELECT id FROM review_items WHERE remote_id = '5'")[0])
    ids = [
        _enqueue(cache, row, "close", "thread", t2, {"thread_id": t2}),
        _enqueue(cache, row, "reply", "thread", t3, {"thread_id": t3, "raw": "Try a reboot."}),
        _enqueue(
            cache,
            row,
            "hide_post",
            "post",
            _pid(cache, p[1].id),
            {"post_id": _pid(cache, p[1].id), "reason": "spam"},
        ),
        _enqueue(
            cache,
            row,
            "flag",
            "post",
            _pid(cache, p[2].id),
            {"post_id": _pid(cache, p[2].id), "type": "off_topic"},
        ),
        _enqueue(
            cache, row, "accept", "post", _pid(cache, p[2].id), {"post_id": _pid(cache, p[2].id)}
        ),
        _enqueue(
            cache,
            row,
            "review",
            "review",
            rid,
            {"reviewable_id": rid, "action": "agree_and_hide", "version": 3},
        ),
        _enqueue(cache, row, "reopen", "thread", t2, {"thread_id": t2}),
        _enqueue(
            cache,
            row,
            "unhide_post",
            "post",
            _pid(cache, p[1].id),
            {"post_id": _pid(cache, p[1].id)},
        ),
        _enqueue(
            cache, row, "unaccept", "post", _pid(cache, p[2].id), {"post_id": _pid(cache, p[2].id)}
        ),
        _enqueue(cache, row, "close_duplicate", "thread", t3, {"thread_id": t3, "original_id": t2}),
        _enqueue(
            cache,
            row,
            "note",
            "thread",
            t3,
            {"thread_id": t3, "note_id": 1, "body": "x"},
            state="local_only",
        ),
    ]
    report = push.push_source(cache, row)
    assert report.applied == 10, report.messages
    assert [_state(cache, i)[0] for i in ids] == ["applied"] * 10 + ["local_only"]
    assert st.applied == [
        ("status", 2, True),
        ("reply", 3, "Try a reboot."),
        ("flag", p[2].id, 3),
        ("accept", p[2].id),
        ("review", 5, "agree_and_hide"),
        ("status", 2, False),
        ("unflag", p[1].id, 8),
        ("unaccept", p[2].id),
        ("reply", 3, "Closed as a duplicate of " + fake.url + "/t/2"),
        ("status", 3, True),
    ]
    created = cache.one("SELECT remote_ref FROM outbox WHERE id = ?", (ids[1],))[0]
    assert created == str(st.topics[3].posts[3].id)
    # a second push sends nothing
    before = len(st.requests)
    assert push.push_source(cache, row).applied == 0
    assert len(st.requests) == before


def test_review_conflict_is_kept_for_a_human(
    cache: Cache, creds_env: None, fake: FakeDiscourse
) -> None:
    st = fake.state
    st.reviewables[9] = flagged_reviewable(9, st.topics[2], st.topics[2].posts[1], version=1)
    row = _setup(cache, fake)
    rid = int(cache.one("SELECT id FROM review_items WHERE remote_id = '9'")[0])
    oid = _enqueue(
        cache,
        row,
        "review",
        "review",
        rid,
        {"reviewable_id": rid, "action": "agree_and_keep", "version": 1},
    )
    st.reviewables[9]["version"] = 2  # another moderator acted on the platform first
    report = push.push_source(cache, row)
    assert report.conflicts == 1
    state, error = _state(cache, oid)
    assert state == "conflict"
    assert "Someone else acted on this item first" in (error or "")
    assert [r for r in st.requests if r[0] == "PUT"] == [
        ("PUT", "/review/9/perform/agree_and_keep.json")
    ]
    assert push.push_source(cache, row).conflicts == 0  # not retried blindly
    assert status.summary(cache).conflicts == 1
    assert [c.outbox_id for c in status.conflicts(cache)] == [oid]


def test_deleted_topic_and_refused_actions(
    cache: Cache, creds_env: None, fake: FakeDiscourse
) -> None:
    st = fake.state
    row = _setup(cache, fake)
    t4, t5 = _tid(cache, "4"), _tid(cache, "5")
    gone = _enqueue(cache, row, "close", "thread", t4, {"thread_id": t4})
    st.topics[4].deleted = True
    st.topics[5].closed = True
    refused = _enqueue(cache, row, "reply", "thread", t5, {"thread_id": t5, "raw": "hello"})
    push.push_source(cache, row)
    assert _state(cache, gone)[0] == "conflict"
    assert "no longer exists" in (_state(cache, gone)[1] or "")
    assert _state(cache, refused) == (
        "rejected",
        "/posts.json: HTTP 403: This topic is closed; you cannot reply.",
    )
    # the deleted topic is a recorded error of the next sync, and the rest of the sync completes
    report = runner.sync_source(cache, row, full=True)
    assert report.result == "errors"
    errors = status.errors(cache, "forum")
    assert any("topic 4 was deleted" in e.message and e.endpoint == "/t/{id}.json" for e in errors)
    assert cache.one("SELECT status FROM threads WHERE remote_id = '5'")[0] == "closed"


def test_offline_leaves_items_pending(cache: Cache, creds_env: None) -> None:
    server = community().start()
    row = _setup(cache, server)
    t2 = _tid(cache, "2")
    server.stop()  # the platform is gone: connection refused
    oid = _enqueue(cache, row, "close", "thread", t2, {"thread_id": t2})
    report = push.push_source(cache, row)
    assert report.offline and report.waiting == 1 and report.exit_code == 3
    state, error = _state(cache, oid)
    assert state == "pending" and error and error.startswith("offline")
    sync = runner.sync_source(cache, row)
    assert sync.result == "offline" and sync.exit_code == 3
    assert status.summary(cache).offline is True
    assert status.summary(cache).waiting == 1


def test_wrong_credentials(
    cache: Cache, creds_env: None, fake: FakeDiscourse, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = _setup(cache, fake)
    t2 = _tid(cache, "2")
    oid = _enqueue(cache, row, "close", "thread", t2, {"thread_id": t2})
    monkeypatch.setenv("PEERDESK_FORUM_API_KEY", "wrong-key-999999")
    report = push.push_source(cache, row)
    assert report.stopped and report.exit_code == 1
    state, error = _state(cache, oid)
    assert state == "pending"
    assert "invalid" in (error or "") and "wrong-key-999999" not in (error or "")
    sync = runner.sync_source(cache, row)
    assert sync.result == "failed" and sync.exit_code == 1
    messages = " ".join(e.message for e in status.errors(cache))
    assert "credentials" in messages and "wrong-key-999999" not in messages
    dump = "\n".join(
        str(tuple(r))
        for t in ("sources", "sync_errors", "outbox")
        for r in cache.query(f"SELECT * FROM {t}")
    )
    assert "wrong-key-999999" not in dump and "test-key-0123456789abcdef" not in dump


def test_retried_reply_is_not_sent_twice(
    cache: Cache, creds_env: None, fake: FakeDiscourse
) -> None:
    """The reply reached the platform but the answer was lost: the next push finds it."""
    st = fake.state
    row = _setup(cache, fake)
    t3 = _tid(cache, "3")
    oid = _enqueue(cache, row, "reply", "thread", t3, {"thread_id": t3, "raw": "Same words"})
    st.faults["/posts.json"] = []
    # apply, then fail the response: the pusher sees a 500 and keeps the item waiting
    original_route = st.hold
    st.hold = None
    from tests.sync import fake_discourse as fd

    real = fd._route

    def flaky(state, method, path, query, body, headers):  # type: ignore[no-untyped-def]
        status_code, data = real(state, method, path, query, body, headers)
        if method == "POST" and path == "/posts.json":
            return 500, {"errors": ["upstream timeout"]}
        return status_code, data

    fd._route = flaky  # type: ignore[assignment]
    try:
        first = push.push_source(cache, row)
    finally:
        fd._route = real  # type: ignore[assignment]
    st.hold = original_route
    assert first.waiting == 1 and _state(cache, oid)[0] == "pending"
    second = push.push_source(cache, row)
    assert second.applied == 1
    assert [a for a in st.applied if a[0] == "reply"] == [("reply", 3, "Same words")]
    assert (
        json.loads(cache.one("SELECT payload FROM outbox WHERE id = ?", (oid,))[0])["raw"]
        == "Same words"
    )
