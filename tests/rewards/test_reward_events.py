"""The events the rewards rules pay for, as the sources list them (console/rewards/events.py)
and as the ledger's writers check them (the view reward_events, migration 28), are the same
events on both engines for every rule; and `accrue` on the team database, whose server checks
each accrual's event there, pays every one of them."""

from __future__ import annotations

import pytest

from console.db import Cache
from console.desk import Desk
from console.rewards import ledger
from console.rewards.events import SOURCES

from .conftest import superuser_sql

pytestmark = pytest.mark.backends


def _every_kind(cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest) -> None:
    """Beside the community's accepted answers and votes: h3's answer in t2 verified; an
    escalation of t4 whose first reply (h1's, 13:00) came within its SLA; t5 a confirmed
    duplicate of t1, flagged first by v1."""
    t2, t4, t5, t1 = ids["t2"], ids["t4"], ids["t5"], ids["t1"]
    superuser_sql(
        cache,
        request,
        "INSERT INTO verifications (post_id, thread_id, state, decided_by, decided_at, "
        f"created_at, updated_at) VALUES ({ids['post:p2.1']}, {t2}, 'verified', 'alice', "
        "'2026-10-20T00:00:00Z', '2026-10-20T00:00:00Z', '2026-10-20T00:00:00Z')",
        "INSERT INTO escalations (rule_id, rule_name, rule_kind, severity, thread_id, subject, "
        "version, matched, raised_at, detected_at, acknowledge_due, resolve_due, updated_at) "
        f"VALUES ('r', 'Unanswered', 'unanswered', 'high', {t4}, 's', '1', 'm', "
        "'2026-10-09T12:00:00Z', '2026-10-09T12:00:00Z', '2026-10-09T18:00:00Z', "
        "'2026-10-10T12:00:00Z', '2026-10-09T12:00:00Z')",
        "INSERT INTO duplicate_links (thread_id, original_id, score, method, decision, "
        f"created_at) VALUES ({t5}, {t1}, 0.9, 'words', 'confirmed', '2026-10-12T00:00:00Z')",
        "INSERT INTO member_duplicate_flags (thread_id, original_id, member_id, flagged_at) "
        f"VALUES ({t5}, {t1}, {ids['member:v1']}, '2026-10-11T00:00:00Z')",
    )


def test_the_sources_and_the_view_list_the_same_events(
    cache: Cache, ids: dict[str, int], request: pytest.FixtureRequest
) -> None:
    _every_kind(cache, ids, request)
    for rule, source in SOURCES.items():
        listed = {
            (e.event_key, e.member_id, e.thread_id, e.occurred_at)
            for e in source.events(cache.conn)
        }
        viewed = {
            (str(r[0]), int(r[1]), int(r[2]), str(r[3]))
            for r in cache.query(
                "SELECT event_key, member_id, thread_id, occurred_at FROM reward_events "
                "WHERE rule = ?",
                (rule,),
            )
        }
        assert listed and listed == viewed, rule


def test_accrue_pays_every_kind_of_event_the_ledger_checks(
    cache: Cache,
    ids: dict[str, int],
    request: pytest.FixtureRequest,
    staff: dict[str, Desk],
) -> None:
    _every_kind(cache, ids, request)
    staff["priya"].rewards.accrue()
    paid = {str(r[0]) for r in cache.query("SELECT DISTINCT rule FROM ledger")}
    assert paid == set(SOURCES)
    assert ledger.verify(cache).ok
