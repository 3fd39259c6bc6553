"""SQLite's placeholders in psycopg's form, so the domain's SQL is written once.

The domain writes `?` (positional) and `:name` (named) as sqlite3 takes them; psycopg takes
`%s` and `%(name)s` and reads every other `%` as the start of a placeholder. `translate` walks
the statement once, outside string literals, quoted identifiers and comments:

- `?` becomes `%s`; `:name` becomes `%(name)s` (a `::` cast is left alone);
- every `%` (a LIKE pattern's, also inside a literal) becomes `%%`, which psycopg reads back
  as one `%`;
- an empty list, `IN ()` / `NOT IN ()` (SQLite: false / true), becomes `= ANY('{}')` /
  `<> ALL('{}')`, which PostgreSQL reads the same (it has no empty IN list).

Keeping `?` in the domain instead of rewriting ~400 placeholders keeps every SQLite statement
exactly as it was (the cache's speed and behaviour unchanged, no churn in files others edit);
the translation is small, cached per statement, and tested on the cases that could fool it
(tests/domain/test_storage_placeholders.py).
"""

from __future__ import annotations

import re
from functools import lru_cache

_EMPTY_LIST = re.compile(r"\s*\)")
_IN_BEFORE = re.compile(r"(?:\b(NOT)\s+)?\bIN\s*$", re.IGNORECASE)


class PlaceholderError(ValueError):
    """A statement mixes `?` and `:name`, or uses a numbered `?NNN` (neither is translated)."""


def _is_name_start(char: str) -> bool:
    return char.isalpha() or char == "_"


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _skip_quoted(sql: str, start: int, quote: str) -> int:
    """The index just after the literal/identifier opened at `start` (a doubled quote is
    part of it)."""
    index = start + 1
    while index < len(sql):
        if sql[index] == quote:
            if index + 1 < len(sql) and sql[index + 1] == quote:
                index += 2
                continue
            return index + 1
        index += 1
    return index


def _skip_dollar(sql: str, start: int) -> int | None:
    """The index after a $tag$...$tag$ string opened at `start`, or None if none opens there."""
    end = start + 1
    while end < len(sql) and _is_name_char(sql[end]):
        end += 1
    if end >= len(sql) or sql[end] != "$" or (end > start + 1 and sql[start + 1].isdigit()):
        return None
    tag = sql[start : end + 1]
    close = sql.find(tag, end + 1)
    return len(sql) if close < 0 else close + len(tag)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """`sql` with psycopg's placeholders (see the module's text)."""
    out: list[str] = []
    kinds: set[str] = set()
    index, size = 0, len(sql)
    while index < size:
        char = sql[index]
        if char in "'\"":
            end = _skip_quoted(sql, index, char)
            out.append(sql[index:end].replace("%", "%%"))
            index = end
        elif char == "-" and sql.startswith("--", index):
            end = sql.find("\n", index)
            end = size if end < 0 else end
            out.append(sql[index:end].replace("%", "%%"))
            index = end
        elif char == "/" and sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            end = size if end < 0 else end + 2
            out.append(sql[index:end].replace("%", "%%"))
            index = end
        elif char == "$" and (index == 0 or not _is_name_char(sql[index - 1])):
            closing = _skip_dollar(sql, index)
            if closing is None:
                out.append(char)
                index += 1
            else:
                out.append(sql[index:closing].replace("%", "%%"))
                index = closing
        elif char == "?":
            if index + 1 < size and sql[index + 1].isdigit():
                raise PlaceholderError(f"numbered placeholders (?NNN) are not translated: {sql}")
            kinds.add("?")
            out.append("%s")
            index += 1
        elif char == ":" and index + 1 < size and sql[index + 1] == ":":
            out.append("::")
            index += 2
        elif char == ":" and index + 1 < size and _is_name_start(sql[index + 1]):
            end = index + 1
            while end < size and _is_name_char(sql[end]):
                end += 1
            kinds.add(":")
            out.append(f"%({sql[index + 1 : end]})s")
            index = end
        elif char == "%":
            out.append("%%")
            index += 1
        elif char == "(" and (empty := _EMPTY_LIST.match(sql, index + 1)) is not None:
            text = "".join(out)
            in_list = _IN_BEFORE.search(text)
            if in_list is None:  # a call without arguments: now(), count()
                out.append(sql[index : empty.end()])
            else:
                empty_list = "<> ALL('{}')" if in_list.group(1) else "= ANY('{}')"
                out = [text[: in_list.start()].rstrip(), " ", empty_list]
            index = empty.end()
        else:
            out.append(char)
            index += 1
    if len(kinds) > 1:
        raise PlaceholderError(f"a statement mixes ? and :name placeholders: {sql}")
    return "".join(out)
