"""Every test file that touches a store says on which backends it runs.

A file *touches a store* when its code names one of STORE_NAMES (it opens a cache, a team
database, a Desk, a Door or the console on one) or one of its functions takes a *store fixture*:
a fixture, in the file or in a conftest.py on its way up to tests/, whose code names one of
STORE_NAMES or which takes a store fixture itself. (Read from the source, not run: a
fixture only imported into a conftest counts where it is defined.)

Such a file either runs on the team database too (it uses `pytest.mark.backends`, or names the
`team_server` fixture or `team_database`: tests/backends.py) or says why not in one line of its
header (before its first def or class; a comment, or a line of the module's docstring):

    # SQLite only: <why>          e.g. the cache FILE itself, SQLite's query plans
    # PostgreSQL only: <why>      e.g. the server's grants

A file that touches no store needs nothing, and may say so (`# No store: <why>`); a file that
says "No store" but touches one fails. tests/team is the team database's own tier (grants,
concurrency, migrate-to): PostgreSQL is its subject, so it is not asked.

Until the rest of the suite is converted, the files still on SQLite alone without a reason are
listed in NOT_YET_CONVERTED, by owner. The list only shrinks: a listed file that now runs on
both backends or gives its reason fails until it is taken off.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
STORE_NAMES = frozenset(
    {"open_cache", "open_team", "Cache", "TeamCache", "Desk", "Door", "PeerdeskApp"}
)
ON_THE_SERVER = frozenset({"team_server", "team_database"})  # tests/backends.py's
TEAM_TIER = TESTS / "team"
HEADER_LINE = re.compile(r"^(?:# )?(SQLite only|PostgreSQL only|No store)[^:\n]*: *\S")
BACKENDS_MARK = re.compile(r"\bpytest\.mark\.backends\b")

# Store-touching files left on SQLite alone without a reason, by owner (a file a merge brings in
# before its owner converts it may wait here; the list only shrinks).
NOT_YET_CONVERTED: dict[str, str] = {}  # every store-touching file is converted or says why


@dataclass(frozen=True)
class Source:
    """What the check reads of one Python file."""

    names: frozenset[str]  # every name and attribute its code mentions
    parameters: frozenset[str]  # every parameter of every function in it
    fixtures: dict[str, tuple[frozenset[str], frozenset[str]]]  # name -> (names, parameters)
    header: list[str]  # its lines before the first def or class
    marked: bool  # it uses pytest.mark.backends, the team_server fixture or team_database


def _mentions(node: ast.AST) -> tuple[set[str], set[str]]:
    names: set[str] = set()
    parameters: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            names.add(sub.attr)
        elif isinstance(sub, ast.alias):
            names.add((sub.asname or sub.name).rsplit(".", 1)[-1])
            names.add(sub.name.rsplit(".", 1)[-1])
        elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = sub.args
            for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
                parameters.add(arg.arg)
    return names, parameters


def _is_fixture(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr == "fixture":
            return True
        if isinstance(target, ast.Name) and target.id == "fixture":
            return True
    return False


def read(text: str) -> Source:
    tree = ast.parse(text)
    names, parameters = _mentions(tree)
    fixtures = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_fixture(node):
            found, params = _mentions(node)
            fixtures[node.name] = (frozenset(found), frozenset(params))
    first = min(
        (
            min([node.lineno, *(d.lineno for d in node.decorator_list)])
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ),
        default=len(text.splitlines()) + 1,
    )
    return Source(
        frozenset(names),
        frozenset(parameters),
        fixtures,
        text.splitlines()[: first - 1],
        bool(BACKENDS_MARK.search(text) or names & ON_THE_SERVER),
    )


def store_fixtures(sources: Iterable[Source]) -> set[str]:
    """The fixtures that hand out a store: they name one of STORE_NAMES, or take a fixture
    that does (to a fixed point)."""
    defined: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for source in sources:
        defined.update(source.fixtures)
    found = {name for name, (names, _) in defined.items() if names & STORE_NAMES}
    while True:
        more = {name for name, (_, params) in defined.items() if params & found} - found
        if not more:
            return found
        found |= more


def verdict(source: Source, fixtures: set[str]) -> str | None:
    """Why `source` breaks the rule, or None when it keeps it."""
    touches = bool(source.names & STORE_NAMES or source.parameters & fixtures)
    reasons = [m.group(1) for line in source.header if (m := HEADER_LINE.match(line))]
    says_no_store = "No store" in reasons
    if touches and says_no_store:
        return "says it touches no store, but opens one or takes a store fixture"
    if not touches or source.marked:
        return None
    if any(reason != "No store" for reason in reasons):
        return None
    return (
        "touches a store on SQLite only without saying why: mark its tests "
        "@pytest.mark.backends (tests/backends.py) or add a header line '# SQLite only: <why>'"
    )


def conftests_of(path: Path) -> list[Path]:
    found = []
    folder = path.parent
    while folder.is_relative_to(TESTS):
        if (folder / "conftest.py").exists():
            found.append(folder / "conftest.py")
        folder = folder.parent
    return found


def files_to_check() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if not p.is_relative_to(TEAM_TIER))


def findings() -> dict[str, str]:
    """Every test file outside tests/team that breaks the rule, with why."""
    cache: dict[Path, Source] = {}

    def source(path: Path) -> Source:
        if path not in cache:
            cache[path] = read(path.read_text(encoding="utf-8"))
        return cache[path]

    broken = {}
    for path in files_to_check():
        fixtures = store_fixtures([source(c) for c in conftests_of(path)] + [source(path)])
        why = verdict(source(path), fixtures)
        if why:
            broken[path.relative_to(TESTS).as_posix()] = why
    return broken


def test_every_store_touching_file_runs_on_both_backends_or_says_why() -> None:
    broken = findings()
    new = {path: why for path, why in broken.items() if path not in NOT_YET_CONVERTED}
    assert not new, "\n".join(f"tests/{path}: {why}" for path, why in sorted(new.items()))


def test_the_list_of_files_not_yet_converted_only_shrinks() -> None:
    broken = findings()
    done = sorted(path for path in NOT_YET_CONVERTED if path not in broken)
    assert not done, "now on both backends or saying why; take off NOT_YET_CONVERTED: " + ", ".join(
        done
    )


# The check itself, on small files of its own: it must be able to fail.

CONFTEST = """
import pytest
from console.db import Cache, open_cache

@pytest.fixture
def cache(tmp_path):
    return open_cache(tmp_path / "c.sqlite3", create=True)

@pytest.fixture
def desk_of_cache(cache):
    return cache

@pytest.fixture
def words():
    return ["a"]
"""


def judge(text: str) -> str | None:
    test = read(text)
    return verdict(test, store_fixtures([read(CONFTEST), test]))


@pytest.mark.parametrize(
    "text",
    [
        "from console.db import open_cache\n\ndef test_x(tmp_path):\n    open_cache(tmp_path)\n",
        "def test_x(cache):\n    assert cache\n",
        "def test_x(desk_of_cache):\n    assert desk_of_cache\n",  # a fixture taking a store
        "import console.desk\n\ndef test_x():\n    console.desk.Desk.for_cache\n",
        '"""Doc."""\n\n\ndef test_x(cache):\n    pass  # SQLite only: too late, not the header\n',
        "# No store: none\n\ndef test_x(cache):\n    pass\n",  # says none, takes one
        "# SQLite only:\n\ndef test_x(cache):\n    pass\n",  # no reason given
    ],
)
def test_a_store_touching_file_without_mark_or_reason_is_found(text: str) -> None:
    assert judge(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "def test_x(words):\n    assert words\n",  # no store
        "# No store: words only\n\ndef test_x(words):\n    assert words\n",
        '"""Doc."""\n\n# SQLite only: the cache FILE\n\ndef test_x(cache):\n    pass\n',
        "import pytest\n\n@pytest.mark.backends\ndef test_x(cache, backend):\n    pass\n",
        "import pytest\n\npytestmark = pytest.mark.backends\n\ndef test_x(cache):\n    pass\n",
    ],
)
def test_a_file_on_both_backends_saying_why_or_without_a_store_passes(text: str) -> None:
    assert judge(text) is None
