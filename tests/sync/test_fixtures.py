"""Every relevant recorded response in ../shared/fixtures is parsed by the adapters."""

from __future__ import annotations

import json

import pytest

from console.db import Cache
from sync.base import Page
from sync.credentials import Credentials
from sync.discourse import DiscourseAdapter
from sync.runner import store_page
from sync.stackexchange import StackExchangeAdapter
from tests.backends import pytest_generate_tests
from tests.conftest import require_shared

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]

FIX = require_shared("fixtures")  # the whole module is about them: skipped without ../shared
D = FIX / "discourse"

TOPIC_LISTS = [
    "api_docs_responses/topics_latest_topics_response.json",
    "api_docs_responses/topics_top.json",
    "api_docs_responses/topics_private-messages-sent.json",
    "api_docs_responses/topics_private-messages.json",
    "discourse_api_gem/latest.json",
    "discourse_api_gem/top.json",
    "discourse_api_gem/hot.json",
    "discourse_api_gem/new.json",
    "discourse_api_gem/category_latest_topics.json",
    "discourse_api_gem/category_topics.json",
    "discourse_api_gem/private_messages.json",
    "discourse_api_gem/topics_created_by.json",
]
TOPICS = [
    "api_docs_responses/topics_topic_response.json",
    "discourse_api_gem/topic.json",
    "discourse_solved/topic_with_accepted_answer.json",
]
SINGLE_POSTS = [
    "api_docs_responses/posts_get_post_response.json",
    "api_docs_responses/topics_new_topic_response.json",
    "discourse_api_gem/post.json",
    "discourse_api_gem/create_topic_with_tags.json",
]
FEEDS = ["discourse_api_gem/posts_latest.json", "discourse_api_gem/posts_before.json"]
NOT_USED = {  # endpoints the adapter never calls (admin, groups, categories, search...)
    "api_docs_responses/admin_generate_api_key.json",
    "api_docs_responses/admin_get_user.json",
    "api_docs_responses/categories_update_category_response.json",
    "api_docs_responses/groups_get_groups_response.json",
    "api_docs_responses/groups_group_members_response.json",
    "api_docs_responses/groups_new_group_response.json",
    "api_docs_responses/notifications_get.json",
    "api_docs_responses/search_query_response.json",
    "api_docs_responses/topics_invite.json",
    "api_docs_responses/topics_update_topic_response.json",
    "api_docs_responses/users_active_list.json",
    "api_docs_responses/users_get_user_response.json",
    "api_docs_responses/users_new_list.json",
    "api_docs_responses/users_new_user_response.json",
    "api_docs_responses/users_staff_list.json",
    "discourse_api_gem/admin_user.json",
    "discourse_api_gem/categories.json",
    "discourse_api_gem/notifications.json",
    "discourse_api_gem/post_action_users.json",
    "discourse_api_gem/replies.json",
    "discourse_api_gem/search.json",
    "discourse_api_gem/user.json",
    "discourse_api_gem/user_list.json",
}
OTHER_USED = {
    "discourse_api_gem/topic_posts.json",
    "api_docs_responses/posts_update_post_response.json",
    "api_docs_responses/users_directory_items.json",
}


def load(rel: str) -> object:
    return json.loads((D / rel).read_text(encoding="utf-8"))


def adapter() -> DiscourseAdapter:
    return DiscourseAdapter("https://forum.example", Credentials())


def test_every_discourse_fixture_is_classified() -> None:
    found = {str(p.relative_to(D)) for p in D.glob("*/*.json")}
    classified = set(TOPIC_LISTS) | set(TOPICS) | set(SINGLE_POSTS) | set(FEEDS) | NOT_USED
    assert found == classified | OTHER_USED


@pytest.mark.parametrize("rel", TOPIC_LISTS)
def test_topic_lists(rel: str) -> None:
    data = load(rel)
    entries, page = adapter().parse_topic_list(data)
    assert page.problems == []
    assert len(entries) == len(data["topic_list"]["topics"])  # type: ignore[index]
    for entry in entries:
        assert adapter().fingerprint(entry)


def test_latest_fixture_has_pinned_topic_and_users() -> None:
    entries, page = adapter().parse_topic_list(
        load("api_docs_responses/topics_latest_topics_response.json")
    )
    assert [e["id"] for e in entries if e["pinned"]] == [8]
    assert {m.username for m in page.member_refs} == {"discourse1", "system"}


@pytest.mark.parametrize("rel", TOPICS)
def test_topics(rel: str) -> None:
    data = load(rel)
    thread, posts, page = adapter().parse_topic(data)
    assert page.problems == []
    assert thread is not None
    assert thread.remote_id == str(data["id"])  # type: ignore[index]
    assert len(posts) == len(data["post_stream"]["posts"])  # type: ignore[index]
    assert all("<" not in p.body_text for p in posts)
    assert posts[0].body_text


def test_gem_topic_details() -> None:
    thread, posts, _ = adapter().parse_topic(load("discourse_api_gem/topic.json"))
    assert thread is not None
    assert thread.title == "THIS SITE IS A SANDBOX -- it is reset every day"
    assert thread.created_at == "2013-02-04T20:26:25Z"  # -05:00 normalised to UTC
    assert thread.reply_count == 3 and thread.status == "answered"
    assert [p.remote_id for p in posts] == ["83", "84", "86", "226"]
    assert posts[0].body_text.startswith("Welcome!")


def test_solved_topic() -> None:
    thread, _posts, page = adapter().parse_topic(
        load("discourse_solved/topic_with_accepted_answer.json")
    )
    assert thread is not None and thread.status == "solved"
    assert thread.accepted_post_remote_id == "22"
    assert [m.username for m in page.member_refs] == ["kzh"]


def test_solved_topic_into_the_cache(cache: Cache) -> None:
    from console.ingest import ensure_source

    sid = ensure_source(cache, "discourse", "forum", "https://forum.example")
    thread, posts, page = adapter().parse_topic(
        load("discourse_solved/topic_with_accepted_answer.json")
    )
    assert thread is not None
    page.threads, page.posts = [thread], posts
    store_page(cache, sid, page)
    row = cache.one(
        "SELECT t.status, p.remote_id FROM threads t JOIN posts p ON p.id = t.accepted_post_id"
    )
    assert tuple(row) == ("solved", "22")
    assert cache.one("SELECT username FROM members")[0] == "kzh"


def test_posts_by_id_response() -> None:
    # hand-trimmed gem fixture: `raw` is a list and score a float; cooked is what we read
    _, posts, page = adapter().parse_topic(load("discourse_api_gem/topic_posts.json"))
    assert page.problems == []
    assert [(p.remote_id, p.position, p.score, p.body_text) for p in posts] == [
        ("123456", 1, 3, "Some text.")
    ]


@pytest.mark.parametrize(
    "rel", [*SINGLE_POSTS, "api_docs_responses/posts_update_post_response.json"]
)
def test_single_posts(rel: str) -> None:
    data = load(rel)
    if "post" in data and isinstance(data["post"], dict):  # type: ignore[operator]
        data = data["post"]  # type: ignore[index]
    record, member, _, _, number = adapter()._parse_post(data, "1")  # type: ignore[arg-type]
    assert record is not None and record.remote_id == str(data["id"])  # type: ignore[index]
    assert member is not None and member.username == data["username"]  # type: ignore[index]
    assert number == data["post_number"]  # type: ignore[index]


@pytest.mark.parametrize("rel", FEEDS)
def test_latest_posts_feeds(rel: str) -> None:
    data = load(rel)
    for post in data["latest_posts"]:  # type: ignore[index]
        record, _, _, _, _ = adapter()._parse_post(post, str(post["topic_id"]))
        assert record is None or record.thread_remote_id == str(post["topic_id"])


def test_directory_items_shape() -> None:
    data = load("api_docs_responses/users_directory_items.json")
    users = [item["user"]["username"] for item in data["directory_items"]]  # type: ignore[index]
    assert users and all(isinstance(u, str) for u in users)


# ---- Stack Exchange

SE = FIX / "stackexchange"


def se() -> StackExchangeAdapter:
    return StackExchangeAdapter(
        "https://api.example", Credentials(), options={"site": "stackoverflow"}
    )


@pytest.mark.parametrize("rel", ["questions_sort_votes_2018.json", "questions_user22656.json"])
def test_se_questions(rel: str) -> None:
    data = json.loads((SE / rel).read_text())
    page = Page()
    questions = se().parse_questions(data["items"], page)
    se().build(questions, {}, page)
    assert page.problems == []
    assert len(page.threads) == len(data["items"])
    by_id = {t.remote_id: t for t in page.threads}
    for item in data["items"]:
        thread = by_id[str(item["question_id"])]
        if item.get("accepted_answer_id"):
            assert thread.status == "solved"
            assert thread.accepted_post_remote_id == str(item["accepted_answer_id"])
        assert thread.reply_count == item["answer_count"]


def test_se_question_details() -> None:
    data = json.loads((SE / "questions_sort_votes_2018.json").read_text())
    page = Page()
    se().build(se().parse_questions(data["items"], page), {}, page)
    first = page.threads[0]
    assert first.title == "Why is it faster to process a sorted array than an unsorted array?"
    assert first.created_at == "2012-06-27T13:51:36Z"
    assert "branch-prediction" in first.tags
    assert {m.username for m in page.members} >= {"GManNickG"}


@pytest.mark.parametrize("rel", ["answers_user22656.json", "question_72755863_answers.json"])
def test_se_answers(rel: str) -> None:
    data = json.loads((SE / rel).read_text())
    page = Page()
    answers = se().parse_answers(data["items"], page)
    assert page.problems == [] and len(answers) == len(data["items"])
    questions = [
        {
            "question_id": qid,
            "title": f"q{qid}",
            "creation_date": 1,
            "last_activity_date": 2,
            "answer_count": sum(a["question_id"] == qid for a in answers),
        }
        for qid in sorted({a["question_id"] for a in answers})
    ]
    grouped: dict[int, list[dict[str, object]]] = {}
    for a in answers:
        grouped.setdefault(a["question_id"], []).append(a)
    se().build(questions, grouped, page)
    assert len(page.posts) == len(questions) + len(answers)
    accepted = {str(a["answer_id"]) for a in answers if a["is_accepted"]}
    assert {t.accepted_post_remote_id for t in page.threads} - {None} == accepted
