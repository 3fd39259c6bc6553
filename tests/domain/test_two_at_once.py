"""Two moderators deciding the same thing at once, each at a console of their own (a second
connection to the same cache file or team database): the second waits for the first and
decides on what the first wrote, never over it unseen.

The interleaving is made, not timed: the first decision's kind is wrapped so that, with its
change written but not committed, the second console's decision starts in a thread (it then
waits on the cache's writer lock or the team database's row lock until the first commits)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import pytest

from console import decisions, member_links
from console.db import Cache
from console.desk import Desk
from console.dupes import actions as dupe_actions
from console.errors import InvalidDecision
from console.storage import Connection

pytestmark = pytest.mark.backends


class Meanwhile:
    """`other` (another console's decision) run in a thread while the next decision of kind
    `action` here has its change written but not committed: the kind is wrapped (for the
    test) to start it there and wait for it at most 2 s. `said` is what `other` said (its
    message or its refusal) once `join`ed."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, action: str, other: Callable[[], str]
    ) -> None:
        self.said: list[str] = []
        self.helper = threading.Thread(target=self._attempt, args=(other,))
        kind = decisions.KINDS[action]

        def apply(conn: Connection, target: int, params: dict[str, Any]) -> decisions.Change:
            change = kind.apply(conn, target, params)
            if threading.current_thread() is not self.helper and not self.helper.ident:
                self.helper.start()
                self.helper.join(timeout=2.0)  # the other console waits for this transaction
            return change

        monkeypatch.setitem(decisions.KINDS, action, dataclasses.replace(kind, apply=apply))

    def _attempt(self, other: Callable[[], str]) -> None:
        try:
            self.said.append(other())
        except InvalidDecision as refused:
            self.said.append(str(refused))

    def join(self) -> list[str]:
        self.helper.join(timeout=60)
        return self.said


def test_two_moderators_linking_the_same_accounts_at_once_link_them_once(
    cache: Cache,
    ids: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    console_of: Callable[[str], Desk],
) -> None:
    """alice and dave both decide that bob and carol are one person, at the same moment. dave's
    decision waits for alice's and is refused: they are already linked, by alice. Before, on
    the team database both read "not decided", dave's upsert overwrote alice's link, and the
    link was decided twice (two audit entries, each saying it was undecided before)."""
    members = dict(cache.query("SELECT username, id FROM members"))
    bob, carol = sorted((int(members["bob"]), int(members["carol"])))
    dave = console_of("dave")
    meanwhile = Meanwhile(
        monkeypatch, member_links.LINK, lambda: dave.link_members(bob, carol).message
    )
    Desk.for_cache(cache, actor="alice").link_members(bob, carol)
    said = meanwhile.join()
    assert len(said) == 1 and "already linked (by alice)" in said[0]
    rows = cache.query("SELECT linked, decided_by FROM member_links")
    assert [tuple(r) for r in rows] == [(1, "alice")]
    entries = cache.query("SELECT actor FROM audit WHERE action = ?", (member_links.LINK,))
    assert [r[0] for r in entries] == ["alice"]


def _duplicate_of(cache: Cache, thread_id: int) -> tuple[str, int | None]:
    row = cache.one("SELECT status, duplicate_of FROM threads WHERE id = ?", (thread_id,))
    return str(row[0]), row[1]


def test_a_duplicate_confirmed_onto_a_thread_being_closed_as_one_is_refused(
    cache: Cache,
    ids: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    console_of: Callable[[str], Desk],
) -> None:
    """dave confirms t1 as a duplicate of t5 while alice, at her console, confirms t5 as a
    duplicate of t2. dave's decision waits for alice's and is refused with what to do (link
    t1 to t2): an original is never itself a duplicate. Before, on the team database dave's
    decision read t5 still open and went through after alice's, leaving a chain t1 -> t5 ->
    t2 (t1 pointing its askers at a closed thread)."""
    t1, t2, t5 = ids["t1"], ids["t2"], ids["t5"]
    dave = console_of("dave")
    meanwhile = Meanwhile(
        monkeypatch,
        dupe_actions.CONFIRM,
        lambda: (
            dupe_actions.decide(
                dave.cache, who=dave.who, action=dupe_actions.CONFIRM, thread_id=t1, original_id=t5
            ).message
        ),
    )
    alice = Desk.for_cache(cache, actor="alice")
    dupe_actions.decide(
        cache, who=alice.who, action=dupe_actions.CONFIRM, thread_id=t5, original_id=t2
    )
    said = meanwhile.join()
    assert said == [
        f"Conflict: the original {t5} is itself closed as a duplicate of {t2}; "
        "link the thread to that one instead"
    ]
    assert _duplicate_of(cache, t5) == ("duplicate", t2)
    assert _duplicate_of(cache, t1) == ("open", None)


def test_two_batches_over_the_same_threads_in_another_order_take_turns(
    cache: Cache,
    ids: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    console_of: Callable[[str], Desk],
) -> None:
    """alice closes t1 and t5 in one batch while dave, at his console, closes t5 and t1 (his
    selection in another order). dave's batch waits for alice's and is refused in words:
    they are closed already. Before, on the team database each batch locked its first thread,
    then waited for the other's: the server broke the deadlock by failing one of them with
    "deadlock detected"."""
    t1, t5 = ids["t1"], ids["t5"]
    dave = console_of("dave")
    meanwhile = Meanwhile(monkeypatch, "close", lambda: dave.close([t5, t1]).message)
    Desk.for_cache(cache, actor="alice").close([t1, t5])
    said = meanwhile.join()
    assert len(said) == 1 and "already closed" in said[0]
    closed = cache.query(
        "SELECT a.actor, a.target_id FROM audit a WHERE a.action = 'close' ORDER BY a.target_id"
    )
    assert [tuple(r) for r in closed] == [("alice", t1), ("alice", t5)]
