"""The demo community's escalations: every kind of rule on show, every state, some SLAs
breached and some running, nothing of theirs in the outbox, the same rows every build; a team
database `peerdesk --db postgresql://… demo` built holds the same rows and shows the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from console import audit
from console.db import Cache, open_cache
from console.escalate import panel
from console.escalate.engine import HIDE_REASON
from tests.conftest import BuiltOnce, demo_file
from tests.demo_stores import demo_store

THREADS = 800


def _checked(cache: Cache) -> list[tuple[object, ...]]:
    """The demo's escalations, after checking what they show."""
    rows = [
        tuple(r)
        for r in cache.query(
            "SELECT rule_id, subject, version, state, raised_at, assignee, ticket_ref "
            "FROM escalations ORDER BY id"
        )
    ]
    by_rule = {r[0] for r in rows}
    assert by_rule >= {
        "legal-threat",
        "angry-complaint",
        "account-billing",
        "personal-data",
        "follow-ups",
        "unanswered",
        "unanswered-billing",
        "unanswered-outage",
    }
    states = {r[3] for r in rows}
    assert states == {
        "new",
        "acknowledged",
        "sent_to_support",
        "waiting_on_customer",
        "resolved",
        "dismissed",
    }
    open_rows = panel.listing(cache)
    assert {e.rule_id for e in open_rows} == by_rule  # the newest of each rule is open
    assert any(e.breached for e in open_rows) and any(not e.breached for e in open_rows)
    # other features' demo decisions (verification) may queue items; escalations queue none
    assert cache.one("SELECT count(*) FROM outbox WHERE target_kind = 'escalation'")[0] == 0
    assert audit.verify(cache) == []
    hidden = cache.query(
        "SELECT e.state FROM escalations e JOIN posts p ON p.id = e.post_id "
        "WHERE p.hidden_reason = ? AND e.hide_pending_review = 1",
        (HIDE_REASON,),
    )
    assert hidden and all(h[0] not in ("resolved", "dismissed") for h in hidden)
    report = panel.rule_rates(cache)
    assert any(rate.dismissed for rate in report.values())
    return rows


@pytest.mark.backends
def test_demo_escalations_are_complete_and_deterministic(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, built_once: BuiltOnce
) -> None:
    with demo_store(backend, tmp_path / "a.sqlite3", request, threads=THREADS) as cache:
        first = _checked(cache)
    # another build of the same demo on a cache file (built once for both backends' runs)
    cache = open_cache(demo_file(built_once, tmp_path / "b.sqlite3", THREADS, candidate_limit=0))
    try:
        second = _checked(cache)
    finally:
        cache.close()
    assert first == second
