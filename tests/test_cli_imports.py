"""What a `peerdesk` command imports, in a fresh interpreter: each process builds the whole
parser (every command module), so a heavy import at the top of one command module is paid by
every command a moderator types, by the console's `tui` and by the suite's subprocesses.
"""

from __future__ import annotations

# SQLite only: what a command on a cache FILE imports; the team database needs psycopg anyway.
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from console.dupes import vector_names
from console.dupes.catch_up import PENDING
from console.dupes.stored import LEXICAL_METHOD
from tests.conftest import BuiltOnce, demo_file

ROOT = Path(__file__).resolve().parents[1]

# ~0.35 s of CPU between them at each start (29 Nov 2026): the PostgreSQL driver, the
# embedding model's runtime and its vectors, Textual, and the scorers of duplicates and answers
HEAVY = (
    "psycopg",
    "psycopg_pool",
    "numpy",
    "onnxruntime",
    "usearch",
    "tokenizers",
    "textual",
    "snowballstemmer",
    "rapidfuzz",
    "httpx",
)

# Runs each command (its words split on spaces) in turn on the cache, in one interpreter, and
# prints for each its exit code and the HEAVY modules loaded so far.
PROBE = """
import contextlib, io, sys
from console.cli import main

db, heavy = sys.argv[1], sys.argv[2].split(",")
for command in sys.argv[3:]:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(["--db", db, *command.split()])
        except SystemExit as ended:  # --help
            code = ended.code
    print(f"{command}|{code}|{','.join(m for m in heavy if m in sys.modules)}")
"""


def python(code: str, *args: str) -> str:
    """What `code` prints in a fresh interpreter of this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PEERDESK_DB", None)  # never a team database here
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def loaded(cache: Path, *commands: str) -> dict[str, tuple[str, str]]:
    """For each command: its exit code and the HEAVY modules (comma-separated) loaded once it,
    and every command before it, ran."""
    rows = [
        row.split("|") for row in python(PROBE, str(cache), ",".join(HEAVY), *commands).splitlines()
    ]
    return {command: (code, modules) for command, code, modules in rows}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, built_once: BuiltOnce) -> Path:
    """A small demo cache (the same build as tests/dupes/test_offline.py's)."""
    return demo_file(
        built_once, tmp_path_factory.mktemp("imports") / "demo.sqlite3", 40, embeddings=False
    )


COMMANDS = (
    "--help",
    "whoami",
    "queue",
    "show 1",
    "audit verify",
    "escalations",
    "source list",
    "export",  # every source as JSONL, to stdout
    "demo --if-missing",  # each `make demo`
)


def test_help_and_reading_commands_on_a_cache_import_nothing_heavy(cache: Path) -> None:
    assert loaded(cache, *COMMANDS) == dict.fromkeys(COMMANDS, ("0", ""))


def test_reading_duplicates_loads_nothing_heavy_until_a_pair_is_explained(cache: Path) -> None:
    """A thread's stored candidates and the strongest threads are read with SQL alone
    (console.dupes.stored); a weaker pair stored without its explanation gets it written when
    shown, which needs the scorer (and numpy): the probe sees that too."""
    with_pairs = int(
        python(
            "import sys, sqlite3; print(sqlite3.connect(sys.argv[1]).execute("
            "\"SELECT thread_id FROM duplicate_links WHERE explanation = '' "
            'ORDER BY thread_id LIMIT 1").fetchone()[0])',
            str(cache),
        )
    )
    shown, listed, weaker = f"dupes {with_pairs}", "dupes", f"dupes {with_pairs} --weaker"
    found = loaded(cache, shown, listed, weaker)
    assert found[shown] == found[listed] == ("0", "")
    code, modules = found[weaker]
    assert code == "0" and "numpy" in modules.split(","), modules


CONSOLE = """
import sys
import console.app
console.app.PeerdeskApp.run = lambda self: None  # no terminal here
from console.cli import main
assert main(["--db", sys.argv[1], "tui"]) == 0
print(",".join(sorted(m for m in sys.modules if m.startswith("console.cli."))))
"""


def test_the_console_by_its_name_builds_no_other_command(cache: Path) -> None:
    """`peerdesk tui` starts as plain `peerdesk` does: the other commands' modules (the whole
    parser, ~0.1 s) are not imported before its first rows."""
    assert python(CONSOLE, str(cache)).strip() == "console.cli.core"


MODEL = ("numpy", "onnxruntime", "usearch", "tokenizers")  # what the catch-up's work loads


def _caught_up_copy(cache: Path, folder: Path) -> Path:
    """A copy of the cache with nothing to catch up: (stand-in) vectors of today's identities
    for every thread, MiniLM's and e5's, no candidates of the lexical method, nothing marked
    pending."""
    copy = folder / "caught-up.sqlite3"
    shutil.copyfile(cache, copy)
    with contextlib.closing(sqlite3.connect(copy)) as conn, conn:
        conn.execute(
            "INSERT INTO thread_vectors (source_id, cell, thread_id, created_at, text_crc, vec) "
            "SELECT source_id, 0, id, created_at, 0, zeroblob(384) FROM threads"
        )
        conn.execute(  # and e5's (the third signal): what a caught-up cache holds
            "INSERT INTO thread_vectors_e5 (thread_id, text_crc, vec) "
            "SELECT id, 0, zeroblob(384) FROM threads"
        )
        conn.execute("DELETE FROM duplicate_links WHERE method = ?", (LEXICAL_METHOD,))
        conn.execute("DELETE FROM meta WHERE key = ?", (PENDING,))
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (vector_names.MODEL_KEY, vector_names.VECTORS),
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (vector_names.E5_MODEL_KEY, vector_names.E5_VECTORS),
        )
    return copy


def test_a_catch_up_with_nothing_to_do_loads_neither_numpy_nor_the_model(
    cache: Path, tmp_path: Path
) -> None:
    """`dupes --pending` with no import waiting, and `dupes --catch-up` (here or in the
    background) on a cache whose vectors and candidates are up to date, find that out with SQL
    and stop: numpy and the model's runtime are for the work."""
    waiting = ("dupes --pending", "dupes --pending --background", "dupes --pending --json")
    assert loaded(cache, *waiting) == dict.fromkeys(waiting, ("0", ""))
    done = _caught_up_copy(cache, tmp_path)
    caught_up = ("dupes --catch-up", "dupes --catch-up --background", "dupes --catch-up --json")
    assert loaded(done, *caught_up) == dict.fromkeys(caught_up, ("0", ""))
    assert not (tmp_path / "caught-up.sqlite3.catch-up.log").exists()  # nothing was started


def test_an_import_leaves_numpy_and_the_model_to_the_catch_up(cache: Path, tmp_path: Path) -> None:
    """`peerdesk import` stores the records and queues the duplicate work (SQL alone); the
    embeddings and candidates are the catch-up's, so the import loads none of their modules,
    whether it queued work for later or none."""
    exported = tmp_path / "community.jsonl"
    assert loaded(cache, f"export -o {exported}")[f"export -o {exported}"] == ("0", "")
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(cache, copy)
    imports = (
        f"import {exported} --source again --dupes later -q",
        f"import {exported} --source once-more --candidates 0 -q",
    )
    found = loaded(copy, *imports)
    for command in imports:
        code, modules = found[command]
        assert code == "0" and not set(MODEL) & set(modules.split(",")), (command, modules)
