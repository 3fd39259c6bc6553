"""A coarse guess of a thread's language, so duplicates are never proposed across languages.

Pure. The writing system decides first (Cyrillic, Arabic, Hebrew, Greek, CJK, …); Latin-script
text is told apart by its most frequent function words (English, French, German, Spanish,
Italian, Dutch, Portuguese). Text with too few clues is "" (unknown), which matches any language:
a short title must not lose its candidates.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W\d_]+")
_FUNCTION_WORDS = {
    "en": "the and is it to of my have with for not this on how",
    "fr": "le la les et est je pas des une pour avec sur mon ne",
    "de": "der die und ist ich nicht das mit ein eine auf mein zu",
    "es": "el los las es y que mi por con una para del pero",
    "it": "il che di non sono una per con mio della ho gli",
    "nl": "de het een en is niet ik van met mijn op voor",
    "pt": "o os que não uma com para meu do da em mas",
}
_BY_WORD: dict[str, list[str]] = {}
for _lang, _words in _FUNCTION_WORDS.items():
    for _w in _words.split():
        _BY_WORD.setdefault(_w, []).append(_lang)

_SCRIPTS = (
    ("CYRILLIC", "cyrillic"),
    ("ARABIC", "arabic"),
    ("HEBREW", "hebrew"),
    ("GREEK", "greek"),
    ("CJK", "cjk"),
    ("HIRAGANA", "cjk"),
    ("KATAKANA", "cjk"),
    ("HANGUL", "korean"),
    ("THAI", "thai"),
    ("DEVANAGARI", "devanagari"),
)
MIN_CLUES = 3  # function words needed before a Latin-script language is named
SAMPLE = 2_000  # characters looked at


def _script(char: str) -> str | None:
    name = unicodedata.name(char, "")
    for marker, script in _SCRIPTS:
        if name.startswith(marker):
            return script
    return "latin" if "LATIN" in name else None


def guess(text: str) -> str:
    """'en', 'fr', …, a script name ('cyrillic', 'cjk', …), or '' when unsure."""
    sample = text[:SAMPLE]
    counts: dict[str, int] = {}
    letters = 0
    for char in sample:
        if char.isalpha():
            letters += 1
            script = _script(char) if not char.isascii() else "latin"
            if script:
                counts[script] = counts.get(script, 0) + 1
    if not letters:
        return ""
    script, n = max(counts.items(), key=lambda kv: kv[1]) if counts else ("", 0)
    if script != "latin":
        return script if n >= 0.5 * letters else ""
    votes: dict[str, int] = {}
    for word in _WORD.findall(sample.lower()):
        for lang in _BY_WORD.get(word, ()):
            votes[lang] = votes.get(lang, 0) + 1
    if not votes:
        return ""
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    best, clues = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    return best if clues >= MIN_CLUES and clues >= 2 * runner_up else ""


def compatible(a: str, b: str) -> bool:
    """Same language, or either unknown."""
    return not a or not b or a == b
