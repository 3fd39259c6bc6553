"""Undo never overwrites another moderator's later decision, and says what it will take back.

Three moderators on one cache file, with the clock moved between their decisions so "when" is
checkable. Everything is asserted on the file: statuses, audit entries, outbox items, batches.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from console import decisions
from console.db import Cache
from console.desk import Desk
from console.dupes import actions as dupe_actions
from console.errors import InvalidDecision

MODS = {name: ["moderator"] for name in ("mod01", "mod02", "mod03")}


@pytest.fixture(autouse=True)
def _moderators(grant_roles: Callable[[dict[str, list[str]]], Path]) -> None:
    grant_roles(MODS)


def at(monkeypatch: pytest.MonkeyPatch, hhmm: str) -> None:
    monkeypatch.setenv("PEERDESK_NOW", f"2026-11-20T{hhmm}:00Z")


def moderator(cache: Cache, name: str) -> Desk:
    return Desk.for_cache(cache, actor=name)


def status(cache: Cache, thread_id: int) -> str:
    return str(cache.one("SELECT status FROM threads WHERE id = ?", (thread_id,))[0])


def written(cache: Cache) -> tuple[int, int, int]:
    return (
        cache.one("SELECT count(*) FROM audit")[0],
        cache.one("SELECT count(*) FROM outbox")[0],
        cache.one("SELECT count(*) FROM batches")[0],
    )


@pytest.fixture
def closed_thread(cache: Cache, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> int:
    at(monkeypatch, "09:00")
    moderator(cache, "mod03").close([ids["t1"]])  # the thread starts closed, by someone else
    return ids["t1"]


@pytest.mark.backends
def test_undo_refuses_when_others_changed_the_item_after_and_names_them(
    cache: Cache, closed_thread: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    mod01, mod02, mod03 = (moderator(cache, n) for n in ("mod01", "mod02", "mod03"))
    at(monkeypatch, "10:00")
    mod01.reopen([closed_thread])
    at(monkeypatch, "10:05")
    mod02.close([closed_thread])
    at(monkeypatch, "10:10")
    mod03.reopen([closed_thread])  # the thread is open again, as mod01 left it

    before = written(cache)
    at(monkeypatch, "10:15")
    with pytest.raises(InvalidDecision) as refused:
        mod01.undo()
    text = str(refused.value)
    # when each was decided: the audit's time (on a team database, the server's clock)
    when = {
        str(r[0]): str(r[1])
        for r in cache.query("SELECT actor, ts FROM audit WHERE actor != ?", ("mod01",))
    }
    if cache.dialect.is_sqlite:
        assert (when["mod02"], when["mod03"]) == ("2026-11-20T10:05:00Z", "2026-11-20T10:10:00Z")
    assert f"mod02 did close on thread {closed_thread} at {when['mod02']}" in text
    assert f"mod03 did reopen on thread {closed_thread} at {when['mod03']}" in text
    own = cache.one("SELECT ts FROM audit WHERE actor = 'mod01' ORDER BY id DESC LIMIT 1")[0]
    if cache.dialect.is_sqlite:
        assert own == "2026-11-20T10:00:00Z"
    assert f"after your reopen at {own}, mod02" in text  # mod01's own, by the same clock
    assert status(cache, closed_thread) != "closed"  # mod03's reopen stands
    assert written(cache) == before  # nothing written, the reopen is still mod01's to undo
    assert mod01.undo_preview().blocked


@pytest.mark.backends
def test_a_later_decision_that_was_itself_undone_does_not_block(
    cache: Cache, closed_thread: int
) -> None:
    mod01, mod02 = moderator(cache, "mod01"), moderator(cache, "mod02")
    mod01.reopen([closed_thread])
    mod02.close([closed_thread])
    mod02.undo()  # mod02 took theirs back: the thread is as mod01 left it
    assert not mod01.undo_preview().blocked
    mod01.undo()
    assert status(cache, closed_thread) == "closed"


@pytest.mark.backends
def test_a_note_by_someone_else_does_not_block_undo(cache: Cache, closed_thread: int) -> None:
    mod01, mod02 = moderator(cache, "mod01"), moderator(cache, "mod02")
    mod01.reopen([closed_thread])
    mod02.add_note(closed_thread, "customer called back")
    mod01.undo()
    assert status(cache, closed_thread) == "closed"
    assert [n.body for n in mod01.thread(closed_thread).notes] == ["customer called back"]


@pytest.mark.backends
def test_a_duplicate_decision_by_another_moderator_blocks_undo(
    cache: Cache, ids: dict[str, int]
) -> None:
    mod01, mod02 = moderator(cache, "mod01"), moderator(cache, "mod02")
    mod01.add_note(ids["t5"], "looks like t1")  # a note: its undo is never blocked
    mod01.close([ids["t5"]])
    mod01.reopen([ids["t5"]])
    mod02.confirm_duplicate(ids["t5"], ids["t1"])
    with pytest.raises(InvalidDecision, match="mod02 did dupe confirm on thread"):
        mod01.undo()
    assert status(cache, ids["t5"]) == "duplicate"


@pytest.mark.backends
def test_the_undo_of_a_batch_is_blocked_by_a_change_to_any_of_its_items(
    cache: Cache, ids: dict[str, int]
) -> None:
    mod01, mod02 = moderator(cache, "mod01"), moderator(cache, "mod02")
    mod01.close([ids["t1"], ids["t5"]])
    mod02.reopen([ids["t5"]])
    with pytest.raises(InvalidDecision, match=rf"mod02 did reopen on thread {ids['t5']}"):
        mod01.undo()
    assert (status(cache, ids["t1"]), status(cache, ids["t5"])) == ("closed", "open")


@pytest.mark.backends
def test_preview_says_kind_items_when_where_and_what_was_pushed(
    cache: Cache, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    mod01 = moderator(cache, "mod01")
    at(monkeypatch, "11:30")
    with decisions.acting_from("console: Queue") as acting:
        result = mod01.close([ids["t1"], ids["t5"]])
    assert acting.batch_ids == [result.batch_id]
    preview = mod01.undo_preview()
    assert preview.batch_id == result.batch_id
    assert preview.action == "close"
    assert preview.items == (("thread", ids["t1"]), ("thread", ids["t5"]))
    # when: by the clock of the decision's audit entries (on a team database the server's)
    decided = cache.one("SELECT ts FROM audit WHERE batch_id = ?", (result.batch_id,))[0]
    if cache.dialect.is_sqlite:
        assert decided == "2026-11-20T11:30:00Z"
    assert (preview.created_at, preview.origin, preview.pushed) == (decided, "console: Queue", 0)
    line = preview.describe()
    assert "close of 2 threads" in line and decided in line and "console: Queue" in line
    assert "already sent" not in line

    # sent: leased (one more attempt), then applied (the team database allows only these steps)
    for step in ("state = 'sending', attempts = 1", "state = 'applied'"):
        cache.conn.execute(f"UPDATE outbox SET {step} WHERE id = ?", (result.outbox_ids[0],))
    assert mod01.undo_preview().pushed == 1
    assert "1 already sent to the platform" in mod01.undo_preview().describe()


@pytest.mark.backends
def test_a_decision_outside_any_screen_is_recorded_as_the_command_line(
    cache: Cache, ids: dict[str, int]
) -> None:
    moderator(cache, "mod01").close([ids["t1"]])
    assert moderator(cache, "mod01").undo_preview().origin == "command line"


@pytest.mark.backends
def test_undo_of_an_expected_batch_refuses_when_a_newer_one_appeared(
    cache: Cache, ids: dict[str, int]
) -> None:
    mod01 = moderator(cache, "mod01")
    shown = mod01.close([ids["t1"]]).batch_id
    mod01.close([ids["t5"]])  # e.g. from another terminal, after the preview was shown
    before = written(cache)
    with pytest.raises(InvalidDecision, match="no longer the one shown"):
        mod01.undo(expect_batch=shown)
    assert written(cache) == before
    assert mod01.undo(expect_batch=mod01.undo_preview().batch_id).count == 1
    assert status(cache, ids["t5"]) == "open"


@pytest.mark.backends
def test_duplicate_decisions_are_covered_by_the_same_check(
    cache: Cache, ids: dict[str, int]
) -> None:
    mod01, mod02 = moderator(cache, "mod01"), moderator(cache, "mod02")
    mod01.reject_duplicate(ids["t5"], ids["t1"])
    assert mod01.undo_preview().action == dupe_actions.REJECT
    mod02.close([ids["t5"]])
    with pytest.raises(InvalidDecision, match="mod02 did close"):
        mod01.undo()
