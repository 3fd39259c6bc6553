"""The payout flow attacked as a dishonest approver or staff member would, on both engines
(the cache file, and the team database with each person on their own database role).

What already held is tested where it lives: the preparer never approves, under an override
either (test_door_attacks.py); the same person never approves twice, an approval is never
taken back or replayed after the batch is approved, lines are frozen after the first approval
(test_payouts.py, tests/team/test_ledger_attacks.py); money that would overflow 64 bits, go
negative or need rounding is refused in the schedule (test_schedule.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from console.db import Cache
from console.desk import Desk
from console.errors import InvalidDecision
from console.rewards import actions, bans, ledger, payouts
from console.rewards import export as exports

from .conftest import superuser_sql

pytestmark = pytest.mark.backends


def _state(cache: Cache, batch: int) -> tuple[str, list[str]]:
    row = cache.one("SELECT state FROM payout_batches WHERE id = ?", (batch,))
    approvers = cache.query(
        "SELECT approver FROM payout_approvals WHERE batch_id = ? ORDER BY approver", (batch,)
    )
    return str(row[0]) if row else "", [str(r[0]) for r in approvers]


def test_an_approver_never_approves_a_payout_to_an_account_of_their_own(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int], request: pytest.FixtureRequest
) -> None:
    """h1's account is called Tom; the voter v1 is called una and a moderator linked v1 and h2
    as one person. Neither tom nor una may approve October's batch (it pays h1 and h2), and the
    refusals wrote nothing; once a moderator says v1 and h2 are not one person, una can."""
    h1, h2, v1 = ids["member:h1"], ids["member:h2"], ids["member:v1"]
    low, high = sorted((v1, h2))
    superuser_sql(
        cache,
        request,
        f"UPDATE members SET username = 'Tom' WHERE id = {h1}",
        f"UPDATE members SET username = 'una' WHERE id = {v1}",
        "INSERT INTO member_links (member_id, other_id, linked, decided_by, decided_at) "
        f"VALUES ({low}, {high}, 1, 'alice', '2026-11-01T00:00:00Z')",
    )
    batch = staff["priya"].rewards.prepare("2026-10").batch_id
    audit = cache.query("SELECT count(*) FROM audit")
    with pytest.raises(InvalidDecision, match=r"tom .*cannot approve batch .* pays Tom \(line"):
        staff["tom"].rewards.approve(batch)
    with pytest.raises(InvalidDecision, match=r"una .*pays h2 \(line .* linked"):
        staff["una"].rewards.approve(batch)
    assert _state(cache, batch) == ("prepared", [])
    assert cache.query("SELECT count(*) FROM audit") == audit
    superuser_sql(cache, request, "UPDATE member_links SET linked = 0")  # "not one person"
    staff["una"].rewards.approve(batch)
    staff["ada"].rewards.approve(batch)
    assert _state(cache, batch) == ("approved", ["ada", "una"])


def test_a_ban_stops_a_payout_still_waiting_for_approval(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int], request: pytest.FixtureRequest
) -> None:
    """h1 is banned after the batch got its first approval: h1's line is held (and given back
    at approval, never exported), not paid to a banned member. A ready line of a banned member
    written past the ban (the backstop) stops the approval."""
    h1, h2 = ids["member:h1"], ids["member:h2"]
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    staff["tom"].rewards.approve(batch)
    staff["una"].rewards.ban(h1, "voting ring")
    lines = {line.member_id: line for line in rewards.lines(batch)}
    assert lines[h1].state == "held" and "banned" in lines[h1].history[-1]["reason"]
    assert lines[h2].state == "ready"
    superuser_sql(
        cache,
        request,
        "INSERT INTO reward_bans (member_id, banned_by, banned_at, reason) "
        f"VALUES ({h2}, 'una', '2026-11-19T00:00:00Z', 'written past peerdesk')",
    )
    with pytest.raises(InvalidDecision, match=r"pays h2 \(line .*banned from rewards"):
        staff["ada"].rewards.approve(batch)
    rewards.batch(batch)  # (still readable, unchanged)
    assert _state(cache, batch) == ("prepared", ["tom"])


def _while_written(
    desk: Desk,
    action: str,
    target_kind: str,
    change: Callable[[Any], payouts.Outcome],
    other: Callable[[], str],
) -> tuple[payouts.Outcome, bool, str]:
    """`desk` does `change` (on a `target_kind`) through its door and, with it written but not committed, `other`
    (another console's try) starts in a thread: (the outcome, whether `other` was still
    waiting 2 s later, what `other` said: its text or its refusal)."""
    said: list[str] = []

    def attempt() -> None:
        try:
            said.append(other())
        except InvalidDecision as refused:
            said.append(str(refused))

    helper = threading.Thread(target=attempt)
    waited: list[bool] = []

    def meanwhile(conn: Any) -> payouts.Outcome:
        outcome = change(conn)
        helper.start()
        helper.join(timeout=2.0)  # the other console waits for this transaction
        waited.append(helper.is_alive())
        return outcome

    outcome = desk.door.act(
        action,
        meanwhile,
        target_kind=target_kind,
        target_id=lambda done: done.target_id,
        detail=lambda done: done.detail,
    )
    helper.join(timeout=60)
    return outcome, waited == [True], said[0] if said else ""


def test_two_consoles_approving_one_batch_at_once_take_turns(
    cache: Cache, staff: dict[str, Desk], console_of: Callable[[str], Desk]
) -> None:
    """tom's approval is written but not committed when una approves at her console: she
    waits for it (the batch's row is locked), counts it, and completes the four-eyes. Before,
    on the team database each counted only their own and the batch stayed `prepared` with two
    approvals."""
    batch = staff["priya"].rewards.prepare("2026-10").batch_id
    assert staff["tom"].rewards.batch(batch).approvals_needed == 2
    una = console_of("una")
    outcome, waited, said = _while_written(
        staff["tom"],
        actions.APPROVE,
        "payout_batch",
        lambda conn: payouts.approve(conn, staff["tom"].who, batch_id=batch),
        lambda: una.rewards.approve(batch),
    )
    assert "approval 1 of 2" in outcome.text
    assert waited and "approved (2 of 2)" in said
    assert _state(cache, batch) == ("approved", ["tom", "una"])


def _audit_actions(cache: Cache, since: int) -> list[tuple[str, str]]:
    return [
        (str(r[0]), str(r[1]))
        for r in cache.query("SELECT action, detail FROM audit WHERE id > ? ORDER BY id", (since,))
    ]


def _newest_audit(cache: Cache) -> int:
    return int(cache.query("SELECT coalesce(max(id), 0) FROM audit")[0][0])


def test_a_banned_members_held_line_stays_held_and_never_returns_to_their_balance(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int]
) -> None:
    """h1 is banned between the batch's two approvals: the ban reverses h1's balance and holds
    the line. Approval used to give the held line back (a `payout_return`), leaving a banned
    member a positive balance to be paid later. Now the line stays held in the approved batch
    (visible as held, with why), its money neither on the balance nor exported, and the
    approval says so in its text and its audit entry."""
    h1 = ids["member:h1"]
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    line = {v.member_id: v for v in rewards.lines(batch)}[h1]
    staff["tom"].rewards.approve(batch)
    staff["una"].rewards.ban(h1, "voting ring")
    assert rewards.balance(h1) == (0, 0)
    before = _newest_audit(cache)
    said = staff["ada"].rewards.approve(batch)
    assert "approved" in said and "1 line of a banned member stays held" in said
    after = {v.member_id: v for v in rewards.lines(batch)}[h1]
    assert after.state == "held" and "banned" in after.history[-1]["reason"]
    assert rewards.balance(h1) == (0, 0)
    assert rewards.batch(batch).held_minor == line.amount_minor
    assert not cache.query(
        "SELECT id FROM ledger WHERE kind = 'payout_return' AND member_id = ?", (h1,)
    )
    [(action, detail)] = _audit_actions(cache, before)
    assert action == "payout_approve" and '"kept_held_banned": 1' in detail
    made = rewards.export(batch, None, None)
    assert b"h1@example.com" not in made.json
    # an appeal upheld does not give a banned member the money either
    appeal = staff["alice"].rewards.appeal(line.line_id, "I was not in a ring")
    said = staff["tom"].rewards.decide_appeal(appeal, True, "the votes look honest")
    assert f"line {line.line_id} stays held: the member is banned from rewards" in said
    assert rewards.balance(h1) == (0, 0)
    assert ledger.verify(cache).ok


def test_a_failed_payment_to_a_member_banned_after_the_export_is_not_returned(
    tmp_path: Path, cache: Cache, staff: dict[str, Desk], ids: dict[str, int]
) -> None:
    """The provider has the file when h1 is banned; it reports h1's item failed. The money
    used to come back to h1's balance (a `payout_return`) for a later batch; it stays out of
    it, the line says why, and the result's audit entry and counts say so."""
    h1 = ids["member:h1"]
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    staff["tom"].rewards.approve(batch)
    staff["una"].rewards.approve(batch)
    made = rewards.export(batch, None, None)
    staff["una"].rewards.ban(h1, "voting ring")
    body = json.loads(made.json)
    line = {v.member_id: v for v in rewards.lines(batch)}[h1]
    result = tmp_path / "result.csv"
    result.write_text(
        "sender_item_id,amount,currency,status\n"
        + "".join(
            f"{item['sender_item_id']},{item['amount']['value']},GBP,"
            f"{'FAILED' if item['sender_item_id'].endswith(f'-line-{line.line_id}') else 'SUCCESS'}\n"
            for item in body["items"]
        )
    )
    before = _newest_audit(cache)
    counts = rewards.mark_results(batch, result)
    assert counts["failed"] == 1 and counts["not_returned"] == 1
    after = {v.member_id: v for v in rewards.lines(batch)}[h1]
    assert after.state == "failed" and "banned" in after.history[-1]["reason"]
    assert rewards.balance(h1) == (0, 0)
    [(action, detail)] = _audit_actions(cache, before)
    assert action == "payout_mark_paid" and '"not_returned": 1' in detail
    assert ledger.verify(cache).ok


def test_a_member_banned_after_approval_is_not_exported(
    tmp_path: Path,
    cache: Cache,
    staff: dict[str, Desk],
    ids: dict[str, int],
    request: pytest.FixtureRequest,
) -> None:
    """The batch is approved, not exported. A ban through peerdesk holds h1's line at once;
    a ban written past peerdesk (an older client, a hand edit) of h2 is caught by the export,
    which holds h2's line first (one audit entry), tells the operator, and leaves both out of
    the file; neither line's money goes back to a balance."""
    h1, h2 = ids["member:h1"], ids["member:h2"]
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    staff["tom"].rewards.approve(batch)
    staff["una"].rewards.approve(batch)
    assert rewards.batch(batch).state == "approved"
    staff["una"].rewards.ban(h1, "voting ring")
    lines = {v.member_id: v for v in rewards.lines(batch)}
    assert lines[h1].state == "held" and "banned" in lines[h1].history[-1]["reason"]
    superuser_sql(
        cache,
        request,
        "INSERT INTO reward_bans (member_id, banned_by, banned_at, reason) "
        f"VALUES ({h2}, 'una', '2026-11-19T00:00:00Z', 'written past peerdesk')",
    )
    with pytest.raises(InvalidDecision, match=r"pays h2 \(line .*banned.*Nothing was written"):
        exports.write(  # the files alone, without the hold first
            cache.conn,
            staff["priya"].who,
            batch_id=batch,
            csv_path=tmp_path / "b.csv",
            json_path=None,
        )
    assert not (tmp_path / "b.csv").exists()
    before = _newest_audit(cache)
    made = rewards.export(batch, None, None)
    assert made.held == ((lines[h2].line_id, "h2"),)
    assert f"held line {lines[h2].line_id} (h2)" in made.notice
    assert b"h1@example.com" not in made.json and b"h2@example.com" not in made.json
    lines = {v.member_id: v for v in rewards.lines(batch)}
    assert lines[h2].state == "held" and "banned" in lines[h2].history[-1]["reason"]
    actions_written = _audit_actions(cache, before)
    assert [a for a, _ in actions_written] == ["payout_hold", "payout_export"]
    assert f'"lines": [{lines[h2].line_id}]' in actions_written[0][1]
    assert rewards.batch(batch).state == "exported"
    assert not cache.query("SELECT id FROM ledger WHERE kind = 'payout_return'")
    assert ledger.verify(cache).ok


def test_a_line_changed_past_peerdesk_is_neither_approved_nor_exported(
    tmp_path: Path,
    cache: Cache,
    staff: dict[str, Desk],
    ids: dict[str, int],
    request: pytest.FixtureRequest,
) -> None:
    """Whoever can write the store (a member of the cache file's group, the server's owner)
    multiplies h1's amount by 100 on the payout line past peerdesk. Before, the approval and
    the export took the line as it stood: the provider's file paid 100 times what four-eyes
    approved (only `ledger verify` noticed). Now both compare every line to be paid with its
    payout entry in the hash-chained ledger and refuse, writing nothing."""
    h1 = ids["member:h1"]
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    line = next(v for v in rewards.lines(batch) if v.member_id == h1)
    inflate = f"UPDATE payout_lines SET amount_minor = amount_minor * 100 WHERE id = {line.line_id}"
    restore = f"UPDATE payout_lines SET amount_minor = amount_minor / 100 WHERE id = {line.line_id}"
    past_triggers = () if cache.dialect.is_sqlite else ("SET session_replication_role = replica",)
    superuser_sql(cache, request, *past_triggers, inflate)
    audit = _newest_audit(cache)
    with pytest.raises(InvalidDecision, match=rf"line {line.line_id} \(h1\).*ledger verify"):
        staff["tom"].rewards.approve(batch)
    assert _state(cache, batch) == ("prepared", [])
    superuser_sql(cache, request, *past_triggers, restore)
    staff["tom"].rewards.approve(batch)
    staff["una"].rewards.approve(batch)
    superuser_sql(cache, request, *past_triggers, inflate)
    audit = _newest_audit(cache)
    with pytest.raises(InvalidDecision, match=rf"line {line.line_id} \(h1\).*Nothing was written"):
        rewards.export(batch, tmp_path / "b.csv", tmp_path / "b.json")
    assert not (tmp_path / "b.csv").exists() and not (tmp_path / "b.json").exists()
    assert _audit_actions(cache, audit) == []
    assert rewards.batch(batch).state == "approved"


def test_an_approval_names_the_lines_it_saw(cache: Cache, staff: dict[str, Desk]) -> None:
    """tom read the batch with h1's line held; priya released it before he approved. The
    approval carries the lines he was shown (`BatchView.seen`) and is refused, writing
    nothing; approving what he reads again goes ahead."""
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    line = rewards.lines(batch)[0]
    rewards.hold(line.line_id, "checking with the member")
    shown = staff["tom"].rewards.batch(batch)
    rewards.release(line.line_id, "the member explained")
    audit = _newest_audit(cache)
    with pytest.raises(InvalidDecision, match=r"Batch \d+ changed since you looked at it"):
        staff["tom"].rewards.approve(batch, shown.seen)
    assert _state(cache, batch) == ("prepared", []) and _audit_actions(cache, audit) == []
    again = staff["tom"].rewards.batch(batch)
    assert again.seen != shown.seen
    assert "approval 1 of 2" in staff["tom"].rewards.approve(batch, again.seen)
    assert _state(cache, batch) == ("prepared", ["tom"])


def test_a_line_held_while_the_batch_is_approved_waits_and_is_refused(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int], console_of: Callable[[str], Desk]
) -> None:
    """priya holds h1's line at her second console while tom's approval (the one this batch
    needs once h2's line is held) is written but not committed. Her hold waits for it and is
    refused: the batch is approved. Before, on the team database the hold went through
    past the approval, leaving a held line in an approved batch: neither paid nor given back
    to h1's balance, in a batch tom approved with it ready."""
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    lines = {line.member_id: line for line in rewards.lines(batch)}
    rewards.hold(lines[ids["member:h2"]].line_id, "checking with the member")
    assert staff["tom"].rewards.batch(batch).approvals_needed == 1
    line = lines[ids["member:h1"]].line_id
    priya = console_of("priya")

    def hold() -> str:
        priya.rewards.hold(line, "one more check")
        return "held"

    _outcome, waited, said = _while_written(
        staff["tom"],
        actions.APPROVE,
        "payout_batch",
        lambda conn: payouts.approve(conn, staff["tom"].who, batch_id=batch),
        hold,
    )
    assert waited and said == f"Line {line} cannot change: batch {batch} is approved"
    assert _state(cache, batch) == ("approved", ["tom"])
    states = {view.member_id: view.state for view in rewards.lines(batch)}
    assert states == {ids["member:h1"]: "ready", ids["member:h2"]: "returned"}


def test_an_appeal_decided_at_two_consoles_at_once_is_decided_once(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int], console_of: Callable[[str], Desk]
) -> None:
    """tom denies alice's appeal while una, at her own console, upholds it. una's decision
    waits for tom's and is refused: it was already denied. Before, on the team database both
    read it undecided and una's overwrote tom's (two audited decisions of one appeal, the last
    one standing, h1's line released after tom's denial)."""
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    line = {view.member_id: view for view in rewards.lines(batch)}[ids["member:h1"]].line_id
    rewards.hold(line, "checking with the member")
    appeal = staff["alice"].rewards.appeal(line, "I did answer those")
    una = console_of("una")
    _outcome, _waited, said = _while_written(
        staff["tom"],
        actions.APPEAL_DECIDE,
        "payout_line",
        lambda conn: payouts.decide_appeal(
            conn, staff["tom"].who, appeal_id=appeal, uphold=False, reason="a voting ring"
        ),
        lambda: una.rewards.decide_appeal(appeal, True, "the answers are real"),
    )
    assert said == f"Appeal {appeal} was already denied"
    [decided] = staff["tom"].rewards.appeals()
    assert (decided["decision"], decided["decided_by"]) == ("denied", "tom")
    assert {v.line_id: v.state for v in rewards.lines(batch)}[line] == "held"
    decided_entries = cache.query(
        "SELECT count(*) FROM audit WHERE action = ?", (actions.APPEAL_DECIDE,)
    )
    assert decided_entries[0][0] == 1


def test_a_ban_while_the_export_files_are_written_is_not_paid(
    tmp_path: Path,
    cache: Cache,
    staff: dict[str, Desk],
    ids: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    console_of: Callable[[str], Desk],
) -> None:
    """una bans h1 (holding h1's line) after priya's export wrote its files and before it
    marked the batch exported. The export is refused and its files removed, the batch stays
    approved, and exporting again writes files without h1. Before, the batch was recorded
    exported with files paying h1, whose line was held: the provider paid a banned member,
    and every result file after was refused (it named a line no longer to be paid)."""
    h1 = ids["member:h1"]
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    staff["tom"].rewards.approve(batch)
    staff["una"].rewards.approve(batch)
    una = console_of("una")
    write = exports.write

    def write_then_ban(*args: Any, **kw: Any) -> exports.Export:
        made = write(*args, **kw)
        if not una.cache.query("SELECT 1 FROM reward_bans"):
            una.rewards.ban(h1, "voting ring")
        return made

    monkeypatch.setattr(exports, "write", write_then_ban)
    out = tmp_path / "b.json"
    with pytest.raises(InvalidDecision, match=rf"Batch {batch} changed while .*Export it again"):
        rewards.export(batch, None, out)
    assert rewards.batch(batch).state == "approved" and not out.exists()
    made = rewards.export(batch, None, out)
    assert b"h1@example.com" not in made.json and b"h1@example.com" not in out.read_bytes()
    assert b"h2@example.com" in made.json
    assert rewards.batch(batch).state == "exported"
    assert {v.member_id: v.state for v in rewards.lines(batch)}[h1] == "held"


def test_a_line_and_its_payout_entry_changed_together_are_not_exported(
    tmp_path: Path,
    cache: Cache,
    staff: dict[str, Desk],
    ids: dict[str, int],
    request: pytest.FixtureRequest,
) -> None:
    """The same edit of an approved batch, with the line's payout entry in the ledger edited
    to match (its append-only trigger set aside): the line agrees with the ledger, but the
    entry's hash no longer does, or, rehashed, the next entry no longer chains to it. The
    export checks the hashes of the entries it pays by and refuses, writing nothing."""
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    staff["tom"].rewards.approve(batch)
    staff["una"].rewards.approve(batch)
    line = next(v for v in rewards.lines(batch) if v.member_id == ids["member:h1"])
    past = (
        ("DROP TRIGGER IF EXISTS ledger_no_update",)
        if cache.dialect.is_sqlite
        else ("SET session_replication_role = replica",)
    )
    superuser_sql(
        cache,
        request,
        *past,
        f"UPDATE payout_lines SET amount_minor = amount_minor * 100 WHERE id = {line.line_id}",
        "UPDATE ledger SET amount_minor = amount_minor * 100 "
        f"WHERE kind = 'payout' AND line_id = {line.line_id}",
    )
    with pytest.raises(InvalidDecision, match=rf"line {line.line_id} \(h1\).*ledger entry \d+"):
        rewards.export(batch, tmp_path / "b.csv", tmp_path / "b.json")
    assert not (tmp_path / "b.csv").exists()
    assert rewards.batch(batch).state == "approved"


def test_two_periods_prepared_at_once_pay_each_point_once(
    cache: Cache,
    staff: dict[str, Desk],
    monkeypatch: pytest.MonkeyPatch,
    console_of: Callable[[str], Desk],
) -> None:
    """On 5 December (the ledger accrued), priya prepares October's batch while ada, at her
    own console, prepares November's. ada's waits for priya's and finds October's money paid
    out: November's batch pays nobody. Before, on the team database ada's read the balances
    without October's payout entries (not yet committed) and paid the same points again."""
    monkeypatch.setenv("PEERDESK_NOW", "2026-12-05T12:00:00Z")
    staff["root"].rewards.accrue()
    ada = console_of("ada")
    schedule = staff["priya"].rewards.schedule()

    def prepare_october(conn: Any) -> payouts.Outcome:
        made = payouts.prepare(conn, staff["priya"].who, schedule, period="2026-10")
        return payouts.Outcome("prepared", made.batch_id, made.detail)

    _outcome, _waited, said = _while_written(
        staff["priya"],
        actions.PREPARE,
        "payout_batch",
        prepare_october,
        lambda: str(ada.rewards.prepare("2026-11").lines),
    )
    assert said == "0"
    paid = cache.query(
        "SELECT b.period, count(*) FROM payout_lines l JOIN payout_batches b "
        "ON b.id = l.batch_id GROUP BY b.period ORDER BY b.period"
    )
    assert [tuple(r) for r in paid] == [("2026-10", 2)]


def test_a_result_file_marked_at_two_consoles_at_once_is_marked_once(
    tmp_path: Path, cache: Cache, staff: dict[str, Desk], console_of: Callable[[str], Desk]
) -> None:
    """tom and una both mark the provider's result file (one line paid, one failed) at the
    same moment. una's waits for tom's and finds every line marked already: nothing again.
    Before, on the team database both read the lines ready and each marked them, so every
    line's history and the audit said it was paid (or failed) twice."""
    from .test_payouts import _approved, _result

    batch = _approved(staff)
    made = staff["priya"].rewards.export(batch, None, None)
    path = _result(tmp_path, made.json, {1: "FAILED"})
    una = console_of("una")
    _outcome, _waited, said = _while_written(
        staff["tom"],
        actions.MARK_PAID,
        "payout_batch",
        lambda conn: exports.mark_results(
            conn, staff["tom"].who, batch_id=batch, results=exports.read_results(path)
        ),
        lambda: str(una.rewards.mark_results(batch, path)),
    )
    assert "'paid': 0, 'failed': 0" in said
    marks = cache.query(
        "SELECT h.action, count(*) FROM payout_line_history h JOIN payout_lines l "
        "ON l.id = h.line_id WHERE l.batch_id = ? AND h.action IN ('paid', 'failed') "
        "GROUP BY h.action ORDER BY h.action",
        (batch,),
    )
    assert [tuple(r) for r in marks] == [("failed", 1), ("paid", 1)]


def test_a_ban_while_a_batch_is_prepared_is_not_paid_twice_out_of_the_balance(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int], console_of: Callable[[str], Desk]
) -> None:
    """una bans h1 (reversing h1's whole balance) while priya, at her own console, prepares
    October's batch (the ledger accrued). priya's waits for the ban and leaves h1 out. Before,
    on the team database priya's read h1's balance before the ban's reversal was committed and
    gave h1 a line: the same money taken twice, once by the ban and once by the payout entry
    (h1's balance below zero), in a batch that then paid a banned member's line."""
    h1 = ids["member:h1"]
    staff["root"].rewards.accrue()
    schedule = staff["una"].rewards.schedule()
    priya = console_of("priya")

    def ban_h1(conn: Any) -> payouts.Outcome:
        entry = bans.ban(conn, staff["una"].who, schedule, member_id=h1, reason="voting ring")
        return payouts.Outcome("banned", h1, {"reason": "voting ring", "ledger_entry": entry})

    _outcome, _waited, said = _while_written(
        staff["una"],
        actions.BAN,
        "member",
        ban_h1,
        lambda: str(priya.rewards.prepare("2026-10").batch_id),
    )
    batch = int(said)
    assert h1 not in {line.member_id for line in staff["priya"].rewards.lines(batch)}
    assert ledger.balance(cache, h1) == (0, 0)
    assert ledger.verify(cache).ok
