"""The copy-paste check on texts written for it: a verbatim copy of someone's answer is flagged;
answers that share only the community's stock steps, or quote an earlier post, are not. On a
cache file and on a team database (which also holds the rewards tier's community: only the
copier among everyone is flagged)."""

from __future__ import annotations

import pytest

from console.db import Cache
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.rewards import fraud
from console.rewards.accrue import accrue
from console.rewards.schedule import parse_schedule
from console.rewards.schedule_store import install_schedule
from tests.rewards.conftest import SCHEDULE, day

pytestmark = pytest.mark.backends

STEPS = [
    "1. Restart the phone and wait two minutes before trying again.",
    "2. Check Settings > Mobile network > Access point names and reset them to default.",
    "3. Take the SIM out, clean the contacts and put it back in firmly.",
    "4. If it still fails, dial 333 from another phone and ask for a network reset.",
]


def _answer(greeting: str, steps: list[str], extra: str = "") -> str:
    return "\n".join([greeting, "", *steps, *([extra] if extra else [])])


def _community(cache: Cache, answers: list[tuple[str, str, str]]) -> dict[str, int]:
    """answers: (author, asker, text); each in its own thread, accepted, a day apart."""
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    people = sorted({a for a, _, _ in answers} | {q for _, q, _ in answers})
    upsert_members(cache, source, [MemberRecord(n, n, joined_at=day(1)) for n in people])
    threads, posts = [], []
    for i, (author, asker, text) in enumerate(answers):
        at = day(1 + i)
        threads.append(
            ThreadRecord(
                f"t{i}",
                f"No signal {i}",
                asker,
                "solved",
                at,
                at,
                1,
                accepted_post_remote_id=f"a{i}",
            )
        )
        posts.append(PostRecord(f"q{i}", f"t{i}", asker, 0, f"question {i}", "q", at))
        posts.append(PostRecord(f"a{i}", f"t{i}", author, 1, text, text, day(1 + i, 14)))
    upsert_threads(cache, source, threads, posts)
    with cache.transaction() as conn:
        install_schedule(conn, parse_schedule(SCHEDULE), loaded_by="test")
    accrue(cache, parse_schedule(SCHEDULE))
    return {str(r[1]): int(r[0]) for r in cache.query("SELECT id, username FROM members")}


def _flagged(cache: Cache) -> dict[int, fraud.Flag]:
    flags = fraud.copy_paste(cache.conn, day(1), "2026-11-01T00:00:00Z")
    return {f.member_id: f for f in flags}


def test_a_verbatim_copy_of_someones_answer_is_flagged(cache: Cache) -> None:
    originals = [
        ("ann", "asker1", _answer("Hi asker1, this usually sorts it:", STEPS, "Worked for me.")),
        ("bob", "asker2", _answer("Hi asker2, had the same last week:", STEPS[:3])),
    ]
    copies = [("cat", "asker3", text) for _, _, text in originals]  # greeting to asker1 and all
    honest = [("dan", "asker4", _answer("Hi asker4, try this:", STEPS[1:], "Good luck!"))]
    ids = _community(cache, originals + honest + copies)
    flagged = _flagged(cache)
    assert set(flagged) == {ids["cat"]}
    evidence = flagged[ids["cat"]].evidence["copies"]
    assert [c["original_author"] for c in evidence] == ["ann", "bob"]
    assert all(c["similarity"] == 100.0 for c in evidence)


def test_answers_sharing_only_stock_steps_are_not_copies(cache: Cache) -> None:
    # the same four steps, posted by many members: the community's stock answer
    generic = "Here's what works, in order:"
    answers = [(name, f"asker{n}", _answer(generic, STEPS)) for n, name in enumerate("efgh")]
    answers += [
        ("eve", "asker9", _answer(generic, STEPS)),
        ("eve", "asker8", _answer(generic, STEPS)),
    ]
    ids = _community(cache, answers)
    assert _flagged(cache) == {}
    # ... and the whole-text comparison alone would have called eve a copier
    _, posts = fraud.near_copies(cache.conn, set(), "2026-11-01T00:00:00Z")
    eve = [p for p, (a, _, _) in posts.items() if a == ids["eve"]]
    first = next(p for p, (a, _, _) in posts.items() if a == ids["e"])
    assert all(posts[p][2] == posts[first][2] for p in eve)


def test_quoting_an_earlier_answer_is_not_copying_it(cache: Cache) -> None:
    own = "The APN reset is what fixed it for me after the October outage, give it a go."
    original = _answer("Hi asker1, this usually sorts it:", STEPS, own)
    quoted = "\n".join(f"> {line}" for line in original.splitlines())
    answers = [
        ("ann", "asker1", original),
        ("ann", "asker2", _answer("Hi asker2, this usually sorts it:", STEPS, own)),
        (
            "cat",
            "asker3",
            f'[quote="ann, post:1"]\n{original}\n[/quote]\nThis, exactly, worked for me.',
        ),
        ("cat", "asker4", f"{quoted}\nSame here: the APN reset did it for my Pixel too."),
    ]
    _community(cache, answers)
    assert _flagged(cache) == {}
