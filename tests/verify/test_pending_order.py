"""The Verification panel's list (console.verify.queue.pending): re-checks first, then by
impact, then by id, every pending answer whose post is not hidden, a page at a time; read in the
order of migration 36's index (on SQLite by that index, not by sorting every pending answer)."""

from __future__ import annotations

import pytest

from console.verify import queue
from tests.plans import query_plan
from tests.verify.conftest import Community

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

NOW = "2026-11-20T09:00:00Z"


def _verifications(community: Community) -> list[tuple[int, bool, float, int]]:
    """A verification for every post: impacts with ties, some re-checks, some decided, one
    post hidden. Returns the pending ones the list shows, as (id, recheck, impact, post)."""
    cache = community.cache
    posts = [(int(r[0]), int(r[1])) for r in cache.query("SELECT id, thread_id FROM posts")]
    assert len(posts) >= 6
    shown = []
    with cache.transaction() as conn:
        for n, (post, thread) in enumerate(posts):
            state = "verified" if n % 5 == 4 else "pending"
            recheck = "edited after it was verified" if n % 3 == 0 else None
            impact = float(n % 3)  # ties: the id decides
            conn.execute(
                "INSERT INTO verifications (post_id, thread_id, state, impact, recheck, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (post, thread, state, impact, recheck, NOW, NOW),
            )
        hidden = posts[1][0]
        conn.execute("UPDATE posts SET hidden = 1 WHERE id = ?", (hidden,))
    for r in cache.query("SELECT id, recheck, impact, state, post_id FROM verifications"):
        if r[3] == "pending" and int(r[4]) != hidden:
            shown.append((int(r[0]), r[1] is not None, float(r[2]), int(r[4])))
    return shown


def test_pending_pages_in_the_lists_order(community: Community) -> None:
    shown = _verifications(community)
    order = [v[0] for v in sorted(shown, key=lambda v: (not v[1], -v[2], v[0]))]
    assert len(order) >= 4
    every = [row.verification_id for row in queue.pending(community.cache, "alice")]
    assert every == order
    pages = [
        row.verification_id
        for offset in range(0, len(order), 2)
        for row in queue.pending(community.cache, "alice", offset=offset, limit=2)
    ]
    assert pages == order
    kinds = {row.verification_id: row.kind for row in queue.pending(community.cache, "alice")}
    assert {kinds[v[0]] for v in shown if v[1]} == {"recheck"}


def test_pending_reads_the_page_from_its_index(community: Community) -> None:
    cache = community.cache
    if not cache.dialect.is_sqlite:
        pytest.skip("SQLite's query plan (INDEXED BY); the team database plans its own")
    plan = query_plan(cache.conn, queue._pending_sql(cache), (100, 0))
    assert "SCAN v USING INDEX verifications_pending" in plan
    assert "TEMP B-TREE" not in plan
