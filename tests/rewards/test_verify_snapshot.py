"""`ledger verify` reads the ledger in one snapshot: an entry another connection appends and
commits while the walk runs is not mistaken for tampering ("deleted from the end", a balance
that does not re-derive), on the cache file and on the team database."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from console.db import Cache
from console.rewards import ledger
from console.rewards.accrue import AccrualReport, accrue, accrue_in
from console.rewards.service import active_schedule
from console.storage import Row

pytestmark = pytest.mark.backends


def _append_one(other: Cache, ids: dict[str, int]) -> None:
    """One new accrual, committed: h3's answer in t2 is accepted and `accrue` pays it."""
    with other.transaction() as conn:
        conn.execute(
            "UPDATE threads SET accepted_post_id = ? WHERE id = ?", (ids["post:p2.1"], ids["t2"])
        )
        report = accrue_in(conn, active_schedule(other), AccrualReport())
    assert report.accrued == 1


def test_an_entry_appended_while_verify_walks_is_not_tampering(
    cache: Cache, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    accrue(cache, active_schedule(cache))
    entries = int(cache.one("SELECT count(*) FROM ledger")[0])
    other = cache.reopen()  # another moderator's process, on its own connection
    walk = ledger.entries

    def walk_then_append(store: Cache) -> Iterable[Row]:
        yield from walk(store)
        _append_one(other, ids)  # after the last entry, before the head is read

    monkeypatch.setattr(ledger, "entries", walk_then_append)
    try:
        report = ledger.verify(cache)
    finally:
        other.close()
    assert report.problems == [] and report.entries == entries
    monkeypatch.undo()
    after = ledger.verify(cache)  # the next run sees the new entry, and it chains
    assert after.ok and after.entries == entries + 1
