"""The demo's times count back from when it was built (rounded down to the hour), so ages and SLA
clocks mean something; the same seed and hour give the same demo, and another day gives the same
community moved in time. Tests keep the frozen clock (PEERDESK_NOW) for everything else. What
a demo built later holds is read on the cache file and on a team database copied from it (the
team database's demo is that file copied: console/team/demo.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.clock import parse
from console.db import Cache, open_cache
from console.demo import build_demo, demo_reference, generate_demo
from console.rewards import fraud
from tests.backends import backend, pytest_generate_tests, store_copied_from, team_server

pytestmark = pytest.mark.xdist_group("demo_later")
__all__ = ["backend", "pytest_generate_tests", "team_server"]  # the hook, fixtures

LATER = "2027-03-05T15:42:10Z"  # a Friday afternoon in March, well away from the tests' clock


def thread_times(threads: int, seed: int, reference: datetime) -> list[str]:
    return [
        t.created_at
        for chunk in generate_demo(threads, seed, reference=reference)
        for t in chunk.threads
    ]


def test_reference_is_the_build_hour() -> None:
    moment = datetime(2027, 3, 5, 15, 42, 10, tzinfo=UTC)
    assert demo_reference(moment) == datetime(2027, 3, 5, 15, tzinfo=UTC)


def test_the_clock_decides_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERDESK_NOW", LATER)
    assert demo_reference() == datetime(2027, 3, 5, 15, tzinfo=UTC)


def test_same_seed_same_hour_same_rows_another_day_the_same_community_moved() -> None:
    at = datetime(2027, 3, 5, 15, tzinfo=UTC)
    first = thread_times(300, 11, at)
    assert first == thread_times(300, 11, at + timedelta(minutes=59, seconds=59))
    assert first == thread_times(300, 11, demo_reference(at + timedelta(minutes=30)))
    earlier = thread_times(300, 11, at - timedelta(days=100))
    assert [parse(a) - parse(b) for a, b in zip(first, earlier, strict=True)] == [
        timedelta(days=100)
    ] * len(first)


@pytest.fixture(scope="module")
def built_later(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 1,000-thread demo built with the clock at LATER (once for the module)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PEERDESK_NOW", LATER)
        path = tmp_path_factory.mktemp("later") / "later.sqlite3"
        cache = open_cache(path, create=True)
        try:
            build_demo(cache, threads=1000, candidate_limit=0)
        finally:
            cache.close()
    yield path


@pytest.mark.backends
def test_a_demo_built_later_is_fresh_then(
    built_later: Path,
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PEERDESK_NOW", LATER)
    # root administers: the fraud checks read the payees, which only payout staff and admins may
    with store_copied_from(
        built_later, "later-demo", backend, tmp_path / "later.sqlite3", request, role="root"
    ) as cache:
        assert cache.dialect.is_sqlite == (backend == "sqlite")
        check_fresh(cache)
        check_rewards_period(cache)


def check_fresh(cache: Cache) -> None:
    assert cache.meta("demo_reference_time") == "2027-03-05T15:00:00Z"
    newest = parse(str(cache.one("SELECT max(created_at) FROM threads")[0]))
    oldest = parse(str(cache.one("SELECT min(created_at) FROM threads")[0]))
    built = datetime(2027, 3, 5, 15, tzinfo=UTC)
    assert built - timedelta(hours=3) < newest <= built
    assert built - timedelta(days=91) < oldest < built - timedelta(days=80)
    latest_post = parse(str(cache.one("SELECT max(created_at) FROM posts")[0]))
    assert latest_post <= built
    # escalations: raised within the demo's span, their SLA clocks running from it
    raised = [parse(str(r[0])) for r in cache.query("SELECT raised_at FROM escalations")]
    assert raised and max(raised) > built - timedelta(days=2)


def check_rewards_period(cache: Cache) -> None:
    """The payout period is the month before the build (February 2027 here), with the planted
    fraud inside it, as October 2026 is for the tests' frozen clock."""
    assert cache.meta("demo_payout_period") == "2027-02"
    truth = json.loads(cache.meta("demo_planted_fraud") or "{}")
    assert set(truth) == set(fraud.CHECKS)
    run = fraud.run_checks(cache.conn, "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z")
    names = {int(r[0]): str(r[1]) for r in cache.query("SELECT id, username FROM members")}
    found: dict[str, set[str]] = {}
    for flag in run.flags:
        found.setdefault(flag.check, set()).add(names[flag.member_id])
    for check, members in truth.items():
        assert set(members) <= found.get(check, set()), check
    votes_after = cache.one(
        "SELECT count(*) FROM votes WHERE created_at > ?", ("2027-03-05T15:00:00Z",)
    )[0]
    assert votes_after == 0
