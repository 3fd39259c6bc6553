"""The team database's translation of SQLite placeholders (console.storage.placeholders)."""

from __future__ import annotations

# No store: the placeholder translation for PostgreSQL, checked as text (no server needed).
import pytest

from console.storage.placeholders import PlaceholderError, translate
from console.storage.rows import maker


@pytest.mark.parametrize(
    ("sqlite", "psycopg"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("INSERT INTO t VALUES (:id, :name)", "INSERT INTO t VALUES (%(id)s, %(name)s)"),
        # inside literals, quoted identifiers and comments nothing is a placeholder
        ("SELECT '?', 'a:b', ? FROM t", "SELECT '?', 'a:b', %s FROM t"),
        ("SELECT 'it''s ?' || ?", "SELECT 'it''s ?' || %s"),
        ('SELECT "odd?col" FROM t WHERE x = ?', 'SELECT "odd?col" FROM t WHERE x = %s'),
        ("SELECT 1 -- why? :no\nWHERE a = ?", "SELECT 1 -- why? :no\nWHERE a = %s"),
        ("SELECT /* :x ? */ ?", "SELECT /* :x ? */ %s"),
        ("SELECT $$ ? :x $$, ?", "SELECT $$ ? :x $$, %s"),
        # every % is doubled, in literals too (psycopg reads %% back as %)
        ("SELECT ? WHERE t LIKE '%sim%'", "SELECT %s WHERE t LIKE '%%sim%%'"),
        ("SELECT 7 % ?", "SELECT 7 %% %s"),
        # a cast is not a named placeholder; a timestamp in a literal is left alone
        ("SELECT ?::text, x::bigint", "SELECT %s::text, x::bigint"),
        (
            "SELECT 1 WHERE ts > '2026-11-20T12:00:00Z'",
            "SELECT 1 WHERE ts > '2026-11-20T12:00:00Z'",
        ),
        ("SELECT 'unterminated ?", "SELECT 'unterminated ?"),
        # PostgreSQL has no empty IN list: the same truth as SQLite's
        ("SELECT 1 WHERE id IN () AND x = ?", "SELECT 1 WHERE id = ANY('{}') AND x = %s"),
        ("SELECT 1 WHERE id not in ( ) OR ?", "SELECT 1 WHERE id <> ALL('{}') OR %s"),
        ("SELECT count(), now() WHERE y IN (?)", "SELECT count(), now() WHERE y IN (%s)"),
        ("SELECT 'IN ()' WHERE main()", "SELECT 'IN ()' WHERE main()"),
    ],
)
def test_translate(sqlite: str, psycopg: str) -> None:
    assert translate(sqlite) == psycopg


@pytest.mark.parametrize("bad", ["SELECT ?, :x", "SELECT ?1"])
def test_refused(bad: str) -> None:
    with pytest.raises(PlaceholderError):
        translate(bad)


def test_rows_read_by_name_and_index_like_sqlite_rows() -> None:
    row = maker(["id", "Status"])((7, "open"))
    assert row[0] == 7 and row["id"] == 7 and row["status"] == "open" and row["STATUS"] == "open"
    assert dict(row) == {"id": 7, "Status": "open"}
    ident, status = row
    assert (ident, status) == (7, "open")
    with pytest.raises(IndexError):
        row["missing"]
