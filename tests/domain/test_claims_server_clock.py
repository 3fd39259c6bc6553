"""On the team database claims and outbox leases run on the SERVER's clock (peerdesk_time()),
the one its row-level security decides takeovers by; a client's clock counts for nothing there.

The tests freeze peerdesk's clock (PEERDESK_NOW) a week behind the server, or move it a year
ahead, and read every expiry from the server.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from console import claims, outbox
from console.clock import iso, parse
from console.db import Cache
from console.desk import Desk
from console.errors import ClaimConflict
from console.store import QueueFilter
from tests.backends import TeamServer, claim_expiry, database_name

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

A_YEAR_AHEAD = timedelta(days=365)


def server_now(cache: Cache) -> str:
    row = cache.one("SELECT peerdesk_time()")
    return str(row[0])


def test_a_claim_runs_fifteen_minutes_by_the_servers_clock(desk: Desk, cache: Cache) -> None:
    client = "2026-11-20T12:00:00Z"  # PEERDESK_NOW of the tests: a week behind the server
    assert server_now(cache) > "2026-11-26"
    before = claim_expiry(cache, minutes=15)
    taken = desk.claim(1)
    after = claim_expiry(cache, minutes=15)
    assert before <= taken.expires_at <= after
    stored = cache.one("SELECT claimed_at, expires_at FROM claims WHERE thread_id = 1")
    assert stored["expires_at"] == taken.expires_at
    assert parse(stored["expires_at"]) - parse(stored["claimed_at"]) == timedelta(minutes=15)
    assert stored["claimed_at"] > client
    audited = cache.one("SELECT detail FROM audit WHERE action = 'claim' ORDER BY id DESC")
    assert taken.expires_at in audited["detail"]


def test_a_client_clock_ahead_cannot_take_over_a_live_claim(
    desk: Desk, cache: Cache, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = desk.claim(ids["t1"])
    ahead = iso(parse(server_now(cache)) + A_YEAR_AHEAD)
    monkeypatch.setenv("PEERDESK_NOW", ahead)  # dave's clock: a year after alice's lease
    dave = Desk.for_cache(cache, actor="dave")
    with pytest.raises(ClaimConflict, match="claimed by alice"):
        dave.claim(ids["t1"])
    with pytest.raises(ClaimConflict, match="claimed by alice"):
        dave.close([ids["t1"]])
    row = cache.one("SELECT holder, expires_at FROM claims WHERE thread_id = ?", (ids["t1"],))
    assert (row["holder"], row["expires_at"]) == ("alice", taken.expires_at)
    assert cache.one("SELECT status FROM threads WHERE id = ?", (ids["t1"],))[0] == "open"
    # what dave's console shows: alice holds it
    assert dave.thread(ids["t1"]).claimed_by == "alice"
    assert dave.preview(ids["t1"]).claimed_by == "alice"
    assert [i.thread_id for i in dave.queue(QueueFilter(claimed_by="alice"))] == [ids["t1"]]


def test_a_claim_run_out_by_the_servers_clock_is_not_live_for_a_client_behind(
    desk: Desk,
    cache: Cache,
    ids: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    team_server: TeamServer,
) -> None:
    desk.claim(ids["t1"])
    with team_server.superuser(database_name(cache)) as conn:  # a minute past, by the server
        conn.execute(
            "UPDATE peerdesk.claims SET expires_at = peerdesk.peerdesk_time('-1 minute'), "
            "claimed_at = peerdesk.peerdesk_time('-16 minutes')"
        )
    expired = cache.one("SELECT expires_at FROM claims WHERE thread_id = ?", (ids["t1"],))[0]
    client = "2026-11-20T12:00:00Z"
    assert client < expired  # by the client's clock, a week behind, it would still be live
    monkeypatch.setenv("PEERDESK_NOW", client)
    dave = Desk.for_cache(cache, actor="dave")
    assert claims.holder_of(cache, ids["t1"]) is None
    assert not claims.anyone_holds_one(cache)
    assert dave.thread(ids["t1"]).claimed_by is None
    assert dave.preview(ids["t1"]).claimed_by is None
    assert dave.queue(QueueFilter(claimed_by="alice")) == []
    row = next(i for i in dave.queue() if i.thread_id == ids["t1"])
    assert row.claimed_by is None
    author = dave.author_of(thread_id=ids["t1"])
    assert dave.member(author).section("Claims").count == 0
    retaken = dave.claim(ids["t1"])
    assert retaken.holder == "dave" and retaken.expires_at > server_now(cache)


def test_an_outbox_lease_runs_on_the_servers_clock(
    desk: Desk, cache: Cache, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    desk.claim(ids["t1"])
    desk.close([ids["t1"]])
    item = cache.one("SELECT id FROM outbox ORDER BY id DESC")[0]
    lease = outbox.claim(cache, item, owner=outbox.lease_owner())
    assert isinstance(lease, outbox.Claim)
    until = cache.one("SELECT lease_until FROM outbox WHERE id = ?", (item,))[0]
    assert until == claim_expiry(cache, minutes=10) or (
        parse(claim_expiry(cache, minutes=10)) - parse(until) <= timedelta(seconds=5)
    )
    # a sender whose clock is a year ahead sees the live lease of a live process as live
    monkeypatch.setenv("PEERDESK_NOW", iso(parse(server_now(cache)) + A_YEAR_AHEAD))
    assert outbox.claim(cache, item, owner="other-sender") == "busy"
