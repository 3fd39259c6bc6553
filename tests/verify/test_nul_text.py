"""An answer or a question holding a NUL character is read whole by the Verification panel and
its signals, on the cache file.

SQLite keeps a NUL inside text, but its substr() stops at one: the panel read "Text PAC" of
"Text PAC\\0 to 65075 ...", showing the moderator a cut answer with no sign of it, and scored
the answer on that cut text (its link, after the NUL, unseen). The team database stores U+FFFD
for a NUL (team-install), so this is the cache's alone.
"""

# SQLite only: the team database holds no NUL (stored as U+FFFD)
from __future__ import annotations

import pytest

from console.verify.service import Verification
from tests.verify.conftest import GOOD, Community, add_thread

NUL_ANSWER = "Text PAC\x00 to 65075: https://forum.example/t/pac-codes/12 " + GOOD
NUL_QUESTION = "How do I keep my number\x00 when I switch network?"


@pytest.fixture
def nul_thread(community: Community) -> Community:
    add_thread(
        community,
        "n1",
        "Keeping my number",
        NUL_QUESTION,
        "u1",
        [("u2", NUL_ANSWER), ("u3", "No idea\x00, sorry")],
        accepted=1,
    )
    return community


def test_the_panel_shows_the_whole_answer_and_question(
    nul_thread: Community, verifier: Verification
) -> None:
    verifier.refresh()
    view = verifier.answer(nul_thread.posts["n1-1"])
    assert view.candidate.body == NUL_ANSWER
    assert view.question == NUL_QUESTION
    assert [c.body for c in view.competitors] == ["No idea\x00, sorry"]


def test_the_signals_read_past_the_nul(nul_thread: Community, verifier: Verification) -> None:
    """The official link after the NUL counts, as it does without the NUL."""
    add_thread(
        nul_thread,
        "n2",
        "Keeping my number",
        NUL_QUESTION.replace("\x00", " "),
        "u1",
        [("u2", NUL_ANSWER.replace("\x00", " "))],
        accepted=1,
    )
    verifier.refresh()
    with_nul = verifier.answer(nul_thread.posts["n1-1"]).candidate
    without = verifier.answer(nul_thread.posts["n2-1"]).candidate
    assert [s.name for s in with_nul.signals] == [s.name for s in without.signals]
    assert with_nul.score == without.score


def test_an_edit_after_the_nul_changes_the_answers_hash(
    nul_thread: Community, verifier: Verification
) -> None:
    verifier.refresh()
    before = verifier.answer(nul_thread.posts["n1-1"]).candidate.body_hash
    with nul_thread.cache.transaction() as conn:
        conn.execute(
            "UPDATE posts SET body_text = ? WHERE id = ?",
            (NUL_ANSWER.replace("65075", "99999"), nul_thread.posts["n1-1"]),
        )
    after = verifier.answer(nul_thread.posts["n1-1"]).candidate.body_hash
    assert after != before


def test_the_known_answer_beside_a_duplicate_reads_past_the_nul(
    nul_thread: Community, verifier: Verification
) -> None:
    verifier.refresh()
    verifier.verify(nul_thread.posts["n1-1"])
    known = verifier.known_answer(nul_thread.threads["n1"])
    assert known is not None
    assert "65075" in known.excerpt and known.excerpt.startswith("Text PAC\x00 to")
