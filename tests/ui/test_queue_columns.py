"""The Queue's columns follow the width and the data: no Source column with one source, no Claim
column when nobody holds a claim, states abbreviated below WIDE, the author by display name
when the width allows, the title gets the rest. Empty lists say what is empty. The columns the
data brings (a live claim by the server's clock, a second source, display names) also on a team
database."""

from __future__ import annotations

import time

import pytest

from console import claims
from console.app import PeerdeskApp
from console.desk import Desk
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.screens.queue import FILTERS
from console.screens.queue_layout import layout
from tests.ui.helpers import screen_text, settle

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def labels(width: int, sources: int, claims: bool) -> list[str]:
    return [c.label for c in layout(width, sources=sources, claims=claims).columns]


def test_columns_carry_information_only() -> None:
    assert labels(80, 1, False) == ["Age", "State", "Re", "Flags", "Title"]
    assert labels(80, 2, True) == ["Age", "Source", "State", "Re", "Flags", "Claim", "Title"]
    assert labels(99, 1, True) == ["Age", "State", "Re", "Flags", "Claim", "Title"]
    assert labels(100, 1, True) == ["Age", "State", "Re", "Flags", "Claim", "Author", "Title"]
    assert labels(120, 1, True) == ["Age", "Status", "Re", "Flags", "Claim", "Author", "Title"]


async def queue_lines(desk: Desk, size: tuple[int, int]) -> list[str]:
    app = PeerdeskApp(desk)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        return screen_text(pilot).splitlines()


def release_all(desk: Desk) -> None:
    with desk.cache.transaction() as conn:
        conn.execute("DELETE FROM claims")


async def test_one_source_and_no_claims_leave_the_title_most_of_the_line(desk: Desk) -> None:
    release_all(desk)
    lines = await queue_lines(desk, (80, 24))
    header = lines[1]
    assert header.split()[:5] == ["Age", "State", "Re", "Flags", "Title"]
    assert "Source" not in header and "Claim" not in header
    title_at = header.index("Title")
    assert title_at <= 28  # ~50 of 80 columns for the title
    assert any(" answd " in line for line in lines[2:])  # "answered", abbreviated


@pytest.mark.backends
async def test_a_claim_and_a_second_source_bring_their_columns_back(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = ensure_source(desk.cache, "stackexchange", "askmobile", "https://mobile.example")
    upsert_members(desk.cache, site, [MemberRecord("s1", "sam")])
    stamp = "2026-11-20T11:58:00Z"
    upsert_threads(
        desk.cache,
        site,
        [ThreadRecord("q1", "APN settings lost", "s1", "open", stamp, stamp, flag_count=9)],
        [PostRecord("q1.0", "q1", "s1", 0, "Help", "Help", stamp)],
    )
    lines = await queue_lines(desk, (80, 24))
    assert lines[1].split()[:7] == ["Age", "Source", "State", "Re", "Flags", "Claim", "Title"]
    assert sum(" forum " in line for line in lines[2:]) > 10
    beside = await queue_lines(desk, (120, 40))  # the preview pane takes 40%: a narrow table
    assert beside[1].split()[:7] == ["Age", "Source", "State", "Re", "Flags", "Claim", "Title"]
    monkeypatch.setenv("PEERDESK_PREVIEW", "off")
    wide = await queue_lines(desk, (120, 40))
    header = ["Age", "Source", "Status", "Re", "Flags", "Claim", "Author", "Title"]
    assert wide[1].split()[:8] == header
    assert any(" answered " in line for line in wide[2:])


def author_cells(lines: list[str]) -> list[str]:
    """The Author column's text on each row (between the header's Author and Title)."""
    start, end = lines[1].index("Author"), lines[1].index("Title")
    return [line[start:end].strip() for line in lines[2:] if line[start:end].strip()]


@pytest.mark.backends
async def test_the_author_column_names_authors_by_display_name_when_the_width_allows(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEERDESK_PREVIEW", "off")
    carol = [item for item in desk.queue(limit=100) if item.author == "carol"]
    assert carol and carol[0].author_name == "Carol Ng"  # read with the Queue's page
    assert "Author" not in (await queue_lines(desk, (99, 30)))[1]
    shown = author_cells(await queue_lines(desk, (100, 30)))
    assert "Carol Ng" in shown and "carol" not in shown
    assert "bob" in shown  # no display name: the username
    shown = author_cells(await queue_lines(desk, (140, 30)))
    assert "Carol Ng (carol)" in shown


def test_snapshot_author_column_120x40(
    snap_compare: object, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEERDESK_PREVIEW", "off")
    assert snap_compare(PeerdeskApp(desk), terminal_size=(120, 40), run_before=settle)  # type: ignore[operator]


async def test_empty_lists_say_what_is_empty_and_why(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(FILTERS.index("mine")):
            await pilot.press("f")
            await settle(pilot)
        text = screen_text(pilot)
        assert "Queue · mine" in text
        assert "You hold no claim: c on a thread claims it for 15 minutes." in text
        await pilot.press("slash", *"zzyzx", "enter")
        await settle(pilot)
        text = " ".join(screen_text(pilot).split())
        assert "No thread matches “zzyzx” among mine threads" in text
        assert "Escape clears the search." in text
    claims.claim(desk.cache, desk.queue(limit=1)[0].thread_id, desk.who)
    async with PeerdeskApp(desk).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"qqqxv", "enter")
        await settle(pilot)
        text = " ".join(screen_text(pilot).split())
        assert "No thread matches “qqqxv” (titles and posts are searched" in text
