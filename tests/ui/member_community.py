"""A small two-source community around one member, zoe (forum) / Zoe (Stack Exchange), with
something planted in every section of the member view. Decisions go through the Desk."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from console import claims
from console.db import Cache, open_cache
from console.desk import Desk
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.rewards.ledger import Appender, Entry
from console.rewards.schedule import parse_schedule
from console.rewards.schedule_store import install_schedule
from tests.ui.team_desk import team_desk

AT = "2026-11-19T10:00:00Z"


def _id(cache: Cache, table: str, remote: str, source: int) -> int:
    row = cache.one(
        f"SELECT id FROM {table} WHERE remote_id = ? AND source_id = ?", (remote, source)
    )
    assert row is not None, (table, remote)
    return int(row[0])


def build(path: Path) -> dict[str, int]:
    """The community in a new cache file at `path`."""
    cache = open_cache(path, create=True)
    try:
        return seed(cache)
    finally:
        cache.close()


def seed(cache: Cache) -> dict[str, int]:
    forum = ensure_source(cache, "discourse", "forum", "https://forum.example")
    se = ensure_source(cache, "stackexchange", "se", "https://se.example")
    upsert_members(
        cache,
        forum,
        [
            MemberRecord(
                "u1",
                "zoe",
                "Zoe Z",
                reputation=120,
                trust_level=2,
                joined_at="2024-03-01T09:00:00Z",
            ),
            MemberRecord("u2", "max", reputation=7),
        ],
    )
    upsert_members(
        cache,
        se,
        [
            MemberRecord(
                "s1", "Zoe", "Zoe on SE", reputation=4321, joined_at="2020-05-01T00:00:00Z"
            ),
            MemberRecord("s2", "sam", reputation=1),
        ],
    )
    upsert_threads(
        cache,
        forum,
        [
            ThreadRecord(
                "f1",
                "Zoe asks about roaming",
                "u1",
                "open",
                "2026-11-18T08:00:00Z",
                AT,
                reply_count=1,
                flag_count=1,
            ),
            ThreadRecord(
                "f2",
                "Max asks about PAC",
                "u2",
                "solved",
                "2026-11-17T08:00:00Z",
                AT,
                reply_count=1,
                accepted_post_remote_id="p2.1",
            ),
        ],
        [
            PostRecord(
                "p1.0",
                "f1",
                "u1",
                0,
                "Roaming in Spain?",
                "Roaming in Spain?",
                "2026-11-18T08:00:00Z",
            ),
            PostRecord("p1.1", "f1", "u2", 1, "Turn it on.", "Turn it on.", "2026-11-18T09:00:00Z"),
            PostRecord("p2.0", "f2", "u2", 0, "PAC?", "PAC?", "2026-11-17T08:00:00Z"),
            PostRecord(
                "p2.1",
                "f2",
                "u1",
                1,
                "Text PAC to 65075.",
                "Text PAC to 65075.",
                "2026-11-17T09:00:00Z",
                score=4,
                flag_count=3,
            ),
        ],
    )
    upsert_threads(
        cache,
        se,
        [
            ThreadRecord(
                "q1",
                "eSIM on a second phone",
                "s1",
                "open",
                "2026-11-19T08:00:00Z",
                AT,
                report_count=2,
            )
        ],
        [PostRecord("q1.0", "q1", "s1", 0, "How?", "How?", "2026-11-19T08:00:00Z")],
    )
    ids = {
        "zoe": _id(cache, "members", "u1", forum),
        "zoe_se": _id(cache, "members", "s1", se),
        "max": _id(cache, "members", "u2", forum),
        "f1": _id(cache, "threads", "f1", forum),
        "f2": _id(cache, "threads", "f2", forum),
        "q1": _id(cache, "threads", "q1", se),
        "p2.1": _id(cache, "posts", "p2.1", forum),
        "p1.1": _id(cache, "posts", "p1.1", forum),
        "p1.0": _id(cache, "posts", "p1.0", forum),
        "q1.0": _id(cache, "posts", "q1.0", se),
        "sam": _id(cache, "members", "s2", se),
    }
    with cache.transaction() as conn:
        conn.execute(
            "INSERT INTO verifications (post_id, thread_id, state, decided_by, decided_at, "
            "created_at, updated_at) VALUES (?, ?, 'verified', 'carol', ?, ?, ?)",
            (ids["p2.1"], ids["f2"], AT, AT, AT),
        )
        conn.execute(  # max flags zoe's answer on the platform; zoe flags max's reply
            "INSERT INTO review_items (source_id, remote_id, kind, thread_id, post_id, status, "
            "created_by, created_at) VALUES (?, 'r1', 'flag', ?, ?, 'pending', 'max', ?), "
            "(?, 'r2', 'flag', ?, ?, 'pending', 'zoe', ?)",
            (
                forum,
                ids["f2"],
                ids["p2.1"],
                AT,
                forum,
                ids["f1"],
                ids["p1.1"],
                "2026-11-19T11:00:00Z",
            ),
        )
        conn.execute(
            "INSERT INTO member_duplicate_flags (thread_id, original_id, member_id, flagged_at) "
            "VALUES (?, ?, ?, ?)",
            (ids["q1"], ids["f1"], ids["zoe_se"], "2026-11-19T12:00:00Z"),
        )
        # zoe's rewards, each for an event that is true in the community (the ledger refuses
        # any other): carol's verification of her answer p2.1, max's helpful vote on it, and
        # sam's on Zoe's SE question, all at AT
        votes = [
            int(
                conn.execute(
                    "INSERT INTO votes (source_id, post_id, voter_id, created_at) "
                    "VALUES (?, ?, ?, ?) RETURNING id",
                    (source, ids[post], ids[voter], AT),
                ).fetchone()[0]
            )
            for source, post, voter in ((forum, "p2.1", "max"), (se, "q1.0", "sam"))
        ]
        # priced as the ledger prices them when they are written (console.rewards.pricing):
        # 10p a point; v1 pays a verification 10 points and a vote 5, v2 a vote 20
        for version, vote in (("v1", 5), ("v2", 20)):
            install_schedule(
                conn,
                parse_schedule(
                    f'version = "{version}"\ncurrency = "GBP"\npoint_value = "0.10"\n'
                    f"[points]\nverified_answer = 10\nhelpful_vote = {vote}\n"
                    "[caps]\nper_day = 100\nper_thread = 40\n"
                    '[payouts]\nthreshold_points = 20\nsecond_approver_over = "3.00"\n'
                ),
                loaded_by="carol",
            )
        ledger = Appender(conn)
        for member, rule, key, thread, points, detail in (
            (ids["zoe"], "verified_answer", f"post:{ids['p2.1']}", ids["f2"], 10, {}),
            (
                ids["zoe"],
                "helpful_vote",
                f"vote:{votes[0]}",
                ids["f2"],
                5,
                {"voter_id": ids["max"]},
            ),
            (
                ids["zoe_se"],
                "helpful_vote",
                f"vote:{votes[1]}",
                ids["q1"],
                20,
                {"voter_id": ids["sam"]},
            ),
        ):
            ledger.append(
                Entry(
                    member,
                    "accrual",
                    rule,
                    key,
                    points,
                    points * 10,
                    "GBP",
                    "v2" if points == 20 else "v1",
                    AT,
                    thread_id=thread,
                    detail=detail,
                )
            )
        conn.execute(
            "INSERT INTO escalations (rule_id, rule_name, rule_kind, severity, thread_id, subject, "
            "version, matched, raised_at, detected_at, acknowledge_due, resolve_due, updated_at) "
            "VALUES ('r', 'Account takeover', 'keyword', 'high', ?, 'thread:f1', '1', 'hacked', "
            "?, ?, ?, ?, ?)",
            (ids["f1"], AT, AT, AT, AT, AT),
        )
    cache.set_meta("demo", "1")
    desk = Desk.for_cache(cache)
    desk.add_note(ids["f1"], "asked twice before")
    desk.hide_posts([ids["p1.0"]], reason="spam link")  # (hiding a verified answer re-opens it)
    dave = Desk.for_cache(cache, actor="dave").who
    claims.claim(cache, ids["q1"], dave, minutes=30)
    return ids


@contextmanager
def member_desk(
    backend: str, path: Path, request: pytest.FixtureRequest, *, demo: bool = True
) -> Iterator[tuple[Desk, dict[str, int]]]:
    """alice's Desk on the community and its ids: a cache file built at `path` (a demo, where
    she has every role, or, `demo=False`, one whose roles come from the roles file), or a team
    database of the test's own (the community copied by migrate-to) where she is the
    moderator the server says, and dave's claim on q1 is taken again by the server's clock."""
    if backend == "sqlite":
        ids = build(path)
        if not demo:
            cache = open_cache(path)
            cache.set_meta("demo", "0")
            cache.close()
        desk = Desk.open(path)
        try:
            yield desk, ids
        finally:
            desk.close_cache()
        return
    with team_desk(request, "members", seed, daves="q1") as opened:
        yield opened


@pytest.fixture
def community(store: tuple[Desk, dict[str, int]], tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """The cache file (on SQLite) and the community's ids, of the test module's `store`."""
    return tmp_path / "members.sqlite3", store[1]


@pytest.fixture
def mdesk(store: tuple[Desk, dict[str, int]]) -> Desk:
    return store[0]
