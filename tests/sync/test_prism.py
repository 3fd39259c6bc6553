"""The adapter against Prism serving the official Discourse OpenAPI spec: Prism rejects any
request that does not match the spec (422), so an applied push proves the request shape."""

from __future__ import annotations

import socket

import pytest

from console import outbox
from console.db import Cache
from sync import push, runner, status
from sync.base import Outcome, PushRequest
from sync.credentials import Credentials
from sync.discourse import DiscourseAdapter
from sync.http import FAST_RETRIES
from tests.backends import pytest_generate_tests
from tests.sync.conftest import add_source

pytestmark = [pytest.mark.backends, pytest.mark.prism, pytest.mark.xdist_group("prism")]
__all__ = ["pytest_generate_tests"]  # runs each test on both backends


def _seed(cache: Cache) -> tuple[int, int, int]:
    with cache.transaction() as conn:
        conn.execute(
            "INSERT INTO threads (source_id, remote_id, title, status, created_at, "
            "last_activity_at) VALUES (1, '77', 'Roaming', 'open', '2026-11-01T00:00:00Z', "
            "'2026-11-01T00:00:00Z')"
        )
        conn.execute(
            "INSERT INTO posts (thread_id, source_id, remote_id, position, body_text, body_raw, "
            "created_at) VALUES (1, 1, '501', 0, 'x', 'x', '2026-11-01T00:00:00Z')"
        )
    return 1, 1, 1


def test_push_requests_match_the_official_spec(
    cache: Cache, prism_url: str, creds_env: None
) -> None:
    add_source(cache, "forum", "discourse", prism_url)
    _seed(cache)
    ids = []
    with cache.transaction() as conn:
        for action, kind, payload in (
            ("close", "thread", {"thread_id": 1}),
            ("reopen", "thread", {"thread_id": 1}),
            ("hide_post", "post", {"post_id": 1, "reason": "spam"}),
            ("flag", "post", {"post_id": 1, "type": "inappropriate"}),
            ("reply", "thread", {"thread_id": 1, "raw": "Please check the APN settings."}),
        ):
            ids.append(
                outbox.enqueue(
                    conn,
                    source_id=1,
                    action=action,
                    target_kind=kind,
                    target_id=1,
                    payload=payload,
                    batch_id=None,
                    audit_id=None,
                )
            )
    report = push.push_source(cache, runner.source(cache, "forum"))
    assert report.applied == 5, report.messages
    states = [cache.one("SELECT state FROM outbox WHERE id = ?", (i,))[0] for i in ids]
    assert states == ["applied"] * 5


def test_a_request_off_the_spec_is_refused(prism_url: str) -> None:
    adapter = DiscourseAdapter(prism_url, Credentials(), policy=FAST_RETRIES)  # no Api-Key header
    try:
        result = adapter.push(
            PushRequest(1, "close", {"thread_id": 1}, {"thread": "77"}, "k", 1, None)
        )
    finally:
        adapter.close()
    assert result.outcome is Outcome.REJECTED
    assert "HTTP 422" in result.message and "api-key" in result.message


def test_pull_from_the_spec_mock_records_placeholder_data(
    cache: Cache, prism_url: str, creds_env: None
) -> None:
    # Prism answers with schema placeholders ("string" for every date): each bad field is a
    # recorded error naming endpoint and field; endpoints the spec lacks (review queue) too.
    add_source(cache, "forum", "discourse", prism_url)
    report = runner.sync_source(cache, runner.source(cache, "forum"))
    assert report.result == "errors", report.message
    errors = {(e.endpoint, e.field) for e in status.errors(cache, "forum")}
    assert ("/latest.json", "topic.bumped_at") in errors
    assert any(endpoint == "/review.json" for endpoint, _ in errors)
    assert cache.one("SELECT username FROM members WHERE remote_id = '0'")[0] == "string"
    assert cache.one("SELECT count(*) FROM threads")[0] == 0


def test_a_retried_reply_asks_only_what_the_spec_has(
    cache: Cache, prism_url: str, creds_env: None
) -> None:
    # The first attempt's mark comes from the latest posts (/posts.json); its retry reads the
    # topic (/t/{id}.json) before it posts again: Prism refuses any of them off the spec.
    add_source(cache, "forum", "discourse", prism_url)
    _seed(cache)
    with cache.transaction() as conn:
        oid = outbox.enqueue(
            conn,
            source_id=1,
            action="reply",
            target_kind="thread",
            target_id=1,
            payload={"thread_id": 1, "raw": "Please check the APN settings."},
            batch_id=None,
            audit_id=None,
        )
    row = runner.source(cache, "forum")
    adapter = runner.make_adapter(row)
    try:
        assert isinstance(adapter, DiscourseAdapter)
        mark = adapter.send_mark("reply")
    finally:
        adapter.close()
    assert mark == {"after_post": 0}  # the spec's placeholder post id
    dead = f"{socket.gethostname()}:999999999:deadbeef"  # killed after its claim
    assert isinstance(outbox.claim(cache, oid, dead, mark=mark), outbox.Claim)
    report = push.push_source(cache, row)
    assert report.applied == 1, report.messages
    assert tuple(cache.one("SELECT state, sent_mark FROM outbox WHERE id = ?", (oid,))) == (
        "applied",
        '{"after_post": 0}',
    )
