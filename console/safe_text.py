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
# and characters that draw nothing: soft hyphen, Arabic letter mark, Hangul fillers, Mongolian
# vowel separator, zero-width space/non-joiner/joiner, left-to-right and right-to-left marks,
# line and paragraph separators, word joiner and invisible operators, zero-width no-break space
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u2069\u3164\ufeff]"
)
ZWJ = "\u200d"
VARIATION_EMOJI = "\ufe0f"


def _emoji(char: str) -> bool:
    code = ord(char)
    return code >= 0x1F000 or 0x2600 <= code <= 0x27BF or char == VARIATION_EMOJI


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char == ZWJ:
        text, at = match.string, match.start()
        if 0 < at < len(text) - 1 and _emoji(text[at - 1]) and _emoji(text[at + 1]):
            return char  # joins two emoji into one
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


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
