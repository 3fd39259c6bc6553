"""SQL over text that may hold NUL characters.

SQLite keeps a NUL inside a TEXT value, but its length(), substr() and printf() stop at the first
one (instr() and the FTS5 tokenizer do not). A post "\\x00" + 5,000 characters would count as empty,
be shown cut, and be indexed only up to the NUL. These expressions do the usual work inside SQLite
and call a Python function (registered on every cache connection by `register`) only for the rare
text that holds a NUL, so they cost nothing on ordinary text.
"""

from __future__ import annotations

import sqlite3

NUL = "char(0)"


def prefix(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


def part(text: str | None, start: int, length: int) -> str | None:
    return None if text is None else text[start - 1 : start - 1 + length]


def length(text: str | None) -> int | None:
    return None if text is None else len(text)


def searchable(text: str | None, limit: int) -> str:
    """What full-text search indexes: the first `limit` characters, a NUL read as a space."""
    return (text or "")[:limit].replace("\0", " ")


def register(conn: sqlite3.Connection) -> None:
    conn.create_function("peerdesk_prefix", 2, prefix, deterministic=True)
    conn.create_function("peerdesk_part", 3, part, deterministic=True)
    conn.create_function("peerdesk_length", 1, length, deterministic=True)
    conn.create_function("peerdesk_searchable", 2, searchable, deterministic=True)


def prefix_sql(column: str, limit: int) -> str:
    """substr(column, 1, limit), also past a NUL."""
    return (
        f"CASE WHEN instr({column}, {NUL}) = 0 THEN substr({column}, 1, {limit}) "
        f"ELSE peerdesk_prefix({column}, {limit}) END"
    )


def part_sql(column: str, start: int, length: int) -> str:
    """substr(column, start, length) (start 1-based and at least 1), also past a NUL."""
    start, length = int(start), int(length)
    return (
        f"CASE WHEN instr({column}, {NUL}) = 0 THEN substr({column}, {start}, {length}) "
        f"ELSE peerdesk_part({column}, {start}, {length}) END"
    )


def length_sql(column: str) -> str:
    """length(column) in characters, also past a NUL."""
    return (
        f"CASE WHEN instr({column}, {NUL}) = 0 THEN length({column}) "
        f"ELSE peerdesk_length({column}) END"
    )


def searchable_sql(column: str, limit: int) -> str:
    """`searchable(column, limit)`: the first `limit` characters, NUL read as a space."""
    return (
        f"CASE WHEN instr({column}, {NUL}) = 0 THEN substr({column}, 1, {limit}) "
        f"ELSE peerdesk_searchable({column}, {limit}) END"
    )
