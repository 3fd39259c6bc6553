"""What differs between the cache's SQLite and the team database's PostgreSQL, in one object.

Everything else is written once: placeholders stay SQLite's (`?`, `:name`; the PostgreSQL
connection translates them), upserts are `INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE`
and new ids come back with `RETURNING id` (SQLite has both since 3.35).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.storage.protocol import Connection

WORD_SEPARATORS = "-./:@_+<>&;=?#~'\\"
"""Characters PostgreSQL's text-search parser would keep inside a token (a URL, a host, an
e-mail address, a version, a hyphenated word, a tag) that SQLite's unicode61 tokenizer splits
on: the team database's documents replace them with spaces first (`tsvector_of`), so both
engines index the same words and a search for "spam" finds "http://spam.example"."""


INVISIBLE_SEPARATORS = (
    "\u00ad\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c"
    "\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)
"""Characters that draw nothing (soft hyphen, zero-width space, joiners, direction marks and
embeddings, word joiner, byte-order mark...: Unicode's format characters and line separators,
as console.safe_text shows them) that PostgreSQL's parser keeps inside a word and FTS5's
unicode61 splits on (it keeps letters, numbers and private-use characters only): replaced with
spaces too, so "pay\u200bpal" holds the words "pay" and "pal" on both engines, and a post
starting with a byte-order mark still has its first word."""


def tsvector_of(text: str) -> str:
    """The SQL of the 'simple' tsvector of the SQL expression `text`, words split as on the
    cache (WORD_SEPARATORS, INVISIBLE_SEPARATORS: the latter written as U& escapes, so the SQL
    an admin reads shows them). Immutable, so it can make a generated column."""
    spaces = " " * (len(WORD_SEPARATORS) + len(INVISIBLE_SEPARATORS))
    separators = WORD_SEPARATORS.replace("'", "''")
    invisible = "".join(f"\\{ord(c):04X}" for c in INVISIBLE_SEPARATORS)
    return (
        f"to_tsvector('simple', translate({text}, '{separators}' || U&'{invisible}', '{spaces}'))"
    )


TITLE_SIMILARITY = 0.45
"""pg_trgm similarity (0..1) from which two titles are alike enough to recall (PostgreSQL)."""


@dataclass(frozen=True)
class Dialect:
    name: str
    lock_suffix: str
    """Appended to a SELECT that reads a row the transaction goes on to change. SQLite's
    BEGIN IMMEDIATE already serialises writers; PostgreSQL locks the row (FOR UPDATE), so two
    moderators deciding on one thread at once take turns."""
    server_audit: bool
    """Audit entries are appended by the server (peerdesk_audit_append: its clock, the
    connected role as the actor, the hash chained under a lock), not written by peerdesk."""

    clock: str
    """SQL for "now" on the clock claims and leases run by, as ISO-8601 UTC text (how the
    cache stores times). The cache: peerdesk's own clock (console.clock, which tests freeze),
    bound by the caller as the named parameter `:now` (`clock_parameters`). The team
    database: the server's, `peerdesk_time()`, the clock its row-level security decides
    takeovers by; a laptop's clock a week behind (or ahead) counts for nothing there. (In a
    transaction the server's now() is the transaction's start, so one decision sees one time.)
    """
    server_ledger: bool = False
    """Rewards ledger entries are appended by the server (peerdesk_ledger_append: numbered,
    stamped, chained under a lock, checked against the caller's roles and the payout lines;
    console.rewards.ledger_server), not written by peerdesk."""

    @property
    def is_sqlite(self) -> bool:
        return self.name == "sqlite"

    @property
    def where(self) -> str:
        """Where the data is, as a message says it: "in the cache" (a SQLite cache file) or
        "on the team database" (PostgreSQL)."""
        return "in the cache" if self.is_sqlite else "on the team database"

    def clock_parameters(self) -> dict[str, str]:
        """The named parameters a statement using `clock` binds (the cache's :now)."""
        if not self.is_sqlite:
            return {}
        from console.clock import now_iso

        return {"now": now_iso()}

    def lease_time(self, conn: Connection, *, ahead: timedelta = timedelta()) -> str:
        """The time on the `clock`, `ahead` from now, as a value (to stamp a claim or a lease
        and return it): on the team database asked of the server."""
        if self.is_sqlite:
            from console.clock import iso, now

            return iso(now() + ahead)
        row = conn.execute(
            "SELECT peerdesk_time(make_interval(secs => ?))", (ahead.total_seconds(),)
        ).fetchone()
        return str(row[0])

    def lock(self, select: str) -> str:
        """`select` taking a row lock where the engine needs one (see `lock_suffix`)."""
        return select + self.lock_suffix

    def take_turns(self, conn: Connection, what: str) -> None:
        """Writers of `what` take turns until the transaction ends: on the cache BEGIN
        IMMEDIATE already serialises every writer; on PostgreSQL a transaction-level advisory
        lock (any role may take one; it is released by the commit or the rollback)."""
        if not self.is_sqlite:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"peerdesk:{what}",))

    def scratch_table(self, name: str) -> str:
        """The qualified name of the connection's own temporary table `name` (SQLite's `temp`
        schema; PostgreSQL's `pg_temp`)."""
        return f"{'temp' if self.is_sqlite else 'pg_temp'}.{name}"

    def create_scratch_table(self, name: str, columns: str) -> str:
        """CREATE (if missing) the connection's temporary table `name` with `columns`, whose
        first is its primary key (SQLite keeps it WITHOUT ROWID: the key is the table)."""
        rowid = " WITHOUT ROWID" if self.is_sqlite else ""
        return f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}){rowid}"

    @property
    def join_in_order(self) -> str:
        """A join whose left table is read first: SQLite's CROSS JOIN (its planner never
        reorders one, and it takes an ON clause); a plain JOIN on PostgreSQL, whose planner
        orders joins by statistics (and whose CROSS JOIN takes no ON)."""
        return "CROSS JOIN" if self.is_sqlite else "JOIN"

    def joined(self, expression: str, separator: str) -> str:
        """The aggregate joining `expression`'s texts with `separator` (a SQL string literal):
        SQLite's group_concat, PostgreSQL's string_agg."""
        if self.is_sqlite:
            return f"group_concat({expression}, {separator})"
        return f"string_agg({expression}, {separator})"

    def like_ignoring_case(self, column: str) -> str:
        """`column` matches the LIKE pattern given as the next parameter whatever the case
        (SQLite's LIKE ignores ASCII case; PostgreSQL's does not: ILIKE)."""
        return f"{column} {'LIKE' if self.is_sqlite else 'ILIKE'} ?"

    def greatest(self, *terms: str) -> str:
        """The larger of several values (SQLite's two-argument max() is PostgreSQL's greatest)."""
        return f"{'max' if self.is_sqlite else 'greatest'}({', '.join(terms)})"

    def least(self, *terms: str) -> str:
        return f"{'min' if self.is_sqlite else 'least'}({', '.join(terms)})"

    def searchable(self, column: str, limit: int) -> str:
        """The first `limit` characters of `column` as full-text search indexes them. SQLite
        keeps NULs in text and its substr() stops at one (console.sqltext); PostgreSQL text has
        none: the team database stores U+FFFD instead, read as a space here as the cache reads a
        NUL (PostgreSQL's parser would keep it inside a word: "nul\ufffdafter" one token)."""
        if self.is_sqlite:
            from console import sqltext

            return sqltext.searchable_sql(column, limit)
        return f"translate(left({column}, {limit}), chr(65533), ' ')"

    def prefix(self, column: str, limit: int) -> str:
        """The first `limit` characters of `column` (on the cache also past a NUL, where
        SQLite's substr() stops: console.sqltext; PostgreSQL text holds none)."""
        if self.is_sqlite:
            from console import sqltext

            return sqltext.prefix_sql(column, limit)
        return f"left({column}, {limit})"

    def part(self, column: str, start: int, length: int) -> str:
        """`length` characters of `column` from `start` (1-based), on the cache also past a NUL
        (console.sqltext)."""
        if self.is_sqlite:
            from console import sqltext

            return sqltext.part_sql(column, start, length)
        return f"substr({column}, {int(start)}, {int(length)})"

    def text_length(self, column: str) -> str:
        """`column`'s length in characters (on the cache also past a NUL: console.sqltext)."""
        if self.is_sqlite:
            from console import sqltext

            return sqltext.length_sql(column)
        return f"length({column})"

    def leading_integer(self, column: str) -> str:
        """The integer a text starts with, 0 if none: SQLite's CAST(... AS INTEGER) (which
        PostgreSQL refuses for text that is not a number)."""
        if self.is_sqlite:
            return f"CAST({column} AS INTEGER)"
        return f"coalesce(CAST(substring({column} from '^[0-9]+') AS BIGINT), 0)"

    def json_each(self, column: str) -> str:
        """A FROM item with one row per element of the JSON array in `column`, its text in
        `json_each.value` (SQLite's json_each; PostgreSQL's jsonb_array_elements_text)."""
        if self.is_sqlite:
            return f"json_each({column})"
        return f"jsonb_array_elements_text({column}::jsonb) AS json_each(value)"

    def has_table(self, conn: Connection, name: str) -> bool:
        """Whether the store has the table `name` (SQLite's catalogue; PostgreSQL's, on the
        search path)."""
        if self.is_sqlite:
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        else:
            sql = "SELECT 1 WHERE to_regclass(?) IS NOT NULL"
        return conn.execute(sql, (name,)).fetchone() is not None

    def columns(self, conn: Connection, table: str) -> set[str]:
        """The names of `table`'s columns (none if there is no such table)."""
        if self.is_sqlite:
            return {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
        return {str(r[0]) for r in rows}

    def indexed_by(self, index: str) -> str:
        """After a table in FROM: SQLite's INDEXED BY `index` (where its planner would pick a
        worse one); nothing on PostgreSQL, whose planner has statistics to choose by."""
        return f" INDEXED BY {index}" if self.is_sqlite else ""

    def fts_match(self, table: str, param: str = "?") -> str:
        """The condition that `table` (a full-text table of the migrations) matches the query
        given as the parameter `param` (made by `fts_terms`). SQLite: FTS5's MATCH; PostgreSQL:
        the table's `document` tsvector (console/team/dialect.py) under its GIN index."""
        if self.is_sqlite:
            return f"{table} MATCH {param}"
        return f"{table}.document @@ to_tsquery('simple', {param})"

    def fts_terms(self, words: list[str], *, prefix_last: bool) -> str:
        """The query text for `fts_match` requiring every word (`words` hold only word
        characters, as console.store tokenises them), the last as a prefix if asked."""
        if self.is_sqlite:
            quoted = [f'"{w}"' for w in words]
            if prefix_last:
                quoted[-1] += "*"
            return " ".join(quoted)
        lexemes = [f"'{w}'" for w in words]
        if prefix_last:
            lexemes[-1] += ":*"
        return " & ".join(lexemes)

    # Duplicate recall (console.dupes.candidates): a thread's most telling words, any of which
    # may match, ranked; document frequencies of words; fuzzy titles where the engine has them.

    def fts_ranked(
        self, table: str, first_weight: float, words: list[str], rarity: list[float], limit: int
    ) -> tuple[str, list[object]]:
        """(SELECT, parameters) of the rowids of `table` holding any of `words` (word characters
        only), best first, at most `limit`; the table's first text column (`title`) counts
        `first_weight` times the rest. SQLite: FTS5's bm25 with column weights (`rarity` unused:
        bm25 has its own idf). PostgreSQL: the sum of the `rarity` (an idf) of each word a row
        holds, its title's words counting `first_weight` times, then ts_rank of the GIN-indexed
        `document` (how often): ts_rank alone does not know how rare a word is, and put common
        matches before the rare ones bm25 ranks first. (Each matching row's title is made into
        a tsvector here: the matches are bounded by the caller's choice of words.)"""
        if self.is_sqlite:
            match = " OR ".join(f'"{w}"' for w in words)
            sql = (
                f"SELECT rowid FROM {table} WHERE {table} MATCH ? "
                f"ORDER BY bm25({table}, {first_weight}, 1.0) LIMIT ?"
            )
            return sql, [match, limit]
        title = tsvector_of("left(coalesce(f.title, ''), 2000)")
        held = " + ".join(
            "CASE WHEN f.document @@ to_tsquery('simple', ?) THEN "
            f"? * (1 + CASE WHEN t.title @@ to_tsquery('simple', ?) THEN {first_weight - 1.0} "
            "ELSE 0 END) ELSE 0 END"
            for _ in words
        )
        params: list[object] = [" | ".join(f"'{w}'" for w in words)]
        for word, weight in zip(words, rarity, strict=True):
            params += [f"'{word}'", weight, f"'{word}'"]
        sql = (
            f"SELECT f.rowid FROM {table} f CROSS JOIN LATERAL (SELECT {title} AS title) t, "
            "to_tsquery('simple', ?) q WHERE f.document @@ q "
            f"ORDER BY {held} DESC, ts_rank(f.document, q) DESC, f.rowid LIMIT ?"
        )
        return sql, [*params, limit]

    def fts_vocabulary_setup(self, table: str) -> list[str]:
        """Statements that make `fts_document_counts(table, n)` readable on a connection."""
        if self.is_sqlite:
            return [
                f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.peerdesk_{table}_vocab "
                f"USING fts5vocab(main, {table}, row)"
            ]
        return []

    def fts_document_counts(self, table: str, count: int) -> str:
        """SELECT (word, rows of `table` holding it) for `count` words given as parameters
        (words no row holds may be left out). SQLite reads fts5vocab (the index's own counts);
        PostgreSQL counts the matches of each word under the GIN index (cheap for the rare
        words this is asked about)."""
        marks = ",".join("?" * count)
        if self.is_sqlite:
            return f"SELECT term, doc FROM temp.peerdesk_{table}_vocab WHERE term IN ({marks})"
        values = ",".join("(?)" for _ in range(count))
        return (
            f"SELECT v.term, (SELECT count(*) FROM {table} f WHERE f.document @@ "
            "to_tsquery('simple', quote_literal(v.term))) "
            f"FROM (VALUES {values}) AS v(term)"
        )

    def fts_vocabulary_snapshot(self, table: str, into: str) -> str:
        """INSERT every word of `table` with the number of rows holding it into `into`
        (term, df). PostgreSQL: ts_stat over the documents; a word longer than 2,000 bytes
        (made from huge hostile posts) cannot be an index key there and is left out."""
        if self.is_sqlite:
            return (
                f"INSERT INTO {into} (term, df) SELECT term, doc FROM temp.peerdesk_{table}_vocab"
            )
        return (
            f"INSERT INTO {into} (term, df) SELECT word, ndoc FROM "
            f"ts_stat('SELECT document FROM {table}') WHERE octet_length(word) <= 2000 "
            "ON CONFLICT (term) DO UPDATE SET df = excluded.df"
        )

    def fts_optimize(self, table: str) -> list[str]:
        """Statements that compact `table`'s index after a rebuild (FTS5's optimize; nothing
        on PostgreSQL, whose GIN index is kept by the server)."""
        if self.is_sqlite:
            return [f"INSERT INTO {table} ({table}) VALUES ('optimize')"]
        return []

    def similar_titles(self) -> str | None:
        """SELECT the ids of the threads of a source (first parameter) other than one (second)
        created at or before a time (third) whose titles are most alike a title (fourth) by
        trigrams, nearest first, at most the fifth parameter of them, none below
        TITLE_SIMILARITY; None where the engine has no such index (SQLite: its fuzzy title
        comparison is the scorer's, on the recalled pool only). PostgreSQL: pg_trgm's distance
        under the GiST index `threads_title_trgm`."""
        if self.is_sqlite:
            return None
        return (
            "SELECT t.id FROM (SELECT id, title FROM threads WHERE source_id = ? AND id <> ? "
            "AND created_at <= ? ORDER BY title <-> ? LIMIT ?) t "
            f"WHERE similarity(t.title, ?) >= {TITLE_SIMILARITY}"
        )


SQLITE = Dialect("sqlite", lock_suffix="", server_audit=False, clock=":now")
POSTGRESQL = Dialect(
    "postgresql",
    lock_suffix=" FOR UPDATE",
    server_audit=True,
    clock="peerdesk.peerdesk_time()",
    server_ledger=True,
)
