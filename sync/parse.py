"""Strict readers for platform payloads: a value of the wrong type raises `BadField` naming the
field, so the item is skipped and the problem recorded instead of storing garbage.
"""

from __future__ import annotations

import html
import json
import math
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from console.clock import iso, parse


class BadField(Exception):
    def __init__(self, field: str, message: str, value: Any = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.value = value

    def excerpt(self) -> str:
        try:
            text = json.dumps(self.value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(self.value)
        return text[:200]


def obj(data: Any, field: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadField(field, f"expected an object, got {type(data).__name__}", data)
    return data


def lst(data: Any, field: str) -> list[Any]:
    if not isinstance(data, list):
        raise BadField(field, f"expected a list, got {type(data).__name__}", data)
    return data


def req(data: dict[str, Any], key: str, prefix: str = "") -> Any:
    if key not in data:
        raise BadField(prefix + key, "missing")
    return data[key]


INT_MIN, INT_MAX = -(2**63), 2**63 - 1
"""The integers SQLite stores: a larger number would stop the whole write, not just its item."""


def fits(value: int) -> bool:
    return INT_MIN <= value <= INT_MAX


def int_(data: dict[str, Any], key: str, prefix: str = "", default: int | None = None) -> int:
    value = data.get(key, default)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadField(prefix + key, f"expected a number, got {value!r:.60}", value)
    if (isinstance(value, float) and not math.isfinite(value)) or not fits(int(value)):
        raise BadField(prefix + key, f"number out of range: {value!r:.60}", value)
    return int(value)


def str_(data: dict[str, Any], key: str, prefix: str = "", default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise BadField(prefix + key, f"expected text, got {type(value).__name__}", value)
    return value


def opt_str(data: dict[str, Any], key: str, prefix: str = "") -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadField(prefix + key, f"expected text, got {type(value).__name__}", value)
    return value


def bool_(data: dict[str, Any], key: str, prefix: str = "", default: bool = False) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadField(prefix + key, f"expected true/false, got {value!r:.60}", value)
    return value


_CANONICAL = re.compile(r"\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\dZ")


def is_canonical_time(value: str) -> bool:
    return _CANONICAL.fullmatch(value) is not None


def time_(data: dict[str, Any], key: str, prefix: str = "") -> str:
    """An ISO-8601 timestamp field, normalised to the cache's UTC form."""
    value = data.get(key)
    if isinstance(value, str) and len(value) == 20 and _CANONICAL.fullmatch(value):
        return value  # already in the cache's form (JSONL exports): no parsing needed
    if not isinstance(value, str):
        raise BadField(prefix + key, f"expected a timestamp, got {value!r:.60}", value)
    try:
        return iso(parse(value))
    except (ValueError, OverflowError):  # OverflowError: in range as written, not in UTC
        raise BadField(prefix + key, f"not a timestamp: {value!r:.60}", value) from None


def opt_time(data: dict[str, Any], key: str, prefix: str = "") -> str | None:
    if data.get(key) is None:
        return None
    return time_(data, key, prefix)


def epoch_(data: dict[str, Any], key: str, prefix: str = "") -> str:
    """A Unix-seconds field (Stack Exchange dates) as the cache's UTC form."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadField(prefix + key, f"expected a Unix time, got {value!r:.60}", value)
    try:
        return iso(datetime.fromtimestamp(value, UTC))
    except (ValueError, OverflowError, OSError):  # past year 9999, time_t or the platform's range
        raise BadField(prefix + key, f"not a Unix time: {value!r:.60}", value) from None


_BLOCK = frozenset(
    {
        "p",
        "br",
        "div",
        "li",
        "ul",
        "ol",
        "pre",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "aside",
        "hr",
    }
)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(markup: str) -> str:
    """Plain text of platform HTML (cooked posts, SE bodies) for search and display."""
    if "<" not in markup and "&" not in markup:
        return markup.strip()
    parser = _Text()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def unescape(text: str) -> str:
    return html.unescape(text)
