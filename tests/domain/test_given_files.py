"""Files a person hands peerdesk (an escalation rule file, a points schedule, a provider's
result file) are read with a cap: /dev/zero, a directory or a file far larger than any such
file is refused in words, where `Path.read_text` read /dev/zero until memory ran out. A pipe
and an ordinary file (CRLF line ends too) read as before."""

# SQLite only: the files read are the point; the store only lets the command run
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from console.db import Cache
from console.escalate.active import read_rules_file
from console.escalate.rules import RulesError, example_text
from console.files import read_given_text
from console.rewards.export import ResultFileError, read_results


def peerdesk(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_dev_zero_a_directory_and_a_huge_file_are_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="not a file"):
        read_given_text(Path("/dev/zero"))
    with pytest.raises(IsADirectoryError):
        read_given_text(tmp_path)
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"# " + b"x" * 3000 + b"\n")
    with pytest.raises(OSError, match="larger than 2,000 bytes"):
        read_given_text(huge, limit=2000)


def test_a_file_and_a_pipe_read_as_read_text_does(tmp_path: Path) -> None:
    crlf = tmp_path / "rules.toml"
    crlf.write_bytes(b"a = 1\r\nb = 'caf\xc3\xa9'\rc = 3\n")
    assert read_given_text(crlf) == crlf.read_text(encoding="utf-8") == "a = 1\nb = 'café'\nc = 3\n"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(b"x = 1\n"), daemon=True)
    writer.start()
    assert read_given_text(fifo) == "x = 1\n"
    writer.join(5)


def test_a_rule_file_and_a_result_file_of_dev_zero(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="Cannot read the rule file /dev/zero: it is not a file"):
        read_rules_file(Path("/dev/zero"))
    with pytest.raises(ResultFileError, match="Cannot read the result file /dev/zero: it is not"):
        read_results(Path("/dev/zero"))
    rules = tmp_path / "rules.toml"
    rules.write_text(example_text())
    assert read_rules_file(rules).rules  # an ordinary rule file reads as before


@pytest.mark.parametrize(
    "args",
    [
        ("escalations", "--dry-run", "/dev/zero"),
        ("ledger", "schedule", "/dev/zero"),
    ],
)
def test_the_command_line_says_so_in_one_line(
    cache: Cache, args: tuple[str, ...], grant_roles: Callable[[dict[str, list[str]]], Path]
) -> None:
    grant_roles({"alice": ["admin", "moderator"]})  # the tests' OS account
    run = peerdesk(cache.path, *args)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr and "MemoryError" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "/dev/zero: it is not a file" in lines[0], run.stderr
