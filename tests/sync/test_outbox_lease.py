"""The outbox lease: one holder at a time; a dead holder on this host or a lease that ran out
is taken over (and that attempt is marked as maybe sent before)."""

from __future__ import annotations

import socket

import pytest

from console import outbox
from console.db import Cache
from console.ingest import ensure_source
from tests.backends import claim_expiry, pytest_generate_tests

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]


def _item(cache: Cache) -> int:
    source = ensure_source(cache, "demo", "demo")
    with cache.transaction() as conn:
        return outbox.enqueue(
            conn,
            source_id=source,
            action="close",
            target_kind="thread",
            target_id=None,
            payload={},
            batch_id=None,
            audit_id=None,
        )


def _hold(cache: Cache, oid: int, owner: str, until: str) -> None:
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE outbox SET state = 'sending', attempts = 1, sent_at = ?, lease_owner = ?, "
            "lease_until = ? WHERE id = ?",
            ("2026-11-20T11:59:00Z", owner, until, oid),
        )


def test_one_holder_at_a_time(cache: Cache) -> None:
    oid = _item(cache)
    first = outbox.claim(cache, oid, outbox.lease_owner())
    assert isinstance(first, outbox.Claim) and first.sent_before is None
    assert outbox.claim(cache, oid, outbox.lease_owner()) == "busy"  # this live process
    assert outbox.settle(cache, oid, "applied", owner=first.owner, message=None)
    assert outbox.claim(cache, oid) == "done"


@pytest.mark.parametrize(
    ("owner", "minutes_left", "expected"),
    [
        (f"{socket.gethostname()}:999999999:deadbeef", 60, "taken"),
        ("another-host:1234:cafe", 60, "busy"),
        ("another-host:1234:cafe", -60, "taken"),
    ],
    ids=["dead-process-here", "live-lease-elsewhere", "lease-ran-out"],
)
def test_takeover(cache: Cache, owner: str, minutes_left: int, expected: str) -> None:
    oid = _item(cache)
    _hold(cache, oid, owner, claim_expiry(cache, minutes=minutes_left))  # by the lease's clock
    result = outbox.claim(cache, oid)
    if expected == "busy":
        assert result == "busy"
        return
    assert isinstance(result, outbox.Claim)
    assert result.sent_before == "2026-11-20T11:59:00Z"  # the adapter checks the platform first
    # the former holder can no longer settle it
    assert not outbox.settle(cache, oid, "applied", owner=owner, message=None)
    assert outbox.settle(cache, oid, "applied", owner=result.owner, message=None)


def test_the_first_attempts_mark_is_kept_with_the_item(cache: Cache) -> None:
    """The mark (where the platform stood before a send) is written by the claim that marks the
    item sent; a later attempt gets it back and cannot move it: what the first attempt wrote
    lies after it."""
    oid = _item(cache)
    first = outbox.claim(cache, oid, f"{socket.gethostname()}:999999999:deadbeef", mark=None)
    assert isinstance(first, outbox.Claim) and first.mark_before is None
    # the first attempt read no mark (an older peerdesk): the next one records its own
    second = outbox.claim(
        cache, oid, f"{socket.gethostname()}:999999998:deadbeef", mark={"after_post": 1200}
    )
    assert isinstance(second, outbox.Claim)
    assert second.sent_before is not None and second.mark_before is None
    third = outbox.claim(cache, oid, mark={"after_post": 1500})
    assert isinstance(third, outbox.Claim) and third.mark_before == {"after_post": 1200}
    assert cache.one("SELECT sent_mark FROM outbox WHERE id = ?", (oid,))[0] == (
        '{"after_post": 1200}'
    )
    assert outbox.settle(cache, oid, "applied", owner=third.owner, message=None)
