"""Confirm, reject, merge and undo: one transaction each, with audit and outbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from console import audit, decisions, outbox
from console.db import Cache
from console.desk import Desk
from console.dupes import actions
from console.dupes import candidates as cands
from console.errors import InvalidDecision, NotFound
from console.identity import Identity
from tests.backends import location, pytest_generate_tests

from .conftest import seed

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]


@pytest.fixture(autouse=True)
def _alice_moderates(grant_roles) -> None:
    grant_roles({"alice": ["moderator"]})


def alice(cache: Cache) -> Identity:
    """alice, established the one honest way (the roles come from the test's roles file)."""
    return Desk.for_cache(cache, actor="alice").who


def decide(cache: Cache, action: str, thread_id: int, original_id: int):
    return actions.decide(
        cache,
        who=alice(cache),
        action=action,
        thread_id=thread_id,
        original_id=original_id,
    )


def thread(cache: Cache, thread_id: int) -> tuple[str, int | None]:
    row = cache.one("SELECT status, duplicate_of FROM threads WHERE id = ?", (thread_id,))
    assert row is not None
    return row[0], row[1]


def test_confirm_closes_links_audits_and_enqueues(cache: Cache, ids: dict[str, int]) -> None:
    cands.update_candidates(cache, [ids["d1"]])
    result = decide(cache, actions.CONFIRM, ids["d1"], ids["o1"])
    assert thread(cache, ids["d1"]) == ("duplicate", ids["o1"])
    link = cache.one(
        "SELECT decision, decided_by FROM duplicate_links WHERE thread_id = ? AND original_id = ?",
        (ids["d1"], ids["o1"]),
    )
    assert tuple(link) == ("confirmed", "alice")
    [item] = outbox.items(cache)
    assert item.action == "close_duplicate" and item.state == "pending"
    assert item.payload["thread_id"] == ids["d1"] and item.payload["original_id"] == ids["o1"]
    assert result.outbox_ids == [item.outbox_id]
    [entry] = audit.entries(cache)
    assert entry["action"] == actions.CONFIRM and entry["detail"]["before"]["status"] == "open"
    assert audit.verify(cache) == []


def test_undo_confirm_restores_everything(cache: Cache, ids: dict[str, int]) -> None:
    cands.update_candidates(cache, [ids["d1"]])
    decide(cache, actions.CONFIRM, ids["d1"], ids["o1"])
    decisions.undo_last(cache, who=alice(cache))
    assert thread(cache, ids["d1"]) == ("open", None)
    assert next(c.original_id for c in cands.candidates(cache, ids["d1"])) == ids["o1"]
    states = [i.state for i in outbox.items(cache)]
    assert states == ["cancelled"]  # never sent, so nothing goes to the platform
    assert [e["action"] for e in audit.entries(cache)] == ["undo_dupe_confirm", "dupe_confirm"]
    assert audit.verify(cache) == []


def test_confirm_on_stack_exchange_stays_local_with_reason(tmp_path: Path) -> None:
    from console.db import open_cache

    cache = open_cache(tmp_path / "se.sqlite3", create=True)
    ids = seed(cache, kind="stackexchange", name="se")
    decide(cache, actions.CONFIRM, ids["d2"], ids["o2"])
    [item] = outbox.items(cache)
    assert item.state == "local_only" and "Stack Exchange" in (item.last_error or "")
    cache.close()


def test_reject_is_remembered_and_undoable(cache: Cache, ids: dict[str, int]) -> None:
    cands.update_candidates(cache, [ids["d1"]])
    decide(cache, actions.REJECT, ids["d1"], ids["o1"])
    assert thread(cache, ids["d1"]) == ("open", None)
    cands.update_candidates(cache, [ids["d1"]])
    assert ids["o1"] not in [c.original_id for c in cands.candidates(cache, ids["d1"])]
    [item] = outbox.items(cache)  # internal: recorded, never sent
    assert (item.action, item.state) == ("dupe_reject", "local_only")
    assert item.payload == {"thread_id": ids["d1"], "original_id": ids["o1"]}
    assert audit.entries(cache)[0]["action"] == actions.REJECT
    decisions.undo_last(cache, who=alice(cache))
    cands.update_candidates(cache, [ids["d1"]])
    assert cands.candidates(cache, ids["d1"])[0].original_id == ids["o1"]


def test_pick_another_candidate_records_a_manual_link(cache: Cache, ids: dict[str, int]) -> None:
    decide(cache, actions.CONFIRM, ids["d1"], ids["o4"])
    row = cache.one(
        "SELECT method, decision FROM duplicate_links WHERE thread_id = ? AND original_id = ?",
        (ids["d1"], ids["o4"]),
    )
    assert tuple(row) == ("manual", "confirmed")
    decisions.undo_last(cache, who=alice(cache))
    assert cache.one("SELECT count(*) FROM duplicate_links WHERE method = 'manual'")[0] == 0


def test_merge_shows_useful_answers_under_original_and_undo_removes_them(
    cache: Cache, ids: dict[str, int]
) -> None:
    decide(cache, actions.MERGE, ids["d1"], ids["o1"])
    merged = actions.merged_answers(cache, ids["o1"])
    texts = [cache.one("SELECT body_text FROM posts WHERE id = ?", (p,))[0] for p in merged]
    assert texts == ["Try this."]  # the voted-down answer is not carried over
    assert thread(cache, ids["d1"]) == ("duplicate", ids["o1"])
    [item] = outbox.items(cache)
    assert item.payload["merged_post_ids"] == merged
    decisions.undo_last(cache, who=alice(cache))
    assert actions.merged_answers(cache, ids["o1"]) == []
    assert thread(cache, ids["d1"]) == ("open", None)


def test_changed_or_vanished_thread_is_a_conflict_not_a_close(
    cache: Cache, ids: dict[str, int]
) -> None:
    cands.update_candidates(cache, [ids["d1"]])
    cache.conn.execute(
        "UPDATE threads SET remote_updated_at = '2099-01-01T00:00:00Z' WHERE id = ?", (ids["d1"],)
    )
    with pytest.raises(InvalidDecision, match="changed on the platform"):
        decide(cache, actions.CONFIRM, ids["d1"], ids["o1"])
    cache.conn.execute("UPDATE threads SET status = 'closed' WHERE id = ?", (ids["d2"],))
    with pytest.raises(InvalidDecision, match="already closed"):
        decide(cache, actions.CONFIRM, ids["d2"], ids["o2"])
    cache.conn.execute("DELETE FROM threads WHERE id = ?", (ids["o3"],))
    where = "in the cache" if cache.dialect.is_sqlite else "on the team database"
    with pytest.raises(NotFound, match=f"no longer {where}"):
        decide(cache, actions.CONFIRM, ids["d1"], ids["o3"])
    assert outbox.items(cache) == [] and audit.entries(cache) == []
    assert thread(cache, ids["d1"]) == ("open", None)


def test_cli_prints_candidates_with_scores(cache: Cache, ids: dict[str, int]) -> None:
    cache.close()
    run = [sys.executable, "-m", "console", "--db", location(cache, cache.path), "dupes"]
    rebuilt = subprocess.run([*run, "--rebuild", "--json"], capture_output=True, text=True)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["indexed_threads"] == len(ids)
    shown = subprocess.run([*run, str(ids["d1"])], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    first = shown.stdout.splitlines()[0]
    assert f"#{ids['o1']}" in first and "eSIM activation stuck" in first
    missing = subprocess.run([*run, "99999"], capture_output=True, text=True)
    assert missing.returncode == 2 and "no thread 99999" in missing.stderr


def test_domain_does_not_import_textual() -> None:
    code = (
        "import sys, console.dupes.scorer, console.dupes.candidates, console.dupes.actions; "
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_confirm_then_undo_in_fresh_processes(cache: Cache, ids: dict[str, int]) -> None:
    if cache.dialect.is_sqlite:
        cache.set_meta("demo", "1")  # the demo gives the local user every role
    base = [sys.executable, "-m", "console", "--db", location(cache, cache.path)]
    done = subprocess.run(
        [*base, "dupes", str(ids["d1"]), "--confirm", str(ids["o1"])],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    undone = subprocess.run([*base, "undo"], capture_output=True, text=True)
    assert undone.returncode == 0, undone.stderr
    assert thread(cache, ids["d1"]) == ("open", None)  # read again: the processes committed
    assert [e["action"] for e in audit.entries(cache)] == ["undo_dupe_confirm", "dupe_confirm"]
