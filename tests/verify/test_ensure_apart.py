"""`queue.ensure` (opening or deciding an answer nobody proposed) reads and scores its thread
before it takes the write lock, and writes in one short transaction after: another connection
can write meanwhile, and what it wrote stays.

# SQLite only: the cache file has one writer at a time (BEGIN IMMEDIATE takes its lock), which is
# what ensure must not hold while it reads; the team database takes no lock for reads.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from console.verify import queue
from console.verify.settings import VerifySettings
from tests.verify.conftest import Community


def test_another_connection_writes_while_ensure_scores_and_its_decision_stays(
    community: Community, cache_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = community.cache
    chatter = community.posts["t2-1"]  # "lol same here": nobody proposes it
    assert cache.one("SELECT 1 FROM verifications WHERE post_id = ?", (chatter,)) is None
    scored = queue.score_many
    other = sqlite3.connect(cache_path, timeout=0, isolation_level=None)  # never waits

    def score_then_another_writer_decides(*args: Any, **kwargs: Any) -> queue.Scores:
        scores = scored(*args, **kwargs)
        # a second moderator's connection decides the same answer while ensure has its scores
        # in hand: with ensure's write lock held this fails at once ("database is locked")
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO verifications (post_id, thread_id, state, score, decided_by, "
            "decided_at, created_at, updated_at) VALUES (?, ?, 'rejected', 7, 'zoe', ?, ?, ?)",
            (chatter, community.threads["t2"], *["2026-11-20T12:00:00Z"] * 3),
        )
        other.execute("COMMIT")
        return scores

    monkeypatch.setattr(queue, "score_many", score_then_another_writer_decides)
    try:
        queue.ensure(cache, chatter, VerifySettings())
    finally:
        other.close()
    rows = cache.query(
        "SELECT state, score, decided_by FROM verifications WHERE post_id = ?", (chatter,)
    )
    assert [tuple(r) for r in rows] == [("rejected", 7, "zoe")]  # one row, the decision kept


def test_ensure_still_scores_an_answer_nobody_proposed(community: Community) -> None:
    cache = community.cache
    chatter = community.posts["t2-1"]
    queue.ensure(cache, chatter, VerifySettings())
    row = cache.one("SELECT state, score FROM verifications WHERE post_id = ?", (chatter,))
    assert row is not None and row["state"] == "pending" and row["score"] is not None
    assert not cache.conn.in_transaction  # nothing left open
