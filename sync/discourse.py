"""The Discourse adapter: pull topics, full post streams, members, solved answers and the review
queue; push moderator decisions back.

Incremental strategy (why `bumped_at` alone is not enough)
----------------------------------------------------------
`/latest.json?order=activity` is ordered by `bumped_at`, which moves on new replies but NOT on
edits of old posts, ninja edits, closing/archiving/unlisting, flags, hiding, accepting a solution
or likes. Each sync therefore combines four cheap signals, and stores a per-topic fingerprint of
its list entry (bumped_at, last_posted_at, posts_count, highest_post_number, closed, archived,
pinned, visible, like_count, has_accepted_answer) in the same transaction as the topic:

1. The topic list ordered by activity, walked page by page only until a page holds no unpinned
   topic bumped after the stored watermark minus an overlap (10 min, for clock skew). Pinned
   topics sit on top whatever their bump date: they never end the walk and are compared by
   fingerprint like any other entry. Every entry seen whose fingerprint differs is refetched.
2. The latest-posts feed (`/posts.json`, newest post ids first) walked down to the highest post
   id seen last time: posts that do not bump a topic (moderator small-action posts for
   close/open/archive, whispers, replies with bumping suppressed) mark their topic changed.
3. The review queue (`/review.json`, pending items): a new or changed reviewable (id, version,
   status) marks its topic changed, so flags and hides are seen.
4. A reconciliation walk of the whole list (all pages, fingerprints compared, and every post of a
   changed topic refetched) on the first sync, every `full_every_hours` (default 24 h) and on
   `peerdesk sync --full`: it catches what no feed shows (ninja edits of old posts, accepting a
   solution without other activity).

A topic whose fetch failed is kept in the cursor's `retry_topics` and fetched again next time;
the watermark and last post id are stored only with the final page, after everything they cover.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from console.clock import iso, now, now_iso, parse
from console.models import MemberRecord, PostRecord, ThreadRecord
from sync import parse as p
from sync.base import (
    AuthFailed,
    BadPayload,
    HttpFailure,
    Known,
    Offline,
    Outcome,
    Page,
    Problem,
    PushRequest,
    PushResult,
    ReviewRecord,
)
from sync.credentials import Credentials
from sync.http import HttpSource, RetryPolicy, is_auth_failure

LIKE = 2
FLAG_TYPES: dict[str, int] = {
    "off_topic": 3,
    "inappropriate": 4,
    "notify_user": 6,
    "notify_moderators": 7,
    "spam": 8,
    "illegal": 10,
}
FLAG_IDS = frozenset(FLAG_TYPES.values()) - {6}
SMALL_ACTION = 3
REVIEW_STATUS = {0: "pending", 1: "approved", 2: "rejected", 3: "ignored", 4: "deleted"}
REVIEW_KINDS = {
    "ReviewableFlaggedPost": "flagged_post",
    "ReviewableQueuedPost": "queued_post",
    "ReviewableUser": "user",
    "ReviewablePost": "post",
}


@dataclass(frozen=True)
class DiscourseOptions:
    per_page: int = 100
    overlap_minutes: int = 10
    full_every_hours: float = 24.0
    posts_chunk: int = 20
    min_interval: float = 0.0
    max_feed_pages: int = 20

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiscourseOptions:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def _fingerprint(entry: dict[str, Any]) -> str:
    keys = (
        "bumped_at",
        "last_posted_at",
        "posts_count",
        "highest_post_number",
        "closed",
        "archived",
        "pinned",
        "visible",
        "like_count",
        "has_accepted_answer",
    )
    return json.dumps([entry.get(k) for k in keys], separators=(",", ":"))


@dataclass
class _Topic:
    thread: ThreadRecord
    posts: list[PostRecord]
    members: list[MemberRecord]


class DiscourseAdapter:
    kind = "discourse"

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        options: DiscourseOptions | None = None,
        policy: RetryPolicy | None = None,
        name: str = "discourse",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.options = options or DiscourseOptions()
        self.credentials = credentials
        headers: dict[str, str] = {}
        if credentials.api_key:
            headers["Api-Key"] = credentials.api_key
            headers["Api-Username"] = credentials.api_username or "system"
        self.http = HttpSource(
            self.base_url,
            headers=headers,
            secrets=credentials.secrets(),
            policy=policy,
            min_interval=self.options.min_interval,
            name=name,
        )
        self.username = credentials.api_username or "system"

    @property
    def requests_made(self) -> int:
        return self.http.requests_made

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ pull

    def pull(self, cursor: dict[str, Any], known: Known, *, full: bool = False) -> Iterator[Page]:
        opts = self.options
        watermark: str | None = cursor.get("watermark")
        last_post_id: int | None = cursor.get("last_post_id")
        last_full: str | None = cursor.get("last_full_at")
        retry: set[str] = {str(t) for t in cursor.get("retry_topics", [])}
        stale = last_full is None or (
            now() - parse(last_full) > timedelta(hours=opts.full_every_hours)
        )
        do_full = full or watermark is None or stale
        dirty: set[str] = set(retry)
        failed: set[str] = set()
        done = 0

        # 2. latest posts feed: topics with posts that may not have bumped
        new_last_post_id, feed_topics, problems = self._walk_posts_feed(last_post_id)
        dirty |= feed_topics
        # 3. the review queue
        reviews_page, review_topics = self._pull_reviews(known)
        dirty |= review_topics
        reviews_page.problems[:0] = problems
        yield reviews_page

        # members directory on reconciliation walks
        if do_full:
            yield from self._pull_directory()

        # 1. the topic list, newest activity first
        stop_before = None
        if watermark and not do_full:
            stop_before = iso(parse(watermark) - timedelta(minutes=opts.overlap_minutes))
        max_bumped = watermark
        walk_failed = False
        seen: set[str] = set()
        page_no = 0
        while True:
            endpoint = "/latest.json"
            try:
                data = self._get_list(
                    endpoint,
                    params={
                        "order": "activity",
                        "page": page_no,
                        "per_page": opts.per_page,
                        "no_definitions": "true",
                    },
                )
                topic_list = p.obj(p.req(p.obj(data, "response"), "topic_list"), "topic_list")
                entries_raw = p.lst(p.req(topic_list, "topics", "topic_list."), "topic_list.topics")
            except (p.BadField, BadPayload, HttpFailure) as error:
                if isinstance(error, AuthFailed) or (
                    page_no == 0 and not isinstance(error, p.BadField) and not seen
                ):
                    raise
                # The rest of the list cannot be read now: keep the old watermark so the next
                # sync walks this part again; what was read so far is stored.
                walk_failed = True
                problem = (
                    Problem(endpoint, error.message, error.field, error.excerpt())
                    if isinstance(error, p.BadField)
                    else _problem(error, endpoint)
                )
                yield Page(problems=[problem], label="topic list unreadable")
                break
            page = Page(label=f"topics page {page_no + 1}")
            page.member_refs.extend(self._list_users(data, page, endpoint))
            entries: list[dict[str, Any]] = []
            for raw in entries_raw:
                try:
                    entry = p.obj(raw, "topic")
                    p.int_(entry, "id", "topic.")
                    p.time_(entry, "bumped_at", "topic.")
                    entries.append(entry)
                except p.BadField as error:
                    page.problems.append(
                        Problem(endpoint, error.message, error.field, error.excerpt())
                    )
            ids = [str(e["id"]) for e in entries]
            seen.update(ids)
            stored = {} if not ids else known.fingerprints("topic", ids)
            for entry in entries:
                tid = str(entry["id"])
                fp = _fingerprint(entry)
                bumped = p.time_(entry, "bumped_at")
                if max_bumped is None or bumped > max_bumped:
                    max_bumped = bumped
                if stored.get(tid) == fp and tid not in dirty:
                    continue
                dirty.discard(tid)
                topic = self._fetch_topic(tid, known, page, refetch_all=do_full)
                if topic is None:
                    failed.add(tid)
                    continue
                page.threads.append(topic.thread)
                page.posts.extend(topic.posts)
                page.member_refs.extend(topic.members)
                page.fingerprints[("topic", tid)] = fp
            done += len(entries)
            page.done = done
            yield page
            more = bool(topic_list.get("more_topics_url")) and len(entries_raw) > 0
            unpinned = [e for e in entries if not e.get("pinned")]
            # The list is newest-bump first (pinned topics on top whatever their date): once an
            # unpinned topic is older than the watermark, the rest of the list is older too.
            if (
                stop_before is not None
                and unpinned
                and min(p.time_(e, "bumped_at") for e in unpinned) < stop_before
            ):
                more = False
            if not more:
                break
            page_no += 1

        # A full walk lists every visible topic: cached ones it did not meet were deleted (or
        # hidden) remotely; fetching them records that clearly.
        if do_full and not walk_failed:
            dirty |= known.remote_ids("topic") - seen
        # topics marked changed by the feeds but not met on the walked pages
        leftover = sorted(dirty, key=lambda t: int(t) if t.isdigit() else 0)
        for start in range(0, len(leftover), 20):
            page = Page(label="changed topics")
            for tid in leftover[start : start + 20]:
                topic = self._fetch_topic(tid, known, page, refetch_all=do_full)
                if topic is None:
                    failed.add(tid)
                    continue
                page.threads.append(topic.thread)
                page.posts.extend(topic.posts)
                page.member_refs.extend(topic.members)
            done += len(leftover[start : start + 20])
            page.done = done
            yield page

        yield Page(
            label="cursor",
            done=done,
            total=done,
            cursor={
                "watermark": watermark if walk_failed else max_bumped,
                "last_post_id": last_post_id if walk_failed else new_last_post_id,
                "last_full_at": now_iso() if do_full and not walk_failed else last_full,
                "retry_topics": sorted(failed),
            },
        )

    def _get_list(self, endpoint: str, params: dict[str, Any]) -> Any:
        return self.http.get_json(endpoint, params=params)

    def _list_users(self, data: Any, page: Page, endpoint: str) -> list[MemberRecord]:
        members = []
        users = data.get("users", []) if isinstance(data, dict) else []
        for raw in users if isinstance(users, list) else []:
            try:
                user = p.obj(raw, "user")
                members.append(
                    MemberRecord(
                        remote_id=str(p.int_(user, "id", "user.")),
                        username=p.str_(user, "username", "user."),
                        display_name=p.opt_str(user, "name", "user."),
                    )
                )
            except p.BadField as error:
                page.problems.append(Problem(endpoint, error.message, error.field, error.excerpt()))
        return members

    def _walk_posts_feed(
        self, last_post_id: int | None
    ) -> tuple[int | None, set[str], list[Problem]]:
        endpoint = "/posts.json"
        topics: set[str] = set()
        problems: list[Problem] = []
        newest = last_post_id
        before: int | None = None
        for _ in range(self.options.max_feed_pages):
            params = {"before": before} if before else None
            try:
                data = self.http.get_json(endpoint, params=params)
                posts = p.lst(p.req(p.obj(data, "response"), "latest_posts"), "latest_posts")
            except (BadPayload, HttpFailure) as error:
                if isinstance(error, AuthFailed):
                    raise
                problems.append(_problem(error, endpoint))
                return last_post_id, topics, problems
            except p.BadField as error:
                problems.append(Problem(endpoint, error.message, error.field, error.excerpt()))
                return last_post_id, topics, problems
            ids: list[int] = []
            for raw in posts:
                try:
                    post = p.obj(raw, "post")
                    pid = p.int_(post, "id", "post.")
                    tid = p.int_(post, "topic_id", "post.")
                except p.BadField as error:
                    problems.append(Problem(endpoint, error.message, error.field, error.excerpt()))
                    continue
                ids.append(pid)
                if last_post_id is not None and pid > last_post_id:
                    topics.add(str(tid))
            if not ids:
                break
            newest = max(newest or 0, max(ids))
            if last_post_id is None or min(ids) <= last_post_id:
                break
            before = min(ids)
        return newest, topics, problems

    def _pull_reviews(self, known: Known) -> tuple[Page, set[str]]:
        endpoint = "/review.json"
        page = Page(label="review queue")
        topics: set[str] = set()
        records: list[ReviewRecord] = []
        offset = 0
        for _ in range(50):
            try:
                data = self.http.get_json(
                    endpoint,
                    params={"status": "pending", "offset": offset}
                    if offset
                    else {"status": "pending"},
                )
                items = p.lst(p.req(p.obj(data, "response"), "reviewables"), "reviewables")
            except (BadPayload, HttpFailure) as error:
                if isinstance(error, AuthFailed) and error.status == 401:
                    raise
                page.problems.append(_problem(error, endpoint))
                return page, topics
            except p.BadField as error:
                page.problems.append(Problem(endpoint, error.message, error.field, error.excerpt()))
                return page, topics
            for raw in items:
                try:
                    records.append(self._review(raw))
                except p.BadField as error:
                    page.problems.append(
                        Problem(endpoint, error.message, error.field, error.excerpt())
                    )
            meta = data.get("meta") if isinstance(data, dict) else None
            more = isinstance(meta, dict) and meta.get("load_more_reviewables")
            total = meta.get("total_rows_reviewables") if isinstance(meta, dict) else None
            offset += len(items)
            if not items or not more or (isinstance(total, int) and offset >= total):
                break
        page.reviews = records
        page.reviews_complete = True
        stored = known.fingerprints("review", [r.remote_id for r in records]) if records else {}
        for record in records:
            fp = f"{record.version}:{record.status}"
            page.fingerprints[("review", record.remote_id)] = fp
            if stored.get(record.remote_id) != fp and record.thread_remote_id:
                topics.add(record.thread_remote_id)
        return page, topics

    def _review(self, raw: Any) -> ReviewRecord:
        item = p.obj(raw, "reviewable")
        rid = p.int_(item, "id", "reviewable.")
        rtype = p.str_(item, "type", "reviewable.")
        status_raw = item.get("status")
        if isinstance(status_raw, int) and not isinstance(status_raw, bool):
            status = REVIEW_STATUS.get(status_raw, str(status_raw))
        elif isinstance(status_raw, str):
            status = status_raw
        else:
            raise p.BadField("reviewable.status", "expected a number or text", status_raw)
        topic_id = item.get("topic_id")
        target_id = item.get("target_id")
        reasons: list[str] = []
        for score in item.get("reviewable_scores") or []:
            if isinstance(score, dict):
                reason = score.get("reason") or score.get("score_type", {}).get("title")
                if isinstance(reason, str) and reason:
                    reasons.append(reason)
        actions: list[str] = []
        for bundle in item.get("bundled_actions") or []:
            if isinstance(bundle, dict):
                for action in bundle.get("actions") or []:
                    if isinstance(action, dict) and isinstance(action.get("id"), str):
                        actions.append(action["id"])
        payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
        body = ""
        if isinstance(payload, dict) and isinstance(payload.get("raw"), str):
            body = payload["raw"]
        elif isinstance(item.get("cooked"), str):
            body = p.html_text(item["cooked"])
        created_by = item.get("target_created_by_id") or item.get("created_by_id")
        return ReviewRecord(
            remote_id=str(rid),
            kind=REVIEW_KINDS.get(rtype, rtype.lower()),
            status=status,
            version=p.int_(item, "version", "reviewable.", default=0),
            created_at=p.time_(item, "created_at", "reviewable."),
            thread_remote_id=str(topic_id) if isinstance(topic_id, int) else None,
            post_remote_id=(
                str(target_id)
                if isinstance(target_id, int) and item.get("target_type", "Post") == "Post"
                else None
            ),
            score=float(item.get("score") or 0),
            reasons=tuple(reasons),
            actions=tuple(actions),
            body=body,
            created_by=str(created_by) if created_by is not None else None,
        )

    def _pull_directory(self) -> Iterator[Page]:
        endpoint = "/directory_items.json"
        for page_no in range(10_000):
            page = Page(label=f"members page {page_no + 1}")
            try:
                data = self.http.get_json(
                    endpoint, params={"period": "all", "order": "post_count", "page": page_no}
                )
                items = p.lst(p.req(p.obj(data, "response"), "directory_items"), "directory_items")
            except (BadPayload, HttpFailure) as error:
                if isinstance(error, AuthFailed) and error.status == 401:
                    raise
                page.problems.append(_problem(error, endpoint))
                yield page
                return
            except p.BadField as error:
                page.problems.append(Problem(endpoint, error.message, error.field, error.excerpt()))
                yield page
                return
            for raw in items:
                try:
                    item = p.obj(raw, "directory_item")
                    user = p.obj(p.req(item, "user", "directory_item."), "directory_item.user")
                    page.members.append(
                        MemberRecord(
                            remote_id=str(p.int_(user, "id", "user.")),
                            username=p.str_(user, "username", "user."),
                            display_name=p.opt_str(user, "name", "user."),
                            reputation=p.int_(item, "likes_received", "directory_item.", 0),
                        )
                    )
                except p.BadField as error:
                    page.problems.append(
                        Problem(endpoint, error.message, error.field, error.excerpt())
                    )
            yield page
            more = data.get("load_more_directory_items") or (
                isinstance(data.get("meta"), dict) and data["meta"].get("load_more_directory_items")
            )
            total = data.get("total_rows_directory_items")
            if isinstance(data.get("meta"), dict):
                total = data["meta"].get("total_rows_directory_items", total)
            if not items or not more:
                return
            if isinstance(total, int) and (page_no + 1) * len(items) >= total:
                return

    def _fetch_topic(
        self, tid: str, known: Known, page: Page, *, refetch_all: bool = False
    ) -> _Topic | None:
        """The whole topic with every post; None (problem recorded) if it cannot be read."""
        endpoint = "/t/{id}.json"
        try:
            data = self.http.get_json(f"/t/{tid}.json", endpoint=endpoint)
            topic = p.obj(data, "topic")
            stream = p.obj(p.req(topic, "post_stream"), "post_stream")
            first_posts = p.lst(p.req(stream, "posts", "post_stream."), "post_stream.posts")
            ids = [
                int(i)
                for i in p.lst(stream.get("stream", []), "post_stream.stream")
                if isinstance(i, int)
            ]
        except HttpFailure as error:
            if isinstance(error, AuthFailed) and error.status == 401:
                raise
            if error.status == 404:
                page.forget.append(("topic", tid))
                page.problems.append(
                    Problem(
                        endpoint,
                        f"topic {tid} was deleted on the platform or is no longer visible "
                        "(HTTP 404); the cached copy is kept as it was",
                        "id",
                        tid,
                    )
                )
                return None
            page.problems.append(_problem(error, endpoint, f"topic {tid}: "))
            return None
        except BadPayload as error:
            page.problems.append(_problem(error, endpoint, f"topic {tid}: "))
            return None
        except p.BadField as error:
            page.problems.append(
                Problem(endpoint, f"topic {tid}: {error.message}", error.field, error.excerpt())
            )
            return None
        raw_posts: list[Any] = list(first_posts)
        have = {post.get("id") for post in first_posts if isinstance(post, dict)}
        cached = set() if refetch_all else known.post_ids(tid)
        missing = [i for i in ids if i not in have and str(i) not in cached]
        chunk = max(1, self.options.posts_chunk)
        for start in range(0, len(missing), chunk):
            part = missing[start : start + chunk]
            try:
                more = self.http.get_json(
                    f"/t/{tid}/posts.json",
                    endpoint="/t/{id}/posts.json",
                    params=[("post_ids[]", i) for i in part],
                )
                more_posts = p.lst(
                    p.req(
                        p.obj(p.req(p.obj(more, "response"), "post_stream"), "post_stream"),
                        "posts",
                        "post_stream.",
                    ),
                    "post_stream.posts",
                )
            except (HttpFailure, BadPayload) as error:
                if isinstance(error, AuthFailed) and error.status == 401:
                    raise
                page.problems.append(_problem(error, "/t/{id}/posts.json", f"topic {tid}: "))
                return None
            except p.BadField as error:
                page.problems.append(
                    Problem(
                        "/t/{id}/posts.json",
                        f"topic {tid}: {error.message}",
                        error.field,
                        error.excerpt(),
                    )
                )
                return None
            raw_posts.extend(more_posts)
        try:
            return self._parse_topic(topic, raw_posts, page)
        except p.BadField as error:
            page.problems.append(
                Problem(endpoint, f"topic {tid}: {error.message}", error.field, error.excerpt())
            )
            return None

    def _parse_topic(self, topic: dict[str, Any], raw_posts: list[Any], page: Page) -> _Topic:
        tid = str(p.int_(topic, "id", "topic."))
        title = p.unescape(p.str_(topic, "title", "topic."))
        created_at = p.time_(topic, "created_at", "topic.")
        posts: list[PostRecord] = []
        members: dict[str, MemberRecord] = {}
        accepted: str | None = None
        by_number: dict[int, str] = {}
        flags_total = 0
        for raw in raw_posts:
            try:
                post = p.obj(raw, "post")
                record, member, flags, is_accepted, number = self._parse_post(post, tid)
            except p.BadField as error:
                page.problems.append(
                    Problem(
                        "/t/{id}.json",
                        f"topic {tid}: post skipped: {error.message}",
                        error.field,
                        error.excerpt(),
                    )
                )
                continue
            if record is None:
                continue
            posts.append(record)
            by_number[number] = record.remote_id
            if member:
                members[member.remote_id] = member
            flags_total += flags
            if is_accepted:
                accepted = record.remote_id
        solved = topic.get("accepted_answer")
        if accepted is None and isinstance(solved, dict):
            number = solved.get("post_number")
            if isinstance(number, int):
                accepted = by_number.get(number)
        details = topic.get("details") if isinstance(topic.get("details"), dict) else {}
        author = None
        created_by = details.get("created_by") if isinstance(details, dict) else None
        if isinstance(created_by, dict) and isinstance(created_by.get("id"), int):
            author = str(created_by["id"])
            if isinstance(created_by.get("username"), str):
                members.setdefault(
                    author, MemberRecord(remote_id=author, username=created_by["username"])
                )
        elif isinstance(topic.get("user_id"), int):
            author = str(topic["user_id"])
        posts_count = p.int_(topic, "posts_count", "topic.", 1)
        closed = p.bool_(topic, "closed", "topic.") or p.bool_(topic, "archived", "topic.")
        has_solution = accepted is not None or isinstance(solved, dict)
        if closed:
            status = "closed"
        elif has_solution:
            status = "solved"
        elif posts_count > 1:
            status = "answered"
        else:
            status = "open"
        last = p.opt_time(topic, "last_posted_at", "topic.") or p.opt_time(
            topic, "bumped_at", "topic."
        )
        tags_raw = topic.get("tags") or []
        tags = tuple(
            t if isinstance(t, str) else str(t.get("name"))
            for t in tags_raw
            if isinstance(t, str) or (isinstance(t, dict) and t.get("name"))
        )
        slug = topic.get("slug") if isinstance(topic.get("slug"), str) else "-"
        thread = ThreadRecord(
            remote_id=tid,
            title=title,
            author_remote_id=author,
            status=status,
            created_at=created_at,
            last_activity_at=last or created_at,
            reply_count=max(0, posts_count - 1),
            flag_count=flags_total,
            tags=tags,
            accepted_post_remote_id=accepted,
            url=f"{self.base_url}/t/{slug}/{tid}",
            remote_updated_at=last,
        )
        return _Topic(thread, posts, list(members.values()))

    def _parse_post(
        self, post: dict[str, Any], tid: str
    ) -> tuple[PostRecord | None, MemberRecord | None, int, bool, int]:
        pid = p.int_(post, "id", "post.")
        number = p.int_(post, "post_number", "post.")
        post_type = p.int_(post, "post_type", "post.", 1)
        if post_type == SMALL_ACTION or post.get("deleted_at"):
            return None, None, 0, False, number
        cooked = p.str_(post, "cooked", "post.")
        created = p.time_(post, "created_at", "post.")
        updated = p.opt_time(post, "updated_at", "post.")
        flags = likes = 0
        for action in post.get("actions_summary") or []:
            if isinstance(action, dict) and isinstance(action.get("count"), int):
                if action.get("id") in FLAG_IDS:
                    flags += action["count"]
                elif action.get("id") == LIKE:
                    likes += action["count"]
        member = None
        user_id = post.get("user_id")
        if isinstance(user_id, int):
            member = MemberRecord(
                remote_id=str(user_id),
                username=p.str_(post, "username", "post."),
                display_name=p.opt_str(post, "name", "post.") or None,
                trust_level=post.get("trust_level")
                if isinstance(post.get("trust_level"), int)
                else None,
            )
        record = PostRecord(
            remote_id=str(pid),
            thread_remote_id=tid,
            author_remote_id=str(user_id) if isinstance(user_id, int) else None,
            position=number - 1,
            body_text=p.html_text(cooked),
            body_raw=cooked,
            created_at=created,
            updated_at=updated,
            score=likes,
            flag_count=flags,
            hidden=p.bool_(post, "hidden", "post."),
        )
        return record, member, flags, bool(post.get("accepted_answer") is True), number

    # ------------------------------------------------------------------ parsing (public, for
    # recorded responses and JSON copies)

    def parse_topic(self, data: Any) -> tuple[ThreadRecord | None, list[PostRecord], Page]:
        """A /t/{id}.json response (or /t/{id}/posts.json with an id) -> thread, posts."""
        page = Page()
        try:
            topic = p.obj(data, "topic")
            stream = p.obj(p.req(topic, "post_stream"), "post_stream")
            posts = p.lst(p.req(stream, "posts", "post_stream."), "post_stream.posts")
            if "title" not in topic:  # /t/{id}/posts.json: posts only
                records = []
                for raw in posts:
                    record = self._parse_post(p.obj(raw, "post"), str(p.int_(topic, "id")))[0]
                    if record:
                        records.append(record)
                return None, records, page
            parsed = self._parse_topic(topic, posts, page)
        except p.BadField as error:
            page.problems.append(
                Problem("/t/{id}.json", error.message, error.field, error.excerpt())
            )
            return None, [], page
        page.member_refs.extend(parsed.members)
        return parsed.thread, parsed.posts, page

    def parse_topic_list(self, data: Any) -> tuple[list[dict[str, Any]], Page]:
        """A topic list response (/latest.json, /top.json, ...) -> valid entries."""
        page = Page()
        entries: list[dict[str, Any]] = []
        try:
            topic_list = p.obj(p.req(p.obj(data, "response"), "topic_list"), "topic_list")
            raws = p.lst(p.req(topic_list, "topics", "topic_list."), "topic_list.topics")
        except p.BadField as error:
            page.problems.append(Problem("/latest.json", error.message, error.field))
            return entries, page
        page.member_refs.extend(self._list_users(data, page, "/latest.json"))
        for raw in raws:
            try:
                entry = p.obj(raw, "topic")
                p.int_(entry, "id", "topic.")
                p.str_(entry, "title", "topic.")
                p.time_(entry, "created_at", "topic.")
                p.time_(entry, "bumped_at", "topic.")
                entries.append(entry)
            except p.BadField as error:
                page.problems.append(
                    Problem("/latest.json", error.message, error.field, error.excerpt())
                )
        return entries, page

    def parse_review(self, raw: Any) -> ReviewRecord:
        return self._review(raw)

    def fingerprint(self, entry: dict[str, Any]) -> str:
        return _fingerprint(entry)

    # ------------------------------------------------------------------ push

    def push(self, request: PushRequest) -> PushResult:
        handler = getattr(self, f"_push_{request.action}", None)
        if handler is None:
            return PushResult(
                Outcome.LOCAL_ONLY, f"Discourse cannot receive '{request.action}' from peerdesk"
            )
        try:
            result: PushResult = handler(request)
            return result
        except Offline as error:
            return PushResult(Outcome.RETRY_LATER, f"offline: {error}")
        except AuthFailed as error:
            if error.status == 401:
                raise
            return PushResult(Outcome.REJECTED, str(error))
        except HttpFailure as error:
            return PushResult(Outcome.RETRY_LATER, str(error))
        except BadPayload as error:
            return PushResult(Outcome.RETRY_LATER, f"unreadable answer: {error}")

    def _outcome(self, response: Any, endpoint: str, *, already_ok: bool = False) -> PushResult:
        """Map a write's response to an outcome, with the platform's own words."""
        status = response.status_code
        if 200 <= status < 300:
            return PushResult(Outcome.APPLIED, f"HTTP {status}")
        try:
            message = self.http.decode(response, endpoint)
        except (HttpFailure, BadPayload) as error:
            text = getattr(error, "message", str(error))
        else:  # pragma: no cover - decode raises for >= 400
            text = str(message)
        if is_auth_failure(response):
            raise AuthFailed(endpoint, 401, text)
        if status == 409:
            return PushResult(Outcome.CONFLICT, f"{endpoint}: HTTP 409: {text}")
        if status == 404:
            return PushResult(
                Outcome.CONFLICT,
                f"{endpoint}: HTTP 404: the item no longer exists on the platform ({text})",
            )
        if already_ok and status in (403, 422) and "already" in text.lower():
            return PushResult(Outcome.APPLIED, f"already done on the platform ({text})")
        return PushResult(Outcome.REJECTED, f"{endpoint}: HTTP {status}: {text}")

    def _topic(self, tid: str) -> dict[str, Any]:
        data = self.http.get_json(f"/t/{tid}.json", endpoint="/t/{id}.json")
        return p.obj(data, "topic")

    def _set_closed(self, request: PushRequest, closed: bool) -> PushResult:
        tid = request.remote["thread"]
        if request.sent_at:
            try:
                if bool(self._topic(tid).get("closed")) == closed:
                    return PushResult(Outcome.APPLIED, "already so on the platform")
            except HttpFailure as error:
                if error.status == 404:
                    return PushResult(
                        Outcome.CONFLICT, f"topic {tid} no longer exists on the platform"
                    )
                raise
        endpoint = "/t/{id}/status.json"
        response = self.http.request(
            "PUT",
            f"/t/{tid}/status.json",
            endpoint=endpoint,
            json_body={"status": "closed", "enabled": "true" if closed else "false"},
            idempotent=True,  # setting a status twice is harmless
        )
        return self._outcome(response, endpoint)

    def _push_close(self, request: PushRequest) -> PushResult:
        return self._set_closed(request, True)

    def _push_reopen(self, request: PushRequest) -> PushResult:
        return self._set_closed(request, False)

    def _flag(self, post_id: str, type_id: int) -> PushResult:
        endpoint = "/post_actions.json"
        response = self.http.request(
            "POST",
            endpoint,
            json_body={"id": int(post_id), "post_action_type_id": type_id},
            idempotent=False,
        )
        # Discourse refuses a second identical flag ("already"): the first one counts.
        return self._outcome(response, endpoint, already_ok=True)

    def _push_hide_post(self, request: PushRequest) -> PushResult:
        # Hiding is sent as a spam flag (post_action_type_id 8) by the API user: staff flags
        # hide the post at once on Discourse, and it is the one route in the official API spec.
        return self._flag(request.remote["post"], FLAG_TYPES["spam"])

    def _push_unhide_post(self, request: PushRequest) -> PushResult:
        post_id = request.remote["post"]
        endpoint = "/post_actions/{id}.json"
        response = self.http.request(
            "DELETE",
            f"/post_actions/{post_id}.json",
            endpoint=endpoint,
            params={"post_action_type_id": FLAG_TYPES["spam"]},
            idempotent=True,
        )
        if response.status_code in (403, 404, 422) and request.sent_at:
            return PushResult(Outcome.APPLIED, "the flag is already gone on the platform")
        return self._outcome(response, endpoint)

    def _push_flag(self, request: PushRequest) -> PushResult:
        kind = str(request.payload.get("type") or "notify_moderators")
        type_id = FLAG_TYPES.get(kind)
        if type_id is None:
            return PushResult(Outcome.REJECTED, f"unknown flag type {kind!r}")
        return self._flag(request.remote["post"], type_id)

    def _find_own_reply(self, tid: str, raw: str, since: str) -> str | None:
        """The id of a recent post by us in topic `tid` with exactly `raw`, if any."""
        topic = self._topic(tid)
        stream = topic.get("post_stream") if isinstance(topic.get("post_stream"), dict) else {}
        ids = [i for i in stream.get("stream", []) if isinstance(i, int)][-20:]
        posts = {post.get("id"): post for post in stream.get("posts", []) if isinstance(post, dict)}
        # No time filter: the platform's clock and ours may disagree. The last 20 posts by the
        # API user with exactly this text are what an earlier attempt may have created.
        for pid in reversed(ids):
            post = posts.get(pid)
            if post is not None and post.get("username") != self.username:
                continue
            full = self.http.get_json(f"/posts/{pid}.json", endpoint="/posts/{id}.json")
            if not isinstance(full, dict) or full.get("username") != self.username:
                continue
            if isinstance(full.get("raw"), str) and full["raw"].strip() == raw.strip():
                return str(pid)
        return None

    def _reply(self, request: PushRequest, tid: str, raw: str) -> PushResult:
        if request.sent_at:
            found = self._find_own_reply(tid, raw, request.sent_at)
            if found:
                return PushResult(Outcome.APPLIED, "found on the platform", remote_ref=found)
        endpoint = "/posts.json"
        response = self.http.request(
            "POST", endpoint, json_body={"topic_id": int(tid), "raw": raw}, idempotent=False
        )
        result = self._outcome(response, endpoint)
        if result.outcome is Outcome.APPLIED:
            try:
                created = response.json()
                ref = str(created.get("id")) if isinstance(created, dict) else None
            except ValueError:
                ref = None
            return PushResult(Outcome.APPLIED, result.message, remote_ref=ref)
        return result

    def _push_reply(self, request: PushRequest) -> PushResult:
        raw = str(request.payload.get("raw") or "")
        if not raw.strip():
            return PushResult(Outcome.REJECTED, "an empty reply cannot be sent")
        return self._reply(request, request.remote["thread"], raw)

    def _push_close_duplicate(self, request: PushRequest) -> PushResult:
        # Discourse has no duplicate closure: reply with a link to the original, then close.
        tid = request.remote["thread"]
        original = request.remote["original"]
        raw = f"Closed as a duplicate of {self.base_url}/t/{original}"
        if not request.sent_at or not bool(self._topic(tid).get("closed")):
            reply = self._reply(request, tid, raw)
            if reply.outcome is not Outcome.APPLIED:
                return reply
        return self._set_closed(request, True)

    def _push_unclose_duplicate(self, request: PushRequest) -> PushResult:
        return self._set_closed(request, False)

    def _solution(self, request: PushRequest, accept: bool) -> PushResult:
        endpoint = "/solution/accept.json" if accept else "/solution/unaccept.json"
        response = self.http.request(
            "POST",
            endpoint,
            json_body={"id": int(request.remote["post"])},
            idempotent=True,  # accepting the same answer twice leaves one accepted answer
        )
        return self._outcome(response, endpoint)

    def _push_accept(self, request: PushRequest) -> PushResult:
        return self._solution(request, True)

    def _push_unaccept(self, request: PushRequest) -> PushResult:
        return self._solution(request, False)

    def _push_verify_answer(self, request: PushRequest) -> PushResult:
        # A moderator verified the answer (console.verify): accept it through the solved plugin
        # when asked (no accepted answer yet, or a moderator picked it over the asker's), then
        # an official reply saying so. Accepting twice is harmless; the reply is looked for
        # before it is sent again.
        if request.payload.get("accept"):
            accepted = self._solution(request, True)
            if accepted.outcome is not Outcome.APPLIED:
                return accepted
        raw = str(request.payload.get("raw") or "")
        if not raw.strip():
            return PushResult(Outcome.APPLIED, "accepted")
        return self._reply(request, request.remote["thread"], raw)

    def _push_unverify_answer(self, request: PushRequest) -> PushResult:
        # Undo of a verification: give the asker's accept back (or take ours away). The
        # official reply stays: a moderator can delete it on the platform if it should go.
        restore = request.payload.get("restore_accepted_id")
        if restore is not None and request.payload.get("was_accepted_by_us"):
            post = request.remote.get("restore")
            if post is None:
                return PushResult(Outcome.CONFLICT, "the asker's accepted answer is gone")
            endpoint = "/solution/accept.json"
            response = self.http.request(
                "POST", endpoint, json_body={"id": int(post)}, idempotent=True
            )
            return self._outcome(response, endpoint)
        if request.payload.get("was_accepted_by_us"):
            return self._solution(request, False)
        return PushResult(Outcome.APPLIED, "nothing to take back on the platform")

    def _push_review(self, request: PushRequest) -> PushResult:
        rid = request.remote["reviewable"]
        action = str(request.payload.get("action") or "")
        version = request.payload.get("version")
        if not action or not isinstance(version, int):
            return PushResult(Outcome.REJECTED, "a review action needs 'action' and 'version'")
        endpoint = "/review/{id}/perform/{action}.json"
        response = self.http.request(
            "PUT",
            f"/review/{rid}/perform/{action}.json",
            endpoint=endpoint,
            params={"version": version},
            idempotent=False,
        )
        # 409: someone acted first (the version moved on). Never retried: a human decides.
        return self._outcome(response, endpoint)


def _problem(error: Exception, endpoint: str, prefix: str = "") -> Problem:
    if isinstance(error, BadPayload):
        return Problem(error.endpoint, prefix + error.message, error.field, error.excerpt)
    if isinstance(error, HttpFailure):
        return Problem(error.endpoint, f"{prefix}HTTP {error.status}: {error.message}")
    return Problem(endpoint, prefix + str(error))
