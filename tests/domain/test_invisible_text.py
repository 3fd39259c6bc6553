"""Characters that draw nothing are shown as escapes, like other control characters: a title
that reads "paypal verify" on screen must not be "pay\\u200bpal ver\\u200dify" in the cache."""

from __future__ import annotations

# No store at all: text shown safely, the same on either backend.
import pytest

from console.safe_text import printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("pay\u200bpal", "pay\\u200bpal"),  # zero-width space
        ("ver\u200dify", "ver\\u200dify"),  # zero-width joiner between letters
        ("a\u200cb", "a\\u200cb"),  # zero-width non-joiner
        ("word\u2060joiner", "word\\u2060joiner"),
        ("\ufeffbom", "\\ufeffbom"),  # zero-width no-break space
        ("left\u200eright\u200f", "left\\u200eright\\u200f"),  # direction marks
        ("soft\u00adhyphen", "soft\\xadhyphen"),
        ("line\u2028sep", "line\\u2028sep"),
        ("filler\u3164x", "filler\\u3164x"),
        ("\u2061\u2062\u2063\u2064", "\\u2061\\u2062\\u2063\\u2064"),
    ],
)
def test_invisible_characters_are_shown(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_a_joiner_inside_an_emoji_sequence_stays() -> None:
    family = "👨\u200d👩\u200d👧"
    flag = "🏳\ufe0f\u200d🌈"
    assert printable(f"{family} and {flag}") == f"{family} and {flag}"
    assert printable("👋\u200d") == "👋\\u200d"  # at the end it joins nothing
    assert printable("\u200d👋") == "\\u200d👋"


def test_visible_text_is_left_alone() -> None:
    text = "مرحبا بالعالم 👋🏽 naïve café — ok"
    assert printable(text) == text
