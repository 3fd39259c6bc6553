"""Attacks on rewards through every door: the domain, the CLI and the console.

- the rewards domain takes no roles and no acting name from its caller: only an Identity that
  console.identity.establish made, whose roles it looked up itself;
- a user with no role is refused by every rewards command, every panel action and every domain
  function, and the cache is byte-for-byte the same afterwards;
- four-eyes holds on the identities: an override is the same person as its OS account;
- every change leaves exactly one audit entry, written by the Desk's door.
"""

from __future__ import annotations

import inspect
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from console.app import PeerdeskApp
from console.cli import main
from console.db import Cache, open_cache
from console.desk import Desk
from console.errors import InvalidDecision, PermissionRefused
from console.identity import Identity
from console.models import Role
from console.rewards import actions, bans, export, payouts, schedule_store, service
from console.rewards.export import Export
from console.rewards.schedule import parse_schedule
from console.roles import ACTION_ROLES
from tests.conftest import database_dump
from tests.rewards.conftest import SCHEDULE, snapshot
from tests.ui.helpers import notes, settle

pytestmark = pytest.mark.xdist_group("rewards_ui")

NOBODY = "mallory"  # no entry in the roles file: read-only


def audit_rows(cache: Cache) -> list[tuple[str, str, str, int | None, dict[str, Any]]]:
    return [
        (str(r[0]), str(r[1]), str(r[2]), r[3], json.loads(r[4]))
        for r in cache.query(
            "SELECT actor, action, target_kind, target_id, detail FROM audit ORDER BY id"
        )
    ]


# ---- the domain takes no roles ------------------------------------------------------------

DOMAIN = (payouts, export, bans, schedule_store)


def test_no_rewards_function_takes_roles_or_an_acting_name() -> None:
    for module in (*DOMAIN, service):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            params = set(inspect.signature(fn).parameters)
            assert not params & {"roles", "actor", "role"}, f"{module.__name__}.{name}{params}"
    for name in ("prepare", "approve", "set_line_state", "appeal", "decide_appeal"):
        assert "who" in inspect.signature(getattr(payouts, name)).parameters
    for fn in (export.write, export.record, export.mark_results, bans.ban):
        assert "who" in inspect.signature(fn).parameters
    assert not hasattr(service.Rewards, "roles")


def test_every_rewards_action_is_in_the_one_role_table() -> None:
    for action in actions.REWARD_ACTIONS:
        assert ACTION_ROLES[action], action
    assert ACTION_ROLES[actions.PREPARE] == {Role.PAYOUT_PREPARER, Role.ADMIN}
    assert ACTION_ROLES[actions.APPROVE] == {Role.PAYOUT_APPROVER, Role.ADMIN}
    with pytest.raises(ImportError):
        __import__("console.rewards.permissions")


def test_made_up_roles_cannot_be_passed_in(cache: Cache, ids: dict[str, int]) -> None:
    schedule = schedule_store.active_schedule(cache)
    forged = Identity("tom", "tom", frozenset(Role), "the caller said so")
    before = database_dump(cache.path)
    with pytest.raises(TypeError), cache.transaction() as conn:
        payouts.prepare(  # type: ignore[call-arg]
            conn, schedule=schedule, period="2026-10", actor="tom", roles=frozenset(Role)
        )
    for call in (
        lambda conn: payouts.prepare(conn, forged, schedule, period="2026-10"),
        lambda conn: payouts.approve(conn, forged, batch_id=1),
        lambda conn: bans.ban(conn, forged, schedule, member_id=1, reason="x"),
        lambda conn: schedule_store.load_schedule(conn, forged, schedule),
    ):
        with pytest.raises(PermissionRefused, match="not established"), cache.transaction() as c:
            call(c)
    assert database_dump(cache.path) == before


# ---- a user with no role, through every door --------------------------------------------


def _with_batch(cache: Cache, staff: dict[str, Desk]) -> dict[str, int]:
    """A batch prepared by priya, a held line with an appeal filed by alice."""
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    line = rewards.lines(batch)[0].line_id
    rewards.hold(line, "checking")
    appeal = staff["alice"].rewards.appeal(line, "I did answer those")
    return {"batch": batch, "line": line, "appeal": appeal}


@pytest.mark.backends
def test_a_roleless_user_is_refused_by_every_domain_function(
    cache: Cache, ids: dict[str, int], staff: dict[str, Desk]
) -> None:
    made = _with_batch(cache, staff)
    nobody = Desk.for_cache(cache, actor=NOBODY)
    assert nobody.who.roles == frozenset()
    who, schedule = nobody.who, schedule_store.active_schedule(cache)
    results = export.Results(Path("r.csv"), None, [])
    calls: list[Callable[[sqlite3.Connection], object]] = [
        lambda c: payouts.prepare(c, who, schedule, period="2026-09"),
        lambda c: payouts.approve(c, who, batch_id=made["batch"]),
        lambda c: payouts.set_line_state(c, who, line_id=made["line"], hold=False, reason="x"),
        lambda c: payouts.appeal(c, who, line_id=made["line"], text="x"),
        lambda c: payouts.decide_appeal(c, who, appeal_id=made["appeal"], uphold=True, reason="x"),
        lambda c: export.write(c, who, batch_id=made["batch"], csv_path=None, json_path=None),
        lambda c: export.record(c, who, batch_id=made["batch"], made=Export(b"", b"")),
        lambda c: export.mark_results(c, who, batch_id=made["batch"], results=results),
        lambda c: bans.ban(c, who, schedule, member_id=ids["member:h1"], reason="x"),
        lambda c: schedule_store.load_schedule(c, who, parse_schedule(SCHEDULE)),
    ]
    rewards = nobody.rewards
    facade: list[Callable[[], object]] = [
        lambda: rewards.prepare("2026-09"),
        lambda: rewards.accrue(),
        lambda: rewards.approve(made["batch"]),
        lambda: rewards.hold(made["line"], "x"),
        lambda: rewards.release(made["line"], "x"),
        lambda: rewards.appeal(made["line"], "x"),
        lambda: rewards.decide_appeal(made["appeal"], True, "x"),
        lambda: rewards.export(made["batch"], None, None),
        lambda: rewards.mark_results(made["batch"], Path("nowhere.csv")),
        lambda: rewards.ban(ids["member:h1"], "x"),
        lambda: rewards.load_schedule(Path("nowhere.toml")),
    ]
    before = snapshot(cache)
    for call in calls:
        with pytest.raises(PermissionRefused, match=f"{NOBODY} may not"), cache.transaction() as c:
            call(c)
    for attempt in facade:
        with pytest.raises(PermissionRefused, match=f"{NOBODY} may not"):
            attempt()
    assert snapshot(cache) == before


def test_a_roleless_user_is_refused_by_every_command(
    db_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def run(who: str, *args: str) -> tuple[int, str]:
        monkeypatch.setenv("PEERDESK_USER", who)
        code = main(["--db", str(db_file), *args])
        return code, capsys.readouterr().err

    schedule = tmp_path / "s.toml"
    schedule.write_text(SCHEDULE.replace('"t1"', '"t2"'))
    results = tmp_path / "result.csv"
    results.write_text("sender_item_id,amount,currency,status\nbatch-1-line-1,1.00,GBP,SUCCESS\n")
    before_batch = [
        ["ledger", "schedule", str(schedule)],
        ["ledger", "accrue"],
        ["ledger", "ban", "h1", "--reason", "x"],
        ["payouts", "prepare", "--period", "2026-10"],
    ]
    after_batch = [
        ["payouts", "approve", "1"],
        ["payouts", "hold", "1", "--reason", "x"],
        ["payouts", "release", "1", "--reason", "x"],
        ["payouts", "export", "1", "--out", str(tmp_path)],
        ["payouts", "mark-paid", "1", str(results)],
        ["payouts", "appeal", "1", "--text", "x"],
        ["payouts", "appeal", "--decide", "1", "--uphold", "--reason", "x"],
    ]
    for phase, commands in (("before", before_batch), ("after", after_batch)):
        if phase == "after":
            assert run("priya", "payouts", "prepare", "--period", "2026-10")[0] == 0
            assert run("priya", "payouts", "hold", "1", "--reason", "checking")[0] == 0
            assert run("alice", "payouts", "appeal", "1", "--text", "mine")[0] == 0
        before = database_dump(db_file)
        for command in commands:
            code, err = run(NOBODY, *command)
            assert code == 2, (command, err)
            assert f"{NOBODY} may not" in err and err.count("\n") == 1, (command, err)
        assert database_dump(db_file) == before
        assert not list(tmp_path.glob("peerdesk-batch-*"))


@pytest.mark.anyio
async def test_a_roleless_user_in_the_console_changes_nothing(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(db_file.parent)
    cache = open_cache(db_file)
    Desk.for_cache(cache, actor="priya").rewards.prepare("2026-10")
    cache.close()
    before = database_dump(db_file)
    desk = Desk.for_cache(open_cache(db_file), actor=NOBODY)
    seen: list[Any] = []
    async with PeerdeskApp(desk).run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await settle(pilot)
        await pilot.press("dollar_sign")
        await settle(pilot)
        screen = pilot.app.screen
        for action in ("prepare", "approve", "hold", "release", "export", "appeal", "uphold"):
            assert not screen.check_action(action, ()), action  # the key is hidden
        await pilot.press("P", "a", "e")  # hidden keys do nothing
        await settle(pilot)
        # past the hidden keys, straight at the door: refused there
        screen.action_approve()
        await settle(pilot)
        screen.action_export()
        await settle(pilot)
        screen.action_prepare()
        await settle(pilot)
        await pilot.press("ctrl+u", *"2026-11", "enter")
        await settle(pilot)
    desk.close_cache()
    refused = [n for n in notes(seen) if f"{NOBODY} may not" in n]
    assert len(refused) == 3, notes(seen)
    assert database_dump(db_file) == before
    assert not list(db_file.parent.glob("peerdesk-batch-*"))


# ---- four-eyes on the identities -----------------------------------------------------------


def test_an_override_cannot_approve_its_own_batch(cache: Cache, staff: dict[str, Desk]) -> None:
    # the OS account (root here) prepares under its own name: its overrides are the same person
    batch = staff["root"].rewards.prepare("2026-10").batch_id
    for name in ("tom", "una"):
        with pytest.raises(InvalidDecision, match="cannot approve it: four-eyes"):
            staff[name].rewards.approve(batch)
    assert cache.query("SELECT count(*) FROM payout_approvals")[0][0] == 0


def test_an_os_account_cannot_approve_what_its_override_prepared(
    cache: Cache, staff: dict[str, Desk]
) -> None:
    batch = staff["priya"].rewards.prepare("2026-10").batch_id
    with pytest.raises(PermissionRefused):
        staff["priya"].rewards.approve(batch)
    with pytest.raises(InvalidDecision, match=r"root prepared batch 1 \(as priya\)"):
        staff["root"].rewards.approve(batch)  # the account behind priya, with the admin role
    assert "1 of 2" in staff["tom"].rewards.approve(batch)
    with pytest.raises(InvalidDecision, match="already approved"):
        staff["tom"].rewards.approve(batch)
    assert "approved" in staff["una"].rewards.approve(batch)
    rows = cache.query("SELECT approver, approver_os_user FROM payout_approvals ORDER BY 1")
    assert [tuple(r) for r in rows] == [("tom", "root"), ("una", "root")]


def test_an_admin_override_that_prepared_cannot_approve(
    cache: Cache, staff: dict[str, Desk]
) -> None:
    batch = staff["ada"].rewards.prepare("2026-10").batch_id  # ada has every payout role
    with pytest.raises(InvalidDecision, match="ada .*prepared batch"):
        staff["ada"].rewards.approve(batch)


# ---- one audit entry per change, by the door ------------------------------------------------


@pytest.mark.backends
def test_each_change_leaves_one_audit_entry(
    cache: Cache, staff: dict[str, Desk], tmp_path: Path
) -> None:
    """On the team database too: the server writes the entry (its actor the login role) in the
    change's own transaction."""
    priya, tom, una = (staff[n].rewards for n in ("priya", "tom", "una"))
    start = len(audit_rows(cache))
    view = priya.prepare("2026-10")
    line = priya.lines(view.batch_id)[0].line_id
    priya.hold(line, "checking")
    priya.release(line, "checked")
    tom.approve(view.batch_id)
    una.approve(view.batch_id)
    made = tom.export(view.batch_id, tmp_path / "a.csv", tmp_path / "a.json")
    tom.export(view.batch_id, tmp_path / "b.csv", None)  # a re-run changes nothing
    rows = audit_rows(cache)[start:]
    assert [(a, act, kind, target) for a, act, kind, target, _ in rows] == [
        ("priya", "payout_prepare", "payout_batch", view.batch_id),
        ("priya", "payout_hold", "payout_line", line),
        ("priya", "payout_release", "payout_line", line),
        ("tom", "payout_approve", "payout_batch", view.batch_id),
        ("una", "payout_approve", "payout_batch", view.batch_id),
        ("tom", "payout_export", "payout_batch", view.batch_id),
    ]
    if cache.dialect.is_sqlite:  # overrides of the file's owner: the OS account is recorded
        assert all(detail["os_user"] == "root" for *_, detail in rows)
    else:  # each person is their own database role: no override, nothing to record
        assert all("os_user" not in detail for *_, detail in rows)
    assert rows[0][4]["lines"] == view.lines and rows[0][4]["accrued"] > 0
    assert rows[-1][4]["sha256"] == made.sha256
    assert staff["alice"].verify_audit() == []
