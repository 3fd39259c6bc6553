"""Queue filter expressions: what the Queue's filter line (`/`) and saved views (`[views]` in the
config) accept.

    source:forum status:open tag:sim flagged claimed:alice age>2d roaming charges

Terms are separated by spaces and all must hold; a value with spaces goes in double quotes
(`tag:"pay as you go"`). Words that are not terms are searched for in titles and posts.

| term | keeps threads |
| --- | --- |
| `source:NAME` | of that source |
| `status:STATE` | in that state: open, answered, solved, closed, duplicate (*) |
| `tag:NAME` | with that tag |
| `flagged` | with flags or reports |
| `unanswered` | with no reply |
| `claimed:NAME` / `claimed:me` / `mine` | claimed by that moderator (now) |
| `dupes` | with a strong pending duplicate candidate |
| `age>2d`, `age<3h`, `age>=1w` | older / newer than that (m, h, d, w; at most 100 years) |

(*) solved, closed and duplicate threads have left the Queue; naming one of them (or searching)
looks beyond it.

A bad expression raises FilterError with one line saying what is wrong; nothing is applied.
Plain Python (no Textual).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace

from console.clock import minutes_within
from console.errors import PeerdeskError
from console.store import PREFIX_FROM, QueueFilter, search_words

STATUSES = ("open", "answered", "solved", "closed", "duplicate")
UNITS = {"m": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}
_AGE = re.compile(r"^age(>=|<=|>|<)(\d+)([a-z]*)$")
AGE_AT_MOST = 5218 * UNITS["w"]
"""The longest age a term may name, 100 years: the Queue turns an age into the date that long
ago, and there is none before year 1 (age>1000000d failed the page and the count)."""
_NAMED = re.compile(r"^([a-z_]+):(.*)$", re.S)


class FilterError(PeerdeskError):
    """A filter expression that cannot be read."""


@dataclass(frozen=True)
class Expression:
    """A parsed filter expression; `claimed_by` may be "me" until `to_filter` knows who."""

    text: str = ""
    source: str | None = None
    status: str | None = None
    tag: str | None = None
    flagged: bool = False
    unanswered: bool = False
    claimed_by: str | None = None
    strong_duplicates: bool = False
    older_than_minutes: int | None = None
    newer_than_minutes: int | None = None

    def to_filter(self, actor: str, base: QueueFilter | None = None) -> QueueFilter:
        """The QueueFilter for `actor`, narrowing `base` (a built-in filter or a view)."""
        flt = base or QueueFilter()
        claimed = actor if self.claimed_by == "me" else self.claimed_by
        text = " ".join(part for part in (flt.text, self.text) if part)
        older = _tightest(flt.older_than_minutes, self.older_than_minutes, max)
        newer = _tightest(flt.newer_than_minutes, self.newer_than_minutes, min)
        return replace(
            flt,
            text=text,
            source=self.source or flt.source,
            status=self.status or flt.status,
            tag=self.tag or flt.tag,
            flagged_only=flt.flagged_only or self.flagged,
            unanswered_only=flt.unanswered_only or self.unanswered,
            claimed_by=claimed or flt.claimed_by,
            strong_duplicates=flt.strong_duplicates or self.strong_duplicates,
            older_than_minutes=older,
            newer_than_minutes=newer,
            # a search or a closed/solved state looks beyond the Queue (as search always has)
            everything=flt.everything
            or bool(text)
            or (self.status or flt.status) in ("solved", "closed", "duplicate"),
        )


def _tightest(a: int | None, b: int | None, pick: Callable[[int, int], int]) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return pick(a, b)


def _one_value(current: str | None, value: str, term: str) -> str:
    if not value:
        raise FilterError(f"{term}: needs a value, e.g. {term}:{_EXAMPLES[term]}")
    if current is not None and current != value:
        raise FilterError(f"two {term}: terms ({current!r} and {value!r}); a thread has one")
    return value


_EXAMPLES = {"source": "forum", "status": "open", "tag": "sim", "claimed": "me"}


def parse_filter(expression: str) -> Expression:
    """Read a filter expression; FilterError (one line) if it cannot be read."""
    try:
        parts = shlex.split(expression, posix=True)
    except ValueError:
        raise FilterError(
            'a quote is not closed (values with spaces go in "double quotes")'
        ) from None
    words: list[str] = []
    values: dict[str, str] = {}  # source, status, tag, claimed
    flags: set[str] = set()
    older: int | None = None
    newer: int | None = None
    for part in parts:
        lower = part.lower()
        named = _NAMED.match(part)
        if lower in ("flagged", "unanswered", "dupes"):
            flags.add(lower)
        elif lower == "mine":
            values["claimed"] = _one_value(values.get("claimed"), "me", "claimed")
        elif lower.startswith("age") and not lower.isalpha():
            minutes, more = _age(part)
            if more:
                older = minutes if older is None else max(older, minutes)
            else:
                newer = minutes if newer is None else min(newer, minutes)
        elif named is not None and not part.startswith(("http:", "https:")):
            name, value = named.group(1).lower(), named.group(2).strip()
            if name not in _EXAMPLES:
                raise FilterError(
                    f"{name}: is not a filter; use source:, status:, tag:, claimed:, age>…, "
                    "flagged, unanswered, mine, dupes, or plain words"
                )
            if name == "status":
                value = value.lower()
                if value and value not in STATUSES:
                    raise FilterError(
                        f"status:{value} is not a state; one of {', '.join(STATUSES)}"
                    )
            values[name] = _one_value(values.get(name), value, name)
        else:
            words.append(part)
    if older is not None and newer is not None and older >= newer:
        raise FilterError("the ages leave nothing: a thread cannot be older than it is newer")
    return Expression(
        text=" ".join(words),
        source=values.get("source"),
        status=values.get("status"),
        tag=values.get("tag"),
        flagged="flagged" in flags,
        unanswered="unanswered" in flags,
        claimed_by=values.get("claimed"),
        strong_duplicates="dupes" in flags,
        older_than_minutes=older,
        newer_than_minutes=newer,
    )


def _age(part: str) -> tuple[int, bool]:
    """Minutes of an age term, and whether it means older than: age>2d is (2880, True)."""
    match = _AGE.match(part.lower())
    if match is None:
        raise FilterError(f"{part!r}: write an age as age>2d or age<3h (m, h, d, w)")
    op, number, unit = match.groups()
    if unit not in UNITS:
        raise FilterError(f"{part!r} needs a unit (m, h, d, w), e.g. age>{number}d")
    minutes = minutes_within(number, UNITS[unit], AGE_AT_MOST)
    if minutes is None:
        raise FilterError(f"{part!r} is more than 100 years (at most {_duration(AGE_AT_MOST)})")
    return minutes, op.startswith(">")


def describe(expression: Expression) -> str:
    """The expression written back in one canonical line (for the status line)."""
    parts: list[str] = []
    for name in ("source", "status", "tag"):
        value = getattr(expression, name)
        if value:
            parts.append(f"{name}:{_quoted(value)}")
    if expression.claimed_by:
        parts.append(f"claimed:{_quoted(expression.claimed_by)}")
    if expression.flagged:
        parts.append("flagged")
    if expression.unanswered:
        parts.append("unanswered")
    if expression.strong_duplicates:
        parts.append("dupes")
    if expression.older_than_minutes is not None:
        parts.append(f"age>{_duration(expression.older_than_minutes)}")
    if expression.newer_than_minutes is not None:
        parts.append(f"age<{_duration(expression.newer_than_minutes)}")
    if expression.text:
        parts.append(expression.text)
    return " ".join(parts)


def _quoted(value: str) -> str:
    return f'"{value}"' if " " in value else value


def _duration(minutes: int) -> str:
    for unit in ("w", "d", "h"):
        if minutes % UNITS[unit] == 0:
            return f"{minutes // UNITS[unit]}{unit}"
    return f"{minutes}m"


def whole_last_word(text: str) -> str | None:
    """The last word of a search when it is too short to be matched as a prefix (it must
    appear whole: "ro" does not find "roaming"), else None."""
    words = search_words(text)
    return words[-1] if words and len(words[-1]) < PREFIX_FROM else None
