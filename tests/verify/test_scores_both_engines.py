"""The verification scores are the same on a SQLite cache and on a PostgreSQL team database
holding the same community, and the same whether threads are scored in one batch (as the first
`V` does, console.verify.facts.threads_facts) or one at a time.

The community exercises every fact read from the store: an author just either side of the
"100+ answers elsewhere" cap (counted without the thread itself, hidden replies included), an
author's record of verified and rejected answers (without the thread itself), staff replies,
hidden replies, flags on posts and threads, threads closed as duplicates and confirmed and
pending duplicate candidates (the known answers and the impact), and answers decided before
the scoring."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from console.clock import iso, parse
from console.db import Cache, open_cache
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.verify.facts import thread_facts, threads_facts
from console.verify.service import Verification
from console.verify.signals import VERY_EXPERIENCED, ThreadFacts, assess_thread
from tests.backends import TeamServer, team_database
from tests.verify.conftest import GOOD, WRONG, door, thread_records

START = "2026-11-01T12:00:00Z"
ADVICE = (
    "You can turn on data roaming in Settings, then restart the phone; it costs 5 pounds a "
    "day in most of Europe and the allowance is the same as at home."
)


def _at(hours: int) -> str:
    return iso(parse(START) + timedelta(hours=hours))


def _thread(
    remote: str,
    title: str,
    asker: str,
    replies: list[tuple[str, str]],
    *,
    start: int,
    duplicate_of: str | None = None,
    **options: Any,
) -> tuple[ThreadRecord, list[PostRecord]]:
    """The conftest's thread, asked in its title `start` hours after START, each reply voted
    (n * 7) % 5 - 2; a duplicate's status says so."""
    return thread_records(
        remote,
        title,
        title,
        asker,
        replies,
        created=_at(start),
        votes={n: (n * 7) % 5 - 2 for n in range(1, len(replies) + 1)},
        status="duplicate" if duplicate_of else "answered",
        duplicate_of=duplicate_of,
        **options,
    )


def seed(cache: Cache) -> None:
    """The same community, written the same way (ingest, then moderators' decisions)."""
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    upsert_members(
        cache,
        source,
        [
            MemberRecord("asker", "bob"),
            MemberRecord("helper", "carol", reputation=900, trust_level=2),
            MemberRecord("pro", "prolific", trust_level=1, joined_at="2020-01-01T00:00:00Z"),
            MemberRecord("wrongun", "dave", trust_level=1),
            MemberRecord("staff", "kim_staff", trust_level=4),
        ],
    )
    built: list[tuple[ThreadRecord, list[PostRecord]]] = []
    # "pro" writes 102 replies: 3 in each of 20 threads (99 elsewhere), 2 in each of 20 (100),
    # and one in each of "dup" and "cand"
    for n in range(40):
        mine = 3 if n < 20 else 2
        replies = [("helper", GOOD if n % 3 else WRONG)]
        replies += [("pro", f"{ADVICE} Reply {k} of thread {n}.") for k in range(mine)]
        replies.append(("asker", "Thanks, that worked!" if n % 2 else "Still not working."))
        built.append(
            _thread(
                f"p{n}",
                f"Roaming data question number {n}",
                "asker",
                replies,
                start=n * 10,
                hidden=(2,) if n == 4 else (),
                flags={1: n % 3},
                thread_flags=n % 2,
                reports=1 if n == 7 else 0,
                accepted=1 if n % 4 == 0 else None,
            )
        )
    built.append(
        _thread(
            "orig",
            "How do I get a PAC code to port my number?",
            "asker",
            [("wrongun", WRONG), ("helper", GOOD), ("staff", GOOD + " See help.forum.example.")],
            start=500,
            accepted=2,
        )
    )
    built.append(
        _thread(
            "dup",
            "PAC code for porting please",
            "asker",
            [("wrongun", WRONG + " Really."), ("pro", GOOD.replace("minute", "few minutes"))],
            start=520,
            duplicate_of="orig",
        )
    )
    built.append(
        _thread(
            "cand",
            "Porting my number with a PAC",
            "asker",
            [("pro", "Text PAC to 65075, it is free and takes a minute or so to arrive.")],
            start=540,
        )
    )
    for record, posts in built:
        upsert_threads(cache, source, [record], posts)
    ids = {str(r[0]): int(r[1]) for r in cache.query("SELECT remote_id, id FROM threads")}
    with cache.transaction() as conn:
        for thread, original, decision in (
            ("cand", "orig", "pending"),
            ("p5", "orig", "confirmed"),
        ):
            conn.execute(
                "INSERT INTO duplicate_links (thread_id, original_id, score, method, decision, "
                "created_at) VALUES (?, ?, 0.9, 'test', ?, ?)",
                (ids[thread], ids[original], decision, START),
            )
    alice = door(cache, "alice")
    post = {str(r[0]): int(r[1]) for r in cache.query("SELECT remote_id, id FROM posts")}
    for n in (1, 2, 4, 5):  # carol's record: verified here and there, one rejected
        alice.verify(post[f"p{n}-1"])
    alice.reject(post["p3-1"], "wrong")
    alice.verify(post["orig-2"])
    alice.reject(post["orig-1"], "wrong")


def scores(cache: Cache) -> dict[str, tuple[object, ...]]:
    """Every verification row by its post's platform id."""
    return {
        str(r["remote_id"]): tuple(
            r[k] for k in ("state", "score", "reasons", "impact", "payout_minor", "body_hash")
        )
        for r in cache.query(
            "SELECT p.remote_id, v.state, v.score, v.reasons, v.impact, v.payout_minor, "
            "v.body_hash FROM verifications v JOIN posts p ON p.id = v.post_id"
        )
    }


def facts_by_remote(cache: Cache, batched: bool) -> dict[str, ThreadFacts]:
    ids = {int(r[0]): str(r[1]) for r in cache.query("SELECT id, remote_id FROM threads")}
    if batched:
        found = {t: read.facts for t, read in threads_facts(cache.conn, list(ids)).items()}
    else:
        found = {t: thread_facts(cache.conn, t) for t in ids}
    return {ids[t]: facts for t, facts in found.items()}


def scored(cache: Cache) -> dict[str, tuple[object, ...]]:
    seed(cache)
    Verification(
        cache, door(cache, "alice").who, overrides=door(cache, "alice").overrides
    ).refresh()
    return scores(cache)


@pytest.fixture
def sqlite_cache(tmp_path: Path) -> Iterator[Cache]:
    opened = open_cache(tmp_path / "scores.sqlite3", create=True)
    yield opened
    opened.close()


def test_batched_facts_are_the_facts_of_each_thread_read_alone(sqlite_cache: Cache) -> None:
    seed(sqlite_cache)
    alone = facts_by_remote(sqlite_cache, batched=False)
    assert facts_by_remote(sqlite_cache, batched=True) == alone
    pro = next(k for k, r in alone["p0"].authors.items() if r.joined_at)  # the prolific author
    assert alone["p0"].authors[pro].answers == 99  # 102 replies, 3 of them in this thread
    assert alone["p30"].authors[pro].answers == VERY_EXPERIENCED  # 2 here: 100 elsewhere
    carol = next(k for k, r in alone["p6"].authors.items() if r.verified)
    assert (alone["p6"].authors[carol].verified, alone["p6"].authors[carol].rejected) == (5, 1)
    assert (alone["p1"].authors[carol].verified, alone["p1"].authors[carol].rejected) == (4, 1)
    assert [k.verified for k in alone["dup"].known] == [False, True]  # orig's, by position
    assert [k.verified for k in alone["p5"].known] == [False, True]  # a confirmed candidate
    assert alone["cand"].known == ()  # a pending candidate is not a duplicate yet


def test_the_scores_are_the_same_on_both_engines(
    sqlite_cache: Cache, team_server: TeamServer, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("verify_server")  # zoe and bob moderate on the team database too
    on_file = scored(sqlite_cache)
    with team_database(team_server, team_server.template) as team:
        on_server = scored(team)
        server_facts = facts_by_remote(team, batched=True)
    assert on_server == on_file
    assert server_facts == facts_by_remote(sqlite_cache, batched=True)
    named = {
        signal.name
        for facts in server_facts.values()
        for assessment in assess_thread(facts)
        for signal in assessment.signals
    }
    # the community exercises what is read from the store
    assert {"track_record", "very_experienced", "agrees_with_verified", "repeats_rejected"} <= named
    assert {"staff", "accepted"} <= named
    assert len(on_file) > 40
