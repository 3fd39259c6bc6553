"""A small real HTTP server (127.0.0.1, a thread) that behaves like Discourse for what the
official OpenAPI spec lacks (review queue, solved plugin) and for stateful scenarios (crash tests,
incremental syncs, injected faults).

Every JSON shape is built from the recorded fixtures in ../shared/fixtures/discourse: a topic list
entry from topics_latest_topics_response.json, a topic from topics_topic_response.json, a post
from its post stream (plus the solved fields of discourse_solved/topic_with_accepted_answer.json),
latest posts from discourse_api_gem/posts_latest.json, directory items from
users_directory_items.json. The review queue has no public capture: its items follow the field
names of Discourse's ReviewableSerializer (id, type, status, version, topic_id, target_id, ...).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from tests.conftest import require_shared


@dataclass(frozen=True)
class Templates:
    """The recorded shapes every reply is built from, read from ../shared/fixtures/discourse."""

    topic_list: Any
    topic: Any
    solved: Any
    latest_posts: Any
    directory: Any
    likers: Any
    admin_user: Any
    sso_record: Any  # a DiscourseConnect record (the discourse_api gem's admin_user.json)

    @property
    def post(self) -> Any:
        return self.solved["post_stream"]["posts"][1]

    @property
    def list_entry(self) -> Any:
        return self.topic_list["topic_list"]["topics"][0]


@functools.cache
def templates() -> Templates:
    """Loaded on first use (a server is built in the test's thread, so a missing ../shared skips
    that test with one line instead of breaking the collection of every sync test)."""
    fixtures = require_shared("fixtures", "discourse")

    def load(rel: str) -> Any:
        return json.loads((fixtures / rel).read_text(encoding="utf-8"))

    return Templates(
        topic_list=load("api_docs_responses/topics_latest_topics_response.json"),
        topic=load("api_docs_responses/topics_topic_response.json"),
        solved=load("discourse_solved/topic_with_accepted_answer.json"),
        latest_posts=load("discourse_api_gem/posts_latest.json"),
        directory=load("api_docs_responses/users_directory_items.json"),
        likers=load("discourse_api_gem/post_action_users.json"),
        admin_user=load("api_docs_responses/admin_get_user.json"),
        sso_record=load("discourse_api_gem/admin_user.json")["single_sign_on_record"],
    )


API_KEY = "test-key-0123456789abcdef"
API_USER = "moderator1"


def ts(n: int) -> str:
    """A deterministic timestamp, n minutes after a fixed origin."""
    base = 1_700_000_000 + n * 60
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(base))


@dataclass
class FPost:
    id: int
    number: int
    user_id: int
    username: str
    raw: str
    created: int
    hidden: bool = False
    flags: dict[int, int] = field(default_factory=dict)
    accepted: bool = False
    post_type: int = 1
    version: int = 1  # Discourse counts edits in `version`; `updated` moves on every change
    updated: int | None = None
    deleted: bool = False
    likers: list[int] = field(default_factory=list)  # user ids who like the post


@dataclass
class FTopic:
    id: int
    title: str
    user_id: int
    created: int
    bumped: int
    posts: list[FPost] = field(default_factory=list)
    closed: bool = False
    archived: bool = False
    pinned: bool = False
    deleted: bool = False
    override: dict[str, Any] = field(default_factory=dict)  # fields replaced in /t/{id}.json

    def shown(self, staff_sees_deleted: bool = False) -> list[FPost]:
        """The posts a reader sees (staff also see deleted ones, marked with deleted_at)."""
        return [p for p in self.posts if staff_sees_deleted or not p.deleted]


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.topics: dict[int, FTopic] = {}
        self.users: dict[int, str] = {}
        self.reviewables: dict[int, dict[str, Any]] = {}
        self.next_post_id = 1000
        self.requests: list[tuple[str, str]] = []
        self.applied: list[tuple[Any, ...]] = []
        self.faults: dict[str, list[str]] = {}
        # (method, path) -> "before" | "after" | "pause" | None: block that request (crash
        # tests; "pause" serves it once released)
        self.hold: Callable[[str, str], str | None] | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.latest_page_size_cap = 100
        self.staff_sees_deleted = False  # True: deleted posts stay in streams with deleted_at
        self.already_flagged_as_invalid_access = False
        self.refuse_flags: set[int] = set()  # post ids whose flags the guardian refuses
        self.admin_key = True  # False: /admin/users/{id}.json is not found, as for a member's key
        self.joined: dict[int, int] = {}  # user id -> minutes (ts) the account was created
        self.registration_ip: dict[int, str] = {}
        self.sso_email: dict[int, str] = {}  # user id -> e-mail given by single sign-on

    # building --------------------------------------------------------------
    def add_user(self, uid: int, name: str) -> None:
        self.users[uid] = name

    def add_topic(
        self, tid: int, title: str, n_posts: int, *, minute: int, user: int = 1, **kw: Any
    ) -> FTopic:
        with self.lock:
            topic = FTopic(tid, title, user, created=minute, bumped=minute + n_posts, **kw)
            for n in range(1, n_posts + 1):
                uid = user if n == 1 else 1 + (tid + n) % max(1, len(self.users) or 1)
                topic.posts.append(
                    FPost(
                        self.next_post_id,
                        n,
                        uid,
                        self.users.get(uid, f"user{uid}"),
                        f"Post {n} of topic {tid}: how do I fix the router?",
                        minute + n,
                    )
                )
                self.next_post_id += 1
            self.topics[tid] = topic
            return topic

    def add_reply(self, tid: int, raw: str, minute: int, username: str | None = None) -> FPost:
        with self.lock:
            topic = self.topics[tid]
            uid = next((u for u, n in self.users.items() if n == username), 1)
            post = FPost(
                self.next_post_id,
                len(topic.posts) + 1,
                uid,
                username or self.users.get(1, "u"),
                raw,
                minute,
            )
            self.next_post_id += 1
            topic.posts.append(post)
            topic.bumped = max(topic.bumped, minute)
            return post

    def edit_post(self, pid: int, raw: str, minute: int) -> FPost:
        """An edit: new text, `version` + 1, `updated_at` moves; the topic is not bumped."""
        with self.lock:
            found = self.post(pid)
            assert found, pid
            post = found[1]
            post.raw, post.version, post.updated = raw, post.version + 1, minute
            return post

    def delete_post(self, pid: int) -> None:
        with self.lock:
            found = self.post(pid)
            assert found, pid
            found[1].deleted = True

    def post(self, pid: int) -> tuple[FTopic, FPost] | None:
        for topic in self.topics.values():
            for post in topic.posts:
                if post.id == pid:
                    return topic, post
        return None

    # JSON ------------------------------------------------------------------
    def post_json(self, topic: FTopic, post: FPost, *, with_raw: bool = False) -> dict[str, Any]:
        data = copy.deepcopy(templates().post)
        data.update(
            id=post.id,
            username=post.username,
            name=post.username.title(),
            created_at=ts(post.created),
            updated_at=ts(post.updated or post.created),
            deleted_at=ts(post.updated or post.created) if post.deleted else None,
            version=post.version,
            cooked=f"<p>{post.raw}</p>",
            post_number=post.number,
            post_type=post.post_type,
            topic_id=topic.id,
            topic_slug=f"topic-{topic.id}",
            user_id=post.user_id,
            hidden=post.hidden,
            accepted_answer=post.accepted,
            can_unaccept_answer=post.accepted,
            trust_level=1,
        )
        # like Discourse's PostSerializer: the API user's own actions are marked `acted`
        data["actions_summary"] = [
            {"id": type_id, "count": count, "acted": True}
            if ("flag", post.id, type_id) in self.applied
            else {"id": type_id, "count": count, "can_act": True}
            for type_id, count in sorted(post.flags.items())
        ]
        if post.likers:
            data["actions_summary"].append({"id": 2, "count": len(post.likers), "can_act": True})
        if with_raw:
            data["raw"] = post.raw
        return data

    def counts_json(self, topic: FTopic, live: list[FPost]) -> dict[str, Any]:
        """What a topic's list entry and its page both say of it: names, counts, times, flags."""
        last = max(p.created for p in live) if live else topic.created
        return {
            "id": topic.id,
            "title": topic.title,
            "fancy_title": topic.title,
            "slug": f"topic-{topic.id}",
            "posts_count": len(live),
            "reply_count": max(0, len(live) - 1),
            "highest_post_number": max((p.number for p in topic.posts), default=0),
            "created_at": ts(topic.created),
            "last_posted_at": ts(last),
            "pinned": topic.pinned,
            "closed": topic.closed,
            "archived": topic.archived,
        }

    def entry_json(self, topic: FTopic) -> dict[str, Any]:
        data = copy.deepcopy(templates().list_entry)
        live = topic.shown()
        data.update(
            self.counts_json(topic, live),
            bumped_at=ts(topic.bumped),
            has_accepted_answer=any(p.accepted for p in live),
        )
        data["posters"][0]["user_id"] = topic.user_id
        return data

    def topic_json(self, topic: FTopic) -> dict[str, Any]:
        data = copy.deepcopy(templates().topic)
        posts = topic.shown(self.staff_sees_deleted)
        live = topic.shown()
        data["post_stream"] = {
            "posts": [self.post_json(topic, p) for p in posts[:20]],
            "stream": [p.id for p in posts],
        }
        data.update(self.counts_json(topic, live), user_id=topic.user_id)
        data["details"]["created_by"] = {
            "id": topic.user_id,
            "username": self.users.get(topic.user_id, f"user{topic.user_id}"),
            "avatar_template": "/a/{size}.png",
        }
        data.update(topic.override)
        accepted = next((p for p in posts if p.accepted), None)
        if accepted:
            solved = copy.deepcopy(templates().solved["accepted_answer"])
            solved.update(post_number=accepted.number, username=accepted.username)
            data["accepted_answer"] = solved
        return data

    def reviewable_json(self, item: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(item)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed mid-request (the crash tests) or a dropped connection: not an error.
        return


class LocalServer:
    """An HTTP server on a free port of 127.0.0.1, served from a daemon thread."""

    path_prefix = ""

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = _QuietServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.path_prefix}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeDiscourse(LocalServer):
    def __init__(self) -> None:
        templates()  # here, in the test's thread: skips the test when ../shared is missing
        self.state = State()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                return

            def _send(
                self,
                status: int,
                body: Any,
                headers: dict[str, str] | None = None,
                raw: bytes | None = None,
                ctype: str = "application/json",
            ) -> None:
                payload = raw if raw is not None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if not raw:
                    return {}
                if "json" in (self.headers.get("Content-Type") or ""):
                    return json.loads(raw)
                return {k: v[-1] for k, v in parse_qs(raw.decode()).items()}

            def handle_one(self, method: str) -> None:
                url = urlsplit(self.path)
                path, query = url.path, parse_qs(url.query)
                body = self._body() if method in ("POST", "PUT") else {}
                with state.lock:
                    state.requests.append((method, path))
                    faults = state.faults.get(path) or state.faults.get("*")
                    fault = faults.pop(0) if faults else None
                if fault == "429":
                    return self._send(429, {"errors": ["Slow down"]}, {"Retry-After": "0"})
                if fault == "500":
                    return self._send(500, {"errors": ["boom"]})
                if fault == "hostile500":  # the platform's own words, made to drive a terminal
                    words = "gone \x1b]0;pwned\x07\x1b[2J [bold]now[/] \u202eevil"
                    return self._send(500, {"errors": [words]})
                if fault == "502html":
                    return self._send(
                        502,
                        None,
                        raw=b"<html><body>Bad gateway</body></html>",
                        ctype="text/html",
                    )
                if fault == "html":
                    return self._send(
                        200,
                        None,
                        raw=b"<!DOCTYPE html><html><body>Maintenance</body></html>",
                        ctype="text/html; charset=utf-8",
                    )
                if fault == "timeout":
                    time.sleep(1.0)
                if fault == "reset":
                    self.close_connection = True
                    return None
                if self.headers.get("Api-Key") != API_KEY:
                    return self._send(
                        403,
                        {
                            "errors": [
                                "You are not permitted to view the requested resource. "
                                "The API username or key is invalid."
                            ],
                            "error_type": "invalid_access",
                        },
                    )
                mode = state.hold(method, path) if state.hold else None
                if mode == "pause":  # hold the request a while, then serve it normally
                    state.held.set()
                    state.release.wait(120)
                if mode == "before":  # stop before the platform applies anything
                    state.held.set()
                    state.release.wait(30)
                    self.close_connection = True
                    return None
                status, data = route(state, method, path, query, body, self.headers)
                if mode == "after":  # applied, but the client never hears back
                    state.held.set()
                    state.release.wait(30)
                    self.close_connection = True
                    return None
                if fault == "truncated":
                    text = json.dumps(data).encode()
                    return self._send(status, None, raw=text[: len(text) // 2])
                if fault == "malformed":
                    return self._send(status, None, raw=b'{"topic_list": {"topics": [,]}}')
                if fault in ("nested", "nested403"):  # valid JSON too deep for a recursive parser
                    deep = b"[" * 100_000 + b"]" * 100_000
                    return self._send(403 if fault == "nested403" else status, None, raw=deep)
                return self._send(status, data)

            def do_GET(self) -> None:
                self.handle_one("GET")

            def do_POST(self) -> None:
                self.handle_one("POST")

            def do_PUT(self) -> None:
                self.handle_one("PUT")

            def do_DELETE(self) -> None:
                self.handle_one("DELETE")

        self._serve(Handler)

    def stop(self) -> None:
        self.state.release.set()
        super().stop()


def route(
    state: State,
    method: str,
    path: str,
    query: dict[str, list[str]],
    body: dict[str, Any],
    headers: Any,
) -> tuple[int, Any]:
    with state.lock:
        return _route(state, method, path, query, body, headers)


def _route(
    state: State,
    method: str,
    path: str,
    query: dict[str, list[str]],
    body: dict[str, Any],
    headers: Any,
) -> tuple[int, Any]:
    not_found = {
        "errors": ["The requested URL or resource could not be found."],
        "error_type": "not_found",
    }
    if method == "GET" and path == "/latest.json":
        page = int(query.get("page", ["0"])[0])
        per_page = min(int(query.get("per_page", ["30"])[0]), state.latest_page_size_cap)
        live = [t for t in state.topics.values() if not t.deleted]
        live.sort(key=lambda t: (not t.pinned, -t.bumped, -t.id))
        chunk = live[page * per_page : (page + 1) * per_page]
        data = copy.deepcopy(templates().topic_list)
        data["users"] = [
            {"id": uid, "username": name, "avatar_template": "/a/{size}.png"}
            for uid, name in sorted(state.users.items())
        ]
        data["topic_list"]["per_page"] = per_page
        data["topic_list"]["topics"] = [state.entry_json(t) for t in chunk]
        if (page + 1) * per_page < len(live):
            data["topic_list"]["more_topics_url"] = f"/latest?page={page + 1}"
        return 200, data
    match = re.fullmatch(r"/t/(\d+)\.json", path)
    if method == "GET" and match:
        topic = state.topics.get(int(match[1]))
        if topic is None or topic.deleted:
            return 404, not_found
        return 200, state.topic_json(topic)
    match = re.fullmatch(r"/t/(\d+)/posts\.json", path)
    if method == "GET" and match:
        topic = state.topics.get(int(match[1]))
        if topic is None or topic.deleted:
            return 404, not_found
        wanted = {int(i) for i in query.get("post_ids[]", [])}
        return 200, {
            "post_stream": {
                "posts": [
                    state.post_json(topic, p)
                    for p in topic.shown(state.staff_sees_deleted)
                    if p.id in wanted
                ]
            },
            "id": topic.id,
        }
    if method == "GET" and path == "/posts.json":
        before = int(query.get("before", ["0"])[0]) or None
        allp = [(t, p) for t in state.topics.values() if not t.deleted for p in t.shown()]
        allp = [x for x in allp if before is None or x[1].id < before]
        allp.sort(key=lambda x: -x[1].id)
        data = copy.deepcopy(templates().latest_posts)
        template = data["latest_posts"][0]
        data["latest_posts"] = []
        for topic, post in allp[:50]:
            item = copy.deepcopy(template)
            item.update(state.post_json(topic, post, with_raw=True))
            item.update(topic_title=topic.title, topic_html_title=topic.title)
            data["latest_posts"].append(item)
        return 200, data
    match = re.fullmatch(r"/posts/(\d+)\.json", path)
    if method == "GET" and match:
        found = state.post(int(match[1]))
        if not found:
            return 404, not_found
        return 200, state.post_json(*found, with_raw=True)
    if method == "GET" and path == "/review.json":
        items = [state.reviewable_json(r) for r in state.reviewables.values() if r["status"] == 0]
        return 200, {
            "reviewables": items,
            "users": [],
            "meta": {"total_rows_reviewables": len(items), "types": {}},
        }
    if method == "GET" and path == "/post_action_users.json":
        found = state.post(int(query.get("id", ["0"])[0]))
        if not found or query.get("post_action_type_id") != ["2"]:
            return 404, not_found
        page, limit = int(query.get("page", ["0"])[0]), int(query.get("limit", ["50"])[0])
        template = templates().likers["post_action_users"][0]
        users = [
            {
                **template,
                "id": uid,
                "username": state.users.get(uid, f"user{uid}"),
                "username_lower": state.users.get(uid, f"user{uid}").lower(),
            }
            for uid in found[1].likers[page * limit : (page + 1) * limit]
        ]
        return 200, {
            "post_action_users": users,
            "total_rows_post_action_users": len(found[1].likers),
        }
    match = re.fullmatch(r"/admin/users/(\d+)\.json", path)
    if method == "GET" and match:
        uid = int(match[1])
        if not state.admin_key:  # Discourse's StaffConstraint: the route is not found
            return 404, not_found
        if uid not in state.users:
            return 404, not_found
        user = copy.deepcopy(templates().admin_user)
        user.update(
            id=uid,
            username=state.users[uid],
            created_at=ts(state.joined.get(uid, 0)),
            registration_ip_address=state.registration_ip.get(uid, f"2001:db8::{uid:x}"),
        )
        if uid in state.sso_email:
            record = copy.deepcopy(templates().sso_record)
            record.update(
                user_id=uid, external_id=f"ext-{uid}", external_email=state.sso_email[uid]
            )
            user["single_sign_on_record"] = record
        return 200, user
    if method == "GET" and path == "/directory_items.json":
        page = int(query.get("page", ["0"])[0])
        users = sorted(state.users.items())[page * 50 : (page + 1) * 50]
        data = copy.deepcopy(templates().directory)
        template = data["directory_items"][0]
        data["directory_items"] = []
        for uid, name in users:
            item = copy.deepcopy(template)
            item["id"] = uid
            item["likes_received"] = uid * 3
            item["user"] = {**template["user"], "id": uid, "username": name, "name": None}
            data["directory_items"].append(item)
        data["total_rows_directory_items"] = len(state.users)
        data["load_more_directory_items"] = f"/directory_items?page={page + 1}"
        return 200, data
    # ---- writes
    match = re.fullmatch(r"/t/(\d+)/status\.json", path)
    if method == "PUT" and match:
        topic = state.topics.get(int(match[1]))
        if topic is None or topic.deleted:
            return 404, not_found
        if body.get("status") != "closed" or body.get("enabled") not in ("true", "false"):
            return 400, {"errors": ["param is missing or invalid: status/enabled"]}
        topic.closed = body["enabled"] == "true"
        state.applied.append(("status", topic.id, topic.closed))
        return 200, {"success": "OK", "topic_status_update": None}
    if method == "POST" and path == "/post_actions.json":
        found = state.post(int(body.get("id", 0)))
        if not found:
            return 404, not_found
        topic, post = found
        type_id = int(body.get("post_action_type_id", 0))
        key = ("flag", post.id, type_id)
        if post.id in state.refuse_flags:
            return 403, {
                "errors": ["You are not permitted to view the requested resource."],
                "error_type": "invalid_access",
            }
        if key in state.applied:
            if state.already_flagged_as_invalid_access:
                # the guardian's refusal (Discourse::InvalidAccess), as some versions answer it
                return 403, {
                    "errors": ["You are not permitted to view the requested resource."],
                    "error_type": "invalid_access",
                }
            return 403, {
                "errors": ["Oops! You already performed that action. Can you try a different one?"]
            }
        state.applied.append(key)
        post.flags[type_id] = post.flags.get(type_id, 0) + 1
        if type_id == 8:
            post.hidden = True
        return 200, state.post_json(topic, post)
    match = re.fullmatch(r"/post_actions/(\d+)\.json", path)
    if method == "DELETE" and match:
        found = state.post(int(match[1]))
        type_id = int(query.get("post_action_type_id", ["0"])[0])
        if not found or ("flag", found[1].id, type_id) not in state.applied:
            return 404, not_found
        state.applied.remove(("flag", found[1].id, type_id))
        state.applied.append(("unflag", found[1].id, type_id))
        found[1].flags.pop(type_id, None)
        found[1].hidden = False
        return 200, state.post_json(*found)
    if method == "POST" and path == "/posts.json":
        topic = state.topics.get(int(body.get("topic_id", 0)))
        if topic is None or topic.deleted:
            return 404, not_found
        if topic.closed:
            return 403, {"errors": ["This topic is closed; you cannot reply."]}
        post = state.add_reply(topic.id, str(body.get("raw", "")), topic.bumped + 1, API_USER)
        state.applied.append(("reply", topic.id, post.raw))
        return 200, state.post_json(topic, post, with_raw=True)
    if method == "POST" and path in ("/solution/accept.json", "/solution/unaccept.json"):
        found = state.post(int(body.get("id", 0)))
        if not found:
            return 404, not_found
        topic, post = found
        accept = path.endswith("/accept.json")
        for other in topic.posts:
            if accept:
                other.accepted = other.id == post.id
        if not accept:
            post.accepted = False
        state.applied.append(("accept" if accept else "unaccept", post.id))
        return 200, {"success": "OK"}
    match = re.fullmatch(r"/review/(\d+)/perform/([a-z_]+)\.json", path)
    if method == "PUT" and match:
        item = state.reviewables.get(int(match[1]))
        if item is None:
            return 404, not_found
        version = int(query.get("version", ["-1"])[0])
        if version != item["version"] or item["status"] != 0:
            return 409, {
                "errors": [
                    "There was an update conflict preventing you from doing that. "
                    "Someone else acted on this item first."
                ]
            }
        item["status"] = 1
        item["version"] += 1
        state.applied.append(("review", item["id"], match[2]))
        return 200, {"reviewable_perform_result": {"success": True, "version": item["version"]}}
    return 404, not_found


def flagged_reviewable(rid: int, topic: FTopic, post: FPost, version: int = 1) -> dict[str, Any]:
    return {
        "id": rid,
        "type": "ReviewableFlaggedPost",
        "status": 0,
        "version": version,
        "topic_id": topic.id,
        "target_id": post.id,
        "target_type": "Post",
        "target_created_by_id": post.user_id,
        "created_at": ts(post.created + 5),
        "score": 5.5,
        "cooked": f"<p>{post.raw}</p>",
        "reviewable_scores": [{"id": 1, "score": 5.5, "reason": "spam", "status": 0}],
        "bundled_actions": [
            {"id": "agree", "actions": [{"id": "agree_and_hide"}, {"id": "agree_and_keep"}]},
            {"id": "disagree", "actions": [{"id": "disagree"}]},
        ],
    }


def queued_reviewable(rid: int, topic: FTopic, raw: str, version: int = 0) -> dict[str, Any]:
    return {
        "id": rid,
        "type": "ReviewableQueuedPost",
        "status": 0,
        "version": version,
        "topic_id": topic.id,
        "target_id": None,
        "target_type": None,
        "created_by_id": 2,
        "created_at": ts(topic.bumped + 1),
        "score": 1.0,
        "payload": {"raw": raw},
        "reviewable_scores": [],
        "bundled_actions": [
            {"id": "approve_post", "actions": [{"id": "approve_post"}]},
            {"id": "reject_post", "actions": [{"id": "reject_post"}]},
        ],
    }


def community(n_topics: int = 6, posts_per_topic: int = 3, *, long_topic: int = 0) -> FakeDiscourse:
    """A server with users and topics; topic 1 pinned, `long_topic` posts in the last one."""
    server = FakeDiscourse()
    state = server.state
    for uid, name in [(1, "alice"), (2, "bob"), (3, "carol"), (4, API_USER)]:
        state.add_user(uid, name)
    for tid in range(1, n_topics + 1):
        n = posts_per_topic
        if long_topic and tid == n_topics:
            n = long_topic
        state.add_topic(
            tid,
            f"Topic {tid}: router keeps dropping",
            n,
            minute=tid * 100,
            user=1 + tid % 3,
            pinned=(tid == 1),
        )
    return server
