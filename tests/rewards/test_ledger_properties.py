"""Property: any sequence of events, undos, replays, crashes and bans keeps every balance equal
to the sum of its ledger lines, keeps the chain intact and never pays an event twice: on a cache
file, and on a team database (where the server appends every ledger entry, a crash is the
server's rollback, and the events are changed as its admin)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.db import Cache, open_cache
from console.rewards import ledger
from console.rewards.accrue import accrue, forfeit_for_ban
from console.rewards.events import SOURCES
from console.rewards.service import active_schedule
from tests.backends import TeamServer, team_database
from tests.rewards.conftest import build, day

ANSWERS = 6
VOTERS = 5


class Crash(Exception):
    pass


step = st.one_of(
    st.tuples(st.just("accept"), st.integers(0, ANSWERS - 1)),
    st.tuples(st.just("unaccept"), st.integers(0, ANSWERS - 1)),
    st.tuples(st.just("vote"), st.integers(0, ANSWERS - 1), st.integers(1, VOTERS)),
    st.tuples(st.just("retract"), st.integers(0, ANSWERS - 1), st.integers(1, VOTERS)),
    st.tuples(st.just("hide"), st.integers(0, ANSWERS - 1)),
    st.tuples(st.just("unhide"), st.integers(0, ANSWERS - 1)),
    st.tuples(st.just("sync")),
    st.tuples(st.just("replay")),
    st.tuples(st.just("crash")),
    st.tuples(st.just("ban"), st.integers(1, 4)),
)


def _apply(cache: Cache, ids: dict[str, int], op: tuple[object, ...]) -> None:
    kind = op[0]
    schedule = active_schedule(cache)
    if kind in ("sync", "replay"):
        accrue(cache, schedule)
        if kind == "replay":
            assert accrue(cache, schedule).accrued == 0
        return
    if kind == "crash":
        try:
            with cache.transaction():
                accrue(cache, schedule)
                raise Crash
        except Crash:
            pass
        return
    with cache.transaction() as conn:
        if kind == "ban":
            member = ids[f"member:h{op[1]}"]
            if not conn.execute(
                "SELECT 1 FROM reward_bans WHERE member_id = ?", (member,)
            ).fetchone():
                conn.execute(
                    "INSERT INTO reward_bans (member_id, banned_by, banned_at, reason) "
                    "VALUES (?, 'tom', ?, 'test')",
                    (member, day(30)),
                )
                forfeit_for_ban(conn, member, schedule, "test")
            return
        i = int(op[1])  # type: ignore[call-overload]
        post = ids[f"post:p{i}.1"]
        if kind == "accept":
            conn.execute(
                "UPDATE threads SET accepted_post_id = ? WHERE id = ?", (post, ids[f"t{i}"])
            )
        elif kind == "unaccept":
            conn.execute("UPDATE threads SET accepted_post_id = NULL WHERE id = ?", (ids[f"t{i}"],))
        elif kind in ("hide", "unhide"):
            conn.execute("UPDATE posts SET hidden = ? WHERE id = ?", (int(kind == "hide"), post))
        elif kind == "vote":
            voter = ids[f"member:v{op[2]}"]
            conn.execute(
                "INSERT INTO votes (source_id, post_id, voter_id, created_at) "
                "VALUES (1, ?, ?, ?) ON CONFLICT (post_id, voter_id) DO UPDATE SET "
                "retracted_at = NULL",
                (post, voter, day(20)),
            )
        elif kind == "retract":
            voter = ids[f"member:v{op[2]}"]
            conn.execute(
                "UPDATE votes SET retracted_at = ? WHERE post_id = ? AND voter_id = ?",
                (day(21), post, voter),
            )


def _check(cache: Cache, after_sync: bool) -> None:
    report = ledger.verify(cache)
    assert report.ok, report.problems
    for member, (points, amount) in report.balances.items():
        assert ledger.balance(cache, member) == (points, amount)
    twice = cache.query(
        "SELECT rule, event_key FROM ledger WHERE kind = 'accrual' "
        "GROUP BY rule, event_key HAVING count(*) > 1"
    )
    assert twice == []
    if not after_sync:
        return
    banned = {r[0] for r in cache.query("SELECT member_id FROM reward_bans")}
    conn = cache.conn
    for source in SOURCES.values():
        live = {e.event_key for e in source.events(conn) if e.member_id not in banned}
        open_keys = {
            r[0]
            for r in cache.query(
                "SELECT a.event_key FROM ledger a WHERE a.kind = 'accrual' AND a.rule = ? "
                "AND NOT EXISTS (SELECT 1 FROM ledger r WHERE r.kind = 'reversal' "
                "AND r.rule = a.rule AND r.event_key = a.event_key) "
                "AND a.member_id NOT IN (SELECT member_id FROM reward_bans)",
                (source.rule,),
            )
        }
        paid_ever = {
            r[0]
            for r in cache.query(
                "SELECT event_key FROM ledger WHERE kind = 'accrual' AND rule = ?", (source.rule,)
            )
        }
        # every paid event that is open is still true; every true event was paid (once, ever)
        assert open_keys <= live
        assert live <= paid_ever


def _history(cache: Cache, ids: dict[str, int], ops: list[tuple[object, ...]]) -> None:
    for op in ops:
        _apply(cache, ids, op)
        _check(cache, after_sync=op[0] in ("sync", "replay"))
    accrue(cache, active_schedule(cache))
    _check(cache, after_sync=True)


def _small_community(cache: Cache) -> dict[str, int]:
    return build(cache, answers=ANSWERS)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(step, min_size=1, max_size=25))
def test_any_history_keeps_balances_derived_and_pays_once(ops: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cache = open_cache(Path(folder) / "p.sqlite3", create=True)
        try:
            _history(cache, _small_community(cache), ops)
        finally:
            cache.close()


@settings(
    max_examples=12,  # each example is a team database of its own (the server's appends)
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(step, min_size=1, max_size=25))
def test_any_history_on_the_team_database(
    team_server: TeamServer, tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[object, ...]]
) -> None:
    template, ids = team_server.seeded_template(
        "rewards-properties", _small_community, tmp_path_factory.mktemp("seed")
    )
    with team_database(team_server, template, role="root") as team:
        _history(team, dict(ids), ops)
