"""The Queue's preview pane: the focused thread's question, latest reply, flags and claim
(console.previews, plain Python), shown beside the list at 120 columns or more."""

from __future__ import annotations

import time

import pytest

from console.desk import Desk
from console.errors import NotFound
from console.previews import preview
from tests.ui.conftest import HUGE_BODY

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def thread_id(desk: Desk, remote: str) -> int:
    row = desk.cache.one("SELECT id FROM threads WHERE remote_id = ?", (remote,))
    assert row is not None
    return int(row[0])


# ---- the domain read ----
def test_a_preview_has_the_question_the_latest_reply_flags_and_claim(desk: Desk) -> None:
    got = preview(desk.cache, thread_id(desk, "t1"))  # 1 reply, claimed by dave
    assert got.title == "PAC code never arrived (1)" and got.author == "carol"
    assert got.claimed_by == "dave" and got.claim_expires_at == "2026-11-20T12:30:00Z"
    assert got.question is not None and got.question.text.startswith("Question 1:")
    assert got.latest is not None and got.latest.text == "Reply 1 to 1: try restarting the phone."
    assert got.tags == ("sim",) and got.reply_count == 1

    two = preview(desk.cache, thread_id(desk, "t2"))  # two replies: the newest is shown
    assert two.latest is not None and two.latest.text.startswith("Reply 2 to 2")
    flagged = preview(desk.cache, thread_id(desk, "t0"))  # 1 flag, 1 report, no reply
    assert (flagged.flag_count, flagged.report_count, flagged.latest) == (1, 1, None)
    solved = preview(desk.cache, thread_id(desk, "t8"))  # p8.1 accepted, p8.2 the latest
    assert solved.latest is not None and not solved.latest.accepted
    assert solved.accepted is not None and solved.accepted.text.startswith("Reply 1 to 8")


def test_a_huge_post_is_cut_inside_sqlite(desk: Desk) -> None:
    got = preview(desk.cache, thread_id(desk, "t5"))
    assert got.question is not None
    assert got.question.length == len(HUGE_BODY) and len(got.question.text) == 1_500


def test_an_unknown_thread_is_refused(desk: Desk) -> None:
    with pytest.raises(NotFound):
        preview(desk.cache, 999_999)
