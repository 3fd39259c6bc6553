"""Payout batches through the domain: prepare, hold/release, four-eyes, export, results."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from console.db import Cache
from console.desk import Desk
from console.errors import InvalidDecision, PermissionRefused
from console.rewards import ledger
from console.rewards.export import ResultFileError

pytestmark = pytest.mark.backends


def _prepared(staff: dict[str, Desk]) -> int:
    return staff["priya"].rewards.prepare("2026-10").batch_id


def test_prepare_pays_members_over_the_threshold_once(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int]
) -> None:
    rewards = staff["priya"].rewards
    view = rewards.prepare("2026-10")
    lines = rewards.lines(view.batch_id)
    assert view.state == "prepared" and view.prepared_by == "priya"
    by_member = {line.username: line for line in lines}
    assert set(by_member) == {"h1", "h2"}  # h3 and h4 earned 3 and 6 points
    assert all(line.points >= 20 for line in lines)
    for line in lines:
        assert line.amount_minor == line.points * 5
        # the money is taken off the balance in the same transaction: it cannot go out twice
        assert ledger.balance(cache, line.member_id) == (0, 0)
    with pytest.raises(InvalidDecision, match="already has a batch"):
        rewards.prepare("2026-10")
    with pytest.raises(InvalidDecision, match="never overlap"):
        rewards.prepare("2026-09")
    with pytest.raises(InvalidDecision, match="once it has ended"):
        rewards.prepare("2026-11")
    assert ledger.verify(cache).ok


def test_only_preparers_prepare(staff: dict[str, Desk]) -> None:
    for who in ("alice", "tom"):
        with pytest.raises(PermissionRefused):
            staff[who].rewards.prepare("2026-10")


def test_four_eyes_in_the_domain(staff: dict[str, Desk]) -> None:
    root = staff["ada"].rewards  # an admin may prepare and approve, but never both
    batch = root.prepare("2026-10").batch_id
    with pytest.raises(InvalidDecision, match="prepared batch .* cannot approve"):
        root.approve(batch)
    with pytest.raises(PermissionRefused):
        staff["priya"].rewards.approve(batch)
    with pytest.raises(PermissionRefused):
        staff["alice"].rewards.approve(batch)
    view = root.batch(batch)
    assert view.ready_minor > view.second_approver_over_minor
    assert view.approvals_needed == 2
    assert "1 of 2" in staff["tom"].rewards.approve(batch)
    with pytest.raises(InvalidDecision, match="someone else"):
        staff["tom"].rewards.approve(batch)
    with pytest.raises(InvalidDecision, match="export"):
        staff["tom"].rewards.export(batch, None, None)
    assert "approved" in staff["una"].rewards.approve(batch)
    assert root.batch(batch).state == "approved"
    assert [a for a, _ in root.batch(batch).approvals] == ["tom", "una"]


def test_one_approver_under_the_limit(staff: dict[str, Desk]) -> None:
    rewards = staff["priya"].rewards
    batch = _prepared(staff)
    lines = rewards.lines(batch)
    keep = min(lines, key=lambda line: line.amount_minor)
    for line in lines:
        if line.line_id != keep.line_id:
            rewards.hold(line.line_id, "checking")
    assert rewards.batch(batch).approvals_needed == 1
    assert "approved (1 of 1)" in staff["tom"].rewards.approve(batch)


def test_hold_release_and_what_held_lines_become(cache: Cache, staff: dict[str, Desk]) -> None:
    rewards = staff["priya"].rewards
    batch = _prepared(staff)
    line = rewards.lines(batch)[0]
    with pytest.raises(InvalidDecision, match="reason"):
        rewards.hold(line.line_id, "  ")
    rewards.hold(line.line_id, "asked by the member")
    rewards.release(line.line_id, "sorted")
    rewards.hold(line.line_id, "looks odd")
    # the rest is under the two-approver amount: one approval is enough
    assert "approved (1 of 1)" in staff["tom"].rewards.approve(batch)
    with pytest.raises(InvalidDecision, match="cannot change: batch 1 is approved"):
        rewards.release(line.line_id, "too late")
    returned = rewards.lines(batch, states=("returned",))
    assert [r.line_id for r in returned] == [line.line_id]
    assert ledger.balance(cache, line.member_id) == (line.points, line.amount_minor)
    assert [h["action"] for h in returned[0].history] == ["hold", "release", "hold", "return"]
    assert ledger.verify(cache).ok


def _approved(staff: dict[str, Desk]) -> int:
    batch = _prepared(staff)
    staff["tom"].rewards.approve(batch)
    staff["una"].rewards.approve(batch)
    return batch


def test_export_is_byte_identical_and_paypal_shaped(tmp_path: Path, staff: dict[str, Desk]) -> None:
    batch = _approved(staff)
    rewards = staff["tom"].rewards
    first = rewards.export(batch, tmp_path / "a.csv", tmp_path / "a.json")
    again = staff["priya"].rewards.export(batch, tmp_path / "b.csv", tmp_path / "b.json")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes() == first.csv
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert first.sha256 == again.sha256
    body = json.loads(first.json)
    view = rewards.batch(batch)
    assert view.state == "exported"
    assert body["sender_batch_header"]["sender_batch_id"] == view.sender_batch_id
    total = sum(int(i["amount"]["value"].replace(".", "")) for i in body["items"])
    assert total == view.ready_minor
    assert {i["receiver"] for i in body["items"]} == {"h1@example.com", "h2@example.com"}
    assert not list(tmp_path.glob(".*partial"))


def _result(
    tmp_path: Path,
    export_json: bytes,
    status: dict[int, str] | None = None,
    amount_delta: int = 0,
    extra: list[dict[str, object]] | None = None,
) -> Path:
    body = json.loads(export_json)
    items = []
    for n, item in enumerate(body["items"]):
        value = item["amount"]["value"]
        if amount_delta and n == 0:
            minor = int(value.replace(".", "")) + amount_delta
            value = f"{minor // 100}.{minor % 100:02d}"
        items.append(
            {
                "payout_item": {
                    "sender_item_id": item["sender_item_id"],
                    "amount": {"value": value, "currency": "GBP"},
                },
                "transaction_status": (status or {}).get(n, "SUCCESS"),
            }
        )
    items.extend(extra or [])
    path = tmp_path / "result.json"
    path.write_text(
        json.dumps(
            {"batch_header": {"sender_batch_header": body["sender_batch_header"]}, "items": items}
        )
    )
    return path


def test_results_mark_lines_paid_or_failed(
    tmp_path: Path, cache: Cache, staff: dict[str, Desk]
) -> None:
    batch = _approved(staff)
    rewards = staff["priya"].rewards
    made = rewards.export(batch, None, None)
    counts = rewards.mark_results(batch, _result(tmp_path, made.json, {1: "FAILED"}))
    assert counts == {"paid": 1, "failed": 1, "not_returned": 0, "still_open": 0}
    view = rewards.batch(batch)
    assert view.state == "closed"
    failed = rewards.lines(batch, states=("failed",))[0]
    assert ledger.balance(cache, failed.member_id) == (failed.points, failed.amount_minor)
    # the same file again changes nothing; the export is still the same bytes
    assert rewards.mark_results(batch, _result(tmp_path, made.json, {1: "FAILED"}))["paid"] == 0
    assert rewards.export(batch, None, None).sha256 == made.sha256
    assert ledger.verify(cache).ok


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"amount_delta": 1}, "the line is"),
        (
            {
                "extra": [
                    {
                        "payout_item": {
                            "sender_item_id": "batch-1-line-999",
                            "amount": {"value": "1.00", "currency": "GBP"},
                        },
                        "transaction_status": "SUCCESS",
                    }
                ]
            },
            "is not a line",
        ),
        ({"status": {0: "WHATEVER"}}, "unknown status"),
    ],
)
def test_a_bad_result_file_is_refused_whole(
    tmp_path: Path, cache: Cache, staff: dict[str, Desk], kwargs: dict[str, object], words: str
) -> None:
    batch = _approved(staff)
    rewards = staff["priya"].rewards
    made = rewards.export(batch, None, None)
    before = cache.query("SELECT id, state FROM payout_lines ORDER BY id")
    entries = cache.one("SELECT count(*) FROM ledger")[0]
    with pytest.raises(ResultFileError, match=words) as caught:
        rewards.mark_results(batch, _result(tmp_path, made.json, **kwargs))  # type: ignore[arg-type]
    assert "refused whole" in str(caught.value)
    assert cache.query("SELECT id, state FROM payout_lines ORDER BY id") == before
    assert cache.one("SELECT count(*) FROM ledger")[0] == entries


def test_a_member_without_a_payout_address_is_held(
    cache: Cache, staff: dict[str, Desk], ids: dict[str, int]
) -> None:
    cache.conn.execute("DELETE FROM reward_payees WHERE member_id = ?", (ids["member:h2"],))
    rewards = staff["priya"].rewards
    batch = rewards.prepare("2026-10").batch_id
    held = rewards.lines(batch, states=("held",))
    assert [line.username for line in held] == ["h2"]
    assert [f["check"] for f in held[0].flags] == ["no_payout_address"]
    assert held[0].history[0]["actor"] == "peerdesk"


def test_export_files_are_private_whatever_the_umask(
    tmp_path: Path, staff: dict[str, Desk]
) -> None:
    """The export names every member's payout address and amount. Before, the files took the
    process's umask (0644 with the usual 022: readable by every account on the host, in a
    shared folder or /tmp); now they are 0600 like every file peerdesk writes (0660 in an
    admin's setgid folder)."""
    batch = _approved(staff)
    old = os.umask(0)  # the most careless umask there is
    try:
        staff["tom"].rewards.export(batch, tmp_path / "a.csv", tmp_path / "a.json")
    finally:
        os.umask(old)
    modes = [stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("a.csv", "a.json")]
    assert modes == [0o600, 0o600]
