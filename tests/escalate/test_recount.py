"""`peerdesk escalations --recount`: the Escalations panel's kept counts (migration 37) taken again
from the escalations, on a cache file and on a team database. Counts that drifted (a resumed
copy, a repair by hand) are mended and the rows that were wrong are counted in the audit entry;
only an admin may do it, and a refused recount changes nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.db import Cache
from console.desk import Desk
from console.errors import PermissionRefused
from tests.backends import empty_store
from tests.escalate.conftest import store, thread

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

# (rule, state, raised_at, closed_at)
RAISED = [
    ("r-bill", "new", "2026-10-01T09:00:00Z", None),
    ("r-bill", "resolved", "2026-10-01T10:00:00Z", "2026-10-03T08:00:00Z"),
    ("r-legal", "acknowledged", "2026-10-02T11:00:00Z", None),
    ("r-legal", "dismissed", "2026-10-03T12:00:00Z", "2026-10-03T13:00:00Z"),
]


@pytest.fixture
def admin_store(
    backend: str,
    cache_path: Path,
    request: pytest.FixtureRequest,
    grant_roles: Callable[[dict[str, list[str]]], Path],
) -> Iterator[Cache]:
    """Four escalations; root administers (the roles file on a cache, its grants on a team
    database, connected as root), alice moderates."""
    grant_roles({"root": ["admin"], "alice": ["moderator"]})
    with empty_store(backend, cache_path, request, role="root") as cache:
        ids = store(cache, [thread("1", "Billing and legal", "u1", "2026-10-01T08:00:00Z")], [])
        with cache.transaction():
            for n, (rule, state, raised, closed) in enumerate(RAISED):
                cache.conn.execute(
                    "INSERT INTO escalations (rule_id, rule_name, rule_kind, severity, "
                    "thread_id, subject, version, matched, state, raised_at, detected_at, "
                    "acknowledge_due, resolve_due, closed_at, updated_at) VALUES (?, ?, "
                    "'keywords', 'high', ?, ?, 'v1', 'x', ?, ?, ?, ?, ?, ?, ?)",
                    (rule, rule, ids["1"], f"s{n}", state, raised, raised, raised, raised,
                     closed, raised),
                )  # fmt: skip
        yield cache


def kept(cache: Cache) -> tuple[dict[str, tuple[int, int]], dict[tuple[str, str], int]]:
    days = {
        str(r[0]): (int(r[1]), int(r[2]))
        for r in cache.query("SELECT day, raised, closed FROM escalation_days")
        if int(r[1]) or int(r[2])
    }
    states = {
        (str(r[0]), str(r[1])): int(r[2])
        for r in cache.query("SELECT rule_id, state, escalations FROM escalation_rule_states")
        if int(r[2])
    }
    return days, states


def counted() -> tuple[dict[str, tuple[int, int]], dict[tuple[str, str], int]]:
    """What RAISED says, counted here."""
    raised = Counter(r[2][:10] for r in RAISED)
    closed = Counter(r[3][:10] for r in RAISED if r[3] is not None)
    days = {day: (raised[day], closed[day]) for day in raised.keys() | closed.keys()}
    return days, dict(Counter((r[0], r[1]) for r in RAISED))


def drift(cache: Cache) -> None:
    """Three wrong rows: a day's count off, a rule state lost, a day that had nothing."""
    with cache.transaction() as conn:
        conn.execute("UPDATE escalation_days SET raised = raised + 5 WHERE day = '2026-10-01'")
        conn.execute("DELETE FROM escalation_rule_states WHERE rule_id = 'r-legal'")
        conn.execute(
            "INSERT INTO escalation_days (day, raised, closed) VALUES ('2026-09-01', 2, 0)"
        )


def recounts(cache: Cache) -> list[str]:
    return [
        str(r[0])
        for r in cache.query("SELECT detail FROM audit WHERE action = 'escalation_recount'")
    ]


def test_a_recount_mends_drifted_counts_and_says_how_many_rows_were_wrong(
    admin_store: Cache,
) -> None:
    assert kept(admin_store) == counted()  # kept by the triggers as they were raised
    drift(admin_store)
    assert kept(admin_store) != counted()
    root = Desk.for_cache(admin_store, actor="root")
    done = root.escalations.recount()
    assert (done.days_corrected, done.states_corrected) == (2, 2)
    assert kept(admin_store) == counted()
    assert (done.days, done.states) == (len(counted()[0]), len(counted()[1]))
    [detail] = recounts(admin_store)
    assert '"days_corrected": 2' in detail and '"states_corrected": 2' in detail
    again = root.escalations.recount()  # nothing left to mend; the admin's act is still audited
    assert (again.days_corrected, again.states_corrected) == (0, 0)
    assert len(recounts(admin_store)) == 2
    assert kept(admin_store) == counted()


def test_only_an_admin_may_recount_and_a_refusal_changes_nothing(admin_store: Cache) -> None:
    drift(admin_store)
    drifted = kept(admin_store)
    with pytest.raises(PermissionRefused, match="escalation recount"):
        Desk.for_cache(admin_store, actor="alice").escalations.recount()
    assert kept(admin_store) == drifted
    assert recounts(admin_store) == []
