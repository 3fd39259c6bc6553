"""Characters that draw nothing are shown as escapes, like other control characters: a title
that reads "paypal verify" on screen must not be "pay\\u200bpal ver\\u200dify" in the store
(a cache file or a team database: both keep the characters, and search does not see through
them)."""

from __future__ import annotations

import pytest

from console.db import Cache
from console.ingest import ensure_source, upsert_threads
from console.models import PostRecord, ThreadRecord
from console.safe_text import printable
from console.store import QueueFilter, queue


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
        # tag characters ("ASCII smuggling": an invisible copy of any ASCII text)
        ("moderator1\U000e0020", "moderator1\\U000e0020"),
        ("pay\U000e0070al", "pay\\U000e0070al"),
        ("a\u206ab\u206f", "a\\u206ab\\u206f"),  # deprecated format controls
        ("x\uffa0y", "x\\uffa0y"),  # halfwidth Hangul filler
        ("mod\u034ferator", "mod\\u034ferator"),  # combining grapheme joiner
        ("a\u17b4\u17b5b", "a\\u17b4\\u17b5b"),  # Khmer inherent vowels
        ("a\u180bb", "a\\u180bb"),  # Mongolian variation selector
        ("staff\ufe00", "staff\\ufe00"),  # variation selector 1
        ("staff\U000e0100", "staff\\U000e0100"),  # variation selectors supplement
        ("a\ufff9b\ufffbc", "a\\ufff9b\\ufffbc"),  # interlinear annotation
        ("a\U0001d173b", "a\\U0001d173b"),  # musical format control
        ("a\U0001bca0b", "a\\U0001bca0b"),  # shorthand format control
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


def test_tag_characters_stay_only_inside_a_subdivision_flag() -> None:
    scotland = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert printable(f"go {scotland}!") == f"go {scotland}!"
    # the same tags without the black flag, or never cancelled, hide text
    assert printable("go \U000e0067\U000e007f") == "go \\U000e0067\\U000e007f"
    assert printable("\U0001f3f4\U000e0067x") == "\U0001f3f4\\U000e0067x"


def test_visible_text_is_left_alone() -> None:
    text = "مرحبا بالعالم 👋🏽 naïve café — ok"
    assert printable(text) == text


@pytest.mark.backends
def test_invisible_characters_are_kept_by_the_store_and_shown(cache: Cache) -> None:
    title = "pay\u200bpal ver\u200dify your account"
    body = "\ufeffsend your pass\u2060word to pay\u200bpal"
    at = "2026-11-20T11:00:00Z"
    source = ensure_source(cache, "discourse", "forum", "https://forum.example")
    ids = upsert_threads(
        cache,
        source,
        [ThreadRecord("zw1", title, None, "open", at, at)],
        [PostRecord("zw1-q", "zw1", None, 0, body, body, at)],
    )
    stored = cache.one("SELECT title FROM threads WHERE id = ?", (ids["zw1"],))
    assert stored is not None and stored[0] == title  # kept as written, not normalised
    assert printable(str(stored[0])) == "pay\\u200bpal ver\\u200dify your account"
    everything = QueueFilter(everything=True)
    (found,) = [i for i in queue(cache, everything, limit=1000) if i.thread_id == ids["zw1"]]
    assert found.title == title
    # search reads the characters as what they are (no letter): "paypal" is not this thread's
    # word, "pay" and "pal" are (and "verify" none: a joiner between letters splits it too)
    assert ids["zw1"] not in {i.thread_id for i in queue(cache, QueueFilter(text="paypal"))}
    assert ids["zw1"] in {i.thread_id for i in queue(cache, QueueFilter(text="pal account"))}
