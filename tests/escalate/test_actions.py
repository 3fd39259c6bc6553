"""Escalation decisions through the one decision pipeline: each is one transaction with its
audit entry and outbox item; roles are checked; undo works; the hand-off goes to the ticket
system's outbox."""

from __future__ import annotations

import json

import pytest

from console import audit
from console.db import Cache
from console.desk import Desk
from console.errors import InvalidDecision, PermissionRefused
from console.escalate import engine
from console.escalate.tickets import TicketComment, TicketUpdate, apply_ticket, link_created_tickets
from console.ingest import ensure_source
from tests.escalate.conftest import post, store, thread

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database


def _raise_two(cache: Cache) -> tuple[int, int]:
    store(
        cache,
        [thread("1", "Disgraceful billing", "u1", "2026-11-20T09:00:00Z")],
        [
            post(
                "11", "1", "u1", 0, "Going to the ombudsman about my bill", "2026-11-20T09:00:00Z"
            ),
            post("12", "1", "u1", 1, "email me: jo@example.com", "2026-11-20T09:10:00Z"),
        ],
    )
    legal = cache.one("SELECT id FROM escalations WHERE rule_id = 'legal-threat'")[0]
    pii = cache.one("SELECT id FROM escalations WHERE rule_id = 'personal-data'")[0]
    return int(legal), int(pii)


def _outbox(cache: Cache) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in cache.query("SELECT action, state FROM outbox ORDER BY id")]


def test_acknowledge_assign_note_resolve_each_audited(cache: Cache, desk: Desk) -> None:
    legal, _ = _raise_two(cache)
    esc = desk.escalations
    before_outbox = len(_outbox(cache))
    esc.acknowledge(legal)
    row = esc.one(legal)
    assert row.state == "acknowledged" and row.assignee == "alice" and row.clock == "resolve"
    esc.assign(legal, "dave")
    esc.note(legal, "Customer rang too")
    esc.resolve(legal)
    assert esc.one(legal).state == "resolved" and esc.one(legal).clock == "closed"
    events = [(h.event, h.actor, h.body) for h in esc.history(legal)]
    assert events[1:] == [
        ("acknowledged", "alice", ""),
        ("assigned", "alice", "dave"),
        ("note", "alice", "Customer rang too"),
        ("resolved", "alice", ""),
    ]
    actions = cache.query(
        "SELECT a.action, o.action, o.state FROM audit a JOIN outbox o ON o.audit_id = a.id "
        "WHERE a.target_kind = 'escalation' ORDER BY a.id"
    )
    assert [tuple(r) for r in actions] == [
        ("esc_acknowledge", "escalation", "local_only"),
        ("esc_assign", "escalation", "local_only"),
        ("esc_note", "escalation", "local_only"),
        ("esc_resolve", "escalation", "local_only"),
    ]
    assert len(_outbox(cache)) == before_outbox + 4
    assert audit.verify(cache) == []


def test_wrong_state_and_roles_are_refused_and_write_nothing(cache: Cache) -> None:
    legal, _ = _raise_two(cache)
    erin = Desk.for_cache(cache, actor="erin")
    count = cache.one("SELECT count(*) FROM audit")[0]
    with pytest.raises(PermissionRefused):
        erin.escalations.acknowledge(legal)
    alice = Desk.for_cache(cache, actor="alice")
    with pytest.raises(InvalidDecision, match="needs a reason"):
        alice.escalations.dismiss(legal, "  ")
    with pytest.raises(InvalidDecision, match="reopen it before"):
        alice.escalations.dismiss(legal, "spam")
        alice.escalations.resolve(legal)
    assert cache.one("SELECT count(*) FROM audit")[0] == count + 1
    alice.escalations.reopen(legal)
    with pytest.raises(InvalidDecision, match="no ticket system"):
        alice.escalations.send_to_support(legal)


def test_assign_takes_only_someone_who_handles_escalations(cache: Cache, desk: Desk) -> None:
    """The people an escalation can go to are those the roles give a moderator's or an admin's
    role (the roles file here, the server's grants on the team database): a typo, a payout
    preparer or a stranger is refused by the decision itself, whichever way it is asked."""
    legal, _ = _raise_two(cache)
    esc = desk.escalations
    takers = esc.takers()
    assert {"alice", "dave"} <= set(takers) and not {"erin", "mallory", "daev"} & set(takers)
    assert takers == sorted(takers)
    entries = cache.one("SELECT count(*) FROM audit")[0]
    for nobody in ("daev", "erin", "mallory"):
        with pytest.raises(InvalidDecision, match=f"{nobody} cannot take escalations") as refused:
            esc.assign(legal, nobody)
        assert "alice, dave" in str(refused.value)  # who can, to pick from
        with pytest.raises(InvalidDecision, match=f"{nobody} cannot take escalations"):
            desk.decide("esc_assign", [legal], assignee=nobody)  # the door, not only the service
    assert cache.one("SELECT count(*) FROM audit")[0] == entries
    assert esc.one(legal).assignee is None
    esc.assign(legal, "dave")
    esc.assign(legal)  # to the one deciding: alice
    assert esc.one(legal).assignee == "alice"


def test_dismissing_personal_data_shows_the_post_again_and_undo_hides_it(
    cache: Cache, desk: Desk
) -> None:
    _, pii = _raise_two(cache)
    post_id = cache.one("SELECT post_id FROM escalations WHERE id = ?", (pii,))[0]
    assert cache.one("SELECT hidden FROM posts WHERE id = ?", (post_id,))[0] == 1
    desk.escalations.dismiss(pii, "a staff address, fine to show")
    assert cache.one("SELECT hidden FROM posts WHERE id = ?", (post_id,))[0] == 0
    assert _outbox(cache)[-1] == ("unhide_post", "pending")
    assert desk.escalations.one(pii).dismiss_reason == "a staff address, fine to show"
    rates = desk.escalations.rule_rates()
    assert rates["personal-data"].dismissed == 1 and rates["personal-data"].dismiss_rate == 1.0
    desk.undo()
    assert desk.escalations.one(pii).state == "new"
    assert cache.one("SELECT hidden FROM posts WHERE id = ?", (post_id,))[0] == 1
    assert _outbox(cache)[-1][1] == "cancelled"  # the unhide never left
    with pytest.raises(InvalidDecision, match="is open"):
        desk.escalations.reopen(pii)


def test_send_to_support_queues_a_ticket_for_the_ticket_system(cache: Cache, desk: Desk) -> None:
    legal, _ = _raise_two(cache)
    ensure_source(cache, "zendesk", "support", "https://kestrel.zendesk.example")
    result = desk.escalations.send_to_support(legal)
    item = cache.one(
        "SELECT o.*, s.name FROM outbox o JOIN sources s ON s.id = o.source_id WHERE o.id = ?",
        (result.outbox_ids[0],),
    )
    assert (
        item["action"] == "ticket_create"
        and item["state"] == "pending"
        and item["name"] == "support"
    )
    payload = json.loads(item["payload"])
    assert payload["priority"] == "urgent" and "legal" in payload["tags"]
    assert "peerdesk_legal_threat" in payload["tags"]
    assert "https://forum.example/t/1" in payload["body"] and "ombudsman" in payload["body"]
    assert payload["subject"].startswith(
        "[critical] Legal or regulator threat: Disgraceful billing"
    )
    row = desk.escalations.one(legal)
    assert (
        row.state == "sent_to_support"
        and row.ticket_system == "support"
        and row.assignee == "alice"
    )
    with pytest.raises(InvalidDecision, match="already with support"):
        desk.escalations.send_to_support(legal)
    desk.undo()  # never sent: the item is cancelled and the state goes back
    assert desk.escalations.one(legal).state == "new"
    assert (
        cache.one("SELECT state FROM outbox WHERE id = ?", (result.outbox_ids[0],))[0]
        == "cancelled"
    )


def test_ticket_news_moves_the_escalation_once(cache: Cache, desk: Desk) -> None:
    legal, _ = _raise_two(cache)
    ensure_source(cache, "zendesk", "support", "https://kestrel.zendesk.example")
    result = desk.escalations.send_to_support(legal)
    with cache.transaction() as conn:  # sent: pending -> sending -> applied
        conn.execute(
            "UPDATE outbox SET state = 'sending', attempts = 1 WHERE id = ?",
            (result.outbox_ids[0],),
        )
        conn.execute(
            "UPDATE outbox SET state = 'applied', remote_ref = '4014' WHERE id = ?",
            (result.outbox_ids[0],),
        )
    with pytest.raises(InvalidDecision):
        desk.undo()
    assert link_created_tickets(cache) == 1
    assert desk.escalations.one(legal).ticket_ref == "4014"
    pending = TicketUpdate(
        "4014",
        "pending",
        "2026-11-20T11:00:00Z",
        comments=(
            TicketComment(
                "c1", "agent", "We asked the customer for the bill", "2026-11-20T11:00:00Z"
            ),
        ),
    )
    with cache.transaction() as conn:
        assert apply_ticket(conn, "support", pending) == 2
        assert apply_ticket(conn, "support", pending) == 0  # a re-sync changes nothing
    assert desk.escalations.one(legal).state == "waiting_on_customer"
    solved = TicketUpdate("4014", "solved", "2026-11-20T12:00:00Z")
    with cache.transaction() as conn:
        apply_ticket(conn, "support", solved)
    row = desk.escalations.one(legal)
    assert row.state == "resolved" and row.ticket_status == "solved"
    events = [(h.event, h.body) for h in desk.escalations.history(legal)]
    assert ("support_comment", "We asked the customer for the bill") in events
    assert ("ticket_status", "ticket 4014 is solved") in events
    # each status line names its audit entry (given in the INSERT: no last_insert_rowid())
    tied = cache.query(
        "SELECT h.body, a.action, a.detail FROM escalation_history h "
        "JOIN audit a ON a.id = h.audit_id WHERE h.event = 'ticket_status' ORDER BY h.id"
    )
    assert [(r[0], r[1], json.loads(r[2])["status"]) for r in tied] == [
        ("ticket 4014 is pending", "escalation_ticket_update", "pending"),
        ("ticket 4014 is solved", "escalation_ticket_update", "solved"),
    ]
    assert audit.verify(cache) == []


def test_resolve_with_a_reply_to_the_community(cache: Cache, desk: Desk) -> None:
    legal, _ = _raise_two(cache)
    desk.escalations.resolve(legal, reply="Support has refunded the charge.")
    item = cache.query("SELECT action, payload FROM outbox ORDER BY id DESC LIMIT 1")[0]
    assert item["action"] == "reply"
    assert json.loads(item["payload"])["raw"] == "Support has refunded the charge."


def test_the_sla_report(cache: Cache, desk: Desk) -> None:
    legal, pii = _raise_two(cache)
    desk.escalations.acknowledge(legal)
    desk.escalations.dismiss(pii, "test data")
    report = desk.escalations.report()
    rules = {x.key: x for x in report.lines if x.group == "rule"}
    # raised 09:00 with 1h to acknowledge; acknowledged at the frozen 12:00: 180 minutes, late
    assert rules["legal-threat"].median_acknowledge_minutes == 180.0
    assert rules["legal-threat"].acknowledge_breaches == 1
    assert rules["personal-data"].dismissed == 1
    mods = {x.key: x for x in report.lines if x.group == "moderator"}
    assert mods["alice"].median_acknowledge_minutes is not None
    assert report.total == len(cache.query("SELECT id FROM escalations"))
    assert json.loads(report.to_json())["per_rule"]
    assert report.to_csv().splitlines()[0].startswith("group,key,raised")
    assert "legal-threat" in report.to_text()
    assert engine.OPEN_STATES[0] == "new"


def test_the_second_of_two_moderators_is_told_who_was_first(cache: Cache) -> None:
    """alice and dave both acknowledge, then both resolve, the same escalation (two consoles,
    the second a moment later): dave's are refused, write nothing, and name alice, so he
    knows it is taken care of and by whom rather than only that it is not "new"."""
    legal, _ = _raise_two(cache)
    alice = Desk.for_cache(cache, actor="alice").escalations
    dave = Desk.for_cache(cache, actor="dave").escalations
    alice.acknowledge(legal)
    count = cache.one("SELECT count(*) FROM audit")[0]
    with pytest.raises(InvalidDecision, match=r"already acknowledged \(by alice\)"):
        dave.acknowledge(legal)
    alice.resolve(legal)
    with pytest.raises(InvalidDecision, match=r"is resolved \(by alice\); reopen it before"):
        dave.resolve(legal)
    assert cache.one("SELECT count(*) FROM audit")[0] == count + 1
