"""Making user text safe to put on a terminal.

Posts may carry ANSI/OSC escape sequences, other control characters or bidi overrides that would
change what the terminal shows outside the post. `printable` makes each of them visible as an
escape such as `\\x1b` instead, and keeps everything else (emoji, right-to-left scripts) as is.
Markup is a separate matter: the console never parses user text as markup (it builds Rich
`Text` objects), and plain output never interprets it.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the bidi embedding/override/isolate marks
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, single_line: bool = False) -> str:
    """`text` with every control character shown as an escape, never sent to the terminal."""
    safe = _UNSAFE.sub(_visible, text)
    if single_line:
        safe = safe.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return safe


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"
