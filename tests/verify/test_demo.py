"""The demo community has answers worth verifying and a panel full of work: right, wrong,
copied and asker-accepted-but-wrong answers, past decisions, calibration and re-checks; the same
on a team database `peerdesk --db postgresql://… demo` built."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.db import Cache
from console.desk import Desk
from tests.demo_stores import demo_store

pytestmark = pytest.mark.backends  # on a cache file and on a team database

THREADS = 600


@pytest.fixture
def demo(backend: str, cache_path: Path, request: pytest.FixtureRequest) -> Iterator[Cache]:
    with demo_store(backend, cache_path, request, threads=THREADS, seed=7, candidates=120) as store:
        yield store


def test_demo_fills_the_verification_panel(demo: Cache) -> None:
    cache = demo
    assert cache.one("SELECT count(*) FROM threads")[0] == THREADS  # no thread added
    states = dict(cache.query("SELECT state, count(*) FROM verifications GROUP BY state"))
    assert states["pending"] > 100
    assert states["verified"] >= 3 and states["rejected"] >= 3
    reviews = {
        (r[0], r[1]): r[2]
        for r in cache.query(
            "SELECT kind, state, count(*) FROM verification_reviews GROUP BY kind, state"
        )
    }
    assert reviews[("calibration", "open")] >= 1
    assert reviews[("recheck", "open")] >= 1
    reasons = [
        s["name"]
        for (raw,) in cache.query("SELECT reasons FROM verifications")
        for s in json.loads(raw)
    ]
    for name in ("accepted", "staff", "near_copy", "on_topic", "asker_thanked"):
        assert name in reasons, name
    # an asker-accepted wrong answer waits for a second moderator
    assert (
        cache.one(
            "SELECT count(*) FROM verifications v JOIN threads t ON t.id = v.thread_id "
            "WHERE v.proposed_state IS NOT NULL"
        )[0]
        >= 1
    )
    # the demo's past decisions already reached the platform: nothing waits in the outbox
    assert cache.one("SELECT count(*) FROM outbox WHERE state = 'pending'")[0] == 0
    # someone who made none of the demo's decisions (on the team database alice, who logs in)
    desk = Desk.for_cache(cache, actor="someone" if cache.dialect.is_sqlite else None)
    rows = desk.verification.queue(limit=50)
    assert rows[0].kind == "calibration" and len(rows) == 50
