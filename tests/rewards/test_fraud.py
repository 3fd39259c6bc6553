"""Each fraud check finds what the demo planted, with evidence, and a flag holds the line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.db import Cache
from console.desk import Desk
from console.rewards import fraud, ledger
from tests.backends import store_copied_from
from tests.conftest import BuiltOnce, demo_file

pytestmark = pytest.mark.xdist_group("rewards_demo")


@pytest.fixture(scope="module")
def demo_1000(tmp_path_factory: pytest.TempPathFactory, built_once: BuiltOnce) -> Path:
    """The 1,000-thread demo (no duplicate candidates), built once per run."""
    return demo_file(
        built_once, tmp_path_factory.mktemp("demo") / "demo.sqlite3", 1000, candidate_limit=0
    )


@pytest.fixture
def demo(
    backend: str, demo_1000: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Cache]:
    """A copy of the demo: a cache file; for `backends` tests on PostgreSQL, a team database
    the demo was copied into by migrate-to (its ledger checked and appended by the server),
    connected as root (an admin)."""
    with store_copied_from(
        demo_1000, "rewards_demo", backend, tmp_path / "demo.sqlite3", request, role="root"
    ) as store:
        yield store


def _names(cache: Cache) -> dict[int, str]:
    return {int(r[0]): str(r[1]) for r in cache.query("SELECT id, username FROM members")}


@pytest.mark.backends
def test_every_planted_fraud_is_flagged_with_evidence(demo: Cache) -> None:
    truth = json.loads(demo.meta("demo_planted_fraud") or "{}")
    assert set(truth) == set(fraud.CHECKS)
    run = fraud.run_checks(demo.conn, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
    names = _names(demo)
    found: dict[str, set[str]] = {}
    for flag in run.flags:
        found.setdefault(flag.check, set()).add(names[flag.member_id])
        assert flag.summary and flag.evidence
    for check, members in truth.items():
        assert set(members) <= found.get(check, set()), check
    ring = next(f for f in run.flags if f.check == "voting_ring")
    assert sorted(ring.evidence["members"]) == sorted(truth["voting_ring"])
    puppets = next(f for f in run.flags if f.check == "sock_puppets")
    assert len(puppets.evidence["accounts"]) == 5
    assert puppets.evidence["shared_signals"] == ["registration_ip=2001:db8:bad:1::7"]
    rejected = [f for f in run.flags if f.check == "rejected_by_verification"]
    assert truth["rejected_by_verification"], "the demo rejects answers that were paid for"
    assert {names[f.member_id] for f in rejected} == set(truth["rejected_by_verification"])
    for flag in rejected:
        assert all(
            a["rejected_by"] == "priya" and a["points"] > 0 for a in flag.evidence["answers"]
        )
    copier = truth["copy_paste"][0]
    copies = next(f for f in run.flags if f.check == "copy_paste" and names[f.member_id] == copier)
    assert len(copies.evidence["copies"]) >= 2
    for copy in copies.evidence["copies"]:
        assert copy["similarity"] >= fraud.COPY_RATIO and copy["original_author"] != copier


@pytest.mark.backends
def test_the_demo_period_is_ready_and_flags_hold_lines(demo: Cache) -> None:
    assert demo.meta("demo_payout_period") == "2026-10"
    priya = Desk.for_cache(demo, actor="priya")  # the demo gives everyone every role
    view = priya.rewards.prepare("2026-10")
    truth = json.loads(demo.meta("demo_planted_fraud") or "{}")
    planted = {m for members in truth.values() for m in members}
    lines = {line.username: line for line in priya.rewards.lines(view.batch_id)}
    paid = planted & set(lines)
    assert len(paid) >= 3, "planted fraudsters earn over the threshold"
    for name in paid:
        assert lines[name].state == "held"
        assert lines[name].flags
    assert any(line.state == "ready" for line in lines.values())
    assert ledger.verify(demo).ok
    staff = json.loads(demo.meta("demo_staff") or "{}")
    assert staff == {"priya": "payout_preparer", "tom": "payout_approver", "una": "payout_approver"}


@pytest.mark.backends
def test_an_answer_rejected_by_verification_holds_the_line_with_its_evidence(
    cache: Cache, ids: dict[str, int], staff: dict[str, Desk]
) -> None:
    """End to end: a moderator rejects a paid accepted answer, a second confirms (four-eyes of
    answer verification), and the next batch holds the author's line with the evidence."""
    from console.verify.service import Verification
    from console.verify.settings import VerifySettings

    settings = VerifySettings(calibration_share=0.0)
    post = ids["post:p1.1"]  # h2's accepted answer, with one helpful vote
    alice = Verification(staff["alice"].cache, staff["alice"].who, overrides=settings)
    zoe_desk = Desk.for_cache(cache, actor="zoe")  # on the team database: zoe's own role
    zoe = Verification(zoe_desk.cache, zoe_desk.who, overrides=settings)
    staff["priya"].rewards.accrue()
    paid = cache.one(
        "SELECT sum(points), count(*) FROM ledger WHERE (rule = 'accepted_answer' AND "
        "event_key = ?) OR (rule = 'helpful_vote' AND event_key IN "
        "(SELECT 'vote:' || id FROM votes WHERE post_id = ?))",
        (f"post:{post}", post),
    )
    assert paid is not None and paid[1] == 2 and paid[0] > 0  # the accept and the vote
    alice.reject(post, "wrong", text="the APN settings are for another network")
    zoe.confirm(post)
    assert cache.one("SELECT state FROM verifications WHERE post_id = ?", (post,))[0] == "rejected"
    view = staff["priya"].rewards.prepare("2026-10")
    [line] = [line for line in staff["priya"].rewards.lines(view.batch_id) if line.username == "h2"]
    assert line.state == "held"
    [flag] = [f for f in line.flags if f["check"] == "rejected_by_verification"]
    [answer] = flag["evidence"]["answers"]
    assert answer["post"] == post and answer["reason"] == "wrong"
    assert answer["rejected_by"] in ("alice", "zoe")
    assert answer["points"] == paid[0]
    assert line.history[0]["action"] == "hold"
    assert "rejected by verification" in line.history[0]["reason"]
    others = [
        line
        for line in staff["priya"].rewards.lines(view.batch_id)
        if any(f["check"] == "rejected_by_verification" for f in line.flags)
    ]
    assert others == [line]  # nobody else is flagged by it
