"""What the console imports before its first frame, in a fresh interpreter: not verification,
escalation, the duplicate decisions or rewards (console.registrations loads the modules that
register decision kinds and role actions when one is first asked for); and a decision of a kind
whose module was not imported yet is still undone, and its role still checked."""

from __future__ import annotations

# SQLite only: what a fresh interpreter imports before the first frame, whatever the store.
import os
import subprocess
import sys
from pathlib import Path

from console.db import open_cache
from console.desk import Desk

ROOT = Path(__file__).resolve().parents[2]

LATE = (
    "numpy",
    "sqlite_utils",
    "psycopg",
    "httpx",
    "console.demo",
    "console.dupes.candidates",
    "console.dupes.actions",
    "console.verify.actions",
    "console.verify.service",
    "console.escalate.engine",
    "console.escalate.service",
    "console.escalate.actions",
    "console.rewards.actions",
    "console.members",  # with the rewards ledger: the member view, not the Queue
    "console.rewards.ledger",
    "console.member_links",
    "console.sources",
)

FIRST_FRAME = """
import asyncio, sys
from pathlib import Path
from console.app import PeerdeskApp
from console.desk import Desk

seen: dict[str, set[str]] = {}
original = PeerdeskApp.first_rows_shown

def shown(self):
    seen.setdefault("modules", set(sys.modules))
    original(self)

PeerdeskApp.first_rows_shown = shown

async def main():
    app = PeerdeskApp(Desk.open(Path(sys.argv[1])))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(500):
            if "modules" in seen:
                break
            await pilot.pause(0.02)
        assert "Queue" in str(app.screen), app.screen

asyncio.run(main())
late = sys.argv[2].split(",")
print(",".join(m for m in late if m in seen["modules"]))
"""


def run(code: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_first_frame_imports_no_verification_escalation_nor_decision_modules(
    ui_db: Path,
) -> None:
    assert run(FIRST_FRAME, str(ui_db), ",".join(LATE)) == ""


UNDO = """
import sys
from pathlib import Path
from console.desk import Desk

desk = Desk.open(Path(sys.argv[1]))
before = "console.verify.actions" in sys.modules
allowed = desk.can("verify_answer")
result = desk.undo()
print(before, allowed, "console.verify.actions" in sys.modules, result.action)
"""


def test_a_decision_whose_module_is_not_imported_yet_is_still_undone(
    desk: Desk, ui_db: Path
) -> None:
    thread = next(t for t in (desk.thread(i.thread_id) for i in desk.queue()) if len(t.posts) > 1)
    answer = thread.posts[1].post_id
    desk.verification.verify(answer)
    state = "SELECT state FROM verifications WHERE post_id = ?"
    assert desk.cache.one(state, (answer,))[0] == "verified"
    desk.close_cache()
    assert run(UNDO, str(ui_db)) == "False True True undo_verify_answer"
    cache = open_cache(ui_db)
    try:
        row = cache.one(state, (answer,))
        assert row is None or row[0] != "verified"
    finally:
        cache.close()
