"""`peerdesk team push`: a laptop's offline decisions go to the team database, conflicts with
what teammates did meanwhile are recorded on both sides (never overwritten), and a push that is
run again, or was killed halfway, sends nothing twice. A real cluster, a real laptop cache."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.db import open_cache
from console.desk import Desk
from console.team import push as team_push
from console.team import work
from console.team.connect import connect
from console.team.copy import migrate_to
from tests.ui.conftest import build_community

from .cluster import Cluster
from .conftest import login_role, superuser

pytestmark = pytest.mark.xdist_group("teamdb")


@dataclass
class Setup:
    laptop: Desk
    url: str  # the team database, as the laptop's owner (the moderator pd-team-ann)
    ids: dict[str, int]  # the laptop's thread ids by remote id


def _team(cluster: Cluster, dbname: str, query: str) -> list[tuple[object, ...]]:
    with superuser(cluster, dbname) as conn:
        conn.execute("SET search_path = peerdesk")
        done = conn.execute(query.encode())
        return done.fetchall() if done.description else []


@pytest.fixture
def setup(pg_cluster: Cluster, team_db: str, tmp_path: Path) -> Iterator[Setup]:
    """The team database and the laptop start from the same cache (migrate-to); then the laptop
    decides offline while teammates claim, close and receive a post on the team database."""
    path = tmp_path / "laptop.sqlite3"
    cache = open_cache(path, create=True)
    ids = build_community(cache, threads=12)
    cache.close()
    shutil.copy(path, tmp_path / "team-copy.sqlite3")
    carol = login_role(pg_cluster, "pd-team-carol", "admin")
    first = Desk.open(tmp_path / "team-copy.sqlite3")
    migrate_to(first.door, pg_cluster.url(team_db, carol))
    first.close_cache()

    laptop = Desk.open(path)
    post = int(laptop.cache.one("SELECT id FROM posts WHERE remote_id = 'p2.1'")[0])
    for action, target, params in [
        ("close", ids["t1"], {}),
        ("hide_post", post, {"reason": "spam"}),
        ("note", ids["t4"], {"body": "asked the carrier"}),
        ("close", ids["t6"], {}),  # bob claims it on the team database meanwhile
        ("close", ids["t7"], {}),  # bob closes it on the team database meanwhile
        ("close", ids["t10"], {}),  # a new reply reaches the team database meanwhile
    ]:
        laptop.door.decide(action, [target], **params)

    bob = login_role(pg_cluster, "pd-team-bob", "moderator")
    with connect(pg_cluster.url(team_db, bob), autocommit=True) as conn:
        [(t6,)] = conn.execute("SELECT id FROM threads WHERE remote_id = 't6'").fetchall()
        assert work.claim(conn, int(str(t6))).won
        with conn.transaction():
            conn.execute("UPDATE threads SET status = 'closed' WHERE remote_id = 't7'")
            conn.execute("SELECT peerdesk_audit_append('close', 'thread', 8, NULL, '{}')")
    _team(
        pg_cluster,
        team_db,
        "INSERT INTO posts (source_id, thread_id, remote_id, author_id, position, body_text, "
        "body_raw, created_at) SELECT source_id, id, 'p10.9', author_id, 9, 'me too', "
        "'<p>me too</p>', 'now' FROM threads WHERE remote_id = 't10'; "
        "UPDATE threads SET reply_count = reply_count + 1 WHERE remote_id = 't10'",
    )
    ann = login_role(pg_cluster, "pd-team-ann", "moderator")
    yield Setup(laptop, pg_cluster.url(team_db, ann), ids)
    laptop.close_cache()


def test_decisions_go_to_the_team_database_and_conflicts_are_kept(
    pg_cluster: Cluster, team_db: str, setup: Setup
) -> None:
    report = team_push.push(setup.laptop.door, setup.url)
    sent = {(p.decision.action, p.decision.thread_remote) for p in report.sent}
    assert sent == {("close", "t1"), ("hide_post", "t2"), ("note", "t4")}
    conflicts = {p.decision.thread_remote: p.conflict for p in report.conflicts}
    assert set(conflicts) == {"t6", "t7", "t10"}
    assert "claimed by pd-team-bob until" in str(conflicts["t6"])
    assert "is already closed on the team database; the laptop saw status 'answered'" in str(
        conflicts["t7"]
    )
    assert "it has 2 replies now, the laptop's copy had 1" in str(conflicts["t10"])

    # the team database: changed where nobody else had, untouched where someone had
    assert _team(
        pg_cluster,
        team_db,
        "SELECT remote_id, status FROM threads WHERE remote_id IN ('t1', 't6', 't7', 't10') "
        "ORDER BY remote_id",
    ) == [("t1", "closed"), ("t10", "answered"), ("t6", "open"), ("t7", "closed")]
    assert _team(pg_cluster, team_db, "SELECT hidden FROM posts WHERE remote_id = 'p2.1'") == [(1,)]
    assert _team(
        pg_cluster,
        team_db,
        "SELECT n.author, n.body FROM notes n JOIN threads t "
        "ON t.id = n.thread_id WHERE t.remote_id = 't4'",
    ) == [("pd-team-ann", "asked the carrier")]
    items = _team(
        pg_cluster,
        team_db,
        "SELECT o.action, o.state, a.actor, a.action FROM outbox o JOIN audit a "
        "ON a.id = o.audit_id ORDER BY o.id",
    )
    assert items == [
        ("close", "pending", "pd-team-ann", "close"),
        ("hide_post", "pending", "pd-team-ann", "hide_post"),
        ("note", "local_only", "pd-team-ann", "note"),
        ("close", "conflict", "pd-team-ann", "push_conflict"),
        ("close", "conflict", "pd-team-ann", "push_conflict"),
        ("close", "conflict", "pd-team-ann", "push_conflict"),
    ]
    # the laptop: handed over (never pushed to the platform by it), or a conflict with reasons
    local = setup.laptop.cache.query("SELECT state, remote_ref, last_error FROM outbox ORDER BY id")
    assert [r["state"] for r in local] == [
        "applied",
        "applied",
        "local_only",
        "conflict",
        "conflict",
        "conflict",
    ]
    assert all(str(r["remote_ref"]).startswith("team:") for r in local)
    assert "is claimed by pd-team-bob until" in str(local[3]["last_error"])
    assert team_push.local_decisions(setup.laptop.cache) == []
    # the laptop's own audit says what the push did
    entry = setup.laptop.cache.one("SELECT action, detail FROM audit ORDER BY id DESC LIMIT 1")
    assert entry is not None and entry[0] == "team_push" and '"conflicts": 3' in entry[1]


def test_pushing_again_sends_nothing(pg_cluster: Cluster, team_db: str, setup: Setup) -> None:
    team_push.push(setup.laptop.door, setup.url)
    before = _team(pg_cluster, team_db, "SELECT count(*) FROM outbox")
    again = team_push.push(setup.laptop.door, setup.url)
    assert (again.sent, again.conflicts, again.already) == ([], [], [])
    assert _team(pg_cluster, team_db, "SELECT count(*) FROM outbox") == before


class Killed(BaseException):
    """The process dies right after the server committed a decision, before the laptop knew."""


def test_a_push_killed_halfway_resends_nothing(
    pg_cluster: Cluster, team_db: str, setup: Setup
) -> None:
    def die_after_two(pushed: team_push.Pushed) -> None:
        if pushed.decision.thread_remote == "t2":
            raise Killed

    with pytest.raises(Killed):
        team_push.push(setup.laptop.door, setup.url, progress=die_after_two)
    # the server has two decisions, the laptop marked only the first
    assert len(team_push.local_decisions(setup.laptop.cache)) == 5
    report = team_push.push(setup.laptop.door, setup.url)
    assert [p.decision.thread_remote for p in report.already] == ["t2"]
    assert len(report.sent) == 1 and len(report.conflicts) == 3
    keys = _team(pg_cluster, team_db, "SELECT idempotency_key, count(*) FROM outbox GROUP BY 1")
    assert len(keys) == 6 and {n for _, n in keys} == {1}
    hides = _team(pg_cluster, team_db, "SELECT count(*) FROM audit WHERE action = 'hide_post'")
    assert hides == [(1,)]
    assert team_push.local_decisions(setup.laptop.cache) == []


def test_the_command_lists_conflicts_and_exits_1(setup: Setup) -> None:
    from .test_migrate import run

    code, out, err = run("--db", str(setup.laptop.cache.path), "team", "push", "--to", setup.url)
    assert code == 1, err
    lines = out.splitlines()
    assert sum(line.startswith("CONFLICT close of thread t") for line in lines) == 3
    assert lines[-1].startswith("3 decision(s) sent to postgresql:///")
    assert lines[-1].endswith(
        "3 conflict(s) recorded there for a human, 0 already there from an earlier push"
    )
    code, out, _ = run("--db", str(setup.laptop.cache.path), "team", "push", "--to", setup.url)
    assert code == 0 and out.startswith("0 decision(s) sent")
    code, _, err = run("--db", setup.url, "team", "push", "--to", setup.url)
    assert code != 0 and "--to" in err
