"""The demo community: deterministic, realistic in shape, hostile text kept byte for byte."""

from __future__ import annotations

# SQLite only: the builder writes a cache file; on a team database `demo` builds one and
# copies it in (tests/demo/test_team_demo.py checks the same community arrives there).
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from console import demo_corpus
from console.clock import parse
from console.db import Cache, open_cache
from console.demo import (
    SPAN_DAYS,
    DemoSummary,
    GroundTruth,
    build_demo,
    generate_demo,
)
from tests.conftest import FROZEN_NOW

THREADS = 1500
SEED = 4242


def digest(cache: Cache) -> str:
    """A hash of everything the demo writes (not local clocks such as sources.created_at)."""
    h = hashlib.sha256()
    queries = [
        "SELECT remote_id, username, display_name, reputation, trust_level, joined_at "
        "FROM members ORDER BY id",
        "SELECT id, remote_id, title, author_id, status, created_at, last_activity_at, "
        "reply_count, flag_count, report_count, tags, accepted_post_id, duplicate_of, url, "
        "remote_updated_at, in_queue, urgency FROM threads ORDER BY id",
        "SELECT id, thread_id, remote_id, author_id, position, body_text, body_raw, created_at, "
        "score, flag_count, hidden FROM posts ORDER BY id",
        "SELECT key, value FROM meta WHERE key LIKE 'demo%' ORDER BY key",
        "SELECT thread_id, original_id, score, explanation FROM duplicate_links "
        "ORDER BY thread_id, original_id",
        # the rewards the demo plants: the same ledger, line for line, every build
        "SELECT member_id, kind, rule, event_key, points, amount_minor, occurred_at "
        "FROM ledger ORDER BY id",
    ]
    for sql in queries:
        for row in cache.query(sql):
            h.update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


# The tests of the module's 1,500-thread demo run on one worker, so it is built once (spread
# over the workers, each built it: ~25 s of CPU a build)
on_the_built_demo = pytest.mark.xdist_group("demo_build_1500")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cache, DemoSummary]]:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    cache = open_cache(path, create=True)
    summary = build_demo(cache, THREADS, SEED, candidate_limit=0)
    yield cache, summary
    cache.close()


@pytest.mark.slow
def test_same_seed_and_size_give_identical_caches(tmp_path: Path) -> None:
    # 150 threads: every table the digest reads is filled (266 duplicate links, 3,675 ledger
    # lines at seed 7) and three builds cost ~9 s of CPU instead of ~19 s at 400
    digests = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        cache = open_cache(tmp_path / f"{name}.sqlite3", create=True)
        build_demo(cache, 150, seed, candidate_limit=60)
        assert cache.one("SELECT count(*) FROM duplicate_links")[0] > 0
        assert cache.one("SELECT count(*) FROM ledger")[0] > 0
        digests.append(digest(cache))
        cache.close()
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]


def test_generation_is_independent_of_chunk_size() -> None:
    def rows(chunk: int) -> list[object]:
        out: list[object] = []
        for part in generate_demo(500, 3, chunk_threads=chunk):
            out.extend([*part.members, *part.threads, *part.posts])
        return out

    a, b = rows(2000), rows(97)
    assert len(a) == len(b) > 500
    assert sorted(map(repr, a)) == sorted(map(repr, b))


@on_the_built_demo
def test_counts_and_meta(built: tuple[Cache, DemoSummary]) -> None:
    cache, summary = built
    assert cache.one("SELECT count(*) FROM threads")[0] == THREADS == summary.threads
    assert cache.one("SELECT count(*) FROM posts")[0] == summary.posts
    assert cache.one("SELECT count(*) FROM members")[0] == summary.members
    assert 3 * THREADS < summary.posts < 6 * THREADS
    assert cache.meta("demo") == "1"
    assert cache.meta("demo_seed") == str(SEED)
    assert cache.meta("demo_reference_time") == FROZEN_NOW  # built at the frozen hour
    source = cache.one("SELECT kind, name FROM sources")
    assert tuple(source) == ("demo", "demo")


@on_the_built_demo
def test_statuses_answers_and_replies(built: tuple[Cache, DemoSummary]) -> None:
    cache, summary = built
    statuses = Counter(dict(cache.query("SELECT status, count(*) FROM threads GROUP BY status")))
    assert set(statuses) == {"open", "answered", "solved", "closed", "duplicate"}
    assert statuses == Counter(summary.status_counts)
    assert statuses["solved"] > 0.2 * THREADS
    assert statuses["open"] > 0.1 * THREADS
    assert 0 < statuses["duplicate"] < 0.05 * THREADS
    # every solved thread has an accepted answer: a reply in the same thread
    bad = cache.query(
        "SELECT t.id FROM threads t LEFT JOIN posts p ON p.id = t.accepted_post_id "
        "WHERE t.status = 'solved' AND (p.id IS NULL OR p.thread_id != t.id OR p.position = 0)"
    )
    assert bad == []
    assert (
        cache.one(
            "SELECT count(*) FROM threads WHERE status != 'solved' AND accepted_post_id IS NOT NULL"
        )[0]
        == 0
    )
    unanswered = cache.one("SELECT count(*) FROM threads WHERE reply_count = 0")[0]
    assert unanswered > 0.08 * THREADS
    # reply_count agrees with the posts; 0..12 replies; post times never go backwards
    mismatched = cache.query(
        "SELECT t.id FROM threads t JOIN posts p ON p.thread_id = t.id GROUP BY t.id "
        "HAVING count(*) != t.reply_count + 1 OR max(p.created_at) != t.last_activity_at "
        "OR min(p.created_at) != t.created_at"
    )
    assert mismatched == []
    assert cache.one("SELECT max(reply_count) FROM threads")[0] == 12
    scores = [r[0] for r in cache.query("SELECT score FROM posts")]
    assert min(scores) < 0 < max(scores)


@on_the_built_demo
def test_answers_vary_in_kind(built: tuple[Cache, DemoSummary]) -> None:
    cache, _ = built
    texts = [r[0] for r in cache.query("SELECT body_text FROM posts WHERE position > 0")]

    def share(pred: object) -> float:
        return sum(1 for t in texts if pred(t)) / len(texts)  # type: ignore[operator]

    assert share(lambda t: t.startswith(("Same", "+1", "same", "bump", "Me too"))) > 0.03
    assert share(lambda t: "\n1. " in t and "\n3. " in t) > 0.1  # step-by-step answers
    assert share(lambda t: "from the Kestrel Mobile team" in t or "community support" in t) > 0.02
    wrong = [w.split("{")[0] for topic in demo_corpus.TOPICS for w in topic.wrong]
    assert share(lambda t: any(t.startswith(w) for w in wrong if len(w) > 12)) > 0.02
    staff_posts = cache.one(
        "SELECT count(*) FROM posts p JOIN members m ON m.id = p.author_id WHERE m.trust_level = 4"
    )[0]
    assert staff_posts > 0.02 * len(texts)


@on_the_built_demo
def test_members_have_varied_standing(built: tuple[Cache, DemoSummary]) -> None:
    cache, _ = built
    levels = Counter(dict(cache.query("SELECT trust_level, count(*) FROM members GROUP BY 1")))
    assert {0, 1, 2, 3, 4} <= set(levels)
    assert levels[0] + levels[1] > 0.7 * sum(levels.values())  # mostly newcomers
    assert levels[4] <= 10
    # a few prolific helpers write a large share of the replies
    per_author = [
        r[0]
        for r in cache.query(
            "SELECT count(*) FROM posts WHERE position > 0 GROUP BY author_id ORDER BY 1 DESC"
        )
    ]
    assert sum(per_author[:10]) > 0.15 * sum(per_author)
    reps = [r[0] for r in cache.query("SELECT reputation FROM members")]
    assert min(reps) == 0 and max(reps) > 10_000
    assert len(set(cache.query("SELECT username FROM members"))) == len(reps)


@on_the_built_demo
def test_flags_reports_spam_and_complaints(built: tuple[Cache, DemoSummary]) -> None:
    cache, _ = built
    spam = cache.query("SELECT id, flag_count FROM threads WHERE tags LIKE '%\"spam\"%'")
    assert spam and all(flags >= 2 for _, flags in spam)
    assert cache.one("SELECT count(*) FROM posts WHERE hidden = 1")[0] > 0
    legal = cache.query(
        "SELECT t.report_count FROM threads t JOIN posts p ON p.thread_id = t.id "
        "AND p.position = 0 WHERE p.body_text LIKE '%small claims court%' "
        "OR p.body_text LIKE '%ombudsman%' OR p.body_text LIKE '%solicitor%' "
        "OR p.body_text LIKE '%Ofcom%'"
    )
    assert len(legal) > 10
    assert sum(1 for (reports,) in legal if reports > 0) > 10
    angry = cache.one(
        "SELECT count(*) FROM posts WHERE body_text LIKE '%DISGRACEFUL%' "
        "OR body_text LIKE '%Pathetic%'"
    )[0]
    assert angry > 5
    assert cache.one("SELECT count(*) FROM threads WHERE flag_count > 0")[0] > 0.03 * THREADS
    in_queue = cache.one("SELECT count(*) FROM threads WHERE in_queue = 1")[0]
    assert 0.3 * THREADS < in_queue < THREADS


@on_the_built_demo
def test_personal_data_is_fake_but_present(built: tuple[Cache, DemoSummary]) -> None:
    cache, _ = built
    phones = cache.one("SELECT count(*) FROM posts WHERE body_text LIKE '%07700 900%'")[0]
    emails = cache.one("SELECT count(*) FROM posts WHERE body_text LIKE '%@example.%'")[0]
    assert phones > 20 and emails > 20
    # only numbers from Ofcom's drama ranges
    import re

    for (text,) in cache.query("SELECT body_text FROM posts WHERE body_text LIKE '%07%'"):
        for number in re.findall(r"\b07\d{3} ?\d{6}\b", text):
            assert number.replace(" ", "").startswith("07700900"), number


@on_the_built_demo
def test_timestamps_are_fixed_relative_to_the_reference(
    built: tuple[Cache, DemoSummary],
) -> None:
    cache, _ = built
    ref = parse(FROZEN_NOW)
    first, last = cache.one("SELECT min(created_at), max(last_activity_at) FROM threads")
    assert parse(last) <= ref
    assert (
        ref - timedelta(days=SPAN_DAYS + 1) <= parse(first) <= ref - timedelta(days=SPAN_DAYS - 1)
    )
    joined = cache.one("SELECT max(joined_at) FROM members")[0]
    assert parse(joined) <= ref


@on_the_built_demo
def test_text_is_varied(built: tuple[Cache, DemoSummary]) -> None:
    cache, _ = built
    titles = [r[0] for r in cache.query("SELECT title FROM threads")]
    bodies = [r[0] for r in cache.query("SELECT body_text FROM posts WHERE position = 0")]
    assert len(set(titles)) > 0.7 * len(titles)
    assert len(set(bodies)) > 0.97 * len(bodies)
    tags = Counter(
        tag for (raw,) in cache.query("SELECT tags FROM threads") for tag in json.loads(raw)
    )
    for topic in demo_corpus.TOPICS:
        assert tags[topic.tags[0]] > 0.02 * THREADS, topic.key


@on_the_built_demo
def test_planted_duplicates_point_at_real_earlier_threads(
    built: tuple[Cache, DemoSummary],
) -> None:
    cache, summary = built
    pairs = json.loads(cache.meta("demo_planted_duplicates") or "null")
    assert len(pairs) == summary.planted_duplicates
    assert 0.035 * THREADS < len(pairs) < 0.08 * THREADS
    rows = {
        r["remote_id"]: r
        for r in cache.query(
            "SELECT id, remote_id, created_at, tags, status, duplicate_of FROM threads"
        )
    }
    closed_as_duplicate = 0
    for dupe, original in pairs:
        d, o = rows[dupe], rows[original]
        assert (o["created_at"], o["id"]) < (d["created_at"], d["id"])
        assert json.loads(d["tags"])[0] == json.loads(o["tags"])[0]  # same topic
        if d["status"] == "duplicate":
            assert d["duplicate_of"] == o["id"]
            closed_as_duplicate += 1
    assert 0 < closed_as_duplicate < len(pairs)
    # every thread closed as a duplicate is a planted one
    planted = {dupe for dupe, _ in pairs}
    assert all(r["remote_id"] in planted for r in rows.values() if r["status"] == "duplicate")


@on_the_built_demo
def test_hostile_posts_are_stored_verbatim(built: tuple[Cache, DemoSummary]) -> None:
    """Every row in the cache equals, byte for byte, what the generator produced (the planted
    copy-paster's answers: the earlier answer they copy)."""
    cache, summary = built
    truth = GroundTruth()
    generated = {
        p.remote_id: p for chunk in generate_demo(THREADS, SEED, truth=truth) for p in chunk.posts
    }
    stored = {
        r[0]: (r[1], r[2]) for r in cache.query("SELECT remote_id, body_text, body_raw FROM posts")
    }
    assert stored.keys() == generated.keys()
    copied = dict(json.loads(cache.meta("demo_planted_copies") or "[]"))
    assert len(copied) >= 2 and not copied.keys() & {str(h[2]) for h in truth.hostile}
    for remote_id, (text, raw) in stored.items():
        post = generated[copied.get(remote_id, remote_id)]
        assert text.encode("utf-8") == post.body_text.encode("utf-8")
        assert raw.encode("utf-8") == post.body_raw.encode("utf-8")

    hostile = json.loads(cache.meta("demo_hostile") or "null")
    assert [tuple(h) for h in hostile] == truth.hostile
    kinds = Counter(kind for kind, _, _ in hostile)
    for kind in ("markup", "ansi", "rtl", "emoji", "long_word", "title_markup", "title_ansi"):
        assert kinds[kind] > 0, kind
    assert 10 <= summary.hostile_posts <= 60
    bodies = "\n".join(stored[post][0] for _, _, post in hostile if post)
    for needle in (
        "[bold red]",
        "[@click=",
        "[link=",
        "\x1b[",
        "\x1b]52;",
        "\x1b]8;;",
        "\u202e",
        "\u200d",
        "\u200b",
        "مرحبا",
        "שלום",
    ):
        assert needle in bodies, repr(needle)
    titles = [r[0] for r in cache.query("SELECT title FROM threads")]
    assert any("\x1b[" in t for t in titles)
    assert any(
        "[@click=" in t
        or "[bold red]" in t
        or "[link=" in t
        or "[b]" in t
        or "[on red]" in t
        or "[blink]" in t
        or "[dim]" in t
        or "$accent" in t
        for t in titles
    )
    # the hostile members' names too
    names = [r[0] for r in cache.query("SELECT username FROM members")]
    assert "\x1b[31mroot\x1b[0m" in names and "[bold red]Kestrel_Staff[/]" in names


@on_the_built_demo
def test_a_handful_of_200_kb_bodies(built: tuple[Cache, DemoSummary]) -> None:
    cache, summary = built
    huge = cache.query(
        "SELECT length(CAST(body_text AS BLOB)) FROM posts "
        "WHERE length(CAST(body_text AS BLOB)) >= 200000"
    )
    assert len(huge) == summary.huge_posts == 3
    # a single unbroken 200 kB word is among them
    blob = cache.one(
        "SELECT count(*) FROM posts WHERE length(body_text) >= 200000 "
        "AND instr(body_text, ' ') BETWEEN 1 AND 40 AND instr(substr(body_text, 60), ' ') = 0"
    )[0]
    assert blob == 1


def test_every_template_fills_from_the_thread_slots() -> None:
    slots = {name: f"<{name}>" for name in demo_corpus.SLOT_NAMES}
    banks: list[tuple[str, ...]] = [
        demo_corpus.GREETINGS,
        demo_corpus.SIGNOFFS,
        demo_corpus.GOOD_INTROS,
        demo_corpus.GOOD_OUTROS,
        demo_corpus.STAFF_INTROS,
        demo_corpus.STAFF_OUTROS,
        demo_corpus.ME_TOO,
        demo_corpus.THANKS,
        demo_corpus.NOT_FIXED,
        demo_corpus.ANGRY,
        demo_corpus.LEGAL,
        demo_corpus.PERSONAL,
        demo_corpus.SPAM_TITLES,
        demo_corpus.SPAM_BODIES,
        demo_corpus.MARKUP_PAYLOADS,
        demo_corpus.RTL_PAYLOADS,
        demo_corpus.EMOJI_PAYLOADS,
    ]
    for topic in demo_corpus.TOPICS:
        banks += [
            topic.titles,
            topic.details,
            topic.tried,
            topic.asks,
            topic.steps,
            topic.wrong,
            topic.staff,
        ]
        assert len(topic.titles) >= 6 and len(topic.details) >= 4, topic.key
    for bank in banks:
        for template in bank:
            template.format_map(slots)  # raises KeyError on an unknown slot


def test_small_builds_still_get_hostile_text(tmp_path: Path) -> None:
    truth = GroundTruth()
    for _ in generate_demo(60, 1, truth=truth):
        pass
    assert len(truth.hostile) >= 8
    assert any(kind.startswith("huge_") for kind, _, _ in truth.hostile)


def test_rows_do_not_depend_on_the_process(tmp_path: Path) -> None:
    """Same rows in fresh interpreters with different hash seeds (no set-order leaks)."""
    import os
    import subprocess
    import sys

    code = (
        "import hashlib\n"
        "from console.demo import generate_demo\n"
        "h = hashlib.sha256()\n"
        "for chunk in generate_demo(250, 11, chunk_threads=100):\n"
        "    for row in (*chunk.members, *chunk.threads, *chunk.posts):\n"
        "        h.update(repr(row).encode('utf-8', 'surrogatepass'))\n"
        "print(h.hexdigest())\n"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=Path(__file__).resolve().parents[2],
        )
        outputs.add(result.stdout.strip())
    assert len(outputs) == 1


def test_a_build_without_rewards_has_the_same_community_and_no_ledger(tmp_path: Path) -> None:
    """`rewards=False` (the duplicate benchmarks at a million threads) leaves out the rewards
    part only: the same threads and posts as a full build, and no ledger, schedule or period."""
    full = open_cache(tmp_path / "full.sqlite3", create=True)
    bare = open_cache(tmp_path / "bare.sqlite3", create=True)
    try:
        build_demo(full, 120, 7, candidate_limit=0, embeddings=False)
        build_demo(bare, 120, 7, candidate_limit=0, embeddings=False, rewards=False)
        community = "SELECT remote_id, title, status FROM threads ORDER BY id"
        assert bare.query(community) == full.query(community)
        assert bare.query("SELECT count(*) FROM posts") == full.query("SELECT count(*) FROM posts")
        assert int(full.one("SELECT count(*) FROM ledger")[0]) > 0  # type: ignore[index]
        assert int(bare.one("SELECT count(*) FROM ledger")[0]) == 0  # type: ignore[index]
        assert bare.meta("demo_payout_period") is None
        assert full.meta("demo_payout_period") is not None
    finally:
        full.close()
        bare.close()
