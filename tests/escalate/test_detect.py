"""The post matchers on their own: words with false-positive guards, personal data with checks
(Luhn, mod-97, phone shapes), masking, and hostile text kept as text."""

from __future__ import annotations

# No store: the matchers on text alone (what a match stores: tests/escalate/test_engine.py).
import pytest

from console.escalate.detect import PostMatcher, card_kind, iban_ok, luhn_ok, mask
from console.escalate.rules import example_rules

MATCHER = PostMatcher(example_rules().rules)


def fired(text: str) -> dict[str, str]:
    return {h.rule.id: h.matched for h in MATCHER.scan(text)}


@pytest.mark.parametrize(
    "text",
    [
        "I'm going to Ofcom about this.",
        "My solicitor will be in touch.",
        "I'll take you to small claims court",
        "Reported it to the OMBUDSMAN today",
        "Going to the ombudsman. Just asking around got me nowhere.",
        "I am not happy. I will go to Ofcom",  # the guard is in another sentence
    ],
)
def test_legal_threats_fire(text: str) -> None:
    assert "legal-threat" in fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm not going to Ofcom, just asking",
        "What is Ofcom? Someone mentioned it.",
        "Can I go to the ombudsman? Just asking.",
        "No need to go to the ombudsman, it was sorted.",
        "I won't go to Ofcom over this",
        "Ofcomm is not a word",  # no partial words
        "solicitors.example is a site name",
    ],
)
def test_legal_false_positives_do_not_fire(text: str) -> None:
    assert "legal-threat" not in fired(text)


def test_angry_needs_two_different_words() -> None:
    assert "angry-complaint" not in fired("This is useless.")
    assert "angry-complaint" not in fired("useless, useless, useless")
    assert fired("Absolutely useless, a total disgrace")["angry-complaint"] == "useless"
    assert "angry-complaint" not in fired("It's not a scam and not useless")


def test_account_and_billing_topics() -> None:
    assert "account-billing" in fired("I've been charged twice for my bundle")
    assert "account-billing" in fired("Someone did a SIM swap on my number")
    assert "account-billing" not in fired("How do I turn on roaming?")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("ring me on 07700 900123", "UK mobile"),
        ("ring me on +44 7700 900123", "UK mobile"),
        ("landline 01632 960123", "UK landline"),
        ("or +44 (0)1632 960001 thanks", "UK landline"),
        ("mail jo.bloggs@example.com", "email"),
        ("card 4111 1111 1111 1111 exp 12/27", "Visa card"),
        ("card 5555-5555-5555-4444", "Mastercard card"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "IBAN (GB"),
        ("DE89370400440532013000 is my iban", "IBAN (DE"),
    ],
)
def test_personal_data_fires_with_the_kind(text: str, kind: str) -> None:
    hits = [h for h in MATCHER.scan(text) if h.rule.id == "personal-data"]
    assert len(hits) == 1 and kind in hits[0].detail


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # Luhn fails
        "IMEI 356938035643809",  # Luhn-valid 15 digits: a handset, not a card
        "IBAN GB82 WEST 1234 5698 7654 33",  # mod-97 fails
        "order 1234567890123",  # not Luhn
        "call 0800 123",  # too short for a phone number
        "version 10.0.19045.3570 of Windows",
        "Text PAC to 65075",
        "error E-4012 at 2026-11-20 12:00",
    ],
)
def test_personal_data_false_positives(text: str) -> None:
    assert "personal-data" not in fired(text)


def test_the_stored_match_is_masked() -> None:
    [hit] = [
        h
        for h in MATCHER.scan("My card is 4111 1111 1111 1111, help")
        if h.rule.id == "personal-data"
    ]
    assert "4111 1111" not in hit.context and hit.matched == "••••1111"
    assert hit.context[hit.start : hit.end] == "••••1111"
    assert mask("email", "jo.bloggs@example.com") == "j***@example.com"


def test_every_piece_of_personal_data_around_the_match_is_masked() -> None:
    """Only the first piece found was masked: a post giving an email and a phone number (the
    demo's "Account holder: Bernie Harris, 07700 900121, b***@example.com") kept the number in
    clear in the stored sentence, for as long as the escalation is kept."""
    text = (
        "Account holder: Bernie Harris, 07700 900121, bernie@example.com. My card is "
        "4111 1111 1111 1111 and my old number 07700 900999. Help!!"
    )
    [hit] = [h for h in MATCHER.scan(text) if h.rule.id == "personal-data"]
    assert hit.matched == "b***@example.com"  # the first found: emails are looked for first
    assert hit.context[hit.start : hit.end] == hit.matched
    for clear in ("900121", "bernie@", "4111 1111", "900999"):
        assert clear not in hit.context, hit.context
    assert "••••0121" in hit.context and "••••1111" in hit.context
    assert "••••0999" in hit.context


def test_checks() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert card_kind("378282246310005") == "American Express"
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST1234569876543")
    assert iban_ok("NL91 ABNA 0417 1643 00")


def test_context_is_the_neighbourhood_and_hostile_text_stays_text() -> None:
    text = "x" * 500 + " [bold]I will go to\x1b[2J Ofcom[/bold] \u202e " + "y" * 500
    [hit] = [h for h in MATCHER.scan(text) if h.rule.id == "legal-threat"]
    assert hit.context[hit.start : hit.end] == "Ofcom"
    assert len(hit.context) < 200 and hit.context.startswith("…") and hit.context.endswith("…")
    assert "\x1b[2J" in hit.context  # kept as data; the console shows it escaped


def test_words_across_line_breaks_and_case() -> None:
    assert fired("taking this to SMALL\n claims")["legal-threat"] == "SMALL\n claims"
