"""Verification decisions on a real SQLite file: one transaction each with audit and outbox,
four-eyes, calibration, re-checks, conflicts and undo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.audit import verify as verify_audit
from console.errors import InvalidDecision, NotFound, PermissionRefused
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord
from console.verify.service import Verification
from console.verify.settings import VerifySettings
from tests.verify.conftest import Community, add_thread, as_moderator, door, who

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database


def outbox(community: Community) -> list[dict[str, object]]:
    return [
        {**dict(r), "payload": json.loads(r["payload"])}
        for r in community.cache.query("SELECT * FROM outbox ORDER BY id")
    ]


def state(community: Community, post: str) -> dict[str, object]:
    row = community.cache.one(
        "SELECT * FROM verifications WHERE post_id = ?", (community.posts[post],)
    )
    assert row is not None
    return dict(row)


def test_queue_holds_the_accepted_and_the_best_other_answer(
    community: Community, verifier: Verification
) -> None:
    verifier.refresh()
    rows = verifier.queue()
    posts = {r.post_id for r in rows}
    assert community.posts["t1-1"] in posts  # the asker's accept
    assert community.posts["t1-2"] in posts  # the best other reply
    assert community.posts["t1-4"] not in posts  # the asker's own "thanks"
    assert community.posts["t2-1"] not in posts  # "lol same here"
    assert [r.impact for r in rows] == sorted((r.impact for r in rows), reverse=True)
    stored = json.loads(str(state(community, "t1-2")["reasons"]))
    assert any(r["name"] == "on_topic" and r["reason"] for r in stored)


def test_verify_is_one_transaction_with_audit_and_platform_outbox(
    community: Community, verifier: Verification
) -> None:
    post = community.posts["t2-2"]
    verifier.refresh()
    result = verifier.verify(post, text="Checked against the tariff page")
    row = state(community, "t2-2")
    assert row["state"] == "verified" and row["decided_by"] == "alice" and row["decided_at"]
    items = outbox(community)
    assert [i["id"] for i in items] == result.outbox_ids
    assert items[0]["action"] == "verify_answer" and items[0]["state"] == "pending"
    assert items[0]["payload"]["accept"] is True  # no accepted answer yet: accept it
    assert "verified it as correct" in items[0]["payload"]["raw"]
    thread = community.cache.one(
        "SELECT accepted_post_id, status FROM threads WHERE id = ?", (community.threads["t2"],)
    )
    assert thread["accepted_post_id"] == post and thread["status"] == "solved"
    audit = community.cache.one("SELECT action, target_id FROM audit ORDER BY id DESC LIMIT 1")
    assert tuple(audit) == ("verify_answer", post)
    assert verify_audit(community.cache) == []
    events = community.cache.query("SELECT from_state, to_state, actor FROM verification_events")
    assert [tuple(e) for e in events] == [("pending", "verified", "alice")]
    with pytest.raises(InvalidDecision, match="already verified"):
        verifier.verify(post)


def test_stack_exchange_keeps_the_decision_local_with_the_reason(
    community: Community, verifier: Verification
) -> None:
    source = ensure_source(community.cache, "stackexchange", "su", "https://superuser.com")
    upsert_threads(
        community.cache,
        source,
        [
            ThreadRecord(
                "q1",
                "Wifi drops",
                None,
                "answered",
                "2026-11-10T12:00:00Z",
                "2026-11-10T13:00:00Z",
                reply_count=1,
            )
        ],
        [
            PostRecord(
                "q1-0", "q1", None, 0, "My wifi drops every hour", "", "2026-11-10T12:00:00Z"
            ),
            PostRecord(
                "q1-1",
                "q1",
                None,
                1,
                "Update the router firmware to fix the wifi drops "
                "you see; the vendor fixed it in version 2.",
                "",
                "2026-11-10T13:00:00Z",
            ),
        ],
    )
    post = community.cache.one("SELECT id FROM posts WHERE remote_id = 'q1-1'")[0]
    verifier.verify(post)
    item = outbox(community)[-1]
    assert item["action"] == "verify_answer" and item["state"] == "local_only"
    assert "Stack Exchange" in str(item["last_error"])


def test_reject_needs_a_reason_from_the_list(community: Community, verifier: Verification) -> None:
    post = community.posts["t1-3"]
    with pytest.raises(InvalidDecision, match="wrong, unsafe"):
        verifier.reject(post, "because")
    assert community.cache.one("SELECT count(*) FROM audit")[0] == 0
    verifier.reject(post, "copied", text="copy of reply 2")
    row = state(community, "t1-3")
    assert (row["state"], row["reject_reason"], row["note"]) == (
        "rejected",
        "copied",
        "copy of reply 2",
    )
    item = outbox(community)[-1]
    assert item["action"] == "verify_reject" and item["state"] == "local_only"
    assert item["payload"]["reason"] == "copied from another answer or source"


def test_needs_edit_sends_a_note_to_the_author(
    community: Community, verifier: Verification
) -> None:
    verifier.needs_edit(community.posts["t1-2"], "Please add the STAC option too")
    assert state(community, "t1-2")["state"] == "needs_edit"
    item = outbox(community)[-1]
    assert item["action"] == "reply" and item["state"] == "pending"
    assert item["payload"]["raw"].startswith("@carol ")
    assert "STAC" in item["payload"]["raw"]
    with pytest.raises(InvalidDecision, match="needs a note"):
        verifier.needs_edit(community.posts["t2-2"], "  ")


def test_four_eyes_for_overturning_the_asker(community: Community, verifier: Verification) -> None:
    right, accepted = community.posts["t1-2"], community.posts["t1-1"]
    verifier.pick(right)
    row = state(community, "t1-2")
    assert row["state"] == "pending" and row["proposed_state"] == "verified"
    assert "overturns" in str(row["contested"])
    assert outbox(community)[-1]["action"] == "verify_propose"
    rows = {r.post_id: r for r in verifier.queue()}
    assert rows[right].kind == "four_eyes"
    with pytest.raises(InvalidDecision, match="second, different moderator"):
        verifier.confirm(right)
    with pytest.raises(InvalidDecision, match="awaits a second moderator"):
        verifier.verify(right)
    as_moderator(verifier, "zoe").confirm(right)
    row = state(community, "t1-2")
    assert (row["state"], row["decided_by"], row["second_by"]) == ("verified", "alice", "zoe")
    item = outbox(community)[-1]
    assert item["action"] == "verify_answer" and item["payload"]["accept"] is True
    thread = community.cache.one(
        "SELECT accepted_post_id FROM threads WHERE id = ?", (community.threads["t1"],)
    )
    assert thread[0] == right != accepted


def test_four_eyes_disagreement_goes_to_the_review_list(
    community: Community, verifier: Verification
) -> None:
    accepted = community.posts["t1-1"]
    verifier.reject(accepted, "wrong")  # the asker's accept: contested
    as_moderator(verifier, "zoe").confirm(accepted, agree=False)
    row = state(community, "t1-1")
    assert row["state"] == "pending" and row["proposed_state"] is None
    [listed] = verifier.disagreements()
    assert (listed.kind, listed.first_by, listed.reviewer) == ("four_eyes", "alice", "zoe")


def test_payout_makes_verification_contested(community: Community) -> None:
    paid = door(community.cache, "alice", VerifySettings(calibration_share=0.0, payout_minor=500))
    paid.verify(community.posts["t2-2"])  # staff: no payout, final at once
    assert state(community, "t2-2")["state"] == "verified"
    paid.verify(community.posts["t1-3"])  # a member's answer earning 500: needs a second
    row = state(community, "t1-3")
    assert row["state"] == "pending" and "payout of 500" in str(row["contested"])


def test_calibration_requeues_blind_and_counts_agreement(community: Community) -> None:
    always = VerifySettings(calibration_share=1.0)
    alice = door(community.cache, "alice", always)
    zoe = as_moderator(alice, "zoe")
    alice.verify(community.posts["t2-2"])
    alice.reject(community.posts["t1-3"], "copied")
    assert [r.kind for r in alice.queue() if r.kind == "calibration"] == []  # not to herself
    blind = [r for r in zoe.queue() if r.kind == "calibration"]
    assert {r.post_id for r in blind} == {community.posts["t2-2"], community.posts["t1-3"]}
    view = zoe.answer(community.posts["t2-2"])
    assert view.blind and view.decided_by is None and view.state == "pending"
    zoe.calibrate(community.posts["t2-2"], "verified")
    zoe.calibrate(community.posts["t1-3"], "verified")
    [rate] = zoe.agreement()
    assert (rate.moderator, rate.calibrated, rate.agreed, rate.rate) == ("alice", 2, 1, 0.5)
    assert [d.kind for d in zoe.disagreements()] == ["calibration"]
    none = door(community.cache, "bob")
    none.verify(community.posts["t1-2"])
    assert (
        community.cache.one("SELECT count(*) FROM verification_reviews WHERE kind = 'calibration'")[
            0
        ]
        == 2
    )


def test_undo_unverifies_and_raises_a_recheck(community: Community, verifier: Verification) -> None:
    post = community.posts["t2-2"]
    verifier.verify(post)
    first = outbox(community)[-1]
    verifier.undo()
    row = state(community, "t2-2")
    assert row["state"] == "pending" and "then undone" in str(row["recheck"])
    assert (
        community.cache.one(
            "SELECT accepted_post_id FROM threads WHERE id = ?", (community.threads["t2"],)
        )[0]
        is None
    )
    assert outbox(community)[0]["state"] == "cancelled" and first["state"] == "pending"
    rows = {r.post_id: r for r in verifier.queue()}
    assert rows[post].kind == "recheck" and verifier.queue()[0].post_id == post
    events = [
        tuple(e)
        for e in community.cache.query(
            "SELECT from_state, to_state FROM verification_events ORDER BY id"
        )
    ]
    assert events == [("pending", "verified"), ("verified", "pending")]
    verifier.verify(post)  # deciding again closes the re-check
    assert (
        community.cache.one(
            "SELECT count(*) FROM verification_reviews WHERE kind = 'recheck' AND state = 'open'"
        )[0]
        == 0
    )


def test_undo_after_the_push_queues_the_reverse(
    community: Community, verifier: Verification
) -> None:
    verifier.verify(community.posts["t2-2"])
    with community.cache.transaction() as conn:  # sent: pending -> sending -> applied
        conn.execute("UPDATE outbox SET state = 'sending', attempts = 1")
        conn.execute("UPDATE outbox SET state = 'applied'")
    verifier.undo()
    item = outbox(community)[-1]
    assert item["action"] == "unverify_answer" and item["payload"]["was_accepted_by_us"] is True


def _sync_edited_roaming_answer(community: Community) -> None:
    """A sync brings thread t2 back with its answer t2-2 edited on the platform."""
    upsert_threads(
        community.cache,
        community.source_id,
        [
            ThreadRecord(
                "t2",
                "Roaming charges in Spain",
                "asker",
                "answered",
                "2026-11-10T12:00:00Z",
                "2026-11-10T14:00:00Z",
                reply_count=2,
            )
        ],
        [
            PostRecord(
                "t2-2",
                "t2",
                "staff",
                2,
                "Edited: roaming now costs 2 pounds a day.",
                "",
                "2026-11-10T14:00:00Z",
            )
        ],
    )


def test_remote_edit_or_delete_of_a_verified_answer_raises_a_recheck(
    community: Community, verifier: Verification
) -> None:
    verifier.verify(community.posts["t2-2"])
    verifier.reject(community.posts["t1-3"], "copied")
    _sync_edited_roaming_answer(community)
    row = state(community, "t2-2")
    assert row["state"] == "pending" and "edited on the platform" in str(row["recheck"])
    community.cache.conn.execute("DELETE FROM posts WHERE id = ?", (community.posts["t1-3"],))
    row = state(community, "t1-3")
    assert row["state"] == "pending" and row["recheck"] == "deleted on the platform"
    reasons = [
        r[0]
        for r in community.cache.query(
            "SELECT reason FROM verification_reviews WHERE kind = 'recheck' ORDER BY id"
        )
    ]
    assert reasons == [
        "the answer was edited on the platform after it was verified",
        "the answer was deleted on the platform after it was rejected",
    ]
    # an unchanged re-sync changes nothing
    before = community.cache.one("SELECT count(*) FROM verification_reviews")[0]
    verifier.verify(community.posts["t2-2"])
    _sync_edited_roaming_answer(community)
    assert state(community, "t2-2")["state"] == "verified"
    assert community.cache.one("SELECT count(*) FROM verification_reviews")[0] == before


def test_a_stale_or_vanished_answer_is_a_conflict(
    community: Community, verifier: Verification
) -> None:
    shown = verifier.answer(community.posts["t2-2"])
    community.cache.conn.execute(
        "UPDATE posts SET body_text = 'changed' WHERE id = ?", (community.posts["t2-2"],)
    )
    with pytest.raises(InvalidDecision, match="edited on the platform since it was shown"):
        verifier.verify(community.posts["t2-2"], expected_hash=shown.candidate.body_hash)
    assert community.cache.one("SELECT count(*) FROM audit")[0] == 0
    with pytest.raises(NotFound, match="deleted on the platform"):
        verifier.verify(99_999)


def test_roles_are_enforced(community: Community) -> None:
    nobody = door(community.cache, "mallory")
    with pytest.raises(PermissionRefused, match="may not verify answer"):
        nobody.verify(community.posts["t2-2"])
    assert community.cache.one("SELECT count(*) FROM audit")[0] == 0


def test_settings_errors_name_the_line_and_keep_the_last_good(
    community: Community, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[verify]\ncalibration_share = 0.2\n[verify.points]\nasks_question = -20\n")
    good = Verification(community.cache, who(community.cache, "alice"), config).settings()
    assert good.problem is None and good.points["asks_question"] == -20
    config.write_text("[verify]\ncalibration_share = 0.2\n[verify.points]\nasks_questoin = -20\n")
    bad = Verification(community.cache, who(community.cache, "alice"), config).settings()
    assert "line 4" in str(bad.problem) and "asks_questoin" in str(bad.problem)
    assert bad.points["asks_question"] == -20 and bad.calibration_share == 0.2


def test_new_answers_synced_later_join_the_queue(
    community: Community, verifier: Verification
) -> None:
    assert {r.post_id for r in verifier.queue()} >= {community.posts["t1-2"]}
    add_thread(
        community,
        "late",
        "Voicemail PIN reset",
        "How do I reset my voicemail PIN?",
        "asker",
        [
            (
                "staff",
                "Call 121 from your phone and choose option 3 to reset the "
                "voicemail PIN; you can also reset it in the app under Settings.",
            )
        ],
        created="2026-11-20T09:00:00Z",
    )
    assert community.posts["late-1"] in {r.post_id for r in verifier.queue()}


def test_a_verified_answer_later_rejected_is_escalated(
    community: Community, verifier: Verification
) -> None:
    """console.escalate's rule reads `previous_state`: the last decision before this one."""
    from console.escalate import engine

    post = community.posts["t2-2"]
    verifier.verify(post)
    assert engine.scan_clock(community.cache) == 0
    verifier.undo()  # pending again (a re-check) ...
    verifier.reject(post, "wrong", "the roaming policy changed")  # ... then rejected
    row = state(community, "t2-2")
    assert (row["state"], row["previous_state"]) == ("rejected", "verified")
    assert engine.scan_clock(community.cache) == 1


def test_a_confirm_is_of_the_proposal_shown(community: Community) -> None:
    """zoe is shown alice's proposal to reject the asker's accepted answer. Before zoe confirms,
    alice undoes it and proposes to verify the answer instead (it earns a payout). zoe's
    confirm of what she was shown is refused and changes nothing; she confirms the new one
    only once she has been shown it. Before, her confirm finalised whatever proposal was
    there: a payout verified that she had never seen proposed."""
    settings = VerifySettings(calibration_share=0.0, payout_minor=500)
    alice = door(community.cache, "alice", settings)
    zoe = door(community.cache, "zoe", settings)
    answer = community.posts["t1-1"]
    alice.reject(answer, "wrong")
    shown = zoe.answer(answer)
    assert (shown.proposed_state, shown.proposed_by) == ("rejected", "alice")
    alice.undo()
    alice.verify(answer)
    assert state(community, "t1-1")["proposed_state"] == "verified"
    written = community.cache.one("SELECT count(*) FROM audit")[0]
    with pytest.raises(InvalidDecision, match="proposal changed since it was shown"):
        zoe.confirm(answer, proposal=(shown.proposed_state, shown.proposed_by))
    assert state(community, "t1-1")["state"] == "pending"
    assert community.cache.one("SELECT count(*) FROM audit")[0] == written
    again = zoe.answer(answer)
    zoe.confirm(answer, proposal=(again.proposed_state, again.proposed_by))
    assert state(community, "t1-1")["state"] == "verified"
