"""`--limit` of every command is a count: a negative one reached SQLite's LIMIT, where -1 means
no limit at all, and `peerdesk queue --limit -1` printed every thread of the cache (a million on a
big one), `audit log --limit -5` the whole log. It is refused by the parser in one line."""

from __future__ import annotations

# SQLite only: the parser refuses the number before any store is opened; one engine shows it.
import json

import pytest

from console.cli import build_parser, main
from console.db import Cache


def limited_commands() -> list[list[str]]:
    """Every (sub)command that takes --limit, as the words that reach it."""
    found: list[list[str]] = []

    def walk(parser: object, words: list[str]) -> None:
        for action in parser._actions:  # type: ignore[attr-defined]
            if "--limit" in action.option_strings:
                found.append(words)
            choices = getattr(action, "choices", None)
            for name, sub in choices.items() if isinstance(choices, dict) else ():
                walk(sub, [*words, name])

    walk(build_parser(), [])
    return found


def test_every_limit_refuses_a_negative_count(
    cache: Cache, ids: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    commands = limited_commands()
    assert ["queue"] in commands and ["audit", "log"] in commands and len(commands) >= 6
    for words in commands:
        with pytest.raises(SystemExit) as stopped:
            main(["--db", str(cache.path), *words, "--limit", "-1"])
        err = capsys.readouterr().err
        assert stopped.value.code == 2, words
        assert "argument --limit: -1 is not a count (0 or more)" in err, (words, err)


def test_a_limit_still_limits(
    cache: Cache, ids: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(cache.path), "queue", "--json", "--limit", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2
    assert main(["--db", str(cache.path), "queue", "--json", "--limit", "0"]) == 0
    assert capsys.readouterr().out == ""
