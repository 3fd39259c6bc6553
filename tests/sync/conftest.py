"""Sync fixtures: a real cache file, the fake Discourse server (a real HTTP server on
127.0.0.1) and the Prism mock of the official Discourse OpenAPI spec (one per test session)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from console.db import Cache
from sync.http import FAST_RETRIES
from tests.backends import TeamServer, backend, empty_store, team_server
from tests.conftest import require_shared
from tests.sync.fake_discourse import API_KEY, API_USER, FakeDiscourse, community

__all__ = ["backend", "team_server"]  # fixtures: a `backends` test's cache is either engine

REPO = Path(__file__).resolve().parents[2]
PRISM = REPO / ".tools" / "node_modules" / ".bin" / "prism"


@pytest.fixture(autouse=True)
def _alice_runs_the_cache(grant_roles: Callable[[dict[str, list[str]]], Path]) -> None:
    """alice (the tests' name) moderates and administers the caches the sync tests build."""
    grant_roles({"alice": ["moderator", "admin"]})


@pytest.fixture(autouse=True, scope="session")
def _log_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Library logging of in-process commands goes to a temporary file, not the user's."""
    saved = os.environ.get("PEERDESK_LOG")
    os.environ["PEERDESK_LOG"] = str(tmp_path_factory.mktemp("log") / "peerdesk.log")
    yield
    if saved is None:
        os.environ.pop("PEERDESK_LOG", None)
    else:
        os.environ["PEERDESK_LOG"] = saved


@pytest.fixture
def cache(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cache]:
    """A new cache file; in the PostgreSQL run of a `backends` test, an empty team database of
    the test's own (schema and grants from team-install), connected as alice (a moderator)."""
    with empty_store(backend, tmp_path / "cache.sqlite3", request) as store:
        yield store


SYNC_ADMIN = "syncadmin"
"""A team-database role holding peerdesk_admin and peerdesk_moderator (import is an admin's)."""


@pytest.fixture
def admin_of(request: pytest.FixtureRequest) -> Iterator[Callable[[Cache], Cache]]:
    """`admin_of(cache)`: the cache itself (a file: the roles file makes alice an admin), or the
    same team database connected as a role that holds peerdesk_admin."""
    opened: list[Cache] = []

    def admin(cache: Cache) -> Cache:
        url = getattr(cache, "url", "")
        if not url:
            return cache
        from console.storage.postgres import open_team

        server: TeamServer = request.getfixturevalue("team_server")
        with server.cluster.cluster_wide(), server.superuser() as conn:
            conn.execute(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                f"'{SYNC_ADMIN}') THEN CREATE ROLE {SYNC_ADMIN} LOGIN; END IF; END $$"
            )
            conn.execute(f"GRANT peerdesk_admin, peerdesk_moderator TO {SYNC_ADMIN}")
        server.cluster.allow(SYNC_ADMIN)
        other = open_team(url, user=SYNC_ADMIN)
        opened.append(other)
        return other

    yield admin
    for other in opened:
        other.close()


@pytest.fixture
def creds_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERDESK_NO_KEYRING", "1")
    monkeypatch.setenv("PEERDESK_FORUM_API_KEY", API_KEY)
    monkeypatch.setenv("PEERDESK_FORUM_API_USERNAME", API_USER)


@pytest.fixture
def fake() -> Iterator[FakeDiscourse]:
    server = community().start()
    yield server
    server.stop()


FORUM_ENV = {
    "PEERDESK_FORUM_API_KEY": API_KEY,
    "PEERDESK_FORUM_API_USERNAME": API_USER,
    "PEERDESK_NO_KEYRING": "1",
}
"""What a real peerdesk process needs to reach the fake forum (a source named "forum")."""


def peerdesk(db: Path, *args: str) -> subprocess.Popen[bytes]:
    """A real `peerdesk --db DB ARGS...` process, with FORUM_ENV (the test's roles file is named
    in os.environ), its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "console", "--db", str(db), *args],
        cwd=REPO,
        env={**os.environ, **FORUM_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finished(db: Path, *args: str, timeout: float = 120) -> str:
    """`peerdesk` run to its end, which must be a success; its output and errors."""
    proc = peerdesk(db, *args)
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, (out + err).decode()
    return (out + err).decode()


def add_source(cache: Cache, name: str, kind: str, url: str, **options: object) -> None:
    options.setdefault("retry", FAST_RETRIES.__dict__)
    with cache.transaction() as conn:
        conn.execute(
            "INSERT INTO sources (kind, name, base_url, options, created_at) "
            "VALUES (?, ?, ?, ?, '2026-11-20T12:00:00Z')",
            (kind, name, url, json.dumps(options)),
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def prism_url() -> Iterator[str]:
    """Prism serving the official Discourse OpenAPI spec on a free port."""
    if not PRISM.exists():
        if os.environ.get("PEERDESK_REQUIRE_ALL"):
            pytest.fail("Prism is required (PEERDESK_REQUIRE_ALL is set): run `make tools`")
        pytest.skip("Prism is not installed: run `make tools`")
    port = _free_port()
    spec = require_shared("fixtures", "discourse", "openapi.json")
    proc = subprocess.Popen(
        [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"Prism exited early: {out[-2000:]}")
            try:
                httpx.get(url + "/site/basic-info.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("Prism did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
