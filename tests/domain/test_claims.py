"""Claims: leases that keep two moderators off the same thread, across processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.claims import local_hhmm
from console.db import Cache
from console.desk import Desk
from console.errors import ClaimConflict
from tests.backends import claim_expiry, let_claims_run_out, location, race


@pytest.mark.backends
def test_second_moderator_is_told_who_holds_it_and_until_when(
    desk: Desk, cache: Cache, ids: dict[str, int]
) -> None:
    before = claim_expiry(cache, minutes=15)  # the server's clock moves on between reads
    taken = desk.claim(ids["t1"])
    assert before <= taken.expires_at <= claim_expiry(cache, minutes=15)
    dave = Desk.for_cache(cache, actor="dave")
    with pytest.raises(
        ClaimConflict, match=f"claimed by alice until {local_hhmm(taken.expires_at)}"
    ):
        dave.claim(ids["t1"])
    with pytest.raises(ClaimConflict):
        dave.close([ids["t1"]])
    assert cache.one("SELECT status FROM threads WHERE id = ?", (ids["t1"],))[0] == "open"


@pytest.mark.backends
def test_expired_lease_can_be_taken(
    desk: Desk,
    cache: Cache,
    ids: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    desk.claim(ids["t1"])
    let_claims_run_out(cache, monkeypatch, request)
    dave = Desk.for_cache(cache, actor="dave")
    assert dave.claim(ids["t1"]).holder == "dave"


@pytest.mark.backends
def test_release_frees_the_thread(desk: Desk, cache: Cache, ids: dict[str, int]) -> None:
    desk.claim(ids["t1"])
    assert desk.release(ids["t1"])
    Desk.for_cache(cache, actor="dave").claim(ids["t1"])


CLAIMER = """
import sys
from pathlib import Path
from console.desk import Desk
from console.errors import ClaimConflict
from tests.backends import location, race
where = sys.argv[1]
if where.startswith("postgresql:"):
    desk = Desk.open_team(where, actor=sys.argv[3])
else:
    desk = Desk.open(Path(where), actor=sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()
try:
    desk.claim(int(sys.argv[2]))
    print("won")
except ClaimConflict as error:
    print("lost:", error)
"""


@pytest.mark.backends
def test_two_processes_claiming_at_once_exactly_one_wins(
    cache: Cache, ids: dict[str, int], cache_path: Path
) -> None:
    where = location(cache, cache_path)
    outputs = race(CLAIMER, [[where, str(ids["t2"]), name] for name in ("alice", "dave")])
    assert sorted(o.split(":")[0] for o in outputs) == ["lost", "won"]
    holder = cache.one("SELECT holder FROM claims WHERE thread_id = ?", (ids["t2"],))[0]
    winner = ["alice", "dave"][[o.startswith("won") for o in outputs].index(True)]
    assert holder == winner
    assert f"claimed by {winner}" in next(o for o in outputs if o.startswith("lost"))


@pytest.mark.backends
def test_claim_on_missing_thread(cache: Cache, ids: dict[str, int]) -> None:
    with pytest.raises(Exception, match="no thread 9999"):
        Desk.for_cache(cache, actor="alice").claim(9999)
