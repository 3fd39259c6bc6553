"""`peerdesk ledger` and `peerdesk payouts` through the real command: roles, four-eyes, --json,
exit codes, byte-identical exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli import main
from console.rewards import ledger
from tests.rewards.conftest import Store

CONFIG = """\
[roles]
alice = ["moderator"]
priya = ["payout_preparer"]
tom = ["payout_approver"]
una = ["payout_approver"]
"""


pytestmark = pytest.mark.backends


@pytest.fixture
def run(
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)

    def call(who: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setenv("PEERDESK_USER", who)
        code = main(["--db", store.location(who), "--config", str(config), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


def test_payouts_end_to_end_with_four_eyes(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("alice", "payouts", "prepare", "--period", "2026-10")
    assert code == 2 and "may not payout prepare" in err
    code, out, _ = run("priya", "payouts", "prepare", "--period", "2026-10", "--json")
    assert code == 0
    batch = json.loads(out)
    assert batch["state"] == "prepared" and batch["prepared_by"] == "priya"
    code, _, err = run("priya", "payouts", "approve", str(batch["batch_id"]))
    assert code == 2 and "may not payout approve" in err
    code, out, _ = run("tom", "payouts", "approve", str(batch["batch_id"]), "--json")
    assert code == 0 and "1 of 2" in json.loads(out)["result"]
    code, _, err = run("tom", "payouts", "approve", str(batch["batch_id"]))
    assert code == 2 and "someone else" in err
    assert run("una", "payouts", "approve", str(batch["batch_id"]))[0] == 0
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    assert run("tom", "payouts", "export", "1", "--out", str(first))[0] == 0
    assert run("priya", "payouts", "export", "1", "--out", str(second))[0] == 0
    for name in ("peerdesk-batch-1.csv", "peerdesk-batch-1.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    code, _, err = run("priya", "payouts", "prepare", "--period", "2026-10")
    assert code == 2 and "already has a batch" in err
    rows = (first / "peerdesk-batch-1.csv").read_text().splitlines()
    result = tmp_path / "result.csv"
    result.write_text(
        "sender_item_id,amount,currency,status\n"
        + "".join(f"{r.split(',')[1]},{r.split(',')[4]},GBP,SUCCESS\n" for r in rows[1:])
    )
    code, out, _ = run("priya", "payouts", "mark-paid", "1", str(result), "--json")
    assert code == 0 and json.loads(out)["paid"] == len(rows) - 1
    code, out, _ = run("alice", "ledger", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"]
    code, out, _ = run("priya", "payouts", "show", "1", "--json")
    assert json.loads(out.splitlines()[0])["state"] == "closed"


def test_verify_exits_1_when_tampered(run, store: Store) -> None:  # type: ignore[no-untyped-def]
    """`ledger verify` checks the store's own chain: on the team database the server's."""
    assert run("priya", "ledger", "accrue")[0] == 0
    assert run("alice", "ledger", "verify")[0] == 0
    store.tamper("UPDATE ledger SET amount_minor = 1 WHERE id = 2")
    code, out, err = run("alice", "ledger", "verify")
    assert code == 1
    assert "ledger entry 2: entry edited" in out and "TAMPERED" in err


def test_a_malformed_schedule_is_refused_with_its_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'version = "x2"\ncurrency = "GBP"\npoint_value = "0.001"\n[points]\nhelpful_vote = 1\n'
    )
    code, _, err = run("priya", "ledger", "schedule", str(bad))
    assert code == 2 and "may not reward schedule load" in err
    CONFIG_ADMIN = CONFIG + 'root = ["admin"]\n'
    (tmp_path / "config.toml").write_text(CONFIG_ADMIN)
    code, _, err = run("root", "ledger", "schedule", str(bad))
    assert code == 2
    assert f"{bad} line 3: point_value: 0.001 GBP does not fit the currency's minor units" in err


def _rewrite(store: Store, change: dict[str, object]) -> None:
    """What whoever can write the store can do: change entry 2 and recompute every hash from
    there on, and the head record (on the team database as its superuser)."""
    from tests.rewards.conftest import open_store

    cache = open_store(store.location("alice"))
    try:
        rows = [dict(r) for r in cache.query("SELECT * FROM ledger ORDER BY id")]
    finally:
        cache.close()
    assert len(rows) > 2
    rows[1].update(change)
    prev = rows[1]["prev_hash"]
    for row in rows[1:]:
        row["prev_hash"] = prev
        row["hash"] = prev = ledger.digest(prev, row)
        store.tamper(
            f"UPDATE ledger SET member_id = {row['member_id']}, points = {row['points']}, "
            f"amount_minor = {row['amount_minor']}, prev_hash = '{row['prev_hash']}', "
            f"hash = '{row['hash']}' WHERE id = {row['id']}"
        )
    store.tamper(
        f"UPDATE meta SET value = '{rows[-1]['id']}:{prev}' WHERE key = '{ledger.HEAD_KEY}'"
    )


def test_a_rewritten_ledger_is_caught_by_the_head_kept_elsewhere(run, store: Store) -> None:  # type: ignore[no-untyped-def]
    """Whoever can write the store can move an entry to another member and recompute every
    hash after it (and the head record): the chain and the sums alone agree. The head printed
    by `ledger head` and kept outside the store does not: `ledger verify --since-head` exits
    1."""
    assert run("priya", "ledger", "accrue")[0] == 0
    code, kept, _ = run("alice", "ledger", "head")
    assert code == 0
    kept = kept.strip()
    code, out, _ = run("alice", "ledger", "verify", "--since-head", kept)
    assert code == 0 and f"entry {kept.split(':')[0]} still has the hash you kept" in out
    _rewrite(store, {"member_id": 1})  # entry 2's money now paid to a1, an asker
    assert run("alice", "ledger", "verify")[0] == 0  # the chain alone cannot tell
    code, out, err = run("alice", "ledger", "verify", "--since-head", kept)
    assert code == 1 and "TAMPERED" in err
    assert f"ledger entry {kept.split(':')[0]}: its hash is not the one you kept" in out
    code, _, err = run("alice", "ledger", "verify", "--since-head", "12:nothex")
    assert code == 2 and "is not a ledger head" in err


def test_an_accrual_priced_otherwise_than_its_schedule_is_found(run, store: Store) -> None:  # type: ignore[no-untyped-def]
    """Rewritten with every hash recomputed, an accrual paying more than its schedule version
    pays for its rule (or at another point value) is still found: `ledger verify` prices
    every accrual again."""
    assert run("priya", "ledger", "accrue")[0] == 0
    _rewrite(store, {"points": 1000, "amount_minor": 5000})  # schedule t1: at most 25, 5p
    code, out, err = run("alice", "ledger", "verify")
    assert code == 1 and "TAMPERED" in err
    assert "ledger entry 2: pays 1000 points for" in out
    assert "over the cap of 100 a day" in out


def test_an_accrual_at_another_point_value_is_found(run, store: Store) -> None:  # type: ignore[no-untyped-def]
    assert run("priya", "ledger", "accrue")[0] == 0
    _rewrite(store, {"amount_minor": 999_999})
    code, out, _ = run("alice", "ledger", "verify")
    assert code == 1
    assert "ledger entry 2: 999999 GBP minor units for" in out
    assert "is not schedule t1's 5 GBP a point" in out


def test_a_number_past_64_bits_is_refused_in_one_line(
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`payouts approve 99999999999999999999` (a slip of the keyboard, or a probe) printed an
    OverflowError traceback on a cache file: SQLite holds 64-bit integers and every numeric
    argument went to it as typed. Now each is refused like any bad argument: a line naming it, exit 2."""
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    monkeypatch.setenv("PEERDESK_USER", "una")
    huge = str(2**64)
    for args in (
        ["payouts", "approve", huge],
        ["payouts", "show", huge],
        ["payouts", "hold", huge, "--reason", "x"],
        ["payouts", "prepare", "--period", "2026-10", "--threshold", huge],
        ["ledger", "lines", f"#{huge}"],
        ["show", huge],
        ["verify", huge],
        ["escalations", huge],
    ):
        try:
            code = main(["--db", store.location("una"), "--config", str(config), *args])
        except SystemExit as exit:  # argparse's refusal
            code = int(str(exit.code))
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert "Traceback" not in err and huge in err.strip().splitlines()[-1], (args, err)


def test_a_period_at_the_calendars_edge_is_refused_in_one_line(run) -> None:  # type: ignore[no-untyped-def]
    """`payouts prepare --period 9999-12` ends on 10000-01-01, a date Python cannot read, and
    printed a ValueError traceback; year 0 does not exist either. Both are refused like a
    period peerdesk cannot read: one line, exit 2, nothing prepared."""
    for period in ("9999-12", "9999-H2", "9999", "0000-01"):
        for args in (
            ("priya", "payouts", "prepare", "--period", period),
            ("alice", "ledger", "checks", "--period", period),
        ):
            code, _, err = run(*args)
            assert code == 2, (args, err)
            assert err.count("\n") == 1 and "Traceback" not in err
            assert f"'{period}': a payout period lies in the years 0001 to 9998" in err
    code, out, _ = run("priya", "payouts", "show", "--json")
    assert code == 0 and '"batch_id"' not in out


def test_payout_addresses_are_shown_to_the_payout_roles_only(run, backend: str) -> None:  # type: ignore[no-untyped-def]
    """A payout line's receiver is the member's PayPal email or phone: personal data only the
    roles that pay may read (as on the team database, whose grants keep it from the others).
    `payouts show --json` and the Rewards panel gave it to a moderator and to a user with no
    role at all."""
    assert run("priya", "payouts", "prepare", "--period", "2026-10")[0] == 0
    receivers: dict[str, list[object]] = {}
    # no role at all: on the team database a login the server knows, so the cache file only
    readers = ("priya", "tom", "alice", *(("nobody",) if backend == "sqlite" else ()))
    for who in readers:
        code, out, err = run(who, "payouts", "show", "1", "--json")
        assert code == 0, (who, err)
        rows = [json.loads(line) for line in out.splitlines()[1:]]
        assert rows, who
        receivers[who] = [(r["receiver"], r["receiver_hidden"]) for r in rows]
        assert "@example.com" not in out or who in ("priya", "tom"), who
    assert any(receiver for receiver, _ in receivers["priya"])
    assert receivers["tom"] == receivers["priya"]
    assert all(hidden is False for _, hidden in receivers["priya"])
    for who in readers[2:]:
        assert all(r == (None, True) for r in receivers[who]), who
