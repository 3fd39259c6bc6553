"""A server that sends more than any answer should hold (gigabytes from a broken proxy, an
endless stream, a small gzip bomb) is cut off at the client's limit with an error naming the
endpoint: the sync never holds it all in memory, and stores nothing of that answer.

Each answer is read as a stream; one that declares a length over the limit is refused before
its body is read, one that does not is refused once the bytes read (decompressed) pass it.
"""

# SQLite only: the HTTP client's cap is the point; the store only receives what passed it
from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from console.db import Cache
from sync import runner, status
from sync.http import FAST_RETRIES, HttpSource, ResponseTooLarge, RetryPolicy
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import FakeDiscourse, community

LIMIT = 64 * 1024
CHUNK = b"x" * 8192


class _Hostile(ThreadingHTTPServer):
    daemon_threads = True
    sent = 0  # body bytes written by the endless answers, until the client hung up

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # the client hanging up on an endless answer is the point


class _Handler(BaseHTTPRequestHandler):
    server: _Hostile
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path == "/endless.json":  # chunked, no length: never ends on its own
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"1\r\n[\r\n")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                self.server.sent += len(CHUNK)
            return
        if self.path == "/declared.json":  # says 10 GB, then sends a little and waits
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(10 * 1024**3))
            self.end_headers()
            self.wfile.write(b"[" + b"0," * 100)
            self.wfile.flush()
            time.sleep(5)
            return
        if self.path in ("/bomb.json", "/small.json"):  # gzip: 17x or 1/4 the limit unpacked
            size = LIMIT * 17 if self.path == "/bomb.json" else LIMIT // 4
            body = gzip.compress(json.dumps(["0" * size]).encode())
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_error(404)


@pytest.fixture
def hostile() -> Iterator[tuple[_Hostile, HttpSource]]:
    server = _Hostile(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    host, port = server.server_address[:2]
    policy = RetryPolicy(**{**FAST_RETRIES.__dict__, "max_response_bytes": LIMIT})
    http = HttpSource(f"http://{host}:{port}", policy=policy, name="hostile")
    yield server, http
    http.close()
    server.shutdown()
    server.server_close()


def test_an_endless_answer_is_cut_off_at_the_limit(hostile: tuple[_Hostile, HttpSource]) -> None:
    server, http = hostile
    started = time.monotonic()
    with pytest.raises(ResponseTooLarge) as caught:
        http.get_json("/endless.json", endpoint="/endless.json")
    assert time.monotonic() - started < 10  # not read until the server gave up (20 s)
    assert str(caught.value).startswith("/endless.json: ")
    assert "larger than 64 KiB" in str(caught.value)
    assert caught.value.endpoint == "/endless.json"
    assert http.requests_made == 1  # not retried: the same answer would come again
    time.sleep(0.3)  # the client hung up: the server's writes fail (past the socket buffers)
    sent = server.sent
    time.sleep(0.3)
    assert server.sent == sent


def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    hostile: tuple[_Hostile, HttpSource],
) -> None:
    _server, http = hostile
    started = time.monotonic()
    with pytest.raises(ResponseTooLarge, match="^/declared.json: .*larger than 64 KiB"):
        http.get_json("/declared.json", endpoint="/declared.json")
    assert time.monotonic() - started < 4  # did not wait for the body the server holds back


def test_a_gzip_bomb_counts_what_it_unpacks_to(hostile: tuple[_Hostile, HttpSource]) -> None:
    """Its compressed length is far under the limit; what it unpacks to is not."""
    _server, http = hostile
    with pytest.raises(ResponseTooLarge, match="^/bomb.json: "):
        http.get_json("/bomb.json", endpoint="/bomb.json")
    assert http.get_json("/small.json") == ["0" * (LIMIT // 4)]  # under it: read as before


def test_a_too_large_topic_is_that_topics_error_and_nothing_of_it_is_stored(
    cache: Cache, creds_env: None
) -> None:
    """Through the sync: topic 3 grew a post larger than the limit. Its answers are refused,
    each error names its endpoint, no row of it is stored, and the rest completes; once the
    post is gone, the next sync stores it."""
    server: FakeDiscourse = community(n_topics=5, posts_per_topic=2).start()
    try:
        huge = server.state.add_reply(3, "spam " * 40_000, minute=50)  # ~200 KB
        add_source(
            cache,
            "forum",
            "discourse",
            server.url,
            retry={**FAST_RETRIES.__dict__, "max_response_bytes": 100_000},
        )
        report = runner.sync_source(cache, runner.source(cache, "forum"))
        assert report.result == "errors", report.message
        remote = {r[0] for r in cache.query("SELECT remote_id FROM threads")}
        assert remote == {"1", "2", "4", "5"}
        assert cache.one("SELECT count(*) FROM posts WHERE body_text LIKE 'spam%'")[0] == 0
        # the topic's answer, and the latest posts' (the post is among them)
        errors = {e.endpoint: e.message for e in status.errors(cache, "forum")}
        assert set(errors) == {"/t/{id}.json", "/posts.json"}
        assert all("larger than 98 KiB" in message for message in errors.values())
        assert errors["/t/{id}.json"].startswith("topic 3: ")
        with server.state.lock:
            server.state.topics[3].posts.remove(huge)
        assert runner.sync_source(cache, runner.source(cache, "forum")).result == "ok"
        assert cache.one("SELECT count(*) FROM threads WHERE remote_id = '3'")[0] == 1
    finally:
        server.stop()
