"""The Stack Exchange adapter (API 2.3): questions with bodies and answers, incremental by
activity date, accepted answers, closed-as-duplicate links. Read-only.

Incremental: questions are read oldest activity first (`sort=activity&order=asc&min=`),
and after each stored page the cursor moves to the newest activity date in it (same
transaction). Items on the boundary second are read again (idempotent upserts); a page whose
items all share one second advances by page number instead.

Throttling: a response's `backoff` (seconds) is obeyed before the next request; when
`quota_remaining` reaches 0 (or the API reports a throttle violation) the sync stops cleanly after
storing what it has, and the next run resumes from the cursor.

Writing back: the public API offers no write access for moderation actions (closing, hiding,
accepting for someone else, flags with reasons...). `push` says so and the action stays local
(`local_only`, with that reason).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from console.models import MemberRecord, PostRecord, ThreadRecord
from sync import parse as p
from sync.base import (
    BadPayload,
    HttpFailure,
    Known,
    MemberFacts,
    Outcome,
    Page,
    Problem,
    PushRequest,
    PushResult,
    QuotaSpent,
    read_each,
)
from sync.credentials import Credentials
from sync.http import HttpSource, RetryPolicy, parsed

API_ROOT = "https://api.stackexchange.com/2.3"
FILTER_INCLUDE = (
    "question.body;answer.body;question.closed_details;question.closed_reason;"
    "question.closed_date;question.accepted_answer_id;question.answer_count;.backoff;"
    ".quota_remaining;.quota_max;.has_more"
)
NO_WRITE_REASON = (
    "the Stack Exchange API offers no write access for moderation actions; kept in peerdesk only"
)


class StackExchangeAdapter:
    kind = "stackexchange"

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        options: dict[str, Any] | None = None,
        policy: RetryPolicy | None = None,
        name: str = "stackexchange",
    ) -> None:
        self.options = options or {}
        self.site = str(self.options.get("site") or "stackoverflow")
        self.page_size = int(self.options.get("page_size", 100))
        self.key = credentials.api_key
        self.http = HttpSource(
            base_url or API_ROOT,
            secrets=credentials.secrets(),
            policy=policy,
            min_interval=float(self.options.get("min_interval", 0.04)),
            name=name,
        )
        self.quota_remaining: int | None = None

    @property
    def requests_made(self) -> int:
        return self.http.requests_made

    def close(self) -> None:
        self.http.close()

    def push(self, request: PushRequest) -> PushResult:
        return PushResult(Outcome.LOCAL_ONLY, NO_WRITE_REASON)

    # ------------------------------------------------------------------ requests

    def _get(self, path: str, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.quota_remaining is not None and self.quota_remaining <= 0:
            raise QuotaSpent("the Stack Exchange daily quota is spent")
        query = {"site": self.site, **params}
        if self.key:
            query["key"] = self.key
        response = self.http.request("GET", path, endpoint=endpoint, params=query)
        if response.status_code >= 400:
            try:
                data = parsed(response.content)
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get("error_name") == "throttle_violation":
                raise QuotaSpent(
                    self.http.redact(f"throttled by Stack Exchange: {data.get('error_message')}")
                )
        data = p.obj(self.http.decode(response, endpoint), "response")
        backoff = data.get("backoff")
        if isinstance(backoff, int | float) and backoff > 0:
            self.http.pause_until(time.monotonic() + float(backoff))
        quota = data.get("quota_remaining")
        if isinstance(quota, int):
            self.quota_remaining = quota
        return data

    def _filter(self, cursor: dict[str, Any]) -> str:
        if self.options.get("filter"):
            return str(self.options["filter"])
        if cursor.get("filter"):
            return str(cursor["filter"])
        data = self._get(
            "/filters/create",
            "/filters/create",
            {"include": FILTER_INCLUDE, "base": "default", "unsafe": "false"},
        )
        try:
            items = p.lst(p.req(data, "items"), "items")
            return p.str_(p.obj(items[0], "items[0]"), "filter", "items[0].")
        except (p.BadField, IndexError):
            return "withbody"

    # ------------------------------------------------------------------ pull

    def pull(self, cursor: dict[str, Any], known: Known, *, full: bool = False) -> Iterator[Page]:
        try:
            filter_id = self._filter(cursor)
        except p.BadField as error:
            raise BadPayload("/filters/create", error.field, error.message) from None
        since = 0 if full else int(cursor.get("since", 0))
        page_no = 1 if full else int(cursor.get("page", 1))
        done = 0
        while True:
            endpoint = "/questions"
            try:
                data = self._get(
                    "/questions",
                    endpoint,
                    {
                        "sort": "activity",
                        "order": "asc",
                        # `min` bounds the sort field (last_activity_date); `fromdate` would
                        # bound creation_date and miss old questions with new activity.
                        "min": since,
                        "page": page_no,
                        "pagesize": self.page_size,
                        "filter": filter_id,
                    },
                )
                items = p.lst(p.req(data, "items"), "items")
            except p.BadField as error:
                raise BadPayload(endpoint, error.field, error.message, error.excerpt()) from None
            page = Page(label=f"questions from {since}")
            questions = self.parse_questions(items, page)
            answers, complete = self._answers(
                [q["question_id"] for q in questions], filter_id, page
            )
            self.build(questions, answers, page)
            if not complete:
                # Keep the questions, but not a cursor past answers we could not read: the next
                # sync asks for this page again, so no answer is lost. The problem is recorded.
                page.done = done + len(questions)
                page.cursor = {"since": since, "page": page_no, "filter": filter_id}
                yield page
                return
            newest = max((q["last_activity_date"] for q in questions), default=since)
            has_more = bool(data.get("has_more"))
            if newest > since:
                since, page_no = newest, 1
            elif has_more:
                page_no += 1
            done += len(questions)
            page.done = done
            page.cursor = {"since": since, "page": page_no, "filter": filter_id}
            yield page
            if not has_more or not items:
                return

    def _answers(
        self, question_ids: list[int], filter_id: str, page: Page
    ) -> tuple[dict[int, list[dict[str, Any]]], bool]:
        """The answers of these questions, and whether every request for them succeeded."""
        found: dict[int, list[dict[str, Any]]] = {}
        complete = True
        for start in range(0, len(question_ids), 100):
            ids = ";".join(str(i) for i in question_ids[start : start + 100])
            page_no = 1
            while True:
                endpoint = "/questions/{ids}/answers"
                try:
                    data = self._get(
                        f"/questions/{ids}/answers",
                        endpoint,
                        {
                            "page": page_no,
                            "pagesize": 100,
                            "filter": filter_id,
                            "sort": "creation",
                            "order": "asc",
                        },
                    )
                    items = p.lst(p.req(data, "items"), "items")
                except (BadPayload, HttpFailure) as error:
                    page.problems.append(Problem(endpoint, str(error)))
                    complete = False
                    break
                except p.BadField as error:
                    page.problems.append(Problem.of(endpoint, error))
                    complete = False
                    break
                for answer in self.parse_answers(items, page):
                    found.setdefault(answer["question_id"], []).append(answer)
                if not data.get("has_more") or not items:
                    break
                page_no += 1
        return found, complete

    # ------------------------------------------------------------------ parsing

    def parse_questions(self, items: list[Any], page: Page) -> list[dict[str, Any]]:
        return read_each(items, _question, "/questions", page.problems)

    def parse_answers(self, items: list[Any], page: Page) -> list[dict[str, Any]]:
        return read_each(items, _answer, "/questions/{ids}/answers", page.problems)

    @staticmethod
    def _owner(
        item: dict[str, Any], members: dict[str, MemberRecord], accounts: dict[str, str]
    ) -> str | None:
        """The owner's user id on this site (recorded in `members`); their network-wide account
        id, the same on every Stack Exchange site, goes in `accounts` (console.member_links)."""
        owner = item.get("owner")
        if not isinstance(owner, dict) or not isinstance(owner.get("user_id"), int):
            return None
        uid = str(owner["user_id"])
        if isinstance(owner.get("account_id"), int):
            accounts[uid] = str(owner["account_id"])
        name = p.unescape(str(owner.get("display_name") or uid))
        rep = owner.get("reputation")
        members[uid] = MemberRecord(
            remote_id=uid,
            username=name,
            display_name=name,
            reputation=rep if isinstance(rep, int) else 0,
        )
        return uid

    def build(
        self,
        questions: list[dict[str, Any]],
        answers: dict[int, list[dict[str, Any]]],
        page: Page,
    ) -> None:
        members: dict[str, MemberRecord] = {}
        accounts: dict[str, str] = {}  # user id -> network account id
        for q in questions:
            qid = q["question_id"]
            try:
                author = self._owner(q, members, accounts)
                created = p.epoch_(q, "creation_date", "question.")
                activity = p.epoch_(q, "last_activity_date", "question.")
                body = p.str_(q, "body", "question.", "")
                its_answers = sorted(answers.get(qid, []), key=lambda a: a["creation_date"])
                posts = [
                    PostRecord(
                        remote_id=str(qid),
                        thread_remote_id=str(qid),
                        author_remote_id=author,
                        position=0,
                        body_text=p.html_text(body),
                        body_raw=body,
                        created_at=created,
                        updated_at=p.epoch_(q, "last_edit_date")
                        if q.get("last_edit_date")
                        else None,
                        score=p.int_(q, "score", "question.", 0),
                    )
                ]
                for position, a in enumerate(its_answers, start=1):
                    a_body = p.str_(a, "body", "answer.", "")
                    posts.append(
                        PostRecord(
                            remote_id=str(a["answer_id"]),
                            thread_remote_id=str(qid),
                            author_remote_id=self._owner(a, members, accounts),
                            position=position,
                            body_text=p.html_text(a_body),
                            body_raw=a_body,
                            created_at=p.epoch_(a, "creation_date", "answer."),
                            updated_at=p.epoch_(a, "last_edit_date")
                            if a.get("last_edit_date")
                            else None,
                            score=p.int_(a, "score", "answer.", 0),
                        )
                    )
                accepted = q.get("accepted_answer_id")
                if accepted is None:
                    accepted = next(
                        (a["answer_id"] for a in its_answers if a.get("is_accepted") is True), None
                    )
                duplicate_of = None
                details = q.get("closed_details")
                reason = str(q.get("closed_reason") or "").lower()
                if isinstance(details, dict):
                    originals = details.get("original_questions")
                    if isinstance(originals, list) and originals and isinstance(originals[0], dict):
                        original = originals[0].get("question_id")
                        if isinstance(original, int):
                            duplicate_of = str(original)
                if duplicate_of or "duplicate" in reason:
                    status = "duplicate"
                elif q.get("closed_date") or reason:
                    status = "closed"
                elif accepted is not None:
                    status = "solved"
                elif p.int_(q, "answer_count", "question.", 0) > 0:
                    status = "answered"
                else:
                    status = "open"
                thread = ThreadRecord(
                    remote_id=str(qid),
                    title=p.unescape(q["title"]),
                    author_remote_id=author,
                    status=status,
                    created_at=created,
                    last_activity_at=activity,
                    reply_count=p.int_(q, "answer_count", "question.", len(its_answers)),
                    tags=tuple(t for t in q.get("tags") or [] if isinstance(t, str)),
                    accepted_post_remote_id=str(accepted) if accepted is not None else None,
                    url=q.get("link") if isinstance(q.get("link"), str) else None,
                    remote_updated_at=activity,
                    duplicate_of_remote_id=duplicate_of,
                )
            except p.BadField as error:
                page.problems.append(Problem.of("/questions", error, f"question {qid}: "))
                continue
            page.threads.append(thread)
            page.posts.extend(posts)
        page.members.extend(members.values())
        page.member_facts.extend(
            MemberFacts(uid, members[uid].username, signals=(("se_account_id", account),))
            for uid, account in sorted(accounts.items())
        )


def _question(raw: Any) -> dict[str, Any]:
    q = p.obj(raw, "question")
    p.int_(q, "question_id", "question.")
    p.str_(q, "title", "question.")
    p.int_(q, "creation_date", "question.")
    p.int_(q, "last_activity_date", "question.")
    return q


def _answer(raw: Any) -> dict[str, Any]:
    a = p.obj(raw, "answer")
    p.int_(a, "answer_id", "answer.")
    p.int_(a, "question_id", "answer.")
    p.int_(a, "creation_date", "answer.")
    return a
