"""The Discourse adapter: pull topics, full post streams, members, solved answers and the review
queue; push moderator decisions back.

Incremental strategy (why `bumped_at` alone is not enough)
----------------------------------------------------------
`/latest.json?order=activity` is ordered by `bumped_at`, which moves on new replies but NOT on
edits of old posts, ninja edits, closing/archiving/unlisting, flags, hiding, accepting a solution,
deleting a post or likes. Each sync therefore combines cheap signals, and stores fingerprints in
the same transaction as the rows: per topic of its list entry (bumped_at, last_posted_at,
posts_count, highest_post_number, closed, archived, pinned, visible, like_count,
has_accepted_answer), per topic of what was stored from it, and per post of its `version`,
`updated_at`, hidden state, flag and like counts and accepted mark.

1. The topic list ordered by activity, walked page by page only until a page holds no unpinned
   topic bumped after the stored watermark minus an overlap (10 min, for clock skew). Pinned
   topics sit on top whatever their bump date: they never end the walk and are compared by
   fingerprint like any other entry. Every entry seen whose fingerprint differs is refetched.
2. The latest-posts feed (`/posts.json`, newest post ids first) walked down to the highest post
   id seen last time: posts that do not bump a topic (moderator small-action posts for
   close/open/archive, whispers, replies with bumping suppressed) mark their topic changed.
3. The review queue (`/review.json`, pending items): a new or changed reviewable (id, version,
   status) marks its topic changed, so flags and hides are seen.
4. The rotating re-check: each sync reads again, in full (every post), the topics active in the
   last `recheck_days` (14) whose id falls in this sync's bucket (id mod `recheck_every`, 24), so
   every such topic is re-read at least once every 24 syncs; only what differs from the stored
   fingerprints is written. This is what catches edits of older posts, deletions, closes and
   accepts that no feed shows.
5. A reconciliation walk of the whole list (all pages, fingerprints compared) every
   `full_every_hours` (24 h): closes, accepts and new posts on topics of any age, and topics
   deleted remotely. `peerdesk sync --full` (and the first sync) also reads every topic in
   full, so it reconciles post versions, deletions and states everywhere.

Every fetched topic's post stream is the complete list of its live posts: cached posts missing
from it (or listed with `deleted_at`, as staff see them) are removed from the cache.
A topic whose fetch failed is kept in the cursor's `retry_topics` and fetched again next time;
the watermark and last post id are stored only with the final page, after everything they cover.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
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
    MemberFacts,
    Offline,
    Outcome,
    Page,
    Problem,
    PushRequest,
    PushResult,
    ReviewRecord,
    read_each,
)
from sync.credentials import Credentials
from sync.http import HttpSource, RetryPolicy, is_auth_failure, parsed, platform_message

LIKE = 2
LIKERS_PER_PAGE = 200
LIKERS_MAX_PAGES = 50
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
# actions that post a reply (a reply sent twice is two replies): marked before they are sent
REPLYING = frozenset({"reply", "close_duplicate", "verify_answer"})
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
    # the rotating re-check: every topic active in the last `recheck_days` is read again in
    # full (post versions, deletions, state) at least once every `recheck_every` syncs
    recheck_days: float = 14.0
    recheck_every: int = 24
    # who liked each new or changed post with likes (/post_action_users.json, one request per
    # such post), for the rewards' vote checks; and join date + registration IP of up to
    # `member_lookups` members per sync not looked up before (/admin/users/{id}.json: needs a
    # staff API key; otherwise one sync error says so, and only `sync --full` asks again)
    likers: bool = True
    member_lookups: int = 200

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


def _post_fingerprint(post: dict[str, Any], flags: int, likes: int) -> str:
    """What changes when a post is edited (version, updated_at), hidden, flagged or accepted."""
    version = post.get("version") if isinstance(post.get("version"), int) else None
    return json.dumps(
        [
            version,
            post.get("updated_at"),
            bool(post.get("hidden")),
            flags,
            likes,
            post.get("accepted_answer") is True,
        ],
        separators=(",", ":"),
    )


def post_version(fingerprint: str | None) -> int | None:
    """The edit `version` recorded in a post fingerprint (None when unknown)."""
    try:
        value = json.loads(fingerprint or "null")
    except ValueError:
        return None
    return value[0] if isinstance(value, list) and value and isinstance(value[0], int) else None


def _thread_fingerprint(thread: ThreadRecord) -> str:
    data = json.dumps(asdict(thread), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:24]


def _bucket(tid: str, every: int) -> int:
    return (int(tid) if tid.isdigit() else zlib.crc32(tid.encode())) % every


@dataclass
class _Topic:
    thread: ThreadRecord
    posts: list[PostRecord]
    members: list[MemberRecord]
    # every post id of the topic the platform still shows (its stream, without deleted posts);
    # None when the stream could not be read completely
    live: set[str] | None = None
    post_fingerprints: dict[str, str] = field(default_factory=dict)


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
        self._lookups_left = self.options.member_lookups  # per pull: see DiscourseOptions
        self._full = False
        self._site_mark: int | None = None  # send_mark's read, once per adapter (a push)

    @property
    def requests_made(self) -> int:
        return self.http.requests_made

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ pull

    def pull(self, cursor: dict[str, Any], known: Known, *, full: bool = False) -> Iterator[Page]:
        opts = self.options
        self._lookups_left = opts.member_lookups
        self._full = full
        watermark: str | None = cursor.get("watermark")
        last_post_id: int | None = cursor.get("last_post_id")
        last_full: str | None = cursor.get("last_full_at")
        syncs = int(cursor.get("syncs", 0)) + 1
        retry: set[str] = {str(t) for t in cursor.get("retry_topics", [])}
        stale = last_full is None or (
            now() - parse(last_full) > timedelta(hours=opts.full_every_hours)
        )
        first = watermark is None
        # deep: every topic read again in full (post versions, deletions, state)
        deep = full or first
        walk_all = deep or stale
        dirty: set[str] = set(retry)
        failed: set[str] = set()
        recheck = self._recheck_set(known, syncs) if not deep else set()
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
        if walk_all:
            yield from self._pull_directory()

        # 1. the topic list, newest activity first
        stop_before = None
        if watermark and not walk_all:
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
                    Problem.of(endpoint, error)
                    if isinstance(error, p.BadField)
                    else _problem(error, endpoint)
                )
                yield Page(problems=[problem], label="topic list unreadable")
                break
            page = Page(label=f"topics page {page_no + 1}")
            page.member_refs.extend(self._list_users(data, page, endpoint))
            entries = read_each(entries_raw, _listed_topic, endpoint, page.problems)
            ids = [str(e["id"]) for e in entries]
            seen.update(ids)
            stored = {} if not ids else known.fingerprints("topic", ids)
            for entry in entries:
                tid = str(entry["id"])
                fp = _fingerprint(entry)
                bumped = p.time_(entry, "bumped_at")
                if max_bumped is None or bumped > max_bumped:
                    max_bumped = bumped
                changed = stored.get(tid) != fp or tid in dirty
                if not changed and not deep and tid not in recheck:
                    continue
                dirty.discard(tid)
                recheck.discard(tid)
                # a topic whose list entry changed is stored as read; one read again only to
                # reconcile (--full, the rotation) is stored only where it differs
                topic = self._fetch_topic(tid, known, page, refetch_all=walk_all or not changed)
                if topic is None:
                    failed.add(tid)
                    continue
                self._add_topic(page, topic, known, only_changes=not changed)
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
        if walk_all and not walk_failed:
            dirty |= known.remote_ids("topic") - seen
        # topics marked changed by the feeds, and topics due for their re-check, not met on the
        # walked pages
        todo = [(t, True) for t in dirty] + [(t, False) for t in recheck - dirty]
        todo.sort(key=lambda item: int(item[0]) if item[0].isdigit() else 0)
        for start in range(0, len(todo), 20):
            page = Page(label="changed topics")
            for tid, changed in todo[start : start + 20]:
                topic = self._fetch_topic(tid, known, page, refetch_all=walk_all or not changed)
                if topic is None:
                    failed.add(tid)
                    continue
                self._add_topic(page, topic, known, only_changes=not changed)
            done += len(todo[start : start + 20])
            page.done = done
            yield page

        yield Page(
            label="cursor",
            done=done,
            total=done,
            cursor={
                "watermark": watermark if walk_failed else max_bumped,
                "last_post_id": last_post_id if walk_failed else new_last_post_id,
                "last_full_at": now_iso() if walk_all and not walk_failed else last_full,
                "retry_topics": sorted(failed),
                "syncs": syncs,
            },
        )

    def _recheck_set(self, known: Known, syncs: int) -> set[str]:
        """This sync's share of the rotation: topics active in the last `recheck_days` whose
        id falls in this sync's bucket (so each is read again every `recheck_every` syncs)."""
        every = self.options.recheck_every
        if every <= 0:
            return set()
        since = iso(now() - timedelta(days=self.options.recheck_days))
        return {t for t in known.active_topics(since) if _bucket(t, every) == syncs % every}

    def _add_topic(self, page: Page, topic: _Topic, known: Known, *, only_changes: bool) -> None:
        """Put a fetched topic on the page: all of it, or (`only_changes`) only what differs
        from the cache; posts the platform no longer shows are removed from the cache."""
        tid = topic.thread.remote_id
        cached = known.post_ids(tid)
        posts = topic.posts
        thread_fp = _thread_fingerprint(topic.thread)
        if only_changes:
            stored = known.fingerprints("post", [r.remote_id for r in posts]) if posts else {}
            posts = [
                r
                for r in posts
                if r.remote_id not in cached
                or stored.get(r.remote_id) != topic.post_fingerprints.get(r.remote_id)
            ]
        gone = sorted(cached - topic.live) if topic.live is not None else []
        if (
            not only_changes
            or gone
            or known.fingerprints("topic_detail", [tid]).get(tid) != thread_fp
        ):
            page.threads.append(topic.thread)
            page.fingerprints[("topic_detail", tid)] = thread_fp
        page.posts.extend(posts)
        if posts or not only_changes:
            page.member_refs.extend(topic.members)
        self._add_likers(page, posts, cached)
        self._add_member_facts(page, known, topic.members)
        for record in posts:
            fp = topic.post_fingerprints.get(record.remote_id)
            if fp is not None:
                page.fingerprints[("post", record.remote_id)] = fp
        if gone:
            page.deleted_posts.extend(gone)
            page.forget.extend(("post", pid) for pid in gone)

    def _add_likers(self, page: Page, posts: list[PostRecord], cached: set[str]) -> None:
        """Who likes each post of `posts` that has likes (the whole list; a cached post whose
        likes went to 0 gets an empty one, so its stored votes are retracted)."""
        if not self.options.likers:
            return
        for record in posts:
            if record.score > 0:
                likers = self._likers(page, record.remote_id)
                if likers is not None:
                    page.voters[record.remote_id] = likers
            elif record.remote_id in cached:
                page.voters[record.remote_id] = []

    def _likers(self, page: Page, pid: str) -> list[MemberRecord] | None:
        """/post_action_users.json for the likes of post `pid`; None if it could not be read."""
        endpoint = "/post_action_users.json"
        found: dict[str, MemberRecord] = {}
        for page_no in range(LIKERS_MAX_PAGES):
            try:
                data = self.http.get_json(
                    endpoint,
                    params={
                        "id": pid,
                        "post_action_type_id": LIKE,
                        "page": page_no,
                        "limit": LIKERS_PER_PAGE,
                    },
                )
                users = p.lst(
                    p.req(p.obj(data, "response"), "post_action_users"), "post_action_users"
                )
                for raw in users:
                    user = p.obj(raw, "post_action_user")
                    uid = str(p.int_(user, "id", "post_action_user."))
                    found[uid] = MemberRecord(uid, p.str_(user, "username", "post_action_user."))
            except p.BadField as error:
                page.problems.append(Problem.of(endpoint, error, f"post {pid}: "))
                return None
            except (BadPayload, HttpFailure) as error:
                if isinstance(error, AuthFailed) and error.status == 401:
                    raise
                page.problems.append(_problem(error, endpoint, f"post {pid}: likes not read: "))
                return None
            total = data.get("total_rows_post_action_users")
            if len(users) < LIKERS_PER_PAGE or (isinstance(total, int) and len(found) >= total):
                break
        return sorted(found.values(), key=lambda m: int(m.remote_id))

    def _add_member_facts(self, page: Page, known: Known, members: list[MemberRecord]) -> None:
        """Join date and registration IP of members not looked up before (admin API)."""
        voters = [m for listed in page.voters.values() for m in listed]
        wanted = {m.remote_id: m for m in [*members, *voters]}
        if not wanted or self._lookups_left <= 0:
            return
        if not self._full and known.fingerprints("member_lookups", ["admin"]).get("admin"):
            return  # refused before (not an admin key): asked again on `sync --full` only
        done = known.fingerprints("member_detail", sorted(wanted))
        for rid in sorted(wanted.keys() - done.keys(), key=int):
            if self._lookups_left <= 0 or ("member_detail", rid) in page.fingerprints:
                continue
            self._lookups_left -= 1
            facts = self._member_facts(page, wanted[rid])
            if facts is None:
                return
            page.member_facts.append(facts)
            page.fingerprints[("member_detail", rid)] = "1"
            if ("member_lookups", "admin") not in page.forget:
                page.forget.append(("member_lookups", "admin"))

    def _member_facts(self, page: Page, member: MemberRecord) -> MemberFacts | None:
        endpoint = "/admin/users/{id}.json"
        try:
            user = p.obj(self.http.get_json(f"/admin/users/{member.remote_id}.json"), "user")
            joined = p.opt_time(user, "created_at", "user.")
            ip = p.opt_str(user, "registration_ip_address", "user.")
        except p.BadField as error:
            page.problems.append(Problem.of(endpoint, error))
            return MemberFacts(member.remote_id, member.username)
        except (BadPayload, HttpFailure) as error:
            if isinstance(error, AuthFailed) and error.status == 401:
                raise
            self._lookups_left = 0  # not a staff key (Discourse: 404), or refused: stop asking
            page.fingerprints[("member_lookups", "admin")] = "refused"
            page.problems.append(
                _problem(
                    error,
                    endpoint,
                    "members' join dates and registration IPs need a staff API key; "
                    "not asked again until `peerdesk sync --full`: ",
                )
            )
            return None
        signals: tuple[tuple[str, str], ...] = (("registration_ip", ip),) if ip else ()
        email = _sso_email(user)
        if email:  # the same person on another forum of the same single sign-on (member_links)
            signals += (("sso_email_sha256", email),)
        return MemberFacts(member.remote_id, member.username, joined, signals)

    def _get_list(self, endpoint: str, params: dict[str, Any]) -> Any:
        return self.http.get_json(endpoint, params=params)

    def _list_users(self, data: Any, page: Page, endpoint: str) -> list[MemberRecord]:
        users = data.get("users", []) if isinstance(data, dict) else []
        if not isinstance(users, list):
            return []
        return read_each(users, _listed_user, endpoint, page.problems)

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
                problems.append(Problem.of(endpoint, error))
                return last_post_id, topics, problems
            ids: list[int] = []
            for raw in posts:
                try:
                    post = p.obj(raw, "post")
                    pid = p.int_(post, "id", "post.")
                    tid = p.int_(post, "topic_id", "post.")
                except p.BadField as error:
                    problems.append(Problem.of(endpoint, error))
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
                page.problems.append(Problem.of(endpoint, error))
                return page, topics
            records.extend(read_each(items, self._review, endpoint, page.problems))
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
                page.problems.append(Problem.of(endpoint, error))
                yield page
                return
            page.members.extend(read_each(items, _directory_member, endpoint, page.problems))
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
                page.gone_topics.append(tid)
                page.problems.append(
                    Problem(
                        endpoint,
                        f"topic {tid} was deleted on the platform or is no longer visible "
                        "(HTTP 404); the cached copy is kept, out of the Queue",
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
            page.problems.append(Problem.of(endpoint, error, f"topic {tid}: "))
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
                page.problems.append(Problem.of("/t/{id}/posts.json", error, f"topic {tid}: "))
                return None
            raw_posts.extend(more_posts)
        try:
            parsed = self._parse_topic(topic, raw_posts, page)
        except p.BadField as error:
            page.problems.append(Problem.of(endpoint, error, f"topic {tid}: "))
            return None
        # Staff may see deleted posts in the stream, marked with deleted_at: not live either.
        deleted = {
            str(post.get("id"))
            for post in raw_posts
            if isinstance(post, dict) and post.get("deleted_at")
        }
        if isinstance(stream.get("stream"), list):
            parsed.live = {str(i) for i in ids} - deleted
        return parsed

    def _parse_topic(self, topic: dict[str, Any], raw_posts: list[Any], page: Page) -> _Topic:
        tid = str(p.int_(topic, "id", "topic."))
        title = p.unescape(p.str_(topic, "title", "topic."))
        created_at = p.time_(topic, "created_at", "topic.")
        posts: list[PostRecord] = []
        members: dict[str, MemberRecord] = {}
        accepted: str | None = None
        by_number: dict[int, str] = {}
        fingerprints: dict[str, str] = {}
        flags_total = 0
        for raw in raw_posts:
            try:
                post = p.obj(raw, "post")
                record, member, flags, is_accepted, number = self._parse_post(post, tid)
            except p.BadField as error:
                page.problems.append(
                    Problem.of("/t/{id}.json", error, f"topic {tid}: post skipped: ")
                )
                continue
            if record is None:
                continue
            posts.append(record)
            fingerprints[record.remote_id] = _post_fingerprint(
                post, record.flag_count, record.score
            )
            by_number[number] = record.remote_id
            if member:
                members[member.remote_id] = member
            flags_total += flags
            if is_accepted:
                accepted = record.remote_id
        solved = topic.get("accepted_answer")
        if accepted is None and isinstance(solved, dict):
            solved_number = solved.get("post_number")
            if isinstance(solved_number, int):
                accepted = by_number.get(solved_number)
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
        return _Topic(thread, posts, list(members.values()), post_fingerprints=fingerprints)

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
            page.problems.append(Problem.of("/t/{id}.json", error))
            return None, [], page
        page.member_refs.extend(parsed.members)
        return parsed.thread, parsed.posts, page

    def parse_topic_list(self, data: Any) -> tuple[list[dict[str, Any]], Page]:
        """A topic list response (/latest.json, /top.json, ...) -> valid entries."""
        page = Page()
        try:
            topic_list = p.obj(p.req(p.obj(data, "response"), "topic_list"), "topic_list")
            raws = p.lst(p.req(topic_list, "topics", "topic_list."), "topic_list.topics")
        except p.BadField as error:
            page.problems.append(Problem("/latest.json", error.message, error.field))
            return [], page
        page.member_refs.extend(self._list_users(data, page, "/latest.json"))
        return read_each(raws, _latest_topic, "/latest.json", page.problems), page

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
        except p.BadField as error:  # a read before the write (a topic, a post) of a bad shape
            return PushResult(Outcome.RETRY_LATER, f"unreadable answer: {error}")

    def _outcome(
        self,
        response: Any,
        endpoint: str,
        *,
        already_ok: bool = False,
        request: PushRequest | None = None,
    ) -> PushResult:
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
            # Discourse answers "invalid_access" both for a wrong key and for an action refused
            # on this one item (e.g. a flag the API user already placed): only a read tells.
            words = self.http.redact(platform_message(response))
            self._check_credentials(request, endpoint, words)
            return PushResult(
                Outcome.REJECTED,
                f"{endpoint}: HTTP {status}: {words} (refused for this item; the API key works "
                "for reading)",
            )
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

    def _post(self, pid: str) -> dict[str, Any]:
        data = self.http.get_json(f"/posts/{pid}.json", endpoint="/posts/{id}.json")
        return p.obj(data, "post")

    def _check_credentials(self, request: PushRequest | None, endpoint: str, text: str) -> None:
        """Raise AuthFailed if the credentials are wrong (a read with them is refused too)."""
        if "key is invalid" in text.lower() or request is None:
            raise AuthFailed(endpoint, 401, text)
        try:
            if request.remote.get("thread"):
                self._topic(request.remote["thread"])  # AuthFailed when the key is the problem
            elif request.remote.get("post"):
                self._post(request.remote["post"])
            else:
                raise AuthFailed(endpoint, 401, text)
        except AuthFailed:
            raise
        except HttpFailure:
            return  # the read got past the credentials check (e.g. 404): they are fine

    def _new_replies(self, tid: str, topic: dict[str, Any], base_last: int) -> str:
        """Words for the posts others added to topic `tid` after post id `base_last` (the newest
        the moderator could have seen), or "" when there are none."""
        stream = topic.get("post_stream") if isinstance(topic.get("post_stream"), dict) else {}
        ids = [i for i in (stream or {}).get("stream", []) if isinstance(i, int) and i > base_last]
        if not ids:
            return ""
        posts = {
            post.get("id"): post
            for post in (stream or {}).get("posts", [])
            if isinstance(post, dict)
        }
        missing = [i for i in ids if i not in posts]
        for start in range(0, len(missing), 20):
            try:
                more = self.http.get_json(
                    f"/t/{tid}/posts.json",
                    endpoint="/t/{id}/posts.json",
                    params=[("post_ids[]", i) for i in missing[start : start + 20]],
                )
                for post in more.get("post_stream", {}).get("posts", []):
                    if isinstance(post, dict):
                        posts[post.get("id")] = post
            except (HttpFailure, BadPayload, AttributeError):
                break  # unread posts count as new: a human looks
        news = [
            posts.get(i)
            for i in ids
            if posts.get(i) is None
            or (
                posts[i].get("post_type", 1) != SMALL_ACTION
                and posts[i].get("username") != self.username
            )
        ]
        if not news:
            return ""
        who = sorted({str(n.get("username")) for n in news if n is not None})
        latest = max((str(n.get("created_at")) for n in news if n is not None), default="")
        plural = "reply" if len(news) == 1 else "replies"
        return (
            f"topic {tid} got {len(news)} new {plural} since the decision"
            + (f" (by {', '.join(who)}, latest {latest})" if who else "")
            + ": look at it again, then retry (R) to send the decision anyway or drop it (d)"
        )

    def _edited_since(self, request: PushRequest, post: dict[str, Any]) -> str:
        """Words for an edit of the post since the decision (by its version, else updated_at)."""
        base = request.base or {}
        pid = request.remote.get("post", "?")
        then = post_version(base.get("fingerprint"))
        now_version = post.get("version")
        changed = False
        if then is not None and isinstance(now_version, int):
            changed = now_version != then
        elif base.get("updated_at") and isinstance(post.get("updated_at"), str):
            try:
                changed = parse(post["updated_at"]) != parse(str(base["updated_at"]))
            except ValueError:
                changed = False
        if not changed:
            return ""
        return (
            f"post {pid} was edited on the platform since the decision"
            + (f" (version {then} → {now_version}" if then is not None else " (")
            + f", at {post.get('updated_at')}): look at it again, then retry (R) to send the "
            "decision anyway or drop it (d)"
        )

    def _now_on_platform(self, kind: str, ident: str) -> dict[str, Any] | PushResult:
        """Topic or post `ident` as the platform has it now, or a conflict saying it is gone."""
        read = self._topic if kind == "topic" else self._post
        try:
            return read(ident)
        except HttpFailure as error:
            if error.status == 404:
                return PushResult(
                    Outcome.CONFLICT, f"{kind} {ident} no longer exists on the platform"
                )
            raise

    def _set_closed(
        self, request: PushRequest, closed: bool, *, checked: bool = False
    ) -> PushResult:
        tid = request.remote["thread"]
        base_last = (request.base or {}).get("last_post") if closed and not checked else None
        if request.sent_at or base_last is not None:
            topic = self._now_on_platform("topic", tid)
            if isinstance(topic, PushResult):
                return topic
            if request.sent_at and bool(topic.get("closed")) == closed:
                return PushResult(Outcome.APPLIED, "already so on the platform")
            if base_last is not None:
                news = self._new_replies(tid, topic, int(base_last))
                if news:
                    return PushResult(Outcome.CONFLICT, news)
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

    def _flag(self, request: PushRequest, type_id: int) -> PushResult:
        post_id = request.remote["post"]
        if request.sent_at or request.base:
            post = self._now_on_platform("post", post_id)
            if isinstance(post, PushResult):
                return post
            if request.sent_at and _acted(post, type_id):
                return PushResult(Outcome.APPLIED, "already flagged on the platform")
            edited = self._edited_since(request, post)
            if edited:
                return PushResult(Outcome.CONFLICT, edited)
        endpoint = "/post_actions.json"
        response = self.http.request(
            "POST",
            endpoint,
            json_body={"id": int(post_id), "post_action_type_id": type_id},
            idempotent=False,
        )
        if response.status_code in (403, 422):
            # A flag the API user already placed (an earlier attempt that was cut off) is
            # refused: the platform's state says whether it is there.
            try:
                if _acted(self._post(post_id), type_id):
                    return PushResult(Outcome.APPLIED, "already flagged on the platform")
            except HttpFailure as error:
                if isinstance(error, AuthFailed) or error.status != 404:
                    raise
        return self._outcome(response, endpoint, already_ok=True, request=request)

    def _push_hide_post(self, request: PushRequest) -> PushResult:
        # Hiding is sent as a spam flag (post_action_type_id 8) by the API user: staff flags
        # hide the post at once on Discourse, and it is the one route in the official API spec.
        return self._flag(request, FLAG_TYPES["spam"])

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
        return self._flag(request, type_id)

    def send_mark(self, action: str) -> dict[str, Any] | None:
        """Before an action that posts a reply goes out: the highest post id on the site now
        (the first page of /posts.json, newest first), read once per push. Post ids only grow,
        so a reply an attempt sends after this read has a higher id, whatever the clocks say."""
        if action not in REPLYING:
            return None
        if self._site_mark is None:
            try:
                data = self.http.get_json("/posts.json")
                posts = p.lst(p.req(p.obj(data, "response"), "latest_posts"), "latest_posts")
            except (HttpFailure, BadPayload, p.BadField, Offline):
                return None  # the send itself reports what is wrong; a retry looks as before
            ids = [post.get("id") for post in posts if isinstance(post, dict)]
            self._site_mark = max((i for i in ids if isinstance(i, int)), default=0)
        return {"after_post": self._site_mark}

    def _find_own_reply(self, request: PushRequest, tid: str, raw: str) -> PushResult | None:
        """The reply an earlier attempt of `request` posted in topic `tid` (our user, the same
        text but for whitespace) as an applied outcome naming it; None if there is none; or a
        conflict when the platform cannot say (the topic is gone, an edited post of ours may be
        it).

        Where an attempt recorded its mark, only the posts after it are read (ours comes first
        after it: oldest first, in batches of 20 by id). An item sent by an older peerdesk has
        none: its posts after the newest the decision was made against (`base`) are read so,
        and without that the whole topic, newest first. A deleted post the API user can still
        see counts (it was sent; someone removed it since). Post ids, not times: the platform's
        clock and ours may disagree."""
        topic = self._now_on_platform("topic", tid)
        if isinstance(topic, PushResult):
            return PushResult(
                Outcome.CONFLICT,
                f"{topic.message}: the reply was not sent again (an earlier attempt may have "
                "posted it before the topic went)",
            )
        raw_stream = topic.get("post_stream")
        stream: dict[str, Any] = raw_stream if isinstance(raw_stream, dict) else {}
        ids = [i for i in stream.get("stream", []) if isinstance(i, int)]
        after = _after_post(request)
        order = sorted(i for i in ids if i > after) if after is not None else ids[::-1]
        posts = {post.get("id"): post for post in stream.get("posts", []) if isinstance(post, dict)}
        wanted = _words(raw)
        edited: list[str] = []
        for start in range(0, len(order), 20):
            batch = order[start : start + 20]
            missing = [i for i in batch if i not in posts]
            if missing:
                more = p.obj(
                    self.http.get_json(
                        f"/t/{tid}/posts.json",
                        endpoint="/t/{id}/posts.json",
                        params=[("post_ids[]", i) for i in missing],
                    ),
                    "response",
                )
                listed = more.get("post_stream")
                for post in listed.get("posts", []) if isinstance(listed, dict) else []:
                    if isinstance(post, dict):
                        posts[post.get("id")] = post
            for pid in batch:
                post = posts.get(pid)
                if post is None:
                    continue  # gone between the two reads: not visible to us any more
                if post.get("username") != self.username or post.get("post_type") == SMALL_ACTION:
                    continue
                full = self._post(str(pid))
                if full.get("username") != self.username:
                    continue
                if isinstance(full.get("raw"), str) and _words(full["raw"]) == wanted:
                    gone = " (deleted there since)" if full.get("deleted_at") else ""
                    return PushResult(
                        Outcome.APPLIED, f"found on the platform{gone}", remote_ref=str(pid)
                    )
                version = full.get("version")
                if isinstance(version, int) and version > 1:
                    edited.append(str(pid))
        if edited and request.base is not None:
            return PushResult(
                Outcome.CONFLICT,
                f"post {', '.join(edited)} in topic {tid}, by {self.username} after the earlier "
                "attempt and edited since, may be this reply: look at it, then retry (R) to send "
                "the reply anyway or drop it (d)",
            )
        return None

    def _reply(self, request: PushRequest, tid: str, raw: str) -> PushResult:
        if request.sent_at:
            found = self._find_own_reply(request, tid, raw)
            if found is not None:
                return found
        endpoint = "/posts.json"
        response = self.http.request(
            "POST", endpoint, json_body={"topic_id": int(tid), "raw": raw}, idempotent=False
        )
        result = self._outcome(response, endpoint)
        if result.outcome is Outcome.APPLIED:
            try:
                created = parsed(response.content)
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
        base_last = (request.base or {}).get("last_post")
        if request.sent_at or base_last is not None:
            topic = self._now_on_platform("topic", tid)
            if isinstance(topic, PushResult):
                return topic
            if request.sent_at and bool(topic.get("closed")):
                return PushResult(Outcome.APPLIED, "already closed on the platform")
            news = self._new_replies(tid, topic, int(base_last)) if base_last is not None else ""
            if news:
                return PushResult(Outcome.CONFLICT, news)
        reply = self._reply(request, tid, raw)
        if reply.outcome is not Outcome.APPLIED:
            return reply
        return self._set_closed(request, True, checked=True)

    def _push_unclose_duplicate(self, request: PushRequest) -> PushResult:
        return self._set_closed(request, False)

    def _solution(self, request: PushRequest, accept: bool) -> PushResult:
        if accept and request.base:
            post = self._now_on_platform("post", request.remote["post"])
            if isinstance(post, PushResult):
                return post
            edited = self._edited_since(request, post)
            if edited:
                return PushResult(Outcome.CONFLICT, edited)
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
        result = self._outcome(response, endpoint)
        if response.status_code == 409 and request.sent_at:
            # the one who acted may be an earlier attempt of this item, cut off before it heard
            # back: the review queue's own record says (the official API has no read of it)
            return PushResult(
                Outcome.CONFLICT,
                f"{result.message} (an earlier attempt of this decision was sent and cut off: it "
                "may be the one that acted; see the item's history on the platform, then drop "
                "it (d) if so)",
            )
        return result


def _after_post(request: PushRequest) -> int | None:
    """The post id an earlier attempt's reply must lie after: the mark it recorded, else (an
    item sent by an older peerdesk) the newest post the decision was made against; None when
    neither is known."""
    for value in ((request.mark or {}).get("after_post"), (request.base or {}).get("last_post")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _words(text: str) -> list[str]:
    """A post's text as the platform may give it back: line endings, trailing and repeated
    whitespace are not compared."""
    return text.split()


def _listed_topic(raw: Any) -> dict[str, Any]:
    """A topic of a /latest.json page as the topic walk needs it: an id and when it was bumped."""
    entry = p.obj(raw, "topic")
    p.int_(entry, "id", "topic.")
    p.time_(entry, "bumped_at", "topic.")
    return entry


def _latest_topic(raw: Any) -> dict[str, Any]:
    """A topic of /latest.json as a page of news needs it: also its title and creation time."""
    entry = _listed_topic(raw)
    p.str_(entry, "title", "topic.")
    p.time_(entry, "created_at", "topic.")
    return entry


def _member(user: dict[str, Any], reputation: int = 0) -> MemberRecord:
    return MemberRecord(
        remote_id=str(p.int_(user, "id", "user.")),
        username=p.str_(user, "username", "user."),
        display_name=p.opt_str(user, "name", "user."),
        reputation=reputation,
    )


def _listed_user(raw: Any) -> MemberRecord:
    return _member(p.obj(raw, "user"))


def _directory_member(raw: Any) -> MemberRecord:
    """An item of /directory_items.json: the user, with the likes they received as reputation."""
    item = p.obj(raw, "directory_item")
    user = p.obj(p.req(item, "user", "directory_item."), "directory_item.user")
    return _member(user, p.int_(item, "likes_received", "directory_item.", 0))


def _acted(post: dict[str, Any], type_id: int) -> bool:
    """True when the API user's own action of `type_id` is on the post (actions_summary)."""
    for action in post.get("actions_summary") or []:
        if isinstance(action, dict) and action.get("id") == type_id and action.get("acted"):
            return True
    return False


def _problem(error: Exception, endpoint: str, prefix: str = "") -> Problem:
    if isinstance(error, BadPayload):
        return Problem(error.endpoint, prefix + error.message, error.field, error.excerpt)
    if isinstance(error, HttpFailure):
        return Problem(error.endpoint, f"{prefix}HTTP {error.status}: {error.message}")
    return Problem(endpoint, prefix + str(error))


def _sso_email(user: dict[str, Any]) -> str:
    """The SHA-256 of the e-mail address a DiscourseConnect (single sign-on) provider gave for
    the user (`single_sign_on_record.external_email`, lower case), or "": enough to see the same
    address on two forums without keeping the address itself."""
    record = user.get("single_sign_on_record")
    email = record.get("external_email") if isinstance(record, dict) else None
    if not isinstance(email, str) or "@" not in email:
        return ""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
