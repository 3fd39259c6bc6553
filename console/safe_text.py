"""Making user text safe to put on a terminal.

Posts may carry ANSI/OSC escape sequences, other control characters, bidi overrides or invisible
characters that would change what the terminal shows outside the post, or hide what the text
says ("pay\\u200bpal" reads "paypal"). `printable` makes each of them visible as an escape such as
`\\x1b` or `\\u200b` instead, and keeps everything else (emoji, right-to-left scripts) as is. A
zero-width joiner inside an emoji sequence (👨‍👩‍👧) is what joins the emoji, so it stays there.
Markup is a separate matter: the console never parses user text as markup (it builds Rich
`Text` objects), and plain output never interprets it.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, the bidi embedding/override/isolate marks,
# and characters that draw nothing: soft hyphen, combining grapheme joiner, Arabic letter mark,
# Hangul fillers, Khmer inherent vowels, Mongolian variation selectors and vowel separator,
# zero-width space/non-joiner/joiner, left-to-right and right-to-left marks, line and paragraph
# separators, word joiner, invisible operators and the deprecated format controls, variation
# selectors 1-14 and 17-256 (15 and 16 pick an emoji's text or colour form), interlinear
# annotation marks, shorthand and musical format controls, and the tag characters, which spell
# any ASCII text invisibly ("moderator1" + tags reads "moderator1"). Tags are kept only where
# they draw something: in a subdivision flag, the black flag then tags then the cancel tag.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164"
    "\ufe00-\ufe0d\ufeff\uffa0\ufff9-\ufffb\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_FLAG = re.compile("\U0001f3f4[\U000e0020-\U000e007e]{1,16}\U000e007f")
ZWJ = "\u200d"
VARIATION_EMOJI = "\ufe0f"


def _emoji(char: str) -> bool:
    code = ord(char)
    return code >= 0x1F000 or 0x2600 <= code <= 0x27BF or char == VARIATION_EMOJI


def _in_flag(text: str, at: int) -> bool:
    """Whether the tag character at `at` belongs to a subdivision flag (🏴 + tags + cancel)."""
    start = at
    while start > max(0, at - 17) and "\U000e0020" <= text[start - 1] <= "\U000e007e":
        start -= 1
    flag = _FLAG.match(text, start - 1) if start > 0 else None
    return flag is not None and flag.end() > at


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if "\U000e0020" <= char <= "\U000e007f" and _in_flag(match.string, match.start()):
        return char
    if char == ZWJ:
        text, at = match.string, match.start()
        if 0 < at < len(text) - 1 and _emoji(text[at - 1]) and _emoji(text[at + 1]):
            return char  # joins two emoji into one
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, *, single_line: bool = False) -> str:
    """`text` with every control or invisible character shown as an escape, never sent to the
    terminal as is."""
    safe = _UNSAFE.sub(_visible, text)
    if single_line:
        safe = safe.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return safe


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"
