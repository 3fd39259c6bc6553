"""Push stays honest under faults: an action the platform already has is settled as applied
(never a credentials problem, never blocking the outbox), and a remote change made between a
decision and its push becomes a conflict for a human instead of being pushed over."""

from __future__ import annotations

import pytest

from console import decisions, outbox
from console.db import Cache
from console.desk import Desk
from console.identity import Identity
from sync import push, runner, status
from tests.backends import pytest_generate_tests
from tests.sync.conftest import add_source
from tests.sync.fake_discourse import API_USER, FakeDiscourse

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]


def _alice(cache: Cache) -> Identity:
    """alice, established from the test's roles file (tests/sync/conftest.py grants them)."""
    return Desk.for_cache(cache, actor="alice").who


def _setup(cache: Cache, server: FakeDiscourse) -> runner.SourceRow:
    add_source(cache, "forum", "discourse", server.url)
    row = runner.source(cache, "forum")
    assert runner.sync_source(cache, row).result == "ok"
    return runner.source(cache, "forum")


def _local(cache: Cache, table: str, remote: int) -> int:
    return int(cache.one(f"SELECT id FROM {table} WHERE remote_id = ?", (str(remote),))[0])


def _states(cache: Cache) -> list[tuple[str, str, str | None]]:
    return [
        (r[0], r[1], r[2])
        for r in cache.query("SELECT action, state, last_error FROM outbox ORDER BY id")
    ]


@pytest.mark.parametrize("invalid_access", [False, True], ids=["already", "invalid_access"])
def test_a_flag_already_on_the_platform_is_settled_as_applied(
    cache: Cache, creds_env: None, fake: FakeDiscourse, invalid_access: bool
) -> None:
    st = fake.state
    st.already_flagged_as_invalid_access = invalid_access
    row = _setup(cache, fake)
    spam = st.topics[2].posts[1]
    # the spam flag reached the platform (an earlier push, killed before it heard back, on a
    # copy of the cache that is gone): the platform has it, our outbox does not know
    st.applied.append(("flag", spam.id, 8))
    spam.flags[8] = 1
    spam.hidden = True
    decisions.decide(
        cache,
        who=_alice(cache),
        action="hide_post",
        target_ids=[_local(cache, "posts", spam.id)],
    )
    for topic in (3, 4, 5):
        tid = _local(cache, "threads", topic)
        decisions.decide(cache, who=_alice(cache), action="close", target_ids=[tid])
    report = push.push_source(cache, row)
    assert (report.applied, report.exit_code, report.stopped) == (4, 0, ""), report.messages
    assert _states(cache) == [
        ("hide_post", "applied", None),
        ("close", "applied", None),
        ("close", "applied", None),
        ("close", "applied", None),
    ]
    assert [t for t in (3, 4, 5) if st.topics[t].closed] == [3, 4, 5]
    assert [a for a in st.applied if a[0] == "flag"] == [("flag", spam.id, 8)]


def test_a_refused_action_is_not_a_credentials_problem(
    cache: Cache, creds_env: None, fake: FakeDiscourse
) -> None:
    """A flag the platform refuses for this one post (not ours): rejected, the rest goes on."""
    st = fake.state
    row = _setup(cache, fake)
    post = st.topics[2].posts[1]
    st.refuse_flags.add(post.id)
    pid = _local(cache, "posts", post.id)
    decisions.decide(cache, who=_alice(cache), action="hide_post", target_ids=[pid])
    t3 = _local(cache, "threads", 3)
    decisions.decide(cache, who=_alice(cache), action="close", target_ids=[t3])
    report = push.push_source(cache, row)
    assert (report.stopped, report.exit_code, report.applied, report.rejected) == ("", 0, 1, 1)
    (_, hide_state, hide_error), close = _states(cache)
    assert hide_state == "rejected" and close == ("close", "applied", None)
    assert "refused for this item" in (hide_error or "")
    assert "credentials" not in (hide_error or "")


def test_a_new_reply_since_a_local_close_is_a_conflict(
    cache: Cache, creds_env: None, fake: FakeDiscourse
) -> None:
    st = fake.state
    row = _setup(cache, fake)
    t3 = _local(cache, "threads", 3)
    decisions.decide(cache, who=_alice(cache), action="close", target_ids=[t3])
    st.add_reply(3, "it works again after a reboot", minute=900_000, username="bob")
    report = push.push_source(cache, row)
    assert report.conflicts == 1 and report.applied == 0
    state, error = _states(cache)[0][1:]
    assert state == "conflict"
    assert "got 1 new reply since the decision (by bob" in (error or "")
    assert not st.topics[3].closed
    assert ("PUT", "/t/3/status.json") not in st.requests
    # a human looked and decided to send it anyway
    assert status.retry_item(cache, 1)
    assert push.push_source(cache, row).applied == 1
    assert st.topics[3].closed


def test_an_edit_since_a_local_hide_is_a_conflict(
    cache: Cache, creds_env: None, fake: FakeDiscourse
) -> None:
    st = fake.state
    row = _setup(cache, fake)
    post = st.topics[4].posts[1]
    pid = _local(cache, "posts", post.id)
    decisions.decide(cache, who=_alice(cache), action="hide_post", target_ids=[pid])
    st.edit_post(post.id, "sorry, removed the link", minute=900_000)
    report = push.push_source(cache, row)
    assert report.conflicts == 1
    state, error = _states(cache)[0][1:]
    assert state == "conflict"
    assert "was edited on the platform since the decision (version 1 → 2" in (error or "")
    assert not post.hidden and ("POST", "/post_actions.json") not in st.requests


def test_our_own_reply_before_a_close_is_no_conflict(
    cache: Cache, creds_env: None, fake: FakeDiscourse
) -> None:
    st = fake.state
    row = _setup(cache, fake)
    t3 = _local(cache, "threads", 3)
    with cache.transaction() as conn:
        outbox.enqueue(
            conn,
            source_id=row.id,
            action="reply",
            target_kind="thread",
            target_id=t3,
            payload={"thread_id": t3, "raw": "Closing: fixed by the outage repair."},
            batch_id=None,
            audit_id=None,
        )
    decisions.decide(cache, who=_alice(cache), action="close", target_ids=[t3])
    report = push.push_source(cache, row)
    assert (report.applied, report.conflicts) == (2, 0), report.messages
    assert st.topics[3].closed and st.topics[3].posts[-1].username == API_USER
