"""The headless commands end to end (in process, real cache file, real fake server)."""

from __future__ import annotations

# SQLite only: cache files made by the commands; the same commands on a team database:
# tests/sync/test_team_commands.py (source, sync, import, dupes) and tests/sync/test_push.py.
import json
from pathlib import Path

import pytest

from console.cli import main
from console.db import open_cache
from console.desk import Desk
from tests.sync.fake_discourse import community


def test_source_sync_push_export_import(
    tmp_path: Path, creds_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "c.sqlite3")
    server = community(n_topics=3, posts_per_topic=2).start()
    try:
        opts = json.dumps({"retry": {"attempts": 2, "wait_initial": 0.01, "wait_max": 0.02}})
        assert (
            main(
                [
                    "--db",
                    db,
                    "source",
                    "add",
                    "forum",
                    "--kind",
                    "discourse",
                    "--url",
                    server.url,
                    "--options",
                    opts,
                ]
            )
            == 0
        )
        assert (
            main(["--db", db, "source", "add", "forum", "--kind", "discourse", "--url", server.url])
            == 2
        )
        assert main(["--db", db, "sync", "forum", "-q"]) == 0
        out = capsys.readouterr().out
        assert "forum: ok: 3 threads" in out
        cache = open_cache(Path(db))
        tid = cache.one("SELECT id FROM threads WHERE remote_id = '2'")[0]
        cache.close()
        assert main(["--db", db, "close", str(tid)]) == 0
        assert main(["--db", db, "push"]) == 0
        assert "forum: 1 applied" in capsys.readouterr().out
        assert server.state.topics[2].closed
        assert main(["--db", db, "source", "list"]) == 0
        assert "0 waiting" in capsys.readouterr().out
    finally:
        server.stop()
    # offline: exit 3, the decision waits
    cache = open_cache(Path(db))
    tid = cache.one("SELECT id FROM threads WHERE remote_id = '3'")[0]
    cache.close()
    assert main(["--db", db, "close", str(tid)]) == 0
    assert main(["--db", db, "sync", "-q"]) == 3
    said = capsys.readouterr().out
    assert "forum: offline: forum unreachable at" in said  # said once ("offline: offline:")
    assert main(["--db", db, "push"]) == 3  # offline: nothing lost, as documented
    assert "offline" in capsys.readouterr().out
    out_file = tmp_path / "forum.jsonl"
    assert main(["--db", db, "export", "--source", "forum", "-o", str(out_file)]) == 0
    db2 = str(tmp_path / "copy.sqlite3")
    assert main(["--db", db2, "import", str(out_file), "-q"]) == 0
    assert "imported 4 members, 3 threads, 6 posts" in capsys.readouterr().out
    assert main(["--db", db, "source", "remove", "forum"]) == 2  # a decision still waits
    desk = Desk.open(Path(db))
    for item in desk.outbox(("pending", "sending")):
        assert desk.dismiss_outbox(item.outbox_id)
    desk.close_cache()
    assert main(["--db", db, "source", "remove", "forum"]) == 0
    desk = Desk.open(Path(db))
    removed = desk.audit_entries(limit=1)[0]
    desk.close_cache()
    assert (removed["action"], removed["actor"]) == ("source_remove", "alice")
    assert removed["detail"]["threads"] == 3 and removed["detail"]["posts"] == 6


def test_demo_source_push_marks_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "d.sqlite3")
    assert main(["--db", db, "source", "add", "demo", "--kind", "demo"]) == 0
    cache = open_cache(Path(db))
    with cache.transaction() as conn:
        conn.execute(
            "INSERT INTO threads (source_id, remote_id, title, status, created_at, "
            "last_activity_at) VALUES (1, 'd1', 'Demo', 'open', '2026-11-01T00:00:00Z', "
            "'2026-11-01T00:00:00Z')"
        )
    cache.close()
    assert main(["--db", db, "close", "1"]) == 0
    assert main(["--db", db, "push"]) == 0
    assert "demo: 1 applied" in capsys.readouterr().out
    assert main(["--db", db, "sync", "demo", "-q"]) == 0


def test_the_platforms_words_reach_the_terminal_as_text(
    tmp_path: Path, creds_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sync` and `sync --errors` print what the platform said about a topic; escape sequences
    in it (a title set, a cleared screen) and bidi controls are shown, never sent as is."""
    db = str(tmp_path / "c.sqlite3")
    server = community(n_topics=3, posts_per_topic=2).start()
    try:
        server.state.faults = {"/t/2.json": ["hostile500"]}
        opts = json.dumps({"retry": {"attempts": 1}})
        add = ["source", "add", "forum", "--kind", "discourse", "--url", server.url]
        assert main(["--db", db, *add, "--options", opts]) == 0
        assert main(["--db", db, "sync", "--quiet"]) == 4
        assert main(["--db", db, "sync", "--errors"]) == 0
    finally:
        server.stop()
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    (line,) = [line for line in out.splitlines() if "/t/{id}.json" in line]
    assert "gone \\x1b]0;pwned\\x07\\x1b[2J [bold]now[/] \\u202eevil" in line
