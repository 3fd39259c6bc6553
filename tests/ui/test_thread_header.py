"""The Thread header and `peerdesk show`: a claim by someone else is visible (who, until when),
notes are still welcome on it, a long title never pushes the status, author, flags or claim out,
members are shown by their display names, and invisible characters are made visible. The claim
and the note beside it also on a team database (its clock; its row-level security)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from console.app import PeerdeskApp
from console.cli import main
from console.desk import Desk
from console.errors import ClaimConflict
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord
from console.screens.thread import ThreadScreen
from tests.ui.helpers import notes, screen_text, settle, until

pytestmark = pytest.mark.anyio

LONG_TITLE = "My phone says SIM not provisioned MM#2 after the swap " * 6 + "THE END"
SNEAKY = "pay\u200bpal ver\u200dify your acc\u2060ount \ufeffnow \u200cplease"


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def remote(desk: Desk, remote_id: str) -> int:
    row = desk.cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote_id,))
    assert row is not None
    return int(row[0])


def add_thread(desk: Desk, remote_id: str, title: str, *, flags: int = 0) -> int:
    source = ensure_source(desk.cache, "discourse", "forum", "https://forum.example")
    stamp = "2026-11-20T11:00:00Z"
    upsert_threads(
        desk.cache,
        source,
        [ThreadRecord(remote_id, title, "u2", "open", stamp, stamp, flag_count=flags)],
        [PostRecord(f"{remote_id}.0", remote_id, "u2", 0, SNEAKY, SNEAKY, stamp)],
    )
    return remote(desk, remote_id)


async def open_thread(desk: Desk, thread_id: int, size: tuple[int, int] = (80, 24)) -> str:
    app = PeerdeskApp(desk)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.push_screen(ThreadScreen(thread_id))
        await settle(pilot)
        return screen_text(pilot)


@pytest.mark.backends
async def test_a_thread_claimed_by_someone_else_says_who_and_until_when(desk: Desk) -> None:
    text = await open_thread(desk, remote(desk, "t1"))  # dave holds it (until 12:30 on a file)
    header = text.splitlines()[1:5]
    claimed = f"claimed by dave until {until(desk, 'dave')}"
    assert any(line.strip().startswith(claimed) for line in header), header


async def test_a_long_title_leaves_status_author_flags_and_claim_in_the_header(
    desk: Desk,
) -> None:
    thread = add_thread(desk, "long", LONG_TITLE, flags=2)
    Desk.for_cache(desk.cache, actor="dave").claim(thread)
    for size in ((80, 24), (120, 40)):
        lines = (await open_thread(desk, thread, size)).splitlines()
        assert lines[1].startswith(f" #{thread} My phone says") and lines[1].rstrip().endswith("…")
        assert lines[2].startswith(" open · by Carol Ng (carol) · ⚑ 2 flags")
        assert lines[3].startswith(" claimed by dave until ")
        assert all(len(line) <= size[0] for line in lines)


async def test_members_are_shown_by_their_display_names(desk: Desk) -> None:
    text = await open_thread(desk, remote(desk, "t1"))
    assert "by Carol Ng (carol)" in text  # the header
    assert "Q Carol Ng (carol) (900)" in text  # the question's card
    bob = await open_thread(desk, remote(desk, "t0"))
    assert "by bob ·" in bob  # no display name: the username alone


async def test_zero_width_characters_are_shown_not_hidden(desk: Desk) -> None:
    thread = add_thread(desk, "sneaky", "Sneaky " + SNEAKY)
    text = await open_thread(desk, thread, (120, 40))
    assert "pay\\u200bpal ver\\u200dify your acc\\u2060ount \\ufeffnow \\u200cplease" in text
    assert "\u200b" not in text and "\ufeff" not in text


@pytest.mark.backends
async def test_a_note_is_welcome_on_a_thread_someone_else_holds(desk: Desk) -> None:
    thread = remote(desk, "t1")  # dave's
    messages: list[object] = []
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await settle(pilot)
        app.push_screen(ThreadScreen(thread))
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"seen this", "enter")
        await settle(pilot)
        assert "internal note by" in screen_text(pilot) and "seen this" in screen_text(pilot)
        await pilot.press("x")
        await settle(pilot)
    said = notes(messages)  # type: ignore[arg-type]
    assert any(n.startswith("Note: 1 item") for n in said), said
    assert any(f"is claimed by dave until {until(desk, 'dave')}" in n for n in said), said
    rows = desk.cache.query("SELECT author, body FROM notes WHERE thread_id = ?", (thread,))
    assert [tuple(r) for r in rows] == [("alice", "seen this")]
    assert desk.cache.one("SELECT status FROM threads WHERE id = ?", (thread,))[0] != "closed"
    with pytest.raises(ClaimConflict):  # the claim still keeps every other decision to dave
        desk.close([thread])


def test_a_note_on_a_claimed_thread_can_be_undone_by_its_author(desk: Desk) -> None:
    thread = remote(desk, "t1")
    desk.add_note(thread, "first look")
    assert desk.undo().message.startswith("undid note")
    assert desk.cache.one("SELECT deleted FROM notes WHERE thread_id = ?", (thread,))[0] == 1


def test_peerdesk_show_says_who_holds_the_claim(
    desk: Desk, ui_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    thread = remote(desk, "t1")
    assert main(["--db", str(ui_db), "show", str(thread)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2] == (
        "claimed by dave until 12:30 (2026-11-20 12:30 UTC) — notes welcome; "
        "other decisions are theirs"
    )
    assert "started by Carol Ng (carol)" in out[1]
    assert any(line.startswith("--- post ") and "by Carol Ng (carol)" in line for line in out)
    desk.claim(remote(desk, "t0"))
    assert main(["--db", str(ui_db), "show", str(remote(desk, "t0"))]) == 0
    assert "claimed by you until 12:15 (2026-11-20 12:15 UTC)" in capsys.readouterr().out
