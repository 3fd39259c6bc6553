"""`peerdesk escalations` headless: list, show, decide, dry-run, load, report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.cli import main
from console.db import Cache
from console.ingest import ensure_source
from tests.backends import location
from tests.escalate.conftest import post, store, thread

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

RULES = """
[[rule]]
id = "threat"
kind = "keywords"
severity = "high"
words = ["ombudsman"]
unless_before = ["not going to"]
acknowledge_within = "1h"
resolve_within = "1d"
"""


@dataclass(frozen=True)
class Db:
    cache: Cache  # the test's own connection to it
    where: str  # what --db names: the cache file, or the team database's URL
    config: Path


@pytest.fixture
def db(cache: Cache, cache_path: Path, tmp_path: Path) -> Db:
    store(
        cache,
        [thread("1", "Bill shock", "u1", "2026-11-20T09:00:00Z")],
        [
            post(
                "11", "1", "u1", 0, "Charged twice, going to the ombudsman", "2026-11-20T09:00:00Z"
            ),
            post(
                "12",
                "1",
                "u2",
                1,
                "I'm not going to the ombudsman, just asking",
                "2026-11-20T10:00:00Z",
            ),
        ],
    )
    ensure_source(cache, "zendesk", "support", "https://x.zendesk.example")
    config = tmp_path / "config.toml"
    config.write_text('[roles]\nalice = ["moderator"]\n')
    return Db(cache, location(cache, cache_path), config)


def run(db: Db, *args: str) -> int:
    return main(["--db", db.where, "--config", str(db.config), "escalations", *args])


def test_list_show_and_decide(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db) == 0
    out = capsys.readouterr().out
    assert "legal-threat" in out and "BREACHED 2h 00m" in out and "account-billing" in out
    legal = int(next(line for line in out.splitlines() if "legal-threat" in line).split()[0])
    assert run(db, str(legal), "--ack") == 0
    assert run(db, str(legal), "--note", "rang the customer") == 0
    assert run(db, str(legal), "--send") == 0
    capsys.readouterr()
    assert run(db, str(legal)) == 0
    shown = capsys.readouterr().out
    assert "matched: …" not in shown and "»ombudsman«" in shown
    assert "acknowledged" in shown and "rang the customer" in shown and "sent_to_support" in shown
    assert "ticket: support (waiting to be sent)" in shown
    assert run(db, str(legal), "--dismiss", "x") == 0  # a dismissed hand-off stays audited
    assert run(db, str(legal), "--ack") == 2
    assert "is already dismissed" in capsys.readouterr().err


def test_dry_run_shows_matches_and_writes_nothing(
    db: Db, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text(RULES)
    before = db.cache.query("SELECT count(*) FROM escalations")[0][0]
    assert run(db, "--dry-run", str(rules)) == 0
    out = capsys.readouterr().out
    assert "threat [high] thread 1 post 1: Charged twice, going to the »ombudsman«" in out
    assert "-- 1 would fire (threat 1); nothing was written" in out
    assert db.cache.query("SELECT count(*) FROM escalations")[0][0] == before
    assert run(db, "--dry-run", str(rules), "--json") == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["matched"] == "ombudsman"


def test_a_bad_rule_file_is_one_line_and_keeps_the_rules(
    db: Db, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.toml"
    good.write_text(RULES)
    assert run(db, "--load", str(good)) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(RULES.replace('severity = "high"', 'severity = "huge"'))
    assert run(db, "--load", str(bad)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"peerdesk: {bad} line 5, rule 'threat': severity must be one of low, medium, high, "
        "critical (got 'huge')"
    ]
    assert run(db, "--dry-run", str(bad)) == 2
    assert run(db, "--rules") == 0
    assert "threat" in capsys.readouterr().out


def test_putting_rules_in_force_is_one_audited_change(db: Db, tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(RULES)
    assert run(db, "--load", str(good)) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(RULES.replace('severity = "high"', 'severity = "huge"'))
    assert run(db, "--load", str(bad)) == 2  # refused: nothing changes, nothing is recorded
    rows = db.cache.query(
        "SELECT actor, target_kind, detail FROM audit WHERE action = 'escalation_rules'"
    )
    assert [(r[0], r[1]) for r in rows] == [("alice", "rules")]
    detail = json.loads(rows[0][2])
    assert (detail["origin"], detail["rules"]) == (str(good), ["threat"])
    assert db.cache.meta("escalation_rules") == RULES


def test_report_formats(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "--report") == 0
    assert "SLA report at 2026-11-20T12:00:00Z" in capsys.readouterr().out
    assert run(db, "--report", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert {x["key"] for x in data["per_rule"]} >= {"legal-threat", "account-billing"}
    assert data["breached_open"] >= 1
    assert run(db, "--report", "--csv") == 0
    assert capsys.readouterr().out.startswith("group,key,raised,open")


def test_recount_is_for_admins_a_moderator_is_told_and_nothing_is_recorded(
    db: Db, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(db, "--recount") == 2  # alice moderates
    err = capsys.readouterr().err
    assert "alice may not escalation recount" in err and "admin" in err
    assert db.cache.one("SELECT count(*) FROM audit WHERE action = 'escalation_recount'")[0] == 0
