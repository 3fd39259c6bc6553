"""The demo community has answers worth verifying and a panel full of work: right, wrong,
copied and asker-accepted-but-wrong answers, past decisions, calibration and re-checks."""

from __future__ import annotations

import json

from console.db import Cache
from console.demo import build_demo
from console.desk import Desk

THREADS = 600


def test_demo_fills_the_verification_panel(cache: Cache) -> None:
    summary = build_demo(cache, THREADS, 7, candidate_limit=120)
    assert cache.one("SELECT count(*) FROM threads")[0] == summary.threads  # no thread added
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
    desk = Desk.for_cache(cache, actor="someone")
    rows = desk.verification.queue(limit=50)
    assert rows[0].kind == "calibration" and len(rows) == 50
