"""`peerdesk undo`: shows what it takes back, refuses over a later decision by someone else, and
needs --yes (or a yes at the prompt) for a decision made in the console or already pushed."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from console import decisions
from console.cli import main
from console.db import Cache
from console.desk import Desk
from tests.backends import location, tamper

pytestmark = pytest.mark.backends


def status(cache: Cache, thread_id: int) -> str:
    return str(cache.one("SELECT status FROM threads WHERE id = ?", (thread_id,))[0])


def undo_count(cache: Cache) -> int:
    return int(cache.one("SELECT count(*) FROM batches WHERE undoes IS NOT NULL")[0])


@pytest.fixture
def demo(cache: Cache, ids: dict[str, int]) -> Cache:
    if cache.dialect.is_sqlite:
        cache.set_meta("demo", "1")  # alice (the test user) has every role
    return cache  # on the team database alice's role is the server's: a moderator


def run(cache: Cache, *args: str) -> int:
    return main(["--db", location(cache, cache.path), *args])


def decided_at(cache: Cache) -> str:
    """When the last decision was made: by peerdesk's (frozen) clock on the cache, by the
    server's on the team database."""
    return str(cache.one("SELECT created_at FROM batches ORDER BY id DESC LIMIT 1")[0])


def test_undo_of_a_command_line_decision_shows_it_and_goes_ahead(
    demo: Cache, ids: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(demo, "close", str(ids["t1"])) == 0
    at = decided_at(demo)
    assert run(demo, "undo") == 0
    out = capsys.readouterr().out
    assert f"undo: close of 1 thread (#{ids['t1']}) at {at} in command line" in out
    assert "undid close of 1 item" in out
    assert status(demo, ids["t1"]) == "open"


def test_a_console_decision_needs_yes_when_nobody_can_be_asked(
    demo: Cache, ids: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    with decisions.acting_from("console: Queue"):
        Desk.for_cache(demo).close([ids["t1"], ids["t5"]])
    assert run(demo, "undo") == 2
    captured = capsys.readouterr()
    assert "close of 2 threads" in captured.out and "console: Queue" in captured.out
    assert "peerdesk undo --yes" in captured.err and len(captured.err.splitlines()) == 1
    assert status(demo, ids["t1"]) == "closed" and undo_count(demo) == 0
    assert run(demo, "undo", "--yes") == 0
    assert (status(demo, ids["t1"]), status(demo, ids["t5"])) == ("open", "open")


def test_a_pushed_decision_is_asked_about_at_the_prompt(
    demo: Cache,
    ids: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    assert run(demo, "close", str(ids["t1"])) == 0
    sent = "UPDATE outbox SET state = 'applied', attempts = 1"
    tamper(demo, request, sent)  # as the push would have it (only it may, on the team database)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["n", "y"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert run(demo, "undo") == 1
    assert "already sent to the platform" in capsys.readouterr().out
    assert status(demo, ids["t1"]) == "closed" and undo_count(demo) == 0
    assert run(demo, "undo") == 0
    assert status(demo, ids["t1"]) == "open"
    reverse = demo.one("SELECT action, state FROM outbox ORDER BY id DESC LIMIT 1")
    assert tuple(reverse) == ("reopen", "pending")


def test_undo_over_a_later_decision_is_refused_with_who_and_when(
    demo: Cache,
    ids: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(demo, "close", str(ids["t1"])) == 0
    closed_at = str(demo.one("SELECT ts FROM audit ORDER BY id DESC LIMIT 1")[0])
    monkeypatch.setenv("PEERDESK_NOW", "2026-11-20T12:07:00Z")
    Desk.for_cache(demo, actor="dave").reopen([ids["t1"]])
    at = str(demo.one("SELECT ts FROM audit ORDER BY id DESC LIMIT 1")[0])  # the server's clock
    assert run(demo, "undo", "--yes") == 2
    err = capsys.readouterr().err
    # both times by one clock: on the team database the server's (its audit's, its batches')
    assert f"after your close at {closed_at}, dave did reopen on thread {ids['t1']} at {at}" in err
    assert len(err.splitlines()) == 1
    assert status(demo, ids["t1"]) == "open" and undo_count(demo) == 0


def test_the_prompt_in_a_real_terminal(demo: Cache, ids: dict[str, int]) -> None:
    """`peerdesk undo` with its stdin on a pseudo-terminal asks, and a `y` undoes."""
    with decisions.acting_from("console: Thread"):
        Desk.for_cache(demo).close([ids["t1"]])
    main_fd, terminal_fd = pty.openpty()
    try:
        os.write(main_fd, b"y\n")  # typed ahead; read by input() after the question
        run = subprocess.run(
            [sys.executable, "-m", "console", "--db", location(demo, demo.path), "undo"],
            stdin=terminal_fd,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(terminal_fd)
        os.close(main_fd)
    assert run.returncode == 0, run.stderr
    assert "console: Thread" in run.stdout and "Undo it? [y/N]" in run.stdout
    assert "undid close of 1 item" in run.stdout
    assert status(demo, ids["t1"]) == "open"
