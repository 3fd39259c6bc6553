"""End to end: the real `peerdesk` in tmux at 80x24 opens the Escalations panel with `E`,
shows the clocks in words, acknowledges and dismisses with a reason by keys; the cache is then
checked. Skips without tmux; fails without it in CI (PEERDESK_REQUIRE_ALL=1)."""

from __future__ import annotations

# SQLite only: the panel in a real terminal on a cache file; its flows on a team database:
# tests/escalate/test_panel.py, the console in a real terminal on one: tests/ui/test_console_on_team_e2e.py.
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.db import open_cache
from tests.escalate.test_panel import seed
from tests.ui.test_e2e_tmux import Terminal, peerdesk_in_tmux

pytestmark = pytest.mark.e2e


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "e2e.sqlite3"
    cache = open_cache(path, create=True)
    seed(cache)
    cache.set_meta("demo", "1")  # alice has every role, as in `make demo`
    cache.close()
    return path


@pytest.fixture
def terminal(db: Path, tmp_path: Path) -> Iterator[Terminal]:
    with peerdesk_in_tmux(db, "esc") as term:
        yield term


def test_acknowledge_and_dismiss_by_keys_in_a_real_terminal(terminal: Terminal, db: Path) -> None:
    terminal.wait_for(lambda s: "! Refund never came" in s, "the Queue with escalation marks")
    terminal.keys("E")
    terminal.wait_for(lambda s: "BREACHED 1d 1h" in s, "the Escalations panel")
    # every escalation is counted apart from the list, a moment later
    screen = terminal.wait_for(lambda s: "Escalations · 3 open · 2 breached" in s, "the count")
    lines = screen.splitlines()
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    terminal.keys("a")
    terminal.wait_for(lambda s: "acked" in s, "the acknowledged row")
    terminal.keys("d")
    terminal.wait_for(lambda s: "false alarm" in s, "the dismiss prompt")
    terminal.keys("-l", "staff test address")
    terminal.keys("Enter")
    terminal.wait_for(lambda s: "2 open" in s, "the dismissed row gone")
    terminal.keys("C-q")
    cache = open_cache(db)
    try:
        row = cache.one(
            "SELECT state, dismiss_reason, acknowledged_by FROM escalations "
            "WHERE rule_id = 'personal-data'"
        )
        assert tuple(row) == ("dismissed", "staff test address", "alice")
        actions = [r[0] for r in cache.query("SELECT action FROM audit ORDER BY id")]
        assert actions[-2:] == ["esc_acknowledge", "esc_dismiss"]
    finally:
        cache.close()
