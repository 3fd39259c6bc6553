"""`team push` decides every kind of decision again on the team database through the domain's
own decide: duplicates, answer verification, escalations, member links, close/reopen, hiding
and notes. The rows they name (threads, posts, members, escalations) are matched by what the
platforms call them, since the two databases number their rows independently. A real cluster,
a real laptop cache."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.db import Cache, open_cache
from console.desk import Desk
from console.ingest import ensure_source, upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.team import push as team_push
from console.team.copy import migrate_to

from .cluster import Cluster
from .conftest import login_role, superuser

pytestmark = pytest.mark.xdist_group("teamdb")

AT = "2026-11-19T12:00:00Z"
VOICEMAIL = (
    "Dial 121, choose option 3 for greetings, record yours and press # to save it. If it still "
    "resets overnight, turn off visual voicemail in the phone app's settings."
)
GOOD = (
    "Text PAC to 65075 and you will get your PAC code by text within a minute. Give the code to "
    "your new network and the number moves on the next working day."
)


def _community(cache: Cache) -> None:
    """Threads to close and reopen, a duplicate pair and one to reject, an answer to verify,
    two escalations (a legal threat; personal data, hidden until reviewed), and two members;
    a duplicate to merge (with its answer), three answers to pick, reject and send back for
    an edit, and an accepted answer whose rejection needs a second moderator."""
    forum = ensure_source(cache, "discourse", "forum", "https://forum.example")
    upsert_members(
        cache,
        forum,
        [MemberRecord("u1", "bob"), MemberRecord("u2", "carol", reputation=900, trust_level=2)],
    )
    threads = [
        ThreadRecord(
            "t1",
            "How do I get a PAC code to port my number?",
            "u1",
            "answered",
            AT,
            AT,
            reply_count=1,
        ),
        ThreadRecord("t2", "PAC code to port my number to another network", "u1", "open", AT, AT),
        ThreadRecord("t3", "Roaming charges in Spain", "u1", "open", AT, AT),
        ThreadRecord("t4", "Disgraceful billing", "u1", "open", AT, AT, reply_count=1),
        ThreadRecord("t5", "Porting my number: the PAC code", "u1", "open", AT, AT),
        ThreadRecord("t6", "Voicemail greeting keeps resetting", "u1", "answered", AT, AT, 3),
        ThreadRecord("t7", "Getting a PAC code to keep my number", "u1", "open", AT, AT, 1),
        ThreadRecord(
            "t8", "Data roaming in Norway", "u1", "solved", AT, AT, 1, accepted_post_remote_id="p8a"
        ),
    ]
    posts = [
        PostRecord("p1", "t1", "u1", 0, "How do I get a PAC code?", "q", AT),
        PostRecord("p1a", "t1", "u2", 1, GOOD, GOOD, AT),
        PostRecord("p2", "t2", "u1", 0, "Where is my PAC code for porting?", "q", AT),
        PostRecord("p3", "t3", "u1", 0, "Do I pay extra for data in Spain?", "q", AT),
        PostRecord("p4", "t4", "u1", 0, "Going to the ombudsman about my bill", "q", AT),
        PostRecord("p4a", "t4", "u1", 1, "email me: jo@example.com", "e", AT),
        PostRecord("p5", "t5", "u1", 0, "PAC code for porting, please", "q", AT),
        PostRecord("p6", "t6", "u1", 0, "My voicemail greeting resets every night", "q", AT),
        PostRecord("p6a", "t6", "u2", 1, VOICEMAIL, VOICEMAIL, AT),
        PostRecord("p6b", "t6", "u2", 2, "Buy a new phone.", "b", AT),
        PostRecord("p6c", "t6", "u2", 3, "It is a setting somewhere in the menus.", "c", AT),
        PostRecord("p7", "t7", "u1", 0, "How do I get the PAC code to port?", "q", AT),
        PostRecord("p7a", "t7", "u2", 1, GOOD, GOOD, AT),
        PostRecord("p8", "t8", "u1", 0, "Is Norway included in roaming?", "q", AT),
        PostRecord("p8a", "t8", "u2", 1, "Yes, Norway is in the roaming zone.", "a", AT),
    ]
    upsert_threads(cache, forum, threads, posts)
    shop = ensure_source(cache, "discourse", "shop", "https://shop.example")
    upsert_members(cache, shop, [MemberRecord("s9", "bobby")])


def _id(cache: Cache, table: str, remote: str, source: str = "forum") -> int:
    row = cache.one(
        f"SELECT x.id FROM {table} x JOIN sources s ON s.id = x.source_id "
        "WHERE s.name = ? AND x.remote_id = ?",
        (source, remote),
    )
    return int(row[0])


def _team(cluster: Cluster, dbname: str, query: str) -> list[tuple[object, ...]]:
    with superuser(cluster, dbname) as conn:
        conn.execute("SET search_path = peerdesk")
        return conn.execute(query.encode()).fetchall()


def _one(cluster: Cluster, dbname: str, query: str) -> tuple[object, ...]:
    rows = _team(cluster, dbname, query)
    assert len(rows) == 1, rows
    return rows[0]


def _replayed(desk: Desk, url: str) -> list[str]:
    """Push the laptop's waiting decisions to the team database as `url`'s login role, where
    none may be a conflict; the kinds of decision decided again there, in order."""
    report = team_push.push(desk.door, url)
    assert report.conflicts == [], [p.conflict for p in report.conflicts]
    return [p.decision.decision for p in report.sent]


@pytest.fixture
def laptop(
    pg_cluster: Cluster,
    team_db: str,
    tmp_path: Path,
    grant_roles: Callable[[dict[str, list[str]]], Path],
) -> Iterator[tuple[Desk, str]]:
    """A laptop cache and a team database holding the same community (verification scored
    the answers on both; the team's numbers every row differently), then the laptop's offline
    decisions of every kind."""
    # dave too: an escalation goes only to someone the roles name a moderator, on the laptop
    # (its roles file) and on the team database (its grants), where a push checks it again
    dave = login_role(pg_cluster, "pd-team-dave", "moderator")
    grant_roles({"alice": ["moderator", "admin"], dave: ["moderator"]})
    path = tmp_path / "laptop.sqlite3"
    cache = open_cache(path, create=True)
    _community(cache)
    cache.close()
    Desk.open(path).verification.refresh()
    # the team's copy numbers every row differently: another source came first there
    team_copy = tmp_path / "team-copy.sqlite3"
    cache = open_cache(team_copy, create=True)
    other = ensure_source(cache, "discourse", "older", "https://older.example")
    upsert_members(cache, other, [MemberRecord("o1", "olga"), MemberRecord("o2", "oleg")])
    upsert_threads(
        cache,
        other,
        [ThreadRecord("o1", "An older thread", "o1", "open", AT, AT)],
        [PostRecord("o1p", "o1", "o1", 0, "hello", "hello", AT)],
    )
    _community(cache)
    cache.close()
    first = Desk.open(team_copy)
    first.verification.refresh()
    carol = login_role(pg_cluster, "pd-team-carol", "admin")
    migrate_to(first.door, pg_cluster.url(team_db, carol))
    first.close_cache()
    desk = Desk.open(path)
    c = desk.cache
    # what ingest queued (hiding the post with personal data) was pushed before going offline
    c.conn.execute("UPDATE outbox SET state = 'applied'")
    t = {r: _id(c, "threads", r) for r in ("t1", "t2", "t3", "t4", "t5")}
    legal = int(c.one("SELECT id FROM escalations WHERE rule_id = 'legal-threat'")[0])
    pii = int(c.one("SELECT id FROM escalations WHERE rule_id = 'personal-data'")[0])
    desk.close([t["t3"]])
    desk.reopen([t["t3"]])
    desk.hide_posts([_id(c, "posts", "p3")], "spam")
    desk.add_note(t["t3"], "asked the carrier")
    desk.confirm_duplicate(t["t2"], t["t1"])
    desk.reject_duplicate(t["t5"], t["t1"])
    desk.verification.verify(_id(c, "posts", "p1a"), text="matches the tariff page")
    desk.escalations.acknowledge(legal)
    desk.escalations.assign(legal, dave)
    desk.escalations.note(legal, "rang the customer")
    desk.escalations.resolve(legal)
    desk.escalations.dismiss(pii, "a staff address, fine to show")
    desk.escalations.reopen(pii)
    desk.escalations.raise_thread(t["t3"], "wants compensation; threatens to leave")
    desk.link_members(_id(c, "members", "u1"), _id(c, "members", "s9", "shop"))
    desk.link_members(_id(c, "members", "u1"), _id(c, "members", "u2"), linked=False)
    ann = login_role(pg_cluster, "pd-team-ann", "moderator")
    yield desk, pg_cluster.url(team_db, ann)
    desk.close_cache()


def test_every_kind_of_decision_is_decided_again_on_the_team_database(
    pg_cluster: Cluster, team_db: str, laptop: tuple[Desk, str]
) -> None:
    desk, url = laptop
    waiting = team_push.local_decisions(desk.cache)
    kinds = [d.decision for d in waiting]
    assert kinds == [
        "close",
        "reopen",
        "hide_post",
        "note",
        "dupe_confirm",
        "dupe_reject",
        "verify_answer",
        "esc_acknowledge",
        "esc_assign",
        "esc_note",
        "esc_resolve",
        "esc_dismiss",
        "esc_reopen",
        "esc_raise",
        "member_link",
        "member_unlink",
    ]
    assert _replayed(desk, url) == kinds

    # the same decisions, in the same order, by the team's own decide: actor is the login role
    audited = _team(
        pg_cluster,
        team_db,
        "SELECT a.action, a.actor, a.detail, o.idempotency_key FROM outbox o "
        "JOIN audit a ON a.id = o.audit_id WHERE a.actor = 'pd-team-ann' ORDER BY o.id",
    )
    assert [r[0] for r in audited] == kinds
    assert all("from_laptop" in json.loads(str(r[2])) for r in audited)
    assert [r[3] for r in audited] == [d.idempotency_key for d in waiting]

    # and what they did, on the team's own rows
    def one(query: str) -> tuple[object, ...]:
        return _one(pg_cluster, team_db, query)

    assert one("SELECT status FROM threads WHERE remote_id = 't3'") == ("open",)
    assert one("SELECT hidden, hidden_reason FROM posts WHERE remote_id = 'p3'") == (1, "spam")
    assert one(
        "SELECT n.author, n.body FROM notes n JOIN threads t ON t.id = n.thread_id "
        "WHERE t.remote_id = 't3'"
    ) == ("pd-team-ann", "asked the carrier")
    assert one(
        "SELECT t.status, o.remote_id FROM threads t JOIN threads o ON o.id = t.duplicate_of "
        "WHERE t.remote_id = 't2'"
    ) == ("duplicate", "t1")
    assert one(
        "SELECT d.decision, d.decided_by FROM duplicate_links d JOIN threads t "
        "ON t.id = d.thread_id WHERE t.remote_id = 't5'"
    ) == ("rejected", "pd-team-ann")
    assert one(
        "SELECT v.state, v.decided_by FROM verifications v JOIN posts p ON p.id = v.post_id "
        "WHERE p.remote_id = 'p1a'"
    ) == ("verified", "pd-team-ann")
    assert one("SELECT state, assignee FROM escalations WHERE rule_id = 'legal-threat'") == (
        "resolved",
        "pd-team-dave",
    )
    reopened = desk.cache.one("SELECT state FROM escalations WHERE rule_id = 'personal-data'")
    assert reopened[0] == "acknowledged"  # on the laptop, as on the team database
    assert one("SELECT state FROM escalations WHERE rule_id = 'personal-data'") == ("acknowledged",)
    assert one(
        "SELECT e.state, e.detail FROM escalations e JOIN threads t ON t.id = e.thread_id "
        "WHERE e.rule_kind = 'manual' AND t.remote_id = 't3'"
    ) == ("new", "wants compensation; threatens to leave")
    links = _team(
        pg_cluster,
        team_db,
        "SELECT a.remote_id, b.remote_id, l.linked FROM member_links l "
        "JOIN members a ON a.id = l.member_id JOIN members b ON b.id = l.other_id",
    )
    assert sorted(links) == [("u1", "s9", 1), ("u1", "u2", 0)]
    # the laptop handed every one over
    assert team_push.local_decisions(desk.cache) == []


def test_a_decision_on_an_item_changed_meanwhile_is_a_conflict_of_any_kind(
    pg_cluster: Cluster, team_db: str, laptop: tuple[Desk, str]
) -> None:
    desk, url = laptop
    # teammates dismissed the legal threat and rejected the answer on the team database
    _team(
        pg_cluster,
        team_db,
        "WITH a AS (UPDATE escalations SET state = 'dismissed', dismiss_reason = 'dup' "
        "WHERE rule_id = 'legal-threat' RETURNING 1), "
        "b AS (UPDATE verifications SET state = 'rejected' RETURNING 1) SELECT 1",
    )
    report = team_push.push(desk.door, url)
    conflicted = {p.decision.decision: str(p.conflict) for p in report.conflicts}
    # a note on the escalation is still welcome; the decisions about it are not
    assert set(conflicted) == {"verify_answer", "esc_acknowledge", "esc_assign", "esc_resolve"}
    assert (
        "is already dismissed on the team database; the laptop saw" in conflicted["esc_acknowledge"]
    )
    assert "is already rejected" in conflicted["verify_answer"]
    # nothing of theirs was overwritten
    assert _team(
        pg_cluster, team_db, "SELECT state FROM escalations WHERE rule_id = 'legal-threat'"
    ) == [("dismissed",)]
    states = _team(pg_cluster, team_db, "SELECT state FROM outbox WHERE state = 'conflict'")
    assert len(states) == len(report.conflicts)
    local = desk.cache.query("SELECT state FROM outbox WHERE state = 'conflict'")
    assert len(local) == len(report.conflicts)


def test_a_merge_and_every_other_verification_decision_are_decided_again(
    pg_cluster: Cluster,
    team_db: str,
    laptop: tuple[Desk, str],
    grant_roles: Callable[[dict[str, list[str]]], Path],
) -> None:
    """`dupe_merge` and the verification decisions not in the first push: pick, reject, needs
    edit, and a second moderator's confirmation of a contested rejection (four eyes: dave
    proposes it on the laptop and pushes as himself; alice's confirmation goes with ann's push,
    a different person's, as the four-eyes rule wants on the team database too)."""
    desk, url = laptop
    _replayed(desk, url)
    dave_role = login_role(pg_cluster, "pd-team-dave", "moderator")
    grant_roles({"alice": ["moderator", "admin"], dave_role: ["moderator"]})  # one name on both
    c = desk.cache
    post = {r: _id(c, "posts", r) for r in ("p6a", "p6b", "p6c", "p8a")}
    dave = Desk.for_cache(c, actor=dave_role)
    proposed = dave.verification.reject(post["p8a"], "wrong")
    assert c.one("SELECT proposed_by FROM verifications WHERE post_id = ?", (post["p8a"],))[0]
    assert proposed.action == "verify_reject"
    assert _replayed(desk, pg_cluster.url(team_db, dave_role)) == ["verify_reject"]

    desk.merge_duplicate(_id(c, "threads", "t7"), _id(c, "threads", "t1"))
    desk.verification.pick(post["p6a"], text="the 121 menu")
    desk.verification.reject(post["p6b"], "no_answer")
    desk.verification.needs_edit(post["p6c"], "name the menu and the option")
    desk.verification.confirm(post["p8a"])
    kinds = ["dupe_merge", "verify_pick", "verify_reject", "verify_needs_edit", "verify_confirm"]
    assert [d.decision for d in team_push.local_decisions(c)] == kinds
    assert _replayed(desk, url) == kinds

    audited = _team(
        pg_cluster,
        team_db,
        "SELECT a.action FROM outbox o JOIN audit a ON a.id = o.audit_id "
        "WHERE a.actor = 'pd-team-ann' AND a.action IN ('dupe_merge') "
        "OR a.action LIKE 'verify_%' AND a.actor IN ('pd-team-ann', 'pd-team-dave') "
        "ORDER BY a.id",
    )
    assert [r[0] for r in audited] == ["verify_answer", "verify_reject", *kinds]

    def one(query: str) -> tuple[object, ...]:
        return _one(pg_cluster, team_db, query)

    # the merge: t7 closed as t1's duplicate, its answer shown under t1
    assert one(
        "SELECT t.status, o.remote_id FROM threads t JOIN threads o ON o.id = t.duplicate_of "
        "WHERE t.remote_id = 't7'"
    ) == ("duplicate", "t1")
    assert one(
        "SELECT p.remote_id, o.remote_id FROM dupe_merged_posts m JOIN posts p ON p.id = m.post_id "
        "JOIN threads o ON o.id = m.original_id"
    ) == ("p7a", "t1")
    assert one(
        "SELECT d.decision, d.decided_by FROM duplicate_links d JOIN threads t "
        "ON t.id = d.thread_id WHERE t.remote_id = 't7'"
    ) == ("merged", "pd-team-ann")

    def verification(remote: str) -> tuple[object, ...]:
        return one(
            "SELECT v.state, v.decided_by, v.second_by, v.reject_reason, v.proposed_state "
            f"FROM verifications v JOIN posts p ON p.id = v.post_id WHERE p.remote_id = '{remote}'"
        )

    assert verification("p6a") == ("verified", "pd-team-ann", None, None, None)
    assert one(
        "SELECT a.remote_id FROM threads t JOIN posts a ON a.id = t.accepted_post_id "
        "WHERE t.remote_id = 't6'"
    ) == ("p6a",)  # picked: the thread's accepted answer now
    assert verification("p6b") == ("rejected", "pd-team-ann", None, "no_answer", None)
    assert verification("p6c")[0] == "needs_edit"
    # dave proposed, ann confirmed: rejected by two people
    assert verification("p8a") == ("rejected", "pd-team-dave", "pd-team-ann", "wrong", None)
    assert team_push.local_decisions(c) == []


def test_an_undo_made_offline_is_a_conflict_not_a_replay(
    pg_cluster: Cluster, team_db: str, laptop: tuple[Desk, str]
) -> None:
    """A decision handed over to the team database, then undone on the laptop offline: the
    undo is recorded as a conflict there (why: README, "Offline laptops"), the team's thread is
    left as the team has it, and undoing on the team database is what the reason says."""
    desk, url = laptop
    _replayed(desk, url)
    c = desk.cache
    desk.close([_id(c, "threads", "t6")])
    assert _replayed(desk, url) == ["close"]
    desk.undo()  # offline: the laptop queues the reverse (reopen) of a handed-over close
    assert [d.decision for d in team_push.local_decisions(c)] == ["undo_close"]
    report = team_push.push(desk.door, url)
    assert [p.decision.decision for p in report.conflicts] == ["undo_close"]
    assert team_push.UNDO_NOT_REPLAYED in str(report.conflicts[0].conflict)
    assert _team(pg_cluster, team_db, "SELECT status FROM threads WHERE remote_id = 't6'") == [
        ("closed",)
    ]
    conflicts = _team(
        pg_cluster, team_db, "SELECT action, last_error FROM outbox WHERE state = 'conflict'"
    )
    assert [(a, team_push.UNDO_NOT_REPLAYED in str(e)) for a, e in conflicts] == [("reopen", True)]
    assert c.one("SELECT state FROM outbox ORDER BY id DESC LIMIT 1")[0] == "conflict"
