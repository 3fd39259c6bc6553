"""Rule files: the shipped example parses; each kind of mistake names the rule and the line;
a bad file never replaces the rules in force."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.db import Cache
from console.escalate import active
from console.escalate.rules import RulesError, example_rules, parse_duration, parse_rules

GOOD = """
[settings]
ignore_older_than = "7d"

[[rule]]
id = "legal"
kind = "keywords"
severity = "high"
words = ["ofcom"]
acknowledge_within = "1h"
resolve_within = "1d"
"""


def test_the_shipped_example_has_every_kind() -> None:
    rules = example_rules()
    kinds = {r.kind for r in rules.rules}
    assert kinds == {
        "keywords",
        "personal_data",
        "unanswered",
        "follow_ups",
        "verification_rejected",
    }
    legal = rules.by_id("legal-threat")
    assert legal is not None and legal.severity == "critical" and "ofcom" in legal.words
    assert legal.acknowledge_minutes == 60 and legal.resolve_minutes == 24 * 60
    pii = rules.by_id("personal-data")
    assert (
        pii is not None
        and pii.hide_pending_review
        and set(pii.detect) == {"phone", "email", "card", "iban"}
    )


def test_durations() -> None:
    assert parse_duration("90m") == 90
    assert parse_duration("4h") == 240
    assert parse_duration("2d") == 2880
    assert parse_duration(3) == 180
    for bad in ("4 hours", "0h", "-1h", "", True):
        with pytest.raises(ValueError):
            parse_duration(bad)
    # an SLA clock or a cut-off that far away is no date: every scan and dry run failed on it
    assert parse_duration("36500d") == 36500 * 24 * 60
    for huge in ("36501d", "99999999999d", "9" * 5000 + "m", 10**12):
        with pytest.raises(ValueError, match="at most 36500d"):
            parse_duration(huge)


def test_a_good_file_parses_with_settings_and_lines() -> None:
    rules = parse_rules(GOOD, "r.toml")
    assert rules.ignore_older_than_minutes == 7 * 24 * 60
    assert rules.rules[0].line == 5 and rules.rules[0].zendesk_priority == "high"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('severity = "high"', 'severity = "urgent"'),
            "r.toml line 8, rule 'legal': severity must be one of",
        ),
        (
            ('words = ["ofcom"]', "words = []"),
            "r.toml line 9, rule 'legal': a keywords rule needs words",
        ),
        (
            ('resolve_within = "1d"', 'resolve_within = "soon"'),
            "r.toml line 11, rule 'legal': resolve_within: expected a duration",
        ),
        (
            ('kind = "keywords"', 'kind = "magic"'),
            "r.toml line 7, rule 'legal': kind must be one of",
        ),
        (
            ('acknowledge_within = "1h"', 'acknowledge_within = "2d"'),
            "line 10, rule 'legal': acknowledge_within is longer",
        ),
        (
            ('words = ["ofcom"]', 'words = ["ofcom"]\ncolour = "red"'),
            "r.toml line 10, rule 'legal': unknown setting 'colour'",
        ),
        (('id = "legal"', 'id = "legal threat"'), "r.toml line 6, rule 'legal threat': id must be"),
        (('resolve_within = "1d"', ""), "r.toml line 5, rule 'legal': 'resolve_within' is missing"),
        (('words = ["ofcom"]', 'words = ["ofcom"'), "r.toml line 10, rule 'legal': not valid TOML"),
        (
            ('resolve_within = "1d"', 'resolve_within = "99999999999d"'),
            "r.toml line 11, rule 'legal': resolve_within: at most 36500d (100 years)",
        ),
        (
            ('ignore_older_than = "7d"', 'ignore_older_than = "99999999d"'),
            "r.toml: settings.ignore_older_than: at most 36500d (100 years)",
        ),
    ],
)
def test_mistakes_name_the_rule_and_line(change: tuple[str, str], expected: str) -> None:
    text = GOOD.replace(*change)
    with pytest.raises(RulesError) as error:
        parse_rules(text, "r.toml")
    assert expected in str(error.value)


def test_duplicate_ids_and_kind_specific_settings() -> None:
    twice = GOOD + GOOD.split("[settings]")[1].split('ignore_older_than = "7d"')[1]
    with pytest.raises(
        RulesError, match=r"line 15, rule 'legal': the id is already used by the rule at line 5"
    ):
        parse_rules(twice, "r.toml")
    unanswered = GOOD.replace('kind = "keywords"', 'kind = "unanswered"')
    with pytest.raises(RulesError, match="needs hours"):
        parse_rules(unanswered, "r.toml")
    # TOML has nan and inf; neither (nor 1e300) is a number of hours a scan can count back
    for hours in ("nan", "inf", "1e300", "876001"):
        with pytest.raises(RulesError, match=r"rule 'legal': an unanswered rule needs hours"):
            parse_rules(unanswered.replace('words = ["ofcom"]', f"hours = {hours}"), "r.toml")
    assert parse_rules(unanswered.replace('words = ["ofcom"]', "hours = 876000"), "r.toml")
    hide = GOOD.replace('words = ["ofcom"]', 'words = ["ofcom"]\nhide_pending_review = true')
    with pytest.raises(RulesError, match="for personal_data rules only"):
        parse_rules(hide, "r.toml")


@pytest.mark.backends
def test_a_bad_file_keeps_the_last_good_rules(cache: Cache, tmp_path: Path) -> None:
    assert active.current(cache).by_id("legal-threat") is not None  # the example, by default
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    active.install(cache, good)
    assert [r.id for r in active.current(cache).rules] == ["legal"]
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('severity = "high"', 'severity = "extreme"'))
    with pytest.raises(RulesError, match=r"bad.toml line 8, rule 'legal'"):
        active.install(cache, bad)
    assert [r.id for r in active.current(cache).rules] == ["legal"]
    assert cache.meta(active.META_ORIGIN) == str(good)
    with pytest.raises(RulesError, match="Cannot read the rule file"):
        active.install(cache, tmp_path / "missing.toml")
