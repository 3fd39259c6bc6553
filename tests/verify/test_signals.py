"""Every signal, read from a real SQLite file through console.verify.facts, with its reason."""

from __future__ import annotations

import pytest

from console.ingest import upsert_members
from console.models import MemberRecord
from console.verify.facts import thread_facts
from console.verify.service import Verification
from console.verify.signals import BASE, VERY_EXPERIENCED, WEIGHTS, Signal, assess
from tests.verify.conftest import GOOD, WRONG, Community, add_thread, as_moderator

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database


def signals_of(community: Community, post: str, domains: tuple[str, ...] = ()) -> dict[str, Signal]:
    thread = community.threads[post.split("-")[0]]
    facts = thread_facts(community.cache.conn, thread, official_domains=domains)
    reply = next(r for r in facts.replies if r.key == str(community.posts[post]))
    found = assess(facts, reply)
    assert found.total == BASE + sum(s.points for s in found.signals)
    return {s.name: s for s in found.signals}


def test_accepted_votes_and_score_formula(community: Community) -> None:
    got = signals_of(community, "t1-1")
    assert got["accepted"].points == WEIGHTS["accepted"]
    assert "asker accepted" in got["accepted"].reason
    add_thread(
        community,
        "v",
        "Votes",
        "q",
        "asker",
        [("helper", GOOD), ("wrongun", WRONG)],
        votes={1: 6, 2: -2},
    )
    assert signals_of(community, "v-1")["votes"].points == 4 * WEIGHTS["vote_up"]  # capped at 4
    down = signals_of(community, "v-2")["votes"]
    assert down.points == 2 * WEIGHTS["vote_down"] and "2 net down-vote" in down.reason


def test_asker_follow_up_thanks_and_still_broken(community: Community) -> None:
    add_thread(
        community,
        "f",
        "APN settings",
        "What APN do I use?",
        "asker",
        [
            ("helper", "Use the APN internet.example and restart the phone."),
            ("asker", "Thanks, that did it!"),
            ("wrongun", "Turn it off and on again, maybe."),
            ("asker", "Still not working after that, sorry."),
        ],
    )
    right = signals_of(community, "f-1")
    assert right["asker_thanked"].points == WEIGHTS["asker_thanked"]
    assert "right after it" in right["asker_thanked"].reason
    wrong = signals_of(community, "f-3")
    assert wrong["asker_still_broken"].points == WEIGHTS["asker_still_broken"]
    # thanks in a later reply, not right after: the weaker signal (t1: reply 2, thanked in #4)
    assert (
        signals_of(community, "t1-2")["asker_thanked_later"].points
        == WEIGHTS["asker_thanked_later"]
    )


def test_written_by_the_asker(community: Community) -> None:
    got = signals_of(community, "t1-4")
    assert got["by_asker"].points == WEIGHTS["by_asker"]
    assert "asker" in got["by_asker"].reason
    assert "asker_thanked" not in got  # the asker does not thank themself


def test_staff_and_official_link(community: Community) -> None:
    got = signals_of(community, "t2-2", domains=("forum.example",))
    assert got["staff"].points == WEIGHTS["staff"]
    assert got["official_link"].points == WEIGHTS["official_link"]
    assert "help.forum.example" in got["official_link"].reason
    assert "official_link" not in signals_of(community, "t2-2")  # no domain configured


def test_track_record_and_experience(community: Community, verifier: Verification) -> None:
    # dave's answers were rejected three times elsewhere; carol has 100+ answers
    for n in range(3):
        add_thread(
            community, f"r{n}", f"Old {n}", "How do I top up?", "asker", [("wrongun", WRONG)]
        )
        verifier.refresh([community.threads[f"r{n}"]])
        verifier.reject(community.posts[f"r{n}-1"], "wrong")
    got = signals_of(community, "t1-1")
    assert got["track_record"].points == -WEIGHTS["track_record"]
    assert "0 verified, 3 rejected" in got["track_record"].reason
    add_thread(
        community,
        "many",
        "Many",
        "q",
        "asker",
        [("helper", f"answer number {n}") for n in range(100)],
    )
    experienced = signals_of(community, "t1-2")["very_experienced"]
    assert "100+ answers elsewhere" in experienced.reason
    assert "very_experienced" not in signals_of(community, "t1-3")
    add_thread(
        community, "more", "More", "q", "asker", [("helper", f"more {n}") for n in range(30)]
    )
    facts = thread_facts(community.cache.conn, community.threads["t1"])
    helper = next(r.author for r in facts.replies if r.key == str(community.posts["t1-2"]))
    assert facts.authors[helper].answers == VERY_EXPERIENCED  # counted up to the signal, no more


def test_talkative_position_and_revived(community: Community) -> None:
    add_thread(
        community,
        "c",
        "Chat",
        "Which plan is best?",
        "asker",
        [
            ("helper", "The 30 GB plan suits most people who stream on the train every day."),
            ("wrongun", "I like the unlimited one."),
            ("helper", "And the 30 GB plan has EU roaming included as well."),
        ]
        + [("copier", f"reply {n} words words words") for n in range(4)],
    )
    assert signals_of(community, "c-3")["talkative"].points == WEIGHTS["talkative"]
    assert "talkative" not in signals_of(community, "c-1")
    assert signals_of(community, "c-1")["position"].points == WEIGHTS["first_reply"]
    assert signals_of(community, "c-7")["position"].points < 0
    add_thread(
        community,
        "old",
        "Old thread",
        "Is there a fix for the signal?",
        "asker",
        [("helper", "Yes, the mast was fixed.")],
        created="2026-09-01T12:00:00Z",
    )
    community.cache.conn.execute(
        "UPDATE posts SET created_at = '2026-11-01T12:00:00Z' WHERE id = ?",
        (community.posts["old-1"],),
    )
    revived = signals_of(community, "old-1")["revived"]
    assert revived.points == WEIGHTS["revived"] and "61 days" in revived.reason


def test_length_and_link_only(community: Community) -> None:
    add_thread(
        community,
        "len",
        "Length",
        "How do I set up voicemail on my phone?",
        "asker",
        [
            ("helper", "Dial 121."),
            ("helper", "Dial 121 and follow the steps to set up your voicemail greeting."),
            ("copier", " ".join(["voicemail setup step"] * 15)),
            ("wrongun", " ".join(["voicemail setup explained"] * 30)),
            ("wrongun", "https://elsewhere.example/voicemail"),
        ],
    )
    assert signals_of(community, "len-1")["very_short"].points == WEIGHTS["very_short"]
    assert signals_of(community, "len-2")["short"].points == WEIGHTS["short"]
    assert signals_of(community, "len-3")["substantive"].points == WEIGHTS["substantive"]
    assert signals_of(community, "len-4")["detailed"].points == WEIGHTS["detailed"]
    link = signals_of(community, "len-5")
    assert link["link_only"].points == WEIGHTS["link_only"] and "very_short" not in link


def test_tone_chatter_questions_advice_specifics(community: Community) -> None:
    add_thread(
        community,
        "tone",
        "Tone",
        "Why is my bill higher this month?",
        "asker",
        [
            ("wrongun", "lol same here"),
            ("copier", "Did you go over your allowance?"),
            (
                "helper",
                "Your bill went up because the annual price rise of 3.9% applied in April; "
                "you can check the itemised bill in the app. Was that the only change? "
                "Contact billing if it is more than that.",
            ),
        ],
    )
    assert signals_of(community, "tone-1")["chatter"].points == WEIGHTS["chatter"]
    assert signals_of(community, "tone-2")["asks_question"].points == WEIGHTS["asks_question"]
    long = signals_of(community, "tone-3")
    assert long["asks_in_passing"].points == WEIGHTS["asks_in_passing"]
    assert long["advice"].points == WEIGHTS["advice"]
    assert long["specifics"].points == WEIGHTS["specifics"]


def test_on_and_off_topic(community: Community) -> None:
    add_thread(
        community,
        "topic",
        "eSIM transfer to a new iPhone",
        "How do I transfer my eSIM to a new iPhone?",
        "asker",
        [
            (
                "helper",
                "To transfer the eSIM to the new iPhone, use eSIM transfer in "
                "Settings on the new iPhone.",
            ),
            ("wrongun", "Bananas are yellow and quite tasty."),
        ],
    )
    on = signals_of(community, "topic-1")["on_topic"]
    assert on.points == WEIGHTS["on_topic"] and "esim" in on.reason
    assert signals_of(community, "topic-2")["off_topic"].points == WEIGHTS["off_topic"]


def test_near_copy_marks_the_later_one(community: Community) -> None:
    assert signals_of(community, "t1-3")["near_copy"].points == WEIGHTS["near_copy"]
    assert "reply no. 2" in signals_of(community, "t1-3")["near_copy"].reason
    assert "near_copy" not in signals_of(community, "t1-2")


def test_edited_after_accept(community: Community) -> None:
    add_thread(
        community,
        "ed",
        "Edited",
        "How do I unlock my phone?",
        "asker",
        [
            ("helper", "Request the unlock code in the app under Phone > Unlock."),
            ("asker", "Thanks, that worked."),
        ],
        accepted=1,
        edited={1: "2026-11-10T20:00:00Z"},
    )
    got = signals_of(community, "ed-1")
    assert got["edited_after_accept"].points == WEIGHTS["edited_after_accept"]
    add_thread(
        community,
        "ed2",
        "Typo fixed at once",
        "How do I unlock my phone?",
        "asker",
        [
            ("helper", "Request the unlock code in the app under Phone > Unlock."),
        ],
        accepted=1,
        edited={1: "2026-11-10T13:05:00Z"},
    )
    assert "edited_after_accept" not in signals_of(community, "ed2-1")


def test_known_answers_on_duplicates(community: Community, verifier: Verification) -> None:
    # t3 is closed as a duplicate of t1; carol's answer on t1 is verified, dave's rejected
    verifier.refresh([community.threads["t1"]])
    verifier.verify(community.posts["t1-2"])
    verifier.reject(community.posts["t1-1"], "wrong")  # the asker's accept: a proposal
    as_moderator(verifier, "zoe").confirm(community.posts["t1-1"])
    add_thread(
        community,
        "t3",
        "PAC code please",
        "How can I get my PAC code?",
        "asker",
        [
            ("copier", GOOD.replace("Text", "Just text")),
            ("wrongun", WRONG.replace("store", "shop")),
            (
                "staff",
                "Porting keeps your number when you switch network providers in the UK "
                "today, with the switch done by the receiving provider for you.",
            ),
        ],
        duplicate_of="t1",
    )
    agrees = signals_of(community, "t3-1")["agrees_with_verified"]
    assert agrees.points == WEIGHTS["agrees_with_verified"]
    assert f"#{community.threads['t1']}" in agrees.reason
    assert signals_of(community, "t3-2")["repeats_rejected"].points == WEIGHTS["repeats_rejected"]
    assert (
        signals_of(community, "t3-3")["contradicts_verified"].points
        == WEIGHTS["contradicts_verified"]
    )


def test_hidden_replies_are_not_scored_and_staff_comes_from_trust(community: Community) -> None:
    upsert_members(
        community.cache, community.source_id, [MemberRecord("staff", "kim_staff", trust_level=4)]
    )
    community.cache.conn.execute(
        "UPDATE posts SET hidden = 1 WHERE id = ?", (community.posts["t2-1"],)
    )
    facts = thread_facts(community.cache.conn, community.threads["t2"])
    assert [r.key for r in facts.replies] == [str(community.posts["t2-2"])]
    assert facts.replies[0].staff
