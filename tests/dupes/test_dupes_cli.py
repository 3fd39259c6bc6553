"""`peerdesk dupes`: proposals, weaker candidates on request, --evaluate, the lexical note."""

from __future__ import annotations

import json

import pytest

from console.cli import main
from console.db import Cache
from console.dupes import candidates as cands
from console.dupes import embed
from tests.backends import location, pytest_generate_tests

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]


def test_thread_shows_proposals_and_weaker_only_on_request(
    cache: Cache, ids: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    db = location(cache, cache.path)
    cands.update_candidates(cache, [ids["d1"]])
    assert main(["--db", db, "dupes", str(ids["d1"]), "--json"]) == 0
    shown = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["original_id"] for r in shown] == [ids["o1"]]
    assert all(r["score"] >= cands.PROPOSE for r in shown)
    cands.update_candidates(cache, [ids["d2"]])
    weak = cache.query(
        "SELECT original_id FROM duplicate_links WHERE thread_id = ? AND score < ?",
        (ids["d2"], cands.PROPOSE),
    )
    assert weak, "d2 should have a stored candidate below the threshold"
    assert main(["--db", db, "dupes", str(ids["d2"])]) == 0
    assert f"#{weak[0][0]} " not in capsys.readouterr().out
    assert main(["--db", db, "dupes", str(ids["d2"]), "--weaker"]) == 0
    text = capsys.readouterr().out
    assert "[weaker: not proposed]" in text and f"#{weak[0][0]} " in text


def test_evaluate_counts_the_moderators_decisions(
    cache: Cache, ids: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    db = location(cache, cache.path)
    with cache.transaction():
        cache.set_meta("demo", "1")  # the demo gives the local user every role
    assert main(["--db", db, "dupes", "--evaluate"]) == 0
    assert "no duplicate pair has been confirmed or rejected" in capsys.readouterr().out
    cands.update_candidates(cache, [ids["d1"], ids["d2"]])
    assert main(["--db", db, "dupes", str(ids["d1"]), "--confirm", str(ids["o1"])]) == 0
    assert main(["--db", db, "dupes", str(ids["d2"]), "--reject", str(ids["o2"])]) == 0
    capsys.readouterr()
    assert main(["--db", db, "dupes", "--evaluate", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["confirmed"], result["rejected"]) == (1, 1)
    # d2 -> o2 is a real duplicate the moderator rejected: today's model proposes it
    assert (result["true_positives"], result["false_positives"]) == (1, 1)
    assert result["precision"] == 0.5 and result["recall"] == 1.0
    assert main(["--db", db, "dupes", "--evaluate"]) == 0
    out = capsys.readouterr().out
    assert "2 decided pairs (1 confirmed or merged, 1 rejected)" in out
    assert "precision 0.50" in out and "recall    1.00" in out


def test_without_the_model_a_one_line_note_and_the_lexical_path(
    cache: Cache,
    ids: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PEERDESK_SEMANTIC", "off")
    with cache.transaction():
        cache.set_meta("demo", "1")  # --refresh is an audited operation: the demo's roles
    try:
        assert (
            main(["--db", location(cache, cache.path), "dupes", str(ids["d1"]), "--refresh"]) == 0
        )
        captured = capsys.readouterr()
        assert captured.err.strip().splitlines() == [
            "note: semantic matching is off (PEERDESK_SEMANTIC=off); using words only"
        ]
        methods = {r[0] for r in cache.query("SELECT method FROM duplicate_links")}
        assert methods == {cands.LEXICAL_METHOD}
    finally:
        embed.reset()


def test_the_list_counts_each_threads_proposed_candidates(
    cache: Cache, ids: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    db = location(cache, cache.path)
    cands.update_candidates(cache, [ids["d1"], ids["d2"]])
    pending = dict(
        cache.query(
            "SELECT thread_id, count(*) FROM duplicate_links WHERE decision = 'pending' "
            "AND score >= ? GROUP BY thread_id",
            (cands.PROPOSE,),
        )
    )
    assert main(["--db", db, "dupes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines, "the seeded forum has proposals"
    for line in lines:
        thread = int(line.split()[0].lstrip("#"))
        n = pending[thread]
        assert f"({n} candidate{'' if n == 1 else 's'})" in line, line
