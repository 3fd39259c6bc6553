"""Migration 37's kept counts (escalations raised and closed per UTC day, per rule and state)
against a direct count over random histories of raises, closes, reopens, state and rule changes,
moved raise times and deletes, on a cache file and on a team database (its copy by migrate-to
too): the panel's trend, dismiss rates and open/closed counts read only the kept counts."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from console.clock import iso, parse
from console.db import Cache, open_cache
from console.escalate import pages, panel
from console.escalate.engine import OPEN_STATES
from console.migrations import LATEST_VERSION, MIGRATIONS
from console.storage import Row
from console.team import dialect
from tests.backends import store_holding
from tests.escalate.conftest import store, thread

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

NUMBER = 37  # the migration
START = parse("2026-10-15T00:00:00Z")
DAYS = 45  # the histories' raise times span these days from START
RULES = {"r-bill": "Billing dispute", "r-legal": "Legal threat", "r-pii": "Personal data"}
CLOSED_STATES = ("resolved", "dismissed")
_subjects = iter(range(10**9))


def _when(rng: random.Random) -> str:
    return iso(START + timedelta(minutes=rng.randrange(DAYS * 24 * 60)))


def _insert(cache: Cache, rng: random.Random, thread_ids: list[int]) -> None:
    """One escalation raised at a random time; some already closed (a few "closed" before they
    were raised, as a ticket's clock may say)."""
    rule = rng.choice(sorted(RULES))
    raised = _when(rng)
    closed: str | None = None
    state = rng.choice(OPEN_STATES)
    if rng.random() < 0.4:
        state = rng.choice(CLOSED_STATES)
        closed = iso(parse(raised) + timedelta(minutes=rng.randrange(-1440, 8 * 24 * 60)))
    cache.conn.execute(
        "INSERT INTO escalations (rule_id, rule_name, rule_kind, severity, thread_id, subject, "
        "version, matched, state, raised_at, detected_at, acknowledge_due, resolve_due, "
        "closed_at, updated_at) VALUES (?, ?, 'keywords', 'high', ?, ?, 'v1', 'x', ?, ?, ?, ?, "
        "?, ?, ?)",
        (
            rule,
            RULES[rule],
            rng.choice(thread_ids),
            f"s{next(_subjects)}",
            state,
            raised,
            raised,
            raised,
            raised,
            closed,
            raised,
        ),
    )


def _seed(cache: Cache) -> dict[str, int]:
    """Six quiet threads and 80 random escalations on them."""
    ids = store(cache, [thread(str(n), f"Question {n}", "u1", iso(START)) for n in range(6)], [])
    rng = random.Random(37)
    with cache.transaction():
        for _ in range(80):
            _insert(cache, rng, sorted(ids.values()))
    return ids


@pytest.fixture
def seeded(backend: str, cache_path: Path, request: pytest.FixtureRequest) -> Iterator[Cache]:
    """The seed's escalations: on PostgreSQL copied in by migrate-to (the kept counts come with
    them, and the copied escalations do not count again)."""
    with store_holding(_seed, "kept-counts", backend, cache_path, request) as cache:
        yield cache


def _step(cache: Cache, rng: random.Random) -> None:
    """One random change of the escalations, in its own transaction."""
    rows = cache.query("SELECT id, state, raised_at FROM escalations ORDER BY id")
    opened = [r for r in rows if r["state"] in OPEN_STATES]
    closed = [r for r in rows if r["state"] not in OPEN_STATES]
    move = rng.choices(
        ["raise", "close", "reopen", "restate", "rule", "moved", "delete"],
        weights=[3, 4, 3, 2, 1, 1, 1],
    )[0]
    execute = cache.conn.execute
    with cache.transaction():
        if move == "raise" or not rows:
            threads = [int(r[0]) for r in cache.query("SELECT id FROM threads")]
            _insert(cache, rng, threads)
        elif move == "close" and opened:
            row = rng.choice(opened)
            at = parse(str(row["raised_at"])) + timedelta(minutes=rng.randrange(-300, 9 * 1440))
            execute(
                "UPDATE escalations SET state = ?, closed_at = ? WHERE id = ?",
                (rng.choice(CLOSED_STATES), iso(at), row["id"]),
            )
        elif move == "reopen" and closed:
            execute(
                "UPDATE escalations SET state = 'acknowledged', closed_at = NULL WHERE id = ?",
                (rng.choice(closed)["id"],),
            )
        elif move == "restate" and opened:
            execute(
                "UPDATE escalations SET state = ? WHERE id = ?",
                (rng.choice(OPEN_STATES), rng.choice(opened)["id"]),
            )
        elif move == "rule":
            rule = rng.choice(sorted(RULES))
            execute(
                "UPDATE escalations SET rule_id = ?, rule_name = ? WHERE id = ?",
                (rule, RULES[rule], rng.choice(rows)["id"]),
            )
        elif move == "moved":
            execute(
                "UPDATE escalations SET raised_at = ? WHERE id = ?",
                (_when(rng), rng.choice(rows)["id"]),
            )
        elif move == "delete":
            execute("DELETE FROM escalations WHERE id = ?", (rng.choice(rows)["id"],))


def _open_at_end_of(rows: list[Row], day: str) -> int:
    """Escalations raised by the end of `day` and not closed by then, read one by one."""
    return sum(
        1
        for r in rows
        if str(r["raised_at"])[:10] <= day
        and (r["closed_at"] is None or str(r["closed_at"])[:10] > day)
    )


def _agree(cache: Cache) -> list[Row]:
    """The kept figures equal a direct count of the escalations as they stand (returned)."""
    rows = cache.query("SELECT rule_id, rule_name, state, raised_at, closed_at FROM escalations")
    for at in (START + timedelta(days=3, hours=5), START + timedelta(days=29, hours=23, minutes=59),
               START + timedelta(days=DAYS - 1), START + timedelta(days=DAYS + 12)):  # fmt: skip
        trend = panel.open_counts(cache, 30, at)
        days = [(at - timedelta(days=back)).date().isoformat() for back in range(29, -1, -1)]
        assert trend == [_open_at_end_of(rows, day) for day in days], at
    states = Counter(str(r["state"]) for r in rows)
    assert panel.counts_by_state(cache) == dict(states)
    tally = pages.tally(cache, at=START)
    assert tally.open == sum(states[s] for s in OPEN_STATES)
    assert tally.closed == sum(states[s] for s in CLOSED_STATES)
    rates = panel.rule_rates(cache)
    assert sorted(rates) == sorted({str(r["rule_id"]) for r in rows})
    for rule, rate in rates.items():
        mine = [r for r in rows if r["rule_id"] == rule]
        assert rate.raised == len(mine)
        assert rate.dismissed == sum(1 for r in mine if r["state"] == "dismissed")
        assert rate.open == sum(1 for r in mine if r["state"] in OPEN_STATES)
        assert rate.rule_name in {r["rule_name"] for r in mine}
    return rows


def test_the_kept_counts_equal_a_direct_count_over_random_histories(seeded: Cache) -> None:
    seen = _agree(seeded)  # as seeded (on a team database: as migrate-to copied them)
    rng = random.Random(2026)
    for _ in range(6):
        for _ in range(25):
            _step(seeded, rng)
        seen += _agree(seeded)
    # the histories held what the counts must get right
    assert any(r["closed_at"] is not None and r["closed_at"] < r["raised_at"] for r in seen)
    assert {str(r["state"]) for r in seen} == {*OPEN_STATES, *CLOSED_STATES}
    history = seeded.query("SELECT count(*) FROM escalations")[0][0]
    assert 60 < int(history) < 200


def test_the_trend_is_the_whole_history_before_the_window_then_day_by_day(
    seeded: Cache,
) -> None:
    """An escalation raised long before the window and still open counts on every day; one
    closed in the window leaves on the day after it closed; deleting both takes them back."""
    at = START + timedelta(days=DAYS + 5)
    before = panel.open_counts(seeded, 30, at)
    thread_id = int(seeded.query("SELECT id FROM threads ORDER BY id")[0][0])
    old, closing = iso(START - timedelta(days=400)), iso(at - timedelta(days=10, hours=-3))
    with seeded.transaction():
        for subject, closed in (("old-open", None), ("old-closed", closing)):
            seeded.conn.execute(
                "INSERT INTO escalations (rule_id, rule_name, rule_kind, severity, thread_id, "
                "subject, version, matched, state, raised_at, detected_at, acknowledge_due, "
                "resolve_due, closed_at, updated_at) VALUES ('r-old', 'Old', 'manual', 'low', ?, "
                "?, 'v1', 'x', ?, ?, ?, ?, ?, ?, ?)",
                (thread_id, subject, "new" if closed is None else "resolved", old, old, old,
                 old, closed, old),
            )  # fmt: skip
    after = panel.open_counts(seeded, 30, at)
    assert [a - b for a, b in zip(after, before, strict=True)] == [2] * 19 + [1] * 11
    assert panel.rule_rates(seeded)["r-old"].raised == 2
    with seeded.transaction():
        seeded.conn.execute("DELETE FROM escalations WHERE rule_id = 'r-old'")
    assert panel.open_counts(seeded, 30, at) == before
    assert "r-old" not in panel.rule_rates(seeded)


def test_the_migration_run_again_counts_again(seeded: Cache) -> None:
    """Its counting statements (rendered for the engine) put back counts that went wrong."""
    with seeded.transaction():
        seeded.conn.execute("UPDATE escalation_days SET raised = raised + 3")
        seeded.conn.execute("UPDATE escalation_rule_states SET escalations = 0")
    recount = [
        s for s in MIGRATIONS[NUMBER - 1] if s.lstrip().startswith(("DELETE", "INSERT"))
    ]  # the triggers and tables exist
    assert len(recount) == 4
    with seeded.transaction():
        for statement in recount:
            rendered = [statement] if seeded.dialect.is_sqlite else dialect.render(statement)
            for one in rendered:
                seeded.conn.execute(one)
    _agree(seeded)


def test_a_cache_from_before_the_migration_is_counted(seeded: Cache, tmp_path: Path) -> None:
    if not seeded.dialect.is_sqlite:
        pytest.skip("the cache file's own upgrade; the team database's is team-install's")
    path = tmp_path / "old.sqlite3"
    seeded.conn.execute(f"VACUUM INTO '{path}'")
    old = open_cache(path)
    try:  # set back to before migration 37, its tables and triggers gone
        for name in ("escalation_counts_added", "escalation_counts_removed",
                     "escalation_days_changed", "escalation_states_changed"):  # fmt: skip
            old.conn.execute(f"DROP TRIGGER {name}")
        old.conn.execute("DROP TABLE escalation_days")
        old.conn.execute("DROP TABLE escalation_rule_states")
        old.conn.execute(f"PRAGMA user_version = {NUMBER - 1}")
    finally:
        old.close()
    upgraded = open_cache(path)
    try:
        assert upgraded.one("PRAGMA user_version")[0] == LATEST_VERSION  # type: ignore[index]
        _agree(upgraded)
    finally:
        upgraded.close()
