"""Escalating a thread by hand: one decision with its audit entry and outbox item, the manual
rule's SLA, refusals that write nothing, and an undo that keeps the escalation's number."""

from __future__ import annotations

import json

import pytest

from console import audit
from console.db import Cache
from console.desk import Desk
from console.errors import InvalidDecision, NotFound, PermissionRefused
from console.escalate.active import install_in
from console.escalate.rules import RulesError, parse_rules
from tests.escalate.conftest import post, store, thread

REASON = "Says he has a solicitor; the legal rule missed it (the word was misspelt)"


def _one_thread(cache: Cache) -> int:
    ids = store(
        cache,
        [thread("1", "Voicemail greeting", "u1", "2026-11-20T11:50:00Z")],
        [post("11", "1", "u1", 0, "How do I change my greeting?", "2026-11-20T11:50:00Z")],
    )
    assert cache.one("SELECT count(*) FROM escalations")[0] == 0  # no rule fires on it
    return ids["1"]


def _written(cache: Cache) -> tuple[int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        int(cache.one(f"SELECT count(*) FROM {table}")[0])
        for table in ("escalations", "escalation_history", "audit", "outbox")
    )


@pytest.mark.backends
def test_raise_is_one_decision_with_the_manual_sla(cache: Cache, desk: Desk) -> None:
    thread_id = _one_thread(cache)
    desk.escalations.raise_thread(thread_id, f"  {REASON}\n")
    [row] = desk.escalations.for_thread(thread_id)
    assert (row.rule_id, row.rule_name, row.severity, row.state) == (
        "by-hand",
        "Raised by a moderator",
        "high",
        "new",
    )
    assert row.detail == REASON  # whitespace folded, the words kept
    assert row.clock == "acknowledge" and row.seconds_left == 60 * 60  # the clock is frozen
    assert row.context == "raised by hand by alice"
    [raised] = desk.escalations.history(row.escalation_id)
    assert (raised.actor, raised.event, raised.to_state, raised.body) == (
        "alice",
        "raised",
        "new",
        REASON,
    )
    entries = cache.query(
        "SELECT a.action, a.target_kind, a.target_id, o.action, o.state FROM audit a "
        "JOIN outbox o ON o.audit_id = a.id ORDER BY a.id"
    )
    assert [tuple(r) for r in entries] == [
        ("esc_raise", "thread", thread_id, "escalation", "local_only")
    ]
    detail = json.loads(str(cache.one("SELECT detail FROM audit WHERE action = 'esc_raise'")[0]))
    assert (detail["before"], detail["after"]) == (
        {},
        {
            "escalation_id": row.escalation_id,
            "state": "new",
            "rule": "by-hand",
            "severity": "high",
            "reason": REASON,
        },
    )  # what the Audit panel shows: the escalation it made, not its empty fields
    assert audit.verify(cache) == []


@pytest.mark.backends
def test_refusals_write_nothing(cache: Cache, desk: Desk) -> None:
    thread_id = _one_thread(cache)
    before = _written(cache)
    with pytest.raises(InvalidDecision, match="needs a reason"):
        desk.escalations.raise_thread(thread_id, " \n ")
    with pytest.raises(NotFound, match="no thread 9999"):
        desk.escalations.raise_thread(9999, REASON)
    with pytest.raises(InvalidDecision, match="Severity must be one of"):
        desk.escalations.raise_thread(thread_id, REASON, severity="urgent")
    with pytest.raises(PermissionRefused):  # erin prepares payouts; she does not moderate
        Desk.for_cache(cache, actor="erin").escalations.raise_thread(thread_id, REASON)
    assert _written(cache) == before
    desk.escalations.raise_thread(thread_id, REASON, severity="critical")
    first = desk.escalations.for_thread(thread_id)[0].escalation_id
    after_one = _written(cache)
    with pytest.raises(InvalidDecision, match=f"already escalated by hand \\(escalation {first}"):
        Desk.for_cache(cache, actor="dave").escalations.raise_thread(thread_id, "me too")
    assert _written(cache) == after_one


def test_undo_dismisses_it_and_the_number_stays_its_own(cache: Cache, desk: Desk) -> None:
    thread_id = _one_thread(cache)
    desk.escalations.raise_thread(thread_id, REASON)
    first = desk.escalations.for_thread(thread_id)[0].escalation_id
    desk.undo()
    undone = desk.escalations.one(first)
    assert (undone.state, undone.dismiss_reason) == ("dismissed", "raised by mistake (undone)")
    desk.escalations.raise_thread(thread_id, "now for real")  # no open one stops it
    again = max(r.escalation_id for r in desk.escalations.for_thread(thread_id))
    assert again != first
    assert [h.event for h in desk.escalations.history(first)] == ["raised", "undone"]
    assert audit.verify(cache) == []


def test_undo_is_refused_once_someone_worked_on_it(cache: Cache, desk: Desk) -> None:
    thread_id = _one_thread(cache)
    desk.escalations.raise_thread(thread_id, REASON)
    escalation = desk.escalations.for_thread(thread_id)[0].escalation_id
    Desk.for_cache(cache, actor="dave").escalations.acknowledge(escalation)
    with pytest.raises(
        InvalidDecision, match="was worked on since \\(it is acknowledged\\); dismiss it instead"
    ):
        desk.undo()
    assert desk.escalations.one(escalation).state == "acknowledged"


def test_a_manual_rule_sets_the_sla_and_never_fires(cache: Cache, desk: Desk) -> None:
    rules = parse_rules(
        '[[rule]]\nid = "moderator"\nname = "A moderator asked"\nkind = "manual"\n'
        'severity = "medium"\nacknowledge_within = "4h"\nresolve_within = "3d"\n'
        'ticket_tags = ["by-hand"]\n',
        "team.toml",
    )
    with cache.transaction() as conn:
        install_in(conn, rules)
    thread_id = _one_thread(cache)
    assert desk.escalations.refresh() == 0  # a manual rule matches nothing by itself
    desk.escalations.raise_thread(thread_id, REASON)
    [row] = desk.escalations.for_thread(thread_id)
    assert (row.rule_id, row.severity, row.seconds_left) == ("moderator", "medium", 4 * 3600)
    tags = cache.one("SELECT ticket_tags FROM escalations WHERE id = ?", (row.escalation_id,))
    assert tags[0] == '["by-hand"]'


def test_only_one_manual_rule() -> None:
    one = (
        '[[rule]]\nid = "{}"\nname = "By hand"\nkind = "manual"\nseverity = "high"\n'
        'acknowledge_within = "1h"\nresolve_within = "1d"\n'
    )
    with pytest.raises(RulesError, match=r"line 12, rule 'b': only one manual rule.*'a' does"):
        parse_rules(one.format("a") + "\n" + one.format("b"), "two.toml")
