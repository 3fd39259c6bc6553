"""Fixtures shared by every test tier: a frozen clock, a private config, a real cache file."""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from console.db import Cache, open_cache

if TYPE_CHECKING:
    from console.desk import Desk
    from tests.team.cluster import Cluster

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FROZEN_NOW = "2026-11-20T12:00:00Z"


def require_all() -> bool:
    """Whether CI asked for every test to run (a missing tool or data set is then a failure)."""
    return bool(os.environ.get("PEERDESK_REQUIRE_ALL"))


def _roles_of_the_schema(cluster: Cluster) -> None:
    """The cluster-wide roles team-install makes (peerdesk_owner, peerdesk_moderator, ...),
    made once by the worker that starts the cluster, before any other can use it: workers
    installing the schema into their own databases at once would otherwise race to create them.
    (A scratch database, dropped again: the roles stay, as roles do.)"""
    import psycopg

    from console.team import schema

    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE peerdesk_roles")
    with psycopg.connect(cluster.conninfo("peerdesk_roles"), autocommit=True) as conn:
        schema.install(conn)
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute("DROP DATABASE peerdesk_roles")


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The run's one throwaway PostgreSQL cluster (tests/team/cluster.py), shared by every
    xdist worker (coordinated in their temp folders' parent) and started when a test first
    needs it; each worker's databases are its own (`db_name`). Without PostgreSQL every test
    that needs it is skipped in one line (a failure under PEERDESK_REQUIRE_ALL)."""
    from tests.team.cluster import ClusterUnavailable, join, leave

    try:
        cluster = join(run_temp(tmp_path_factory) / "pg-cluster", _roles_of_the_schema)
    except ClusterUnavailable as why:
        if require_all():
            pytest.fail(f"PostgreSQL is required (PEERDESK_REQUIRE_ALL is set): {why}")
        pytest.skip(f"no PostgreSQL for the tests on the team database: {why}")
    yield cluster
    leave(cluster)


def database_dump(path: Path) -> list[str]:
    """Every statement that would rebuild the cache file: equal dumps mean nothing changed."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def require_shared(*parts: str) -> Path:
    """A path inside ../shared (fixtures, benchmark data beside the checkout).

    Missing: the test (or, called at import time, the whole module) is skipped with one line
    naming the path, or fails when PEERDESK_REQUIRE_ALL is set (CI). Safe to call while
    collecting: the skip then covers the module that asked.
    """
    path = SHARED.joinpath(*parts)
    if path.exists():
        return path
    what = "/".join(("../shared", *parts))
    if require_all():
        pytest.fail(f"{what} is required (PEERDESK_REQUIRE_ALL is set) but missing at {path}")
    pytest.skip(
        f"{what} is missing (clone the shared fixtures beside the checkout to run this)",
        allow_module_level=True,
    )
    raise AssertionError  # unreachable


def require_tool(name: str) -> str:
    """Path of an external tool; skip without it, fail if PEERDESK_REQUIRE_ALL is set (CI)."""
    found = shutil.which(name)
    if found:
        return found
    if require_all():
        pytest.fail(f"{name} is required (PEERDESK_REQUIRE_ALL is set) but was not found")
    pytest.skip(f"{name} is not installed")
    raise AssertionError  # unreachable


class BuiltOnce:
    """Cache files built once per test run and copied for each test that wants one.

    A file is built the first time any worker asks for its key (the others wait on a lock and
    then find it), under the frozen clock, in the asking test's own environment (as a fixture
    of its own would have built it); every test gets a copy of its own (`copy`), so what one
    test changes no other sees. The builds are deterministic (tests/demo/test_demo_build.py),
    so a copy holds what a build of the test's own would.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str, build: Callable[[Path], object]) -> Path:
        """The built file for `key` (`build(path)` writes a new, closed cache file at path)."""
        target = self.folder / f"{key}.sqlite3"
        with open(self.folder / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not target.exists():
                partial = self.folder / f"{key}.partial" / "cache.sqlite3"
                shutil.rmtree(partial.parent, ignore_errors=True)
                partial.parent.mkdir()
                with pytest.MonkeyPatch.context() as env:
                    env.setenv("PEERDESK_NOW", FROZEN_NOW)
                    env.setenv("TZ", "UTC")
                    build(partial)
                left = sorted(p.name for p in partial.parent.iterdir() if p != partial)
                assert not left, f"the build of {key} left files beside its cache: {left}"
                partial.rename(target)
                partial.parent.rmdir()
        return target

    def copy(self, key: str, build: Callable[[Path], object], dest: Path) -> Path:
        """A copy of the built file for `key` at `dest` (its mode kept); `dest`."""
        shutil.copy(self.path(key, build), dest)
        return dest


def run_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp folder of the whole run: under xdist the workers' temp folders' parent (as
    pytest-xdist documents), else the process's own (no `worker_id` fixture without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> BuiltOnce:
    """The run's BuiltOnce, shared by every xdist worker (their temp folders' parent)."""
    return BuiltOnce(run_temp(tmp_path_factory) / "built-once")


def demo_file(
    built: BuiltOnce,
    dest: Path,
    threads: int,
    seed: int | None = None,
    *,
    candidate_limit: int | None = None,
    embeddings: bool = True,
) -> Path:
    """A copy at `dest` of `build_demo(cache, threads, seed, candidate_limit=...,
    embeddings=...)` (None: the builder's defaults), built once per run."""
    from console.demo import DEFAULT_CANDIDATE_LIMIT, DEFAULT_SEED, build_demo

    seed = DEFAULT_SEED if seed is None else seed
    limit = DEFAULT_CANDIDATE_LIMIT if candidate_limit is None else candidate_limit

    def build(path: Path) -> None:
        cache = open_cache(path, create=True)
        try:
            build_demo(cache, threads, seed, candidate_limit=limit, embeddings=embeddings)
        finally:
            cache.close()

    key = f"demo-{threads}-{seed}-{limit}-{'e' if embeddings else 'l'}"
    return built.copy(key, build, dest)


def new_cache_file(built: BuiltOnce, dest: Path) -> Path:
    """A new, empty cache file at `dest`: a copy of one `open_cache(create=True)` made once per
    run, so the migrations run once rather than for every test that wants an empty cache
    (41 ms of CPU each; a copy takes 2 ms). The copy keeps the file's mode (0600); tests of
    the creation itself call `open_cache(path, create=True)`."""

    def build(path: Path) -> None:
        open_cache(path, create=True).close()

    return built.copy("empty", build, dest)


@pytest.fixture(autouse=True, scope="session")
def _frozen_clock_for_the_session() -> Iterator[None]:
    """Module-scoped fixtures (a demo built once for a module) see the frozen clock too: the
    demo's times count back from the clock, and `_isolated` below only starts with each test."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PEERDESK_NOW", FROZEN_NOW)
        env.setenv("TZ", "UTC")
        yield


@pytest.fixture
def env_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test's own config and roles file live here (not in tmp_path, which tests list)."""
    return tmp_path_factory.mktemp("peerdesk-env")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env_dir: Path) -> None:
    """Keep the developer's own config, roles, cache and clock out of every test.

    Tests act as "alice" (and others) honestly: the override is allowed because the account
    running the tests owns the temporary cache files. Roles come from a roles file in the test's
    own folder (`grant_roles`) or from a config file the test writes (the test's account owns it
    and the cache, so it has authority); nobody has a role until a test grants one.
    """
    monkeypatch.setenv("PEERDESK_NOW", FROZEN_NOW)
    monkeypatch.setenv("PEERDESK_USER", "alice")
    # an import's duplicate refresh waits for `dupes --pending` instead of a detached process
    # outliving the test (tests that want another mode pass `--dupes`)
    monkeypatch.setenv("PEERDESK_IMPORT_DUPES", "later")
    config = env_dir / "config.toml"
    if not config.exists():
        config.write_text("# the test's own (empty) config\n", encoding="utf-8")
    monkeypatch.setenv("PEERDESK_CONFIG", str(config))
    monkeypatch.setenv("PEERDESK_DB", str(tmp_path / "default-cache.sqlite3"))
    monkeypatch.delenv("PEERDESK_ROLES_FILE", raising=False)
    monkeypatch.setenv("TZ", "UTC")


def write_roles(path: Path, roles: dict[str, list[str]]) -> Path:
    """Write a roles file (TOML, mode 0600) granting `roles` by user name."""
    lines = ["[roles]"] + [
        f"{user} = {list(names)!r}".replace("'", '"') for user, names in roles.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture
def grant_roles(
    env_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[dict[str, list[str]]], Path]:
    """grant_roles({"alice": ["moderator"]}): the test's roles file (PEERDESK_ROLES_FILE)."""

    def grant(roles: dict[str, list[str]]) -> Path:
        path = write_roles(env_dir / "roles.toml", roles)
        monkeypatch.setenv("PEERDESK_ROLES_FILE", str(path))
        return path

    return grant


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "cache.sqlite3"


@pytest.fixture
def cache(cache_path: Path, built_once: BuiltOnce) -> Iterator[Cache]:
    """A new cache file (`new_cache_file`), opened (and closed after the test) through the real
    open path."""
    opened = open_cache(new_cache_file(built_once, cache_path))
    yield opened
    opened.close()


@pytest.fixture
def console_of(cache: Cache) -> Iterator[Callable[[str], Desk]]:
    """`console_of(who)`: `who` at a second console, with a connection of its own to the test's
    store (`cache`, of whichever engine): another process on the same cache file (closed after
    the test), or another session of `who`'s own role on the team database."""
    from console.desk import Desk

    opened: list[Cache] = []

    def open_for(who: str) -> Desk:
        if not cache.dialect.is_sqlite:
            return Desk.for_cache(cache, actor=who)
        own = open_cache(cache.path)
        opened.append(own)
        return Desk.for_cache(own, actor=who)

    yield open_for
    for own in opened:
        own.close()


@pytest.fixture
def shared() -> Iterator[Path]:
    """../shared itself; see require_shared."""
    yield require_shared()


def _cannot(what: str) -> None:
    if require_all():
        pytest.fail(f"{what} (PEERDESK_REQUIRE_ALL is set)")
    pytest.skip(what)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """`small_disk(kib)` mounts a real tmpfs of that size and returns its folder, so "disk full"
    is the kernel's own ENOSPC (SQLite's SQLITE_FULL), not a simulation. Needs root: skipped
    otherwise (failed under PEERDESK_REQUIRE_ALL). `resize_disk(folder, kib)` grows one."""
    mounted: list[Path] = []

    def mount(kib: int) -> Path:
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        if os.geteuid() != 0 or not shutil.which("mount"):
            _cannot("a small disk (tmpfs) for disk-full tests needs root and mount")
        run = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        if run.returncode:
            _cannot(f"cannot mount a small tmpfs for disk-full tests: {run.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def resize_disk(where: Path, kib: int) -> None:
    subprocess.run(
        ["mount", "-o", f"remount,size={kib}k", str(where)], check=True, capture_output=True
    )


def pytest_configure(config: pytest.Config) -> None:
    """xdist_group is pytest-xdist's marker: a run without it (-p no:xdist) must still accept
    the modules that carry it (--strict-markers)."""
    config.addinivalue_line("markers", "xdist_group(name): tests run in one xdist worker")


_model_build = pytest.StashKey[subprocess.Popen[str]]()
_model_build_said = pytest.StashKey[str]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist the controller starts tests/prebuild_models.py as the run begins: on a fresh
    machine the duplicate finder's models are then built while the workers run their first tests,
    not by the first test that needs them while the others that do wait (a machine with them
    built already: the process finds both and ends, ~0.2 s of CPU)."""
    config = session.config
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    if not getattr(config.option, "numprocesses", None):
        return
    config.stash[_model_build] = subprocess.Popen(
        [sys.executable, "-m", "tests.prebuild_models"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The build started above is waited for (the run's tests needed it, so it is done), or
    stopped when the run was interrupted; its one line goes to the summary (below)."""
    build = session.config.stash.get(_model_build, None)
    if build is None:
        return
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        build.kill()
    try:
        _, err = build.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        build.kill()
        _, err = build.communicate()
    said = [line for line in err.splitlines() if line.startswith("prebuild_models:")]
    session.config.stash[_model_build_said] = said[-1] if said else "prebuild_models: no word"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    said = terminalreporter.config.stash.get(_model_build_said, None)
    if said is not None:
        terminalreporter.write_line(said)


def _starts_late(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is None and item.get_closest_marker("e2e") is None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `backends` whose store depends on `backend` but that was not given both
    (its module reaches no `pytest_generate_tests` of tests/backends.py) would run on SQLite
    alone while claiming both: it fails, saying so. (Marked tests that take no store, under a
    module's `pytestmark`, have nothing to run twice.)

    Under xdist (a worker's collection is the order the scheduler hands tests out in), `slow`
    and `e2e` tests come first: `--dist loadgroup` sends the groups first, largest first, then
    single tests in this order, so a 20-second test no longer starts last on one worker while
    the other has finished. A run without workers keeps the files' order (a module's fixtures
    are then built once)."""
    if hasattr(config, "workerinput"):
        items.sort(key=_starts_late)  # stable: the files' order within each half
    for item in items:
        if item.get_closest_marker("backends") is None:
            continue
        names: list[str] = getattr(item, "fixturenames", [])
        callspec = getattr(item, "callspec", None)
        if "backend" in names and (callspec is None or "backend" not in callspec.params):
            names.insert(0, "_not_on_both_backends")


@pytest.fixture
def _not_on_both_backends() -> None:
    pytest.fail(
        "marked `backends` but runs on SQLite alone: import tests.backends' "
        "pytest_generate_tests into its module (or its conftest)"
    )
