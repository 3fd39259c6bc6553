"""The Stack Exchange adapter over real HTTP: a small API-2.3-shaped server on 127.0.0.1 (a
thread) serving the recorded items of ../shared/fixtures/stackexchange (read at test time) in the
standard wrapper (`items`, `has_more`, `quota_max`, `quota_remaining`, `backoff`), with the
`sort=activity&order=asc&min=` paging, `/filters/create`, `/questions/{ids}/answers`, quota
accounting and injected faults. Everything is asserted on the cache file."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from console.cli import main
from console.db import Cache, open_cache
from sync.http import FAST_RETRIES
from sync.runner import source, sync_source
from tests.backends import pytest_generate_tests
from tests.conftest import require_shared
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import LocalServer

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]

FILTER = "!peerdeskTestFilter"
SITE = "superuser"
THROTTLE = {
    "error_id": 502,
    "error_name": "throttle_violation",
    "error_message": "too many requests from this IP, more requests available in 77 seconds",
}


def fixture_items(name: str) -> list[dict[str, Any]]:
    recorded = require_shared("fixtures", "stackexchange", name)  # skips without ../shared
    return list(json.loads(recorded.read_text(encoding="utf-8"))["items"])


@dataclass
class Seen:
    number: int
    path: str
    query: dict[str, str]
    at: float  # time.monotonic() when the request arrived
    served: tuple[int, ...] = ()  # question ids in a /questions answer


class FakeStackExchange(LocalServer):
    path_prefix = "/2.3"

    """Questions and answers from the fixtures, paged and filtered like API 2.3."""

    def __init__(self, quota: int = 10_000) -> None:
        questions = fixture_items("questions_user22656.json") + fixture_items(
            "questions_sort_votes_2018.json"
        )
        self.questions = {q["question_id"]: q for q in questions}
        self.answers = fixture_items("answers_user22656.json") + fixture_items(
            "question_72755863_answers.json"
        )
        self.quota_max = 10_000
        self.quota = quota
        self.faults: dict[int, dict[str, Any]] = {}  # request number -> override
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, body: Any) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                status, body = fake.handle(self.path)
                self._send(status, body)

        self._serve(Handler)

    # ---------------------------------------------------------------- behaviour

    def handle(self, raw_path: str) -> tuple[int, Any]:
        url = urlsplit(raw_path)
        path = unquote(url.path).removeprefix("/2.3")
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with self.lock:
            seen = Seen(len(self.seen) + 1, path, query, time.monotonic())
            self.seen.append(seen)
            fault = self.faults.pop(seen.number, {})
            if "status" in fault:
                return int(fault["status"]), fault["error"]
            if self.quota <= 0:
                return 400, THROTTLE
            self.quota -= 1
            if query.get("site") != SITE:
                return 400, {
                    "error_id": 400,
                    "error_name": "bad_parameter",
                    "error_message": "site is required",
                }
            status, items, has_more = self.route(path, query)
            if status != 200:
                return status, items
            seen.served = tuple(i["question_id"] for i in items) if path == "/questions" else ()
            body: dict[str, Any] = {
                "items": items,
                "has_more": has_more,
                "quota_max": self.quota_max,
                "quota_remaining": self.quota,
            }
            body.update({k: v for k, v in fault.items() if k in ("backoff", "quota_remaining")})
            return 200, body

    def _page(self, items: list[dict[str, Any]], query: dict[str, str]) -> tuple[list[Any], bool]:
        page = int(query.get("page", "1"))
        size = int(query.get("pagesize", "30"))
        return items[(page - 1) * size : page * size], page * size < len(items)

    def route(self, path: str, query: dict[str, str]) -> tuple[int, Any, bool]:
        with_body = query.get("filter") == FILTER
        if path == "/filters/create":
            return 200, [{"filter": FILTER, "filter_type": "safe"}], False
        if path == "/questions":
            if query.get("sort") != "activity":
                return 400, {"error_id": 400, "error_message": "only activity here"}, False
            found = list(self.questions.values())
            # API 2.3: fromdate/todate bound creation_date; min/max bound the sort field
            if "fromdate" in query:
                found = [q for q in found if q["creation_date"] >= int(query["fromdate"])]
            if "min" in query:
                found = [q for q in found if q["last_activity_date"] >= int(query["min"])]
            found.sort(
                key=lambda q: (q["last_activity_date"], q["question_id"]),
                reverse=query.get("order", "desc") == "desc",
            )
            items, more = self._page(found, query)
            if with_body:  # the filter asks for bodies; the fixtures were captured without
                items = [{**q, "body": f"<p>Body of {q['question_id']}</p>"} for q in items]
            return 200, items, more
        match = re.fullmatch(r"/questions/([0-9;]+)/answers", path)
        if match:
            ids = {int(i) for i in match[1].split(";")}
            found = sorted(
                (a for a in self.answers if a["question_id"] in ids),
                key=lambda a: (a["creation_date"], a["answer_id"]),
            )
            items, more = self._page(found, query)
            if with_body:
                items = [{**a, "body": f"<p>Answer {a['answer_id']}</p>"} for a in items]
            return 200, items, more
        return 404, {"error_id": 404, "error_name": "no_method", "error_message": path}, False

    def paths(self, since: int = 0) -> list[str]:
        return [s.path for s in self.seen[since:]]


@pytest.fixture
def se(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStackExchange]:
    monkeypatch.setenv("PEERDESK_NO_KEYRING", "1")
    server = FakeStackExchange().start()
    yield server
    server.stop()


def add_se(cache: Cache, url: str, **options: Any) -> None:
    add_source(cache, "se", "stackexchange", url, site=SITE, min_interval=0.0, **options)


def by_activity(server: FakeStackExchange) -> list[dict[str, Any]]:
    return sorted(server.questions.values(), key=lambda q: q["last_activity_date"])


def thread_ids(cache: Cache) -> set[int]:
    return {int(r["remote_id"]) for r in cache.query("SELECT remote_id FROM threads")}


def cursor(cache: Cache) -> dict[str, Any]:
    return json.loads(cache.one("SELECT cursor FROM sources WHERE name = 'se'")["cursor"])


def test_sync_over_http_stores_questions_answers_and_accepted(
    tmp_path: Path, se: FakeStackExchange
) -> None:
    db = tmp_path / "c.sqlite3"
    options = json.dumps({"retry": FAST_RETRIES.__dict__, "page_size": 10, "min_interval": 0})
    add = ["source", "add", "se", "--kind", "stackexchange", "--site", SITE, "--url", se.url]
    assert main(["--db", str(db), *add, "--options", options]) == 0
    assert main(["--db", str(db), "sync", "se", "--quiet"]) == 0
    cache = open_cache(db)
    try:
        assert thread_ids(cache) == set(se.questions)
        for qid, q in se.questions.items():
            row = cache.one(
                "SELECT t.title, t.status, t.reply_count, p.body_text FROM threads t "
                "JOIN posts p ON p.thread_id = t.id AND p.position = 0 WHERE t.remote_id = ?",
                (str(qid),),
            )
            assert row["reply_count"] == q["answer_count"]
            assert row["body_text"] == f"Body of {qid}"
            if q.get("accepted_answer_id"):
                assert row["status"] == "solved"
        # the fixture answers of stored questions are stored, in position, and accepted
        matching = [a for a in se.answers if a["question_id"] in se.questions]
        assert len(matching) == 2
        for a in matching:
            row = cache.one(
                "SELECT p.position, p.body_text, p.score, t.accepted_post_id = p.id AS accepted "
                "FROM posts p JOIN threads t ON t.id = p.thread_id WHERE p.remote_id = ?",
                (str(a["answer_id"]),),
            )
            assert row["position"] == 1 and row["body_text"] == f"Answer {a['answer_id']}"
            assert row["score"] == a["score"]
            assert bool(row["accepted"]) == a["is_accepted"] is True
        owner = se.questions[matching[0]["question_id"]]["owner"]
        assert cache.one(
            "SELECT reputation FROM members WHERE remote_id = ?", (str(owner["user_id"]),)
        )["reputation"] == owner.get("reputation", 0)
        newest = by_activity(se)[-1]["last_activity_date"]
        assert cursor(cache) == {"filter": FILTER, "page": 1, "since": newest}
        assert (
            json.loads(cache.one("SELECT last_sync_result FROM sources")["last_sync_result"])[
                "result"
            ]
            == "ok"
        )
    finally:
        cache.close()
    # every request named the site, the created filter and the activity window
    assert all(s.query["site"] == SITE for s in se.seen)
    questions = [s for s in se.seen if s.path == "/questions"]
    assert all(s.query["filter"] == FILTER and s.query["sort"] == "activity" for s in questions)
    assert questions[0].query["min"] == "0" and len(questions) == 5
    # a second sync asks only from the cursor and gets the one boundary question back
    before = len(se.seen)
    assert main(["--db", str(db), "sync", "se", "--quiet"]) == 0
    again = [s for s in se.seen[before:] if s.path == "/questions"]
    assert [s.query["min"] for s in again] == [str(newest)]
    assert again[0].served == (by_activity(se)[-1]["question_id"],)
    assert "/filters/create" not in se.paths(before)


def test_old_question_with_new_activity_is_fetched_again(
    cache: Cache, se: FakeStackExchange
) -> None:
    add_se(cache, se.url, page_size=50)
    assert sync_source(cache, source(cache, "se")).result == "ok"
    oldest = min(se.questions.values(), key=lambda q: q["creation_date"])
    newest = by_activity(se)[-1]["last_activity_date"]
    oldest["last_activity_date"] = newest + 3600  # an answer arrives on the oldest question
    before = len(se.seen)
    assert sync_source(cache, source(cache, "se")).result == "ok"
    served = [s.served for s in se.seen[before:] if s.path == "/questions"]
    assert oldest["question_id"] in served[0]
    row = cache.one(
        "SELECT last_activity_at FROM threads WHERE remote_id = ?", (str(oldest["question_id"]),)
    )
    assert row["last_activity_at"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(newest + 3600)
    )
    assert cursor(cache)["since"] == newest + 3600


def test_backoff_delays_the_next_request(cache: Cache, se: FakeStackExchange) -> None:
    add_se(cache, se.url, page_size=50)
    se.faults[2] = {"backoff": 1}  # the first /questions answer says: wait one second
    report = sync_source(cache, source(cache, "se"))
    assert report.result == "ok"
    assert [s.path for s in se.seen[:2]] == ["/filters/create", "/questions"]
    assert se.seen[2].path.startswith("/questions/") and se.seen[2].path.endswith("/answers")
    assert se.seen[2].at - se.seen[1].at >= 1.0
    assert se.seen[1].at - se.seen[0].at < 1.0
    assert thread_ids(cache) == set(se.questions)


def test_quota_spent_stops_partial_and_resumes_from_cursor(
    cache: Cache, se: FakeStackExchange
) -> None:
    add_se(cache, se.url, page_size=10)
    # filter, questions 1, answers 1, questions 2, answers 2: the last one spends the quota
    se.quota = 5
    report = sync_source(cache, source(cache, "se"))
    assert report.result == "partial"
    assert "quota" in report.message and "resumes" in report.message
    assert "Traceback" not in report.message
    kinds = ["answers" if p.endswith("/answers") else p for p in se.paths()]
    # nothing is sent once the quota is known to be spent
    assert kinds == ["/filters/create", "/questions", "answers", "/questions", "answers"]
    ordered = by_activity(se)
    first_run = {q["question_id"] for q in ordered[:19]}  # pages 1-2 (one boundary overlap)
    assert thread_ids(cache) == first_run
    assert cursor(cache) == {
        "filter": FILTER,
        "page": 1,
        "since": ordered[18]["last_activity_date"],
    }
    stored = json.loads(cache.one("SELECT last_sync_result FROM sources")["last_sync_result"])
    assert stored["result"] == "partial"

    se.quota = 10_000  # the next day
    before = len(se.seen)
    report = sync_source(cache, source(cache, "se"))
    assert report.result == "ok"
    again = [s for s in se.seen[before:] if s.path == "/questions"]
    assert again[0].query["min"] == str(ordered[18]["last_activity_date"])
    assert again[0].query["page"] == "1"
    assert "/filters/create" not in se.paths(before)
    refetched = {qid for s in again for qid in s.served}
    assert refetched & first_run == {ordered[18]["question_id"]}  # only the boundary again
    assert thread_ids(cache) == set(se.questions)


def test_throttle_violation_body_stops_partial(cache: Cache, se: FakeStackExchange) -> None:
    add_se(cache, se.url, page_size=10)
    se.faults[4] = {"status": 400, "error": THROTTLE}  # the second /questions request
    report = sync_source(cache, source(cache, "se"))
    assert report.result == "partial"
    assert THROTTLE["error_message"] in report.message and "Traceback" not in report.message
    assert len(se.seen) == 4
    assert thread_ids(cache) == {q["question_id"] for q in by_activity(se)[:10]}
    assert cursor(cache)["since"] == by_activity(se)[9]["last_activity_date"]


def test_502_error_body_is_recorded_and_earlier_pages_kept(
    cache: Cache, se: FakeStackExchange
) -> None:
    add_se(cache, se.url, page_size=10)
    body = {"error_id": 502, "error_name": "internal_error", "error_message": "upstream hiccup"}
    for number in range(4, 4 + FAST_RETRIES.attempts):  # every attempt of questions page 2
        se.faults[number] = {"status": 502, "error": body}
    report = sync_source(cache, source(cache, "se"))
    assert report.result == "failed"
    assert len(se.seen) == 3 + FAST_RETRIES.attempts  # retried, then given up
    rows = cache.query("SELECT endpoint, message, excerpt FROM sync_errors")
    assert len(rows) == 1
    assert rows[0]["endpoint"] == "/questions"
    assert "HTTP 502" in rows[0]["message"] and "upstream hiccup" in rows[0]["message"]
    assert "Traceback" not in rows[0]["message"] and "Traceback" not in report.message
    assert thread_ids(cache) == {q["question_id"] for q in by_activity(se)[:10]}
    assert cursor(cache)["since"] == by_activity(se)[9]["last_activity_date"]


def test_error_on_answers_is_recorded_and_retried_next_time(
    cache: Cache, se: FakeStackExchange
) -> None:
    add_se(cache, se.url, page_size=50)
    body = {"error_id": 400, "error_name": "bad_parameter", "error_message": "ids is malformed"}
    se.faults[3] = {"status": 400, "error": body}  # the answers of the only page
    report = sync_source(cache, source(cache, "se"))
    assert report.result == "errors" and report.problems == 1
    rows = cache.query("SELECT endpoint, message FROM sync_errors")
    assert [r["endpoint"] for r in rows] == ["/questions/{ids}/answers"]
    assert "ids is malformed" in rows[0]["message"] and "HTTP 400" in rows[0]["message"]
    assert thread_ids(cache) == set(se.questions)
    answers = {str(a["answer_id"]) for a in se.answers}
    assert not [r for r in cache.query("SELECT remote_id FROM posts") if r[0] in answers]
    # the cursor did not move past the answers it could not read: the next sync gets them
    assert cursor(cache).get("since", 0) == 0
    again = sync_source(cache, source(cache, "se"))
    assert again.result == "ok"
    stored = {r[0] for r in cache.query("SELECT remote_id FROM posts")}
    wanted = {str(a["answer_id"]) for a in se.answers if a["question_id"] in se.questions}
    assert wanted and wanted <= stored


def test_a_date_out_of_range_costs_its_question_only(cache: Cache, se: FakeStackExchange) -> None:
    add_se(cache, se.url, page_size=50)
    # Unix times no datetime holds (years 10000 and 0): one named problem each, never a sync
    # that stops on a ValueError
    far, huge = sorted(se.questions)[:2]
    se.questions[far]["creation_date"] = 253_402_300_800
    se.questions[huge]["creation_date"] = -62_135_596_801
    report = sync_source(cache, source(cache, "se"))
    assert report.result == "errors"  # done, some items not read (exit code 4)
    assert thread_ids(cache) == set(se.questions) - {far, huge}
    messages = [r["message"] for r in cache.query("SELECT message FROM sync_errors")]
    assert sorted(messages) == [
        f"question {far}: not a Unix time: 253402300800",
        f"question {huge}: not a Unix time: -62135596801",
    ]
