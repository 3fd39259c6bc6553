"""A small, deterministic community for the console tests, written through console.ingest.

Time is frozen by the root conftest (PEERDESK_NOW=2026-11-20T12:00:00Z, PEERDESK_USER=alice).
The cache is marked as a demo so alice has every role, as in `make demo`.

A test marked `@pytest.mark.backends` that takes `desk` runs twice: on the cache file and on a
team database holding the same community (copied by migrate-to, tests/backends.py), connected
as alice, a moderator by the server's grant; there dave's claim on t1 is taken again by the
server's clock (claims run out by it, and it is not frozen).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console import claims
from console.db import Cache, open_cache
from console.desk import Desk
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from tests.backends import backend, pytest_generate_tests, team_server
from tests.conftest import BuiltOnce
from tests.ui.team_desk import desk_on, seeded_file

__all__ = ["backend", "pytest_generate_tests", "team_server"]  # the backends' hook, fixtures

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

HOSTILE_TITLE = "[bold red]ALERT[/] [@click=app.quit]quit[/] \x1b[2J\x1b]0;pwned\x07 مرحبا 👋🏽"
HOSTILE_BODY = (
    "[bold red]ALERT[/] [@click=app.quit]click me[/] \x1b[2J\x1b[31mred\x1b]0;pwned\x07 "
    "\x1b]52;c;ZXZpbA==\x07 مرحبا بالعالم 👋🏽 \u202eevil\u202c done. "
)
HUGE_BODY = HOSTILE_BODY + ("spam " * 40_000)  # 200 kB

TOPICS = [
    "SIM not activating after swap",
    "PAC code never arrived",
    "Roaming charges in Spain",
    "Data stops working at night",
    "Bill higher than expected",
    "Cannot log in to my account",
    "eSIM QR code rejected",
    "Voicemail not working",
    "Top-up failed twice",
    "Signal lost after update",
]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_community(cache: Cache, threads: int = 40) -> dict[str, int]:
    """`threads` threads by four members; thread t3 is hostile, t5 has a 200 kB body."""
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    members = [
        MemberRecord("u1", "bob", reputation=12),
        MemberRecord("u2", "carol", display_name="Carol Ng", reputation=900),
        MemberRecord("u3", "spammer", reputation=0),
        MemberRecord("u4", "dmitri", reputation=55),
    ]
    upsert_members(cache, source, members)
    records: list[ThreadRecord] = []
    posts: list[PostRecord] = []
    for i in range(threads):
        remote = f"t{i}"
        author = ("u1", "u2", "u4", "u1")[i % 4]
        created = NOW - timedelta(hours=3 * i + 1)
        title = f"{TOPICS[i % len(TOPICS)]} ({i})"
        body = f"Question {i}: {TOPICS[i % len(TOPICS)].lower()}. What should I do?"
        status = "open"
        replies = i % 3
        flags = 1 if i % 7 == 0 else 0
        reports = 1 if i % 11 == 0 else 0
        if i == 3:
            author, title, body, flags = "u3", HOSTILE_TITLE, HOSTILE_BODY, 2
        if i == 5:
            body = HUGE_BODY
        accepted = None
        if replies:
            status = "answered"
        if i % 9 == 8:
            status, accepted = "solved", f"p{i}.1"
        records.append(
            ThreadRecord(
                remote,
                title,
                author,
                status,
                _iso(created),
                _iso(created + timedelta(minutes=30 * replies)),
                reply_count=replies,
                flag_count=flags,
                report_count=reports,
                tags=("sim",) if i % 2 else ("billing",),
                accepted_post_remote_id=accepted,
            )
        )
        posts.append(PostRecord(f"p{i}.0", remote, author, 0, body, body, _iso(created)))
        for r in range(1, replies + 1):
            posts.append(
                PostRecord(
                    f"p{i}.{r}",
                    remote,
                    "u2",
                    r,
                    f"Reply {r} to {i}: try restarting the phone.",
                    f"<p>Reply {r}</p>",
                    _iso(created + timedelta(minutes=30 * r)),
                    score=r,
                )
            )
    ids = upsert_threads(cache, source, records, posts)
    cache.set_meta("demo", "1")
    return ids


def seed_ui(cache: Cache) -> dict[str, int]:
    """The community, with another moderator (dave) holding t1 for 30 minutes, so the Queue
    shows a claim that is not ours."""
    ids = build_community(cache)
    dave = Desk.for_cache(cache, actor="dave").who  # the demo's owner may act as anyone
    claims.claim(cache, ids["t1"], dave, minutes=30)
    return ids


@pytest.fixture
def ui_db(tmp_path: Path, built_once: BuiltOnce) -> Path:
    """A cache file of the test's own holding `seed_ui`'s community (a copy of one built once
    per run)."""
    return built_once.copy("ui", lambda path: seeded_file(path, seed_ui), tmp_path / "ui.sqlite3")


@pytest.fixture
def desk(backend: str, request: pytest.FixtureRequest) -> Iterator[Desk]:
    """alice's Desk on the community: the cache file `ui_db`, or (the PostgreSQL run of a
    `backends` test) a team database of the test's own."""
    with desk_on(backend, request, "ui_db", seed_ui, daves="t1") as opened:
        yield opened


@pytest.fixture
def readonly_desk(
    ui_db: Path, grant_roles: Callable[[dict[str, list[str]]], Path]
) -> Iterator[Desk]:
    """erin has no moderation role (the cache is not a demo for her)."""
    grant_roles({"erin": ["payout_preparer"]})
    cache = open_cache(ui_db)
    cache.set_meta("demo", "0")
    opened = Desk.for_cache(cache, actor="erin")
    yield opened
    opened.close_cache()
