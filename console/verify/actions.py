"""Moderator decisions on answers, as `console.decisions` kinds (one transaction each, with its
batch, audit entry and outbox item; `decisions.undo_last` takes any of them back).

The target of every kind is the answer's post id.

- verify_answer: the answer is verified correct. Outbox `verify_answer` (Discourse: accept it
  through the solved plugin if the thread has no accepted answer, and an official reply saying it
  was verified; Stack Exchange: `local_only`, with the reason).
- verify_pick: pick this answer instead of the asker's: verified, and it becomes the accepted
  answer (Discourse: accepted through the solved plugin, replacing the asker's choice).
- verify_reject: wrong; a reason from REJECT_REASONS and free text. Internal (kept in peerdesk).
- verify_needs_edit: a note to the author through the outbox (a reply mentioning them).
- verify_confirm: the second moderator's word on a contested proposal (agree or disagree); with
  `proposal` ([state, proposer] as shown), refused if another proposal stands by now.
- verify_calibrate: a blind second opinion on a decision re-queued for calibration.

Four-eyes: picking an answer over the asker's accept, rejecting the asker's accepted answer, and
verifying an answer that earns a payout are *proposals*: the answer stays pending until a second,
different moderator confirms (`verify_confirm`). A proposal keeps the OS account it was made
under (migration 40), and a confirm from that account is refused under any other name
(console.identity.same_person, as payouts' four-eyes); one with no account recorded (made before,
and not found in the audit) is not confirmed. Calibration: a share of final decisions
(`calibration_share`, default 5%) is re-queued blind to another moderator.

Every decision carries the hash of the answer's text as it was shown (`expected_hash`): an answer
edited, hidden or deleted on the platform since ends in a clear conflict, never a wrong mark.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, cast

from console import decisions, roles
from console.clock import now_iso
from console.errors import InvalidDecision, NotFound
from console.identity import same_person
from console.storage import Connection, Row, dialect_of
from console.verify.facts import body_hash
from console.verify.reasons import REJECT_REASONS as REJECT_REASONS  # re-exported

VERIFY = "verify_answer"
PICK = "verify_pick"
REJECT = "verify_reject"
NEEDS_EDIT = "verify_needs_edit"
CONFIRM = "verify_confirm"
CALIBRATE = "verify_calibrate"
ACTIONS = (VERIFY, PICK, REJECT, NEEDS_EDIT, CONFIRM, CALIBRATE)

# Who may take each decision. One table, registered into console.roles at import, so it moves
# in one piece when roles move.
ROLE_ACTIONS = dict.fromkeys(ACTIONS, roles.MODERATION)
for _name, _roles in ROLE_ACTIONS.items():
    roles.register_action(_name, *sorted(_roles))

OFFICIAL_NOTE = "A moderator checked this answer and verified it as correct."
MUTABLE = (
    "state",
    "decided_by",
    "decided_at",
    "second_by",
    "proposed_state",
    "proposed_action",
    "proposed_by",
    "proposed_os_user",
    "proposed_at",
    "reject_reason",
    "note",
    "contested",
    "recheck",
)
REVIEW_MUTABLE = ("reviewer", "review_state", "state", "decided_at")


@dataclass
class _Record:
    """What one decision changed, kept in the audit entry so undo can put it back."""

    verification: dict[str, Any] = field(default_factory=dict)
    accepted_before: int | None = None
    accepted_after: int | None = None
    reviews_created: list[int] = field(default_factory=list)
    reviews_before: dict[str, dict[str, Any]] = field(default_factory=dict)


def _fresh_record(row: Row) -> _Record:
    return _Record(accepted_before=row["accepted_post_id"], accepted_after=row["accepted_post_id"])


def _answer(conn: Connection, post_id: int) -> Row:
    row = conn.execute(
        "SELECT v.*, p.body_text, p.hidden, p.position, p.author_id, t.accepted_post_id, "
        "t.status AS thread_status, coalesce(m.username, '(unknown)') AS author "
        "FROM verifications v JOIN posts p ON p.id = v.post_id "
        "JOIN threads t ON t.id = p.thread_id "
        "LEFT JOIN members m ON m.id = p.author_id WHERE v.post_id = ?",
        (post_id,),
    ).fetchone()
    if row is None:
        if conn.execute("SELECT 1 FROM posts WHERE id = ?", (post_id,)).fetchone() is None:
            raise NotFound(
                f"Answer {post_id} is no longer {dialect_of(conn).where} "
                "(deleted on the platform?); "
                "nothing was changed"
            )
        raise InvalidDecision(f"Answer {post_id} has not been scored yet; open it first")
    return cast(Row, row)


def _check_unchanged(row: Row, params: dict[str, Any]) -> None:
    expected = params.get("expected_hash")
    if row["hidden"]:
        raise InvalidDecision(
            f"Conflict: answer {row['post_id']} was hidden or removed since it was shown; "
            "nothing was changed"
        )
    if expected and expected != body_hash(row["body_text"]):
        raise InvalidDecision(
            f"Conflict: answer {row['post_id']} was edited on the platform since it was shown; "
            "read it again and decide again (nothing was changed)"
        )


def _snapshot(row: Row | dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in MUTABLE}


def _set(conn: Connection, post_id: int, actor: str, values: dict[str, Any]) -> None:
    sets = ", ".join(f"{key} = ?" for key in values)
    conn.execute(
        f"UPDATE verifications SET {sets}, updated_by = ?, updated_at = ? WHERE post_id = ?",
        (*values.values(), actor, now_iso(), post_id),
    )


def _new_review(
    conn: Connection,
    record: _Record,
    row: Row,
    kind: str,
    first_by: str,
    first_state: str,
    reason: str = "",
) -> int:
    cursor = conn.execute(
        "INSERT INTO verification_reviews (verification_id, post_id, kind, first_by, "
        "first_state, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (row["id"], row["post_id"], kind, first_by, first_state, reason, now_iso()),
    )
    review_id = int(cursor.fetchone()[0])
    record.reviews_created.append(review_id)
    return review_id


def _close_review(
    conn: Connection,
    record: _Record,
    review_id: int,
    *,
    reviewer: str,
    review_state: str | None,
    state: str,
) -> None:
    before = conn.execute(
        "SELECT reviewer, review_state, state, decided_at FROM verification_reviews WHERE id = ?",
        (review_id,),
    ).fetchone()
    record.reviews_before.setdefault(str(review_id), {k: before[k] for k in REVIEW_MUTABLE})
    conn.execute(
        "UPDATE verification_reviews SET reviewer = ?, review_state = ?, state = ?, "
        "decided_at = ? WHERE id = ?",
        (reviewer, review_state, state, now_iso(), review_id),
    )


def _close_rechecks(conn: Connection, record: _Record, row: Row, actor: str) -> None:
    for (review_id,) in conn.execute(
        "SELECT id FROM verification_reviews WHERE verification_id = ? AND kind = 'recheck' "
        "AND state = 'open'",
        (row["id"],),
    ).fetchall():
        _close_review(conn, record, int(review_id), reviewer=actor, review_state=None, state="done")


def _calibration_draw(post_id: int, actor: str, stamp: str) -> float:
    digest = hashlib.sha256(f"{post_id}|{actor}|{stamp}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _contest(row: Row, action: str, state: str) -> str | None:
    accepted = row["accepted_post_id"]
    if action == PICK and accepted is not None and accepted != row["post_id"]:
        return "overturns the asker's accepted answer"
    if state == "rejected" and accepted == row["post_id"]:
        return "overturns the asker's accepted answer"
    if state == "verified" and int(row["payout_minor"]) > 0:
        return f"earns a payout of {int(row['payout_minor'])} (minor units)"
    return None


def _change(
    row: Row,
    record: _Record,
    before: dict[str, Any],
    conn: Connection,
    outbox_action: str,
    payload: dict[str, Any],
) -> decisions.Change:
    after_row = conn.execute(
        "SELECT * FROM verifications WHERE post_id = ?", (row["post_id"],)
    ).fetchone()
    after: dict[str, Any] = {
        **_snapshot(after_row),
        "accepted_post_id": record.accepted_after,
        "reviews_created": record.reviews_created,
        "reviews_before": record.reviews_before,
        "platform": outbox_action not in INTERNAL,
    }
    full_before = {**before, "accepted_post_id": record.accepted_before}
    return decisions.Change(
        "post",
        int(row["post_id"]),
        int(row["thread_id"]),
        full_before,
        after,
        outbox_action,
        {"post_id": int(row["post_id"]), "thread_id": int(row["thread_id"]), **payload},
    )


INTERNAL = frozenset(
    {"verify_propose", "verify_reject", "verify_disagree", "verify_calibrate", "verify_undo"}
)


def _finalise(
    conn: Connection,
    row: Row,
    record: _Record,
    *,
    action: str,
    state: str,
    decided_by: str,
    second_by: str | None,
    reason_code: str | None,
    text: str,
    params: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    """Make the decision final; returns the outbox action and payload."""
    stamp = now_iso()
    values: dict[str, Any] = {
        "state": state,
        "decided_by": decided_by,
        "decided_at": stamp,
        "second_by": second_by,
        "proposed_state": None,
        "proposed_action": None,
        "proposed_by": None,
        "proposed_os_user": None,
        "proposed_at": None,
        "recheck": None,
        "reject_reason": reason_code if state == "rejected" else None,
        "note": text or None,
    }
    _set(conn, row["post_id"], str(params.get("actor", "")), values)
    _close_rechecks(conn, record, row, str(params.get("actor", "")))
    share = float(params.get("calibration_share", 0.0))
    drawn = _calibration_draw(row["post_id"], decided_by, stamp)
    if second_by is None and share > 0 and drawn < share:
        _new_review(conn, record, row, "calibration", decided_by, state)
    if state == "rejected":
        label = REJECT_REASONS.get(reason_code or "", reason_code or "")
        return "verify_reject", {"reason": label, "text": text}
    accept = False
    if action == PICK or row["accepted_post_id"] is None:
        record.accepted_before = row["accepted_post_id"]
        record.accepted_after = int(row["post_id"])
        conn.execute(
            "UPDATE threads SET accepted_post_id = ?, "
            "status = CASE WHEN status IN ('open', 'answered') THEN 'solved' ELSE status END "
            "WHERE id = ?",
            (row["post_id"], row["thread_id"]),
        )
        accept = True
    return VERIFY, {"accept": accept, "raw": OFFICIAL_NOTE + (f"\n\n{text}" if text else "")}


def _decide(
    conn: Connection,
    post_id: int,
    params: dict[str, Any],
    *,
    action: str,
    state: str,
    reason_code: str | None = None,
) -> decisions.Change:
    actor = str(params.get("actor", ""))
    row = _answer(conn, post_id)
    _check_unchanged(row, params)
    if row["proposed_state"]:
        raise InvalidDecision(
            f"Answer {post_id}: {row['proposed_by']} proposed '{row['proposed_state']}' and it "
            "awaits a second moderator: confirm or disagree instead"
        )
    if row["state"] in ("verified", "rejected"):
        raise InvalidDecision(
            f"Answer {post_id} is already {row['state']} (by {row['decided_by']}); undo that first"
        )
    text = str(params.get("text") or "").strip()
    before = _snapshot(row)
    record = _fresh_record(row)
    contested = _contest(row, action, state)
    if contested:
        _set(
            conn,
            post_id,
            actor,
            {
                "proposed_state": state,
                "proposed_action": action,
                "proposed_by": actor,
                "proposed_os_user": str(params["os_user"]),
                "proposed_at": now_iso(),
                "contested": contested,
                "reject_reason": reason_code,
                "note": text or None,
            },
        )
        _new_review(conn, record, row, "four_eyes", actor, state, contested)
        return _change(
            row, record, before, conn, "verify_propose", {"proposed": state, "why": contested}
        )
    outbox_action, payload = _finalise(
        conn,
        row,
        record,
        action=action,
        state=state,
        decided_by=actor,
        second_by=None,
        reason_code=reason_code,
        text=text,
        params=params,
    )
    return _change(row, record, before, conn, outbox_action, payload)


def _apply_verify(conn: Connection, post_id: int, params: dict[str, Any]) -> decisions.Change:
    return _decide(conn, post_id, params, action=VERIFY, state="verified")


def _apply_pick(conn: Connection, post_id: int, params: dict[str, Any]) -> decisions.Change:
    return _decide(conn, post_id, params, action=PICK, state="verified")


def _apply_reject(conn: Connection, post_id: int, params: dict[str, Any]) -> decisions.Change:
    code = str(params.get("reason") or "")
    if code not in REJECT_REASONS:
        raise InvalidDecision(
            f"A rejection needs a reason, one of: {', '.join(REJECT_REASONS)} (got {code!r})"
        )
    return _decide(conn, post_id, params, action=REJECT, state="rejected", reason_code=code)


def _apply_needs_edit(conn: Connection, post_id: int, params: dict[str, Any]) -> decisions.Change:
    actor = str(params.get("actor", ""))
    note = str(params.get("text") or "").strip()
    if not note:
        raise InvalidDecision("Needs-edit needs a note to the author saying what to change")
    row = _answer(conn, post_id)
    _check_unchanged(row, params)
    if row["state"] != "pending" or row["proposed_state"]:
        raise InvalidDecision(
            f"Answer {post_id} is {row['state']}; a needs-edit note applies to a pending answer"
        )
    before = _snapshot(row)
    record = _fresh_record(row)
    _set(
        conn,
        post_id,
        actor,
        {"state": "needs_edit", "decided_by": actor, "decided_at": now_iso(), "note": note},
    )
    _close_rechecks(conn, record, row, actor)
    raw = (
        f"@{row['author']} a moderator asks you to edit your answer (reply #{row['position']}): "
        f"{note}"
    )
    return _change(row, record, before, conn, "reply", {"raw": raw, "to": row["author"]})


def _apply_confirm(conn: Connection, post_id: int, params: dict[str, Any]) -> decisions.Change:
    actor = str(params.get("actor", ""))
    row = _answer(conn, post_id)
    _check_unchanged(row, params)
    if not row["proposed_state"]:
        raise InvalidDecision(f"Answer {post_id} has no proposal waiting for a second moderator")
    agree = bool(params.get("agree", True))
    _refuse_same_person(row, actor, str(params["os_user"]), agree=agree)
    shown = params.get("proposal")  # [state, proposer] as the moderator was shown it
    if shown is not None and list(shown) != [row["proposed_state"], row["proposed_by"]]:
        raise InvalidDecision(
            f"Conflict: answer {post_id}'s proposal changed since it was shown (it is now "
            f"{row['proposed_state']} by {row['proposed_by']}); read it again and decide "
            "again (nothing was changed)"
        )
    before = _snapshot(row)
    record = _fresh_record(row)
    review = conn.execute(
        "SELECT id FROM verification_reviews WHERE verification_id = ? AND kind = 'four_eyes' "
        "AND state = 'open' ORDER BY id DESC LIMIT 1",
        (row["id"],),
    ).fetchone()
    if review is not None:
        _close_review(
            conn,
            record,
            int(review[0]),
            reviewer=actor,
            review_state=row["proposed_state"] if agree else "disagree",
            state="agreed" if agree else "disagreed",
        )
    if not agree:
        _set(
            conn,
            post_id,
            actor,
            {
                "proposed_state": None,
                "proposed_action": None,
                "proposed_by": None,
                "proposed_os_user": None,
                "proposed_at": None,
            },
        )
        return _change(row, record, before, conn, "verify_disagree", {"with": row["proposed_by"]})
    outbox_action, payload = _finalise(
        conn,
        row,
        record,
        action=str(row["proposed_action"]),
        state=str(row["proposed_state"]),
        decided_by=str(row["proposed_by"]),
        second_by=actor,
        reason_code=row["reject_reason"],
        text=str(row["note"] or ""),
        params=params,
    )
    return _change(row, record, before, conn, outbox_action, payload)


def _refuse_same_person(row: Row, actor: str, os_user: str, *, agree: bool) -> None:
    """InvalidDecision if `actor`, under the OS account `os_user`, is the proposer of `row`'s
    proposal; or, to agree, if the proposal's account is unknown (then nobody can tell)."""
    proposer, account = str(row["proposed_by"]), row["proposed_os_user"]
    if proposer == actor:
        raise InvalidDecision(
            f"Four-eyes: {actor} proposed this; a second, different moderator must confirm it"
        )
    if same_person(proposer, account, actor, os_user):
        raise InvalidDecision(
            f"Four-eyes: {actor} runs under the OS account {os_user}, which proposed this as "
            f"{proposer}; another name on the same account is the same person. A moderator "
            "with an OS account of their own must confirm it."
        )
    if account is None and agree:
        raise InvalidDecision(
            f"Four-eyes: {proposer}'s proposal has no OS account recorded (it was made before "
            "peerdesk kept one), so nobody can tell whether you are the same person and it "
            "cannot be confirmed. Disagree instead to send it back to pending; proposed again, "
            "it can be confirmed."
        )


def _apply_calibrate(conn: Connection, post_id: int, params: dict[str, Any]) -> decisions.Change:
    actor = str(params.get("actor", ""))
    state = str(params.get("state") or "")
    if state not in ("verified", "rejected"):
        raise InvalidDecision("A calibration answer is 'verified' or 'rejected'")
    row = _answer(conn, post_id)
    _check_unchanged(row, params)
    review = conn.execute(
        "SELECT id, first_by, first_state FROM verification_reviews WHERE verification_id = ? "
        "AND kind = 'calibration' AND state = 'open' ORDER BY id LIMIT 1",
        (row["id"],),
    ).fetchone()
    if review is None:
        raise InvalidDecision(f"Answer {post_id} has no calibration item open")
    if review["first_by"] == actor:
        raise InvalidDecision("A calibration item goes to a moderator other than the first one")
    before = _snapshot(row)
    record = _fresh_record(row)
    agreed = state == review["first_state"]
    _close_review(
        conn,
        record,
        int(review["id"]),
        reviewer=actor,
        review_state=state,
        state="agreed" if agreed else "disagreed",
    )
    return _change(
        row, record, before, conn, "verify_calibrate", {"second": state, "agreed": agreed}
    )


def _revert(conn: Connection, recorded: dict[str, Any]) -> decisions.Change:
    post_id = int(recorded["target_id"])
    before, after = recorded["before"], recorded["after"]
    row = conn.execute("SELECT * FROM verifications WHERE post_id = ?", (post_id,)).fetchone()
    if row is None:
        raise InvalidDecision(f"The verification of answer {post_id} is gone; nothing to undo")
    # an entry written before migration 40 has no proposed_os_user: compared without it, and
    # undone to none (a proposal it puts back is one whose account is unknown)
    known = [k for k in MUTABLE if k in after]
    current = _snapshot(row)
    if {k: current[k] for k in known} != {k: after[k] for k in known}:
        raise InvalidDecision(
            f"Answer {post_id} changed since (it is now {row['state']}); undo would overwrite that"
        )
    actor = str(recorded.get("actor") or "")
    values = {k: before.get(k) for k in MUTABLE}
    recheck = None
    if after["state"] == "verified" and before["state"] != "verified":
        recheck = f"verified by {after['decided_by']}, then undone"
        values["recheck"] = recheck
    _set(conn, post_id, actor or "undo", values)
    if after["accepted_post_id"] != before["accepted_post_id"]:
        conn.execute(
            "UPDATE threads SET accepted_post_id = ? WHERE id = ? AND accepted_post_id = ?",
            (before["accepted_post_id"], row["thread_id"], after["accepted_post_id"]),
        )
    for review_id in after.get("reviews_created", []):
        conn.execute("DELETE FROM verification_reviews WHERE id = ?", (review_id,))
    for review_id, fields in after.get("reviews_before", {}).items():
        conn.execute(
            "UPDATE verification_reviews SET reviewer = ?, review_state = ?, state = ?, "
            "decided_at = ? WHERE id = ?",
            (*(fields[k] for k in REVIEW_MUTABLE), int(review_id)),
        )
    if recheck:
        conn.execute(
            "INSERT INTO verification_reviews (verification_id, post_id, kind, first_by, "
            "first_state, reason, created_at) VALUES (?, ?, 'recheck', ?, 'verified', ?, ?)",
            (row["id"], post_id, after["decided_by"], recheck, now_iso()),
        )
    payload: dict[str, Any] = {"post_id": post_id, "thread_id": int(row["thread_id"])}
    action = "verify_undo"
    if after.get("platform") and after["state"] == "verified":
        action = "unverify_answer"
        payload["restore_accepted_id"] = before["accepted_post_id"]
        payload["was_accepted_by_us"] = after["accepted_post_id"] != before["accepted_post_id"]
    return decisions.Change(
        "post",
        post_id,
        int(row["thread_id"]),
        {k: after.get(k) for k in MUTABLE},
        {k: before.get(k) for k in MUTABLE},
        action,
        payload,
    )


for _action, _apply in (
    (VERIFY, _apply_verify),
    (PICK, _apply_pick),
    (REJECT, _apply_reject),
    (NEEDS_EDIT, _apply_needs_edit),
    (CONFIRM, _apply_confirm),
    (CALIBRATE, _apply_calibrate),
):
    decisions.register(decisions.Kind(_action, _action, _apply, _revert, decisions.thread_of_post))


def reasons_of(row_reasons: str) -> list[dict[str, Any]]:
    """The stored reasons JSON as a list (an unreadable value reads as no reasons)."""
    try:
        value = json.loads(row_reasons)
    except ValueError:
        return []
    return value if isinstance(value, list) else []
