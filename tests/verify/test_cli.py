"""`peerdesk verify` headless: list, explain, decide, with clear one-line errors."""

from __future__ import annotations

import json

import pytest

from console.cli import main
from tests.backends import location
from tests.verify.conftest import Community

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database


def run(
    community: Community, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    code = main(["--db", location(community.cache, community.cache.path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def demo_mark(community: Community) -> None:
    """Mark the cache as a demo so the OS user has every role (as `make demo` does)."""
    with community.cache.transaction():
        community.cache.set_meta("demo", "1")


def test_list_json_and_explain(community: Community, capsys: pytest.CaptureFixture[str]) -> None:
    demo_mark(community)
    code, out, _ = run(community, capsys, "verify", "--refresh", "--list", "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["post_id"] for r in rows} >= {community.posts["t1-1"], community.posts["t1-2"]}
    assert all({"score", "impact", "title", "kind"} <= r.keys() for r in rows)
    code, out, _ = run(community, capsys, "verify", str(community.posts["t1-3"]))
    assert code == 0 and "near-copy of reply no. 2" in out and "competing answers" in out


def test_decide_verified_and_rejected(
    community: Community, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_mark(community)
    code, out, _ = run(
        community,
        capsys,
        "verify",
        str(community.posts["t2-2"]),
        "--as",
        "verified",
        "--reason",
        "matches the tariff",
    )
    assert code == 0 and "verified by alice" in out
    code, out, _ = run(
        community,
        capsys,
        "verify",
        str(community.posts["t1-3"]),
        "--as",
        "rejected",
        "--reason",
        "copied: same as reply 2",
    )
    assert code == 0 and "rejected by alice (copied)" in out
    row = community.cache.one(
        "SELECT note FROM verifications WHERE post_id = ?", (community.posts["t1-3"],)
    )
    assert row[0] == "same as reply 2"


def test_bad_input_is_one_clear_line(
    community: Community, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_mark(community)
    code, _, err = run(
        community,
        capsys,
        "verify",
        str(community.posts["t1-3"]),
        "--as",
        "rejected",
        "--reason",
        "meh",
    )
    assert code == 2 and err.startswith("peerdesk: --as rejected needs --reason, one of: wrong")
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(community, capsys, "verify", "424242", "--as", "verified")
    assert code == 2 and "no answer 424242" in err
    assert community.cache.one("SELECT count(*) FROM audit")[0] == 0


def test_without_a_role_nothing_is_written(
    community: Community, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEERDESK_USER", "mallory")  # no role in the test's roles file
    code, _, err = run(
        community, capsys, "verify", str(community.posts["t2-2"]), "--as", "verified"
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    if community.cache.dialect.is_sqlite:  # (the team database refuses mallory any read)
        assert "may not verify answer" in err
    assert community.cache.one("SELECT count(*) FROM audit")[0] == 0
