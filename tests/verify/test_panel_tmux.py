"""End to end: the real `peerdesk` in tmux at 80x24 opens the Verification panel with V, moves
to an answer, verifies it with v; the cache holds the decision. Skips without tmux (fails in CI)."""

from __future__ import annotations

# SQLite only: the panel in a real terminal on a cache file; its flows on a team database:
# tests/verify/test_panel.py, the console in a real terminal on one: tests/ui/test_console_on_team_e2e.py.
import os
import time
from pathlib import Path

import pytest

from console.desk import Desk
from tests.ui.test_e2e_tmux import peerdesk_in_tmux
from tests.verify.conftest import Community

pytestmark = pytest.mark.e2e


def test_verify_an_answer_by_keys_in_a_real_terminal(community: Community, tmp_path: Path) -> None:
    cache = community.cache
    with cache.transaction():
        cache.set_meta("demo", "1")
    door = Desk.for_cache(cache).verification
    door.refresh()
    rows = door.queue()
    staff = community.posts["t2-2"]
    index = next(i for i, r in enumerate(rows) if r.post_id == staff)
    with peerdesk_in_tmux(cache.path, "verify") as terminal:
        terminal.wait_for(lambda s: "Queue ·" in s, "the Queue")
        terminal.keys("V")
        screen = terminal.wait_for(lambda s: "answers to check" in s, "the Verification panel")
        lines = screen.splitlines()
        assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
        assert "Impact" in lines[1] and "Score" in lines[1]
        for _ in range(index):
            terminal.keys("j")
        terminal.wait_for(lambda s: f"answer {staff} · score" in s, "the staff answer's detail")
        terminal.keys("v")
        terminal.wait_for(lambda s: "verified by alice" in s, "the decision to be confirmed")
        terminal.keys("C-q")
        deadline = time.monotonic() + 10
        while terminal.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not terminal.alive(), "ctrl+q did not quit"
    row = cache.one("SELECT state, decided_by FROM verifications WHERE post_id = ?", (staff,))
    assert tuple(row) == ("verified", "alice")
    audit = cache.query("SELECT actor, action, target_id FROM audit")
    assert [tuple(r) for r in audit] == [("alice", "verify_answer", staff)]
    assert os.path.exists(cache.path)
