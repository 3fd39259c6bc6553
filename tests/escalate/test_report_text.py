"""The SLA report for a terminal shows a name's control characters as escapes: an ANSI or OSC
sequence in a moderator's name (as the platform or the OS account spells it) or a rule id never
reaches the terminal as it is, and a line break cannot start a row of its own."""

# SQLite only: what reaches the terminal is the point; names are as hostile on either store
from __future__ import annotations

import re
from pathlib import Path

import pytest

from console.cli import main
from console.db import Cache
from console.escalate.report import SlaLine, SlaReport
from tests.escalate.conftest import post, store, thread

HOSTILE = "mallory\x1b]0;pwned\x07\x1b[2J\r\nfake row\u202e"
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")


def test_a_name_with_escapes_is_shown_escaped_and_the_columns_hold() -> None:
    lines = [
        SlaLine("rule", "rule\x1b[31m", raised=2),
        SlaLine("moderator", HOSTILE, raised=1, open=1),
        SlaLine("moderator", "alice", raised=3),
    ]
    for line in lines:
        line.finish()
    text = SlaReport("2026-11-20T12:00:00Z", 2, 1, 0, lines).to_text()
    assert not CONTROLS.search(text)
    rows = text.splitlines()
    mallory = next(row for row in rows if row.startswith("mallory"))
    assert mallory.startswith("mallory\\x1b]0;pwned\\x07") and "…" in mallory  # clipped
    alice = next(row for row in rows if row.startswith("alice"))
    assert len(mallory) == len(alice)  # the counts stay in their columns
    assert not any(row.startswith("fake row") for row in rows)
    assert any(row.startswith("rule\\x1b[31m") for row in rows)


def test_the_command_prints_a_hostile_acknowledger_escaped(
    cache: Cache, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store(
        cache,
        [thread("1", "Bill shock", "u1", "2026-11-20T09:00:00Z")],
        [post("11", "1", "u1", 0, "Charged twice, going to the ombudsman", "2026-11-20T09:00:00Z")],
    )
    config = tmp_path / "config.toml"
    config.write_text('[roles]\nalice = ["moderator"]\n')
    db = ["--db", str(cache.path), "--config", str(config), "escalations"]
    assert main([*db, "--scan"]) == 0
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE escalations SET acknowledged_by = ?, acknowledged_at = raised_at", (HOSTILE,)
        )
    capsys.readouterr()
    assert main([*db, "--report"]) == 0
    out = capsys.readouterr().out
    assert "mallory\\x1b]0;pwned" in out
    assert not CONTROLS.search(out)


def test_the_list_and_one_escalation_show_hostile_names_escaped(
    cache: Cache, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An assignee, a rule's name, a ticket's reference and a history entry's actor, each
    holding escape sequences, as `escalations` and `escalations ID` print them."""
    store(
        cache,
        [thread("1", "Bill shock", "u1", "2026-11-20T09:00:00Z")],
        [post("11", "1", "u1", 0, "Charged twice, going to the ombudsman", "2026-11-20T09:00:00Z")],
    )
    config = tmp_path / "config.toml"
    config.write_text('[roles]\nalice = ["moderator"]\n')
    db = ["--db", str(cache.path), "--config", str(config), "escalations"]
    assert main([*db, "--scan"]) == 0
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE escalations SET assignee = ?, rule_name = ?, ticket_system = 'support', "
            "ticket_ref = ?",
            (HOSTILE, "Legal\x1b[8m", "T-1\x1b]8;;http://evil.example\x07"),
        )
        conn.execute("UPDATE escalation_history SET actor = ?", (HOSTILE,))
    escalation = cache.one("SELECT min(id) FROM escalations")[0]
    capsys.readouterr()
    assert main(db) == 0
    listed = capsys.readouterr().out
    assert "mallory\\x1b]0;pwned" in listed and not CONTROLS.search(listed)
    assert main([*db, str(escalation)]) == 0
    shown = capsys.readouterr().out
    assert "Legal\\x1b[8m" in shown and "T-1\\x1b]8;;http://evil.example\\x07" in shown
    assert shown.count("mallory\\x1b]0;pwned") >= 2  # the assignee and the history's actor
    assert not CONTROLS.search(shown)
