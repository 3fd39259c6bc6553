"""A flaky platform: 429 with Retry-After, 5xx, timeouts, truncated and malformed JSON, HTML
pages, a bad item. Each ends in a clear recorded error, and the rest of the sync completes."""

from __future__ import annotations

import json

import pytest

from console.db import Cache
from sync import runner, status
from sync.http import FAST_RETRIES
from tests.backends import pytest_generate_tests
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import FakeDiscourse, community

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]

QUICK = {**FAST_RETRIES.__dict__, "read_timeout": 0.3}


@pytest.fixture
def server() -> FakeDiscourse:
    s = community(n_topics=9, posts_per_topic=2).start()
    yield s
    s.stop()


def _sync(cache: Cache, **kw: object) -> runner.SyncReport:
    return runner.sync_source(cache, runner.source(cache, "forum"), **kw)


def _errors(cache: Cache) -> list[status.SyncErrorRow]:
    return status.errors(cache, "forum")


def test_transient_429_and_500_are_retried(
    cache: Cache, creds_env: None, server: FakeDiscourse
) -> None:
    server.state.faults = {"/t/3.json": ["429"], "/t/4.json": ["500"], "/latest.json": ["502html"]}
    add_source(cache, "forum", "discourse", server.url, retry=QUICK)
    report = _sync(cache)
    assert report.result == "ok", report.message
    assert _errors(cache) == []
    assert cache.one("SELECT count(*) FROM threads")[0] == 9
    assert server.state.requests.count(("GET", "/t/3.json")) == 2


def test_each_failure_is_recorded_and_the_rest_completes(
    cache: Cache, creds_env: None, server: FakeDiscourse
) -> None:
    st = server.state
    st.faults = {
        "/t/2.json": ["429"] * 3,  # rate limited beyond the retries
        "/t/3.json": ["500"] * 3,
        "/t/4.json": ["timeout"] * 3,
        "/t/5.json": ["truncated"],
        "/t/6.json": ["malformed"],
        "/t/7.json": ["html"],
    }
    st.topics[8].override = {"created_at": "last tuesday"}
    add_source(cache, "forum", "discourse", server.url, retry=QUICK)
    report = _sync(cache)
    assert report.result == "errors" and report.exit_code == 4
    got = {r[0] for r in cache.query("SELECT remote_id FROM threads")}
    assert got == {"1", "9"}
    errors = {e.message.split(":")[0]: e for e in _errors(cache)}
    by_topic = dict(errors.items())
    assert "rate limited" in by_topic["topic 2"].message
    assert "HTTP 500" in by_topic["topic 3"].message
    assert "no complete answer (ReadTimeout)" in by_topic["topic 4"].message
    assert "malformed or truncated JSON" in by_topic["topic 5"].message
    assert "malformed or truncated JSON" in by_topic["topic 6"].message
    assert by_topic["topic 6"].excerpt == '{"topic_list": {"topics": [,]}}'
    assert "an HTML page instead of JSON" in by_topic["topic 7"].message
    assert by_topic["topic 8"].field == "topic.created_at"
    assert "last tuesday" in by_topic["topic 8"].message
    assert all(e.endpoint == "/t/{id}.json" for e in by_topic.values())
    cursor = json.loads(cache.one("SELECT cursor FROM sources")[0])
    assert cursor["retry_topics"] == ["2", "3", "4", "5", "6", "7", "8"]
    # the platform recovers: the next sync fetches exactly the failed topics
    st.topics[8].override = {}
    mark = len(st.requests)
    again = _sync(cache)
    assert again.result == "ok", again.message
    fetched = sorted(p for _, p in st.requests[mark:] if p.startswith("/t/"))
    assert fetched == [f"/t/{i}.json" for i in range(2, 9)]
    assert cache.one("SELECT count(*) FROM threads")[0] == 9
    assert json.loads(cache.one("SELECT cursor FROM sources")[0])["retry_topics"] == []
    assert status.summary(cache).errors == 0


def test_json_nested_too_deep_is_one_topics_error(
    cache: Cache, creds_env: None, server: FakeDiscourse
) -> None:
    # 100,000 nested arrays are valid JSON that Python's parser gives up on (RecursionError):
    # as a topic's answer or a refusal's body, that topic's recorded error, not a stopped sync
    server.state.faults = {"/t/5.json": ["nested"], "/t/6.json": ["nested403"]}
    add_source(cache, "forum", "discourse", server.url, retry=QUICK)
    report = _sync(cache)
    assert report.result == "errors" and report.exit_code == 4
    assert cache.one("SELECT count(*) FROM threads")[0] == 7
    by_topic = {e.message.split(":")[0]: e for e in _errors(cache)}
    assert set(by_topic) == {"topic 5", "topic 6"}
    assert "malformed or truncated JSON (nested too deeply)" in by_topic["topic 5"].message
    assert "HTTP 403" in by_topic["topic 6"].message
    assert "an unreadable JSON error body" in by_topic["topic 6"].message


def test_unreadable_topic_list_keeps_the_watermark(
    cache: Cache, creds_env: None, server: FakeDiscourse
) -> None:
    add_source(cache, "forum", "discourse", server.url, retry=QUICK, per_page=3)
    assert _sync(cache).result == "ok"
    before = json.loads(cache.one("SELECT cursor FROM sources")[0])
    server.state.add_reply(9, "fresh", minute=99_999)
    server.state.faults = {"/latest.json": ["html"]}
    report = _sync(cache)
    assert report.result == "failed" and report.exit_code == 1
    assert "an HTML page instead of JSON" in report.message
    assert json.loads(cache.one("SELECT cursor FROM sources")[0]) == before
    assert _sync(cache).result == "ok"
    assert cache.one("SELECT count(*) FROM posts WHERE body_text = 'fresh'")[0] == 1
