"""Rules running on ingest (as on every sync page and import chunk) and on the clock, against a
real SQLite file: each kind fires, false positives do not, nothing is raised twice across
re-syncs and re-imports, personal data is hidden pending review with an audit entry and an
outbox item."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from console import audit
from console.db import Cache
from console.escalate import engine
from console.escalate.rules import example_rules, parse_rules
from tests.escalate.conftest import escalations, post, store, thread
from tests.plans import query_plan

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

NOW = "2026-11-20T12:00:00Z"


def test_post_rules_fire_on_ingest_with_matched_text(cache: Cache) -> None:
    store(
        cache,
        [thread("1", "Bill", "u1", "2026-11-20T09:00:00Z", tags=("billing",))],
        [
            post(
                "11",
                "1",
                "u1",
                0,
                "I was charged twice. I'm going to Ofcom.",
                "2026-11-20T09:00:00Z",
            ),
            post("12", "1", "u2", 1, "I'm not going to Ofcom, just asking", "2026-11-20T09:30:00Z"),
            post("13", "1", "u1", 2, "Call me on 07700 900123", "2026-11-20T10:00:00Z"),
        ],
    )
    found = escalations(cache)
    assert ("legal-threat", "post:1", "Ofcom") in found
    assert ("account-billing", "post:1", "charged twice") in found
    assert ("personal-data", "post:3", "••••0123") in found
    assert not any(s == "post:2" for _, s, _ in found)  # the false positive
    row = cache.one("SELECT * FROM escalations WHERE rule_id = 'legal-threat'")
    assert row["severity"] == "critical" and row["state"] == "new"
    assert row["raised_at"] == "2026-11-20T09:00:00Z"
    assert row["acknowledge_due"] == "2026-11-20T10:00:00Z"
    assert row["resolve_due"] == "2026-11-21T09:00:00Z"
    assert row["context"][row["match_start"] : row["match_end"]] == "Ofcom"
    history = cache.query(
        "SELECT event, actor FROM escalation_history WHERE escalation_id = ?", (row["id"],)
    )
    assert [tuple(h) for h in history] == [("raised", "peerdesk-rules")]


def test_personal_data_is_hidden_pending_review(cache: Cache) -> None:
    ids = store(
        cache,
        [thread("1", "Port", "u1", "2026-11-20T09:00:00Z")],
        [
            post(
                "11",
                "1",
                "u1",
                0,
                "my card 4111 1111 1111 1111 please refund",
                "2026-11-20T09:00:00Z",
            )
        ],
    )
    hidden = cache.one("SELECT hidden, hidden_reason FROM posts WHERE remote_id = '11'")
    assert hidden["hidden"] == 1 and hidden["hidden_reason"] == engine.HIDE_REASON
    [item] = cache.query("SELECT action, state, payload, audit_id FROM outbox")
    assert item["action"] == "hide_post" and item["state"] == "pending"
    assert json.loads(item["payload"])["reason"] == engine.HIDE_REASON
    entry = cache.one("SELECT actor, action FROM audit WHERE id = ?", (item["audit_id"],))
    # the team database's audit names the database role whose session wrote it (the sync's)
    rules = "peerdesk-rules" if cache.dialect.is_sqlite else "alice"
    assert tuple(entry) == (rules, "hide_post")
    assert audit.verify(cache) == []
    # a re-sync that still says "visible" (the push has not happened) does not unhide it
    store(
        cache,
        [thread("1", "Port", "u1", "2026-11-20T09:00:00Z")],
        [
            post(
                "11",
                "1",
                "u1",
                0,
                "my card 4111 1111 1111 1111 please refund",
                "2026-11-20T09:00:00Z",
            )
        ],
    )
    assert cache.one("SELECT hidden FROM posts WHERE remote_id = '11'")[0] == 1
    assert cache.one("SELECT count(*) FROM outbox")[0] == 1
    assert ids["1"]


def test_idempotent_across_resync_and_reimport_but_an_edit_fires_again(cache: Cache) -> None:
    threads = [thread("1", "Angry", "u1", "2026-11-20T09:00:00Z")]
    posts = [
        post("11", "1", "u1", 0, "My solicitor says this is a disgrace", "2026-11-20T09:00:00Z")
    ]
    store(cache, threads, posts)
    first = escalations(cache)
    store(cache, threads, posts)
    store(cache, threads, posts)
    assert escalations(cache) == first
    raised = "SELECT count(*) FROM escalation_history WHERE event = 'raised'"
    assert cache.one(raised)[0] == len(first)
    edited = [
        post("11", "1", "u1", 0, "Update: my solicitor has written to you", "2026-11-20T09:00:00Z")
    ]
    store(cache, threads, edited)
    assert len([e for e in escalations(cache) if e[0] == "legal-threat"]) == 2


def test_old_posts_and_tags(cache: Cache) -> None:
    rules = parse_rules(
        """
[settings]
ignore_older_than = "2d"
[[rule]]
id = "billing-words"
kind = "keywords"
severity = "low"
words = ["refund"]
tags = ["billing"]
acknowledge_within = "1h"
resolve_within = "1d"
""",
        "t.toml",
    )
    cache.set_meta("escalation_rules", rules.text)
    store(
        cache,
        [
            thread("1", "Old", "u1", "2026-11-01T09:00:00Z", tags=("billing",)),
            thread("2", "Wrong tag", "u1", "2026-11-20T09:00:00Z", tags=("roaming",)),
            thread("3", "Right tag", "u1", "2026-11-20T09:00:00Z", tags=("Billing",)),
        ],
        [
            post("11", "1", "u1", 0, "refund please", "2026-11-01T09:00:00Z"),
            post("21", "2", "u1", 0, "refund please", "2026-11-20T09:00:00Z"),
            post("31", "3", "u1", 0, "refund please", "2026-11-20T09:00:00Z"),
        ],
    )
    assert escalations(cache) == [("billing-words", "post:3", "refund")]


def test_follow_ups_by_the_asker(cache: Cache) -> None:
    t = [thread("1", "Help?", "u1", "2026-11-20T08:00:00Z")]
    store(cache, t, [post("11", "1", "u1", 0, "No signal", "2026-11-20T08:00:00Z")])
    store(cache, t, [post("12", "1", "u1", 1, "Anyone?", "2026-11-20T09:00:00Z")])
    assert escalations(cache) == []
    store(cache, t, [post("13", "1", "u1", 2, "Hello??", "2026-11-20T10:00:00Z")])
    assert [e[0] for e in escalations(cache)] == ["follow-ups"]
    row = cache.one("SELECT * FROM escalations")
    assert row["matched"] == "2 posts by the asker in a row with no reply"
    store(cache, t, [post("14", "1", "u1", 3, "Still nothing", "2026-11-20T11:00:00Z")])
    assert len(escalations(cache)) == 1  # the open one covers the longer streak


def test_a_reply_by_someone_else_resets_the_streak(cache: Cache) -> None:
    t = [thread("1", "Help?", "u1", "2026-11-20T08:00:00Z")]
    store(
        cache,
        t,
        [
            post("11", "1", "u1", 0, "No signal", "2026-11-20T08:00:00Z"),
            post("12", "1", "u1", 1, "Anyone?", "2026-11-20T09:00:00Z"),
            post("13", "1", "u2", 2, "Try a restart", "2026-11-20T09:30:00Z"),
            post("14", "1", "u1", 3, "Did, no luck", "2026-11-20T10:00:00Z"),
        ],
    )
    assert escalations(cache) == []


def test_unanswered_on_the_clock_per_tag(cache: Cache) -> None:
    store(
        cache,
        [
            thread("1", "Outage in Leeds", "u1", "2026-11-20T09:00:00Z", tags=("outage",)),
            thread("2", "eSIM question", "u1", "2026-11-20T09:00:00Z", tags=("esim",)),
            thread("3", "Old unanswered", "u1", "2026-11-17T09:00:00Z"),
            thread("4", "Answered", "u1", "2026-11-17T09:00:00Z", status="answered", replies=1),
        ],
        [post(f"{n}1", str(n), "u1", 0, "hello", "2026-11-20T09:00:00Z") for n in (1, 2, 3, 4)],
    )
    assert escalations(cache) == []
    assert engine.scan_clock(cache) == 2
    found = escalations(cache)
    assert ("unanswered-outage", "thread:1", "no reply for 2 hours") in found
    assert ("unanswered", "thread:3", "no reply for 48 hours") in found
    row = cache.one("SELECT * FROM escalations WHERE rule_id = 'unanswered-outage'")
    assert row["raised_at"] == "2026-11-20T11:00:00Z" and row["post_id"] is not None
    assert engine.scan_clock(cache) == 0  # idempotent
    later = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert engine.scan_clock(cache, later) == 2  # threads 1 and 2 pass 48 h too
    assert {e[0] for e in escalations(cache) if e[1] == "thread:2"} == {"unanswered"}


def test_verified_answer_later_rejected_when_verifications_exist(cache: Cache) -> None:
    if not cache.dialect.is_sqlite:
        pytest.skip("another verifications table's shape: only a cache file can have one")
    store(
        cache,
        [thread("1", "APN", "u1", "2026-11-20T08:00:00Z", replies=1)],
        [
            post("11", "1", "u1", 0, "APN?", "2026-11-20T08:00:00Z"),
            post("12", "1", "u2", 1, "Use apn.example", "2026-11-20T08:30:00Z"),
        ],
    )
    assert engine.scan_clock(cache) == 0  # no verification yet: nothing, no error
    answer = cache.one("SELECT id FROM posts WHERE remote_id = '12'")[0]
    with cache.transaction() as conn:
        conn.execute("DROP TABLE verifications")  # console.verify's table: this shape instead
        conn.execute(
            "CREATE TABLE verifications (id INTEGER PRIMARY KEY, post_id INTEGER, state TEXT, "
            "decided_at TEXT)"
        )
        conn.execute(
            "INSERT INTO verifications VALUES (1, ?, 'verified', '2026-11-20T09:00:00Z')", (answer,)
        )
    assert engine.scan_clock(cache) == 0
    with cache.transaction() as conn:
        conn.execute(
            "INSERT INTO verifications VALUES (2, ?, 'rejected', '2026-11-20T11:00:00Z')", (answer,)
        )
    assert engine.scan_clock(cache) == 1
    assert engine.scan_clock(cache) == 0
    row = cache.one("SELECT * FROM escalations")
    assert row["rule_id"] == "verified-answer-rejected" and row["post_id"] == answer
    assert row["raised_at"] == "2026-11-20T11:00:00Z"


def test_verifications_with_a_previous_state_column(cache: Cache) -> None:
    if not cache.dialect.is_sqlite:
        pytest.skip("another verifications table's shape: only a cache file can have one")
    store(
        cache,
        [thread("1", "APN", "u1", "2026-11-20T08:00:00Z")],
        [post("11", "1", "u2", 0, "x", "2026-11-20T08:00:00Z")],
    )
    pid = cache.one("SELECT id FROM posts")[0]
    with cache.transaction() as conn:
        conn.execute("DROP TABLE verifications")  # console.verify's table: this shape instead
        conn.execute(
            "CREATE TABLE verifications (post_id INTEGER PRIMARY KEY, state TEXT, previous_state TEXT)"
        )
        conn.execute("INSERT INTO verifications VALUES (?, 'rejected', 'verified')", (pid,))
    assert engine.scan_clock(cache) == 1


def test_dry_run_writes_nothing_and_shows_matches(cache: Cache) -> None:
    store(
        cache,
        [thread("1", "Bill", "u1", "2026-11-20T09:00:00Z")],
        [post("11", "1", "u1", 0, "Refund or I go to the ombudsman", "2026-11-20T09:00:00Z")],
    )
    before = escalations(cache)
    rules = example_rules()
    results = list(engine.dry_run(cache, rules))
    assert {(f.rule.id, f.matched, known) for f, known in results} >= {
        ("legal-threat", "ombudsman", True),
        ("account-billing", "Refund", True),
    }
    other = parse_rules(
        '[[rule]]\nid = "new"\nkind = "keywords"\nseverity = "low"\nwords = ["go to"]\n'
        'acknowledge_within = "1h"\nresolve_within = "2h"\n',
        "x",
    )
    assert [(f.rule.id, f.matched, known) for f, known in engine.dry_run(cache, other)] == [
        ("new", "go to", False)
    ]
    assert escalations(cache) == before


def test_advice_from_helpers_is_not_a_threat(cache: Cache) -> None:
    store(
        cache,
        [thread("1", "No signal for a week", "u1", "2026-11-20T08:00:00Z")],
        [
            post("11", "1", "u1", 0, "No signal at all since Monday", "2026-11-20T08:00:00Z"),
            post(
                "12",
                "1",
                "u2",
                1,
                "After 8 weeks ask for a deadlock letter and take it to the ombudsman; "
                "under the Ofcom scheme you're due a refund.",
                "2026-11-20T09:00:00Z",
            ),
            post(
                "13",
                "1",
                "u1",
                2,
                "Right, I'm going to the ombudsman then.",
                "2026-11-20T10:00:00Z",
            ),
        ],
    )
    assert [(r, s) for r, s, _ in escalations(cache)] == [("legal-threat", "post:3")]


def test_unanswered_per_tag_matches_tags_in_any_case_and_ignores_others(cache: Cache) -> None:
    """The SQL pre-filter on a rule's tags (the stored JSON list) must not lose a thread whose
    tag differs only in case, nor let in one whose tag merely contains the rule's tag."""
    store(
        cache,
        [
            thread("1", "Outage in York", "u1", "2026-11-20T09:00:00Z", tags=("Outage",)),
            thread("2", "Outages list", "u1", "2026-11-20T09:00:00Z", tags=("outages",)),
            thread("3", "Mast down", "u1", "2026-11-20T09:00:00Z", tags=("sim", "OUTAGE")),
        ],
        [post(f"{n}1", str(n), "u1", 0, "hello", "2026-11-20T09:00:00Z") for n in (1, 2, 3)],
    )
    engine.scan_clock(cache)
    outage = {e[1] for e in escalations(cache) if e[0] == "unanswered-outage"}
    assert outage == {"thread:1", "thread:3"}


def test_the_unanswered_scan_reads_only_the_rules_window(cache: Cache) -> None:
    if not cache.dialect.is_sqlite:
        pytest.skip("SQLite's query plan (INDEXED BY); the team database plans its own")
    plan = query_plan(
        cache.conn,
        "SELECT t.id FROM threads t INDEXED BY threads_unanswered "
        "WHERE t.in_queue = 1 AND t.status = 'open' AND t.reply_count = 0 "
        "AND t.created_at <= ? AND t.created_at >= ?",
        ("2026-11-20", "2026-10-20"),
    )
    assert "threads_unanswered (created_at>? AND created_at<?)" in plan
