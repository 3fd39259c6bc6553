"""The pure scorer on crafted pairs, including hostile text."""

from __future__ import annotations

# No store at all: the pure scorer.
import time

from console.dupes.scorer import CountStats, Doc, analyze, rank, score

BACKGROUND = [
    "How do I top up my phone credit online",
    "Roaming in Spain costs too much",
    "My phone will not connect to wifi calling",
    "Broadband speed drops every evening",
    "Cannot log in to my account after password reset",
    "Bill shows a charge I did not make",
    "Signal is weak inside my house",
    "How to unlock my phone for another network",
    "App stopped working after the update",
    "Phone stopped working after the latest update",
    "No longer get texts after the update",
    "Software update failed, phone no longer starts",
]
STATS = CountStats.from_texts(BACKGROUND * 5)


def s(a: Doc, b: Doc) -> float:
    return score(analyze(a), analyze(b), STATS).score


def test_exact_copy_scores_highest_and_near_one() -> None:
    doc = Doc("Voicemail stopped working after update", "No voicemail since the update.")
    assert s(doc, doc) >= 0.95


def test_paraphrase_beats_same_words_with_another_meaning() -> None:
    new = Doc("Voicemail stopped working after the update", "Calls no longer go to voicemail.")
    paraphrase = Doc("Voicemail broken since software update", "Calls do not reach voicemail.")
    unrelated = Doc("Update my billing address", "How do I change the address on my bill?")
    # the same common words, about something else: the rare, telling word (voicemail) is missing
    same_words = Doc("Direct debit stopped working after the update", "No longer goes out.")
    assert s(new, paraphrase) > s(new, same_words)
    assert s(new, paraphrase) > s(new, unrelated)
    ranked = rank(new, {"u": unrelated, "p": paraphrase, "w": same_words}, STATS)
    assert ranked[0][0] == "p"


def test_explanation_names_shared_terms_and_title_similarity() -> None:
    new = Doc("eSIM activation stuck on iPhone", "error code E-4012 while activating")
    old = Doc("iPhone eSIM activation stuck", "Shows error code E-4012", solved=True)
    result = score(analyze(new), analyze(old), STATS)
    assert "title" in result.explanation and "% alike" in result.explanation
    assert "esim" in result.shared_terms
    assert "same error" in result.explanation
    assert "original is solved" in result.explanation
    unsolved = score(analyze(new), analyze(Doc(old.title, old.body)), STATS)
    assert result.score > unsolved.score


def test_shared_link_and_code_raise_the_score() -> None:
    new = Doc("Router keeps rebooting", "See https://status.example/incident/42 and `reboot -f`")
    with_detail = Doc("Router restarts", "Same as https://status.example/incident/42 `reboot -f`")
    without = Doc("Router restarts", "It restarts all the time")
    assert s(new, with_detail) > s(new, without) + 0.1


def test_empty_texts_score_zero_without_error() -> None:
    empty = Doc("", "")
    assert s(empty, empty) == 0.0
    assert s(empty, Doc("Roaming in Spain", "")) == 0.0
    assert score(analyze(empty), analyze(empty), STATS).explanation.startswith("title 0%")


def test_huge_text_is_scored_fast() -> None:
    huge = Doc("Huge post " * 10, "word salad roaming charges " * 8000)  # ~200 kB
    assert len(huge.body) >= 200_000
    started = time.perf_counter()
    value = s(huge, Doc("Roaming charges", "Roaming charges are high"))
    assert time.perf_counter() - started < 0.5
    assert 0.0 < value <= 1.5


def test_non_latin_texts_match_each_other() -> None:
    new = Doc("Не работает голосовая почта", "После обновления голосовая почта не работает")
    same = Doc("Голосовая почта не работает", "Голосовая почта перестала работать")
    other = Doc("Роуминг во Франции", "Слишком дорого")
    assert s(new, same) > s(new, other)
    assert s(Doc("携帯の料金が高い", ""), Doc("携帯の料金が高い", "")) >= 0.9


def test_rich_markup_is_plain_text_and_not_a_match_reason() -> None:
    new = Doc("[bold red]Voicemail[/] broken [link=http://x]", "[i]help[/i] voicemail")
    other = Doc("[bold red]Billing[/] question", "[i]invoice[/i]")
    result = score(analyze(new), analyze(other), STATS)
    assert "bold" not in result.shared_terms
    assert result.score < 0.3
    assert s(new, Doc("Voicemail broken", "voicemail help")) > result.score


def test_word_forms_match_through_stemming() -> None:
    new = Doc("Renewing my visas", "How long does renewing take?")
    forms = Doc("Visa renewal", "The renewal of a visa takes a week")
    other = Doc("Roaming in Spain", "Roaming costs too much")
    result = score(analyze(new), analyze(forms), STATS)
    assert "visas" in result.shared_terms  # the new thread's own word form is shown
    assert result.signals["bm25"] > 0.3
    assert result.score > s(new, other)


def test_bm25_signal_is_scaled_to_one_for_a_copy_and_ranks_like_bm25() -> None:
    new = Doc("Voicemail stopped working", "voicemail broken after update")
    copy = score(analyze(new), analyze(new), STATS)
    assert copy.signals["bm25"] == 1.0
    half = score(analyze(new), analyze(Doc("Voicemail question", "")), STATS)
    assert 0.0 < half.signals["bm25"] < 1.0
