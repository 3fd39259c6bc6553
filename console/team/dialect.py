"""The cache's migrations, rendered for PostgreSQL: one list (console.migrations), two dialects.

SQLite stays the list's own dialect; `render(statement)` turns one of its statements into the
PostgreSQL statements that build the same table, column, index or rule:

- column types: INTEGER -> BIGINT (SQLite integers are 64-bit), REAL -> DOUBLE PRECISION,
  BLOB -> BYTEA; an `id INTEGER PRIMARY KEY` becomes an identity column (BY DEFAULT, so a copy
  keeps its ids); `WITHOUT ROWID` is dropped (every PostgreSQL table is a heap);
- foreign keys are made DEFERRABLE, so a copy can insert a table whose rows point at later rows
  of the same table (threads.duplicate_of, batches.undone_by) in one transaction;
- an FTS5 table becomes a plain table with an explicit `rowid`, the same text columns and a
  generated `document` tsvector (the 'simple' configuration: no stemming, like unicode61) under
  a GIN index, made from the first FTS_CHARS characters of each column (a tsvector's limit);
- `SELECT 'postgresql: NAME'` (nothing on SQLite) is a change of the team database only,
  rendered from BY_NAME (migration 19: the trigram index of titles, and the documents split into
  words as the cache splits them);
- a statement starting with `/* sqlite only */` (console.migrations.SQLITE_ONLY) is a change of
  the cache only and renders as nothing (migration 21: FTS5's prefix indexes, which PostgreSQL's
  GIN index does without);
- triggers cannot be translated by rule: each has its PostgreSQL rendering in TRIGGERS below,
  by name. A migration that adds a trigger (or anything else this module cannot render) fails
  `tests/team/test_schema.py` with a message saying to add its rendering here.
"""

from __future__ import annotations

import re

from console.migrations import CLOSED_DAY, MIGRATIONS, SQLITE_ONLY
from console.storage.dialect import tsvector_of


class DialectError(Exception):
    """A statement of the migrations has no PostgreSQL rendering."""


NOW_TEXT = """to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
"""The server's clock in the cache's timestamp form (ISO-8601 UTC, whole seconds, 'Z')."""

FTS_PATTERN = re.compile(
    r"CREATE\s+VIRTUAL\s+TABLE\s+(\w+)\s+USING\s+fts5\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL
)
TRIGGER_PATTERN = re.compile(r"CREATE\s+TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE)
REFERENCES = re.compile(
    r"(REFERENCES\s+\w+\s*\(\w+\)(?:\s+ON\s+DELETE\s+(?:CASCADE|SET\s+NULL|RESTRICT))?)",
    re.IGNORECASE,
)


def _tags_of(tags: str) -> str:
    """The texts of a thread's JSON list of tags (the text column `tags`), as the cache's
    json_each gives those of a list of type 'text' (console.migrations._TEXTS): the rows of
    thread_tags (migration 38). Not a list: no tags. Written out where it is used (a function
    of its own would need its EXECUTE granted to every writing role)."""
    return f"""SELECT DISTINCT e #>> '{{}}' FROM jsonb_array_elements(
      CASE WHEN jsonb_typeof({tags}::jsonb) = 'array' THEN {tags}::jsonb ELSE '[]' END) AS e
     WHERE jsonb_typeof(e) = 'string'"""


def _verification_recheck(event: str, row: str, when: str, first_reason: str, recheck: str) -> str:
    """The three 'the platform changed a decided answer' triggers of migration 10."""
    return f"""CREATE FUNCTION peerdesk_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF {when} THEN
    INSERT INTO verification_reviews
      (verification_id, post_id, kind, first_by, first_state, reason, created_at)
    SELECT id, post_id, 'recheck', decided_by, state, {first_reason}, {NOW_TEXT}
      FROM verifications WHERE post_id = {row}.id;
    UPDATE verifications SET state = 'pending', updated_by = 'platform',
           recheck = {recheck}, updated_at = {NOW_TEXT}
     WHERE post_id = {row}.id;
  END IF;
  RETURN NULL;
END $$"""


TRIGGERS: dict[str, list[str]] = {
    # migration 6: the ledger refuses UPDATE and DELETE (also for the owner, unless it drops
    # these; grants keep everyone else to INSERT through peerdesk_ledger_append)
    "ledger_no_update": [
        """CREATE FUNCTION peerdesk_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the % is append-only', TG_TABLE_NAME;
END $$""",
        """CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
           FOR EACH ROW EXECUTE FUNCTION peerdesk_append_only()""",
    ],
    "ledger_no_delete": [
        """CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
           FOR EACH ROW EXECUTE FUNCTION peerdesk_append_only()""",
        """CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
           FOR EACH STATEMENT EXECUTE FUNCTION peerdesk_append_only()""",
    ],
    # migration 10: verification state changes are logged; the previous decision is kept
    "verification_state_logged": [
        """CREATE FUNCTION peerdesk_verification_state_logged() RETURNS trigger
           LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO verification_events
    (verification_id, post_id, thread_id, from_state, to_state, actor, at)
  VALUES (NEW.id, NEW.post_id, NEW.thread_id, OLD.state, NEW.state, NEW.updated_by,
          NEW.updated_at);
  RETURN NULL;
END $$""",
        """CREATE TRIGGER verification_state_logged AFTER UPDATE OF state ON verifications
           FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
           EXECUTE FUNCTION peerdesk_verification_state_logged()""",
    ],
    "verification_previous_state": [
        # SQLite updates the row again after the fact; PostgreSQL sets it before the write
        """CREATE FUNCTION peerdesk_verification_previous_state() RETURNS trigger
           LANGUAGE plpgsql AS $$
BEGIN
  NEW.previous_state := OLD.state;
  RETURN NEW;
END $$""",
        """CREATE TRIGGER verification_previous_state BEFORE UPDATE OF state ON verifications
           FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state
                              AND OLD.state IN ('verified', 'rejected', 'needs_edit'))
           EXECUTE FUNCTION peerdesk_verification_previous_state()""",
    ],
    "verification_answer_edited": [
        _verification_recheck(
            "verification_answer_edited",
            "NEW",
            "OLD.body_text IS DISTINCT FROM NEW.body_text AND EXISTS (SELECT 1 FROM "
            "verifications v WHERE v.post_id = NEW.id AND v.state IN ('verified', 'rejected', "
            "'needs_edit'))",
            "'the answer was edited on the platform after it was ' || replace(state, '_', '-')",
            "'edited on the platform after it was ' || replace(state, '_', '-')",
        ),
        """CREATE TRIGGER verification_answer_edited AFTER UPDATE OF body_text ON posts
           FOR EACH ROW EXECUTE FUNCTION peerdesk_verification_answer_edited()""",
    ],
    "verification_answer_hidden": [
        _verification_recheck(
            "verification_answer_hidden",
            "NEW",
            "NEW.hidden = 1 AND OLD.hidden = 0 AND EXISTS (SELECT 1 FROM verifications v "
            "WHERE v.post_id = NEW.id AND v.state = 'verified')",
            "'the verified answer was hidden'",
            "'hidden after it was verified'",
        ),
        """CREATE TRIGGER verification_answer_hidden AFTER UPDATE OF hidden ON posts
           FOR EACH ROW EXECUTE FUNCTION peerdesk_verification_answer_hidden()""",
    ],
    "verification_answer_deleted": [
        _verification_recheck(
            "verification_answer_deleted",
            "OLD",
            "EXISTS (SELECT 1 FROM verifications v WHERE v.post_id = OLD.id AND v.state IN "
            "('verified', 'rejected', 'needs_edit'))",
            "'the answer was deleted on the platform after it was ' || replace(state, '_', '-')",
            "'deleted on the platform'",
        ),
        """CREATE TRIGGER verification_answer_deleted AFTER DELETE ON posts
           FOR EACH ROW EXECUTE FUNCTION peerdesk_verification_answer_deleted()""",
    ],
    # migration 37: escalations raised and closed per day and per rule and state, kept by one
    # function; its argument says which part a trigger moves. A copy (migrate-to, `peerdesk.quiet`)
    # brings the cache's kept rows along with its escalations, in the same snapshot, so the
    # copied escalations do not count again.
    "escalation_counts_added": [
        f"""CREATE FUNCTION peerdesk_escalation_counts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  part text := TG_ARGV[0];
BEGIN
  IF current_setting('peerdesk.quiet', true) = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    IF part <> 'states' THEN
      UPDATE escalation_days SET raised = raised - 1 WHERE day = substr(OLD.raised_at, 1, 10);
      IF OLD.closed_at IS NOT NULL THEN
        UPDATE escalation_days SET closed = closed - 1
         WHERE day = substr({CLOSED_DAY.format(row="OLD")}, 1, 10);
      END IF;
    END IF;
    IF part <> 'days' THEN
      UPDATE escalation_rule_states SET escalations = escalations - 1
       WHERE rule_id = OLD.rule_id AND state = OLD.state;
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF part <> 'states' THEN
      INSERT INTO escalation_days AS d (day, raised) VALUES (substr(NEW.raised_at, 1, 10), 1)
      ON CONFLICT (day) DO UPDATE SET raised = d.raised + 1;
      IF NEW.closed_at IS NOT NULL THEN
        INSERT INTO escalation_days AS d (day, closed)
        VALUES (substr({CLOSED_DAY.format(row="NEW")}, 1, 10), 1)
        ON CONFLICT (day) DO UPDATE SET closed = d.closed + 1;
      END IF;
    END IF;
    IF part <> 'days' THEN
      INSERT INTO escalation_rule_states AS s (rule_id, state, escalations)
      VALUES (NEW.rule_id, NEW.state, 1)
      ON CONFLICT (rule_id, state) DO UPDATE SET escalations = s.escalations + 1;
    END IF;
  END IF;
  RETURN NULL;
END $$""",
        """CREATE TRIGGER escalation_counts_added AFTER INSERT ON escalations
           FOR EACH ROW EXECUTE FUNCTION peerdesk_escalation_counts('all')""",
    ],
    "escalation_counts_removed": [
        """CREATE TRIGGER escalation_counts_removed AFTER DELETE ON escalations
           FOR EACH ROW EXECUTE FUNCTION peerdesk_escalation_counts('all')""",
    ],
    "escalation_days_changed": [
        """CREATE TRIGGER escalation_days_changed AFTER UPDATE OF raised_at, closed_at
           ON escalations FOR EACH ROW
           WHEN (OLD.raised_at IS DISTINCT FROM NEW.raised_at
                 OR OLD.closed_at IS DISTINCT FROM NEW.closed_at)
           EXECUTE FUNCTION peerdesk_escalation_counts('days')""",
    ],
    "escalation_states_changed": [
        """CREATE TRIGGER escalation_states_changed AFTER UPDATE OF rule_id, state
           ON escalations FOR EACH ROW
           WHEN (OLD.rule_id IS DISTINCT FROM NEW.rule_id OR OLD.state IS DISTINCT FROM NEW.state)
           EXECUTE FUNCTION peerdesk_escalation_counts('states')""",
    ],
    # migration 38: thread_tags, one row per tag of a thread (the `tag:` filter's index), kept
    # as the cache's triggers keep it: every text of the JSON list, as it is
    "thread_tags_thread_added": [
        f"""CREATE FUNCTION peerdesk_thread_tags_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM thread_tags WHERE thread_id = OLD.id AND tag IN ({_tags_of("OLD.tags")});
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO thread_tags (tag, thread_id)
    SELECT tag, NEW.id FROM ({_tags_of("NEW.tags")}) AS listed (tag)
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$""",
        """CREATE TRIGGER thread_tags_thread_added AFTER INSERT ON threads
           FOR EACH ROW EXECUTE FUNCTION peerdesk_thread_tags_kept()""",
    ],
    "thread_tags_thread_retagged": [
        """CREATE TRIGGER thread_tags_thread_retagged AFTER UPDATE OF tags ON threads
           FOR EACH ROW WHEN (OLD.tags IS DISTINCT FROM NEW.tags)
           EXECUTE FUNCTION peerdesk_thread_tags_kept()""",
    ],
    "thread_tags_thread_removed": [
        """CREATE TRIGGER thread_tags_thread_removed AFTER DELETE ON threads
           FOR EACH ROW EXECUTE FUNCTION peerdesk_thread_tags_kept()""",
    ],
}

FTS_CHARS = 200_000
"""Characters of each text column that go into `document`: a tsvector holds at most 1 MB, so a
50 MB post could not be indexed whole (FTS5 indexes all of it; on PostgreSQL the search sees
the first 200,000 characters of a post)."""


def _words_apart(table: str, columns: list[str]) -> list[str]:
    """`table`'s document made again with words split as on the cache (tsvector_of)."""
    text = " || ' ' || ".join(f"left(coalesce({c}, ''), {FTS_CHARS})" for c in columns)
    return [
        f"ALTER TABLE {table} DROP COLUMN document",
        f"""ALTER TABLE {table} ADD COLUMN document tsvector
            GENERATED ALWAYS AS ({tsvector_of(text)}) STORED""",
        f"CREATE INDEX {table}_document ON {table} USING GIN (document)",
    ]


BY_NAME: dict[str, list[str]] = {
    # migration 19: duplicate recall's fuzzy titles. pg_trgm (a contrib extension trusted since
    # PostgreSQL 13) is created by the installer itself (peerdesk_owner may not create
    # extensions) in the peerdesk schema, where the sessions' search_path finds its operators;
    # grants.sql lets peerdesk's roles call the three functions recall uses.
    "threads_title_trgm": [
        "RESET ROLE",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA peerdesk",
        "SET ROLE peerdesk_owner",
        "CREATE INDEX threads_title_trgm ON threads USING gist (title gist_trgm_ops)",
    ],
    # migration 19: the documents of the full-text tables of migration 1, words split as FTS5's
    # unicode61 splits them (new and existing rows: the columns are computed again)
    "fts_words_apart": [
        *_words_apart("thread_fts", ["title", "body"]),
        *_words_apart("post_fts", ["body"]),
    ],
    # migration 24: answer verification's count of each author's answers (position > 0) from
    # the index alone (posts_author stays: both engines keep the cache's indexes)
    "posts_author_position": [
        "CREATE INDEX posts_author_position ON posts (author_id, position)",
    ],
    # migration 27: the same documents with the invisible characters as separators too
    "fts_invisible_apart": [
        *_words_apart("thread_fts", ["title", "body"]),
        *_words_apart("post_fts", ["body"]),
    ],
    # migration 30: what a recalled duplicate candidate is scored from, one row per thread. The
    # cache keeps it as a table (its triggers are the cache's own); here it is a view of the
    # same join, so nothing more is written and the reads are those of the three tables
    "dupe_features_view": [
        """CREATE VIEW dupe_features AS
            SELECT t.id AS thread_id, t.source_id, t.created_at, t.title, t.status, t.tags,
                   t.duplicate_of, t.accepted_post_id, v.lang, v.vec,
                   a.version AS analysis_version, a.data AS analysis
              FROM threads t
              LEFT JOIN thread_vectors v ON v.thread_id = t.id
              LEFT JOIN thread_analysis a ON a.thread_id = t.id""",
    ],
    # migration 32: the Queue's three big counts. The cache keeps them in a row its triggers
    # move (console/queue_counts.py); here a view counts them when read (several processes write
    # the team database at once: one row each thread write updated would queue them up)
    # migration 38: thread_tags filled from every thread (its triggers, in TRIGGERS, keep it
    # from then on)
    "thread_tags_filled": [
        f"""INSERT INTO thread_tags (tag, thread_id)
           SELECT listed.tag, t.id FROM threads t,
             LATERAL ({_tags_of("t.tags")}) AS listed (tag)
           ON CONFLICT DO NOTHING""",
    ],
    # migration 40: each open proposal's OS account from the audit entry that made it, as the
    # cache finds it (console/migrations.py); the server's audit detail is JSON it wrote itself
    "verification_proposers_found": [
        """UPDATE verifications v SET proposed_os_user = (
            SELECT coalesce(a.detail::jsonb ->> 'os_user', a.actor) FROM audit a
             WHERE a.target_kind = 'post' AND a.target_id = v.post_id
               AND a.action IN ('verify_answer', 'verify_pick', 'verify_reject')
               AND a.actor = v.proposed_by
               AND a.detail::jsonb #>> '{after,proposed_state}' IS NOT NULL
             ORDER BY a.id DESC LIMIT 1)
            WHERE v.proposed_state IS NOT NULL AND v.proposed_os_user IS NULL""",
    ],
    "queue_counts_view": [
        """CREATE VIEW queue_counts AS
            SELECT CAST(1 AS BIGINT) AS id,
                   count(*) FILTER (WHERE in_queue = 1) AS queued,
                   count(*) FILTER (WHERE in_queue = 1 AND (flag_count > 0 OR report_count > 0))
                     AS flagged,
                   count(*) FILTER (WHERE in_queue = 1 AND reply_count = 0) AS unanswered
              FROM threads""",
    ],
}
"""The team database's own changes, by the name their migration gives them."""

ONLY_PATTERN = re.compile(r"SELECT\s+'postgresql:\s*(\w+)'\s*$", re.IGNORECASE)

FTS_EXTRA_COLUMNS = ("rowid", "document")
"""Columns an FTS table has in PostgreSQL beyond its text columns (SQLite's rowid is implicit)."""


def _fts(name: str, spec: str) -> list[str]:
    columns = [
        part.strip()
        for part in spec.split(",")
        if part.strip() and "=" not in part and not part.strip().lower().startswith("tokenize")
    ]
    if not all(re.fullmatch(r"\w+", c) for c in columns):
        raise DialectError(f"FTS table {name}: cannot read its columns from {spec!r}")
    text = " || ' ' || ".join(f"left(coalesce({c}, ''), {FTS_CHARS})" for c in columns)
    body = ", ".join(f"{c} TEXT" for c in columns)
    return [
        f"""CREATE TABLE {name} (rowid BIGINT PRIMARY KEY, {body},
            document tsvector GENERATED ALWAYS AS (to_tsvector('simple', {text})) STORED)""",
        f"CREATE INDEX {name}_document ON {name} USING GIN (document)",
    ]


def _types(statement: str) -> str:
    statement = re.sub(
        r"\bid\s+INTEGER\s+PRIMARY\s+KEY\b",
        "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        statement,
        flags=re.IGNORECASE,
    )
    statement = re.sub(r"\bINTEGER\b", "BIGINT", statement, flags=re.IGNORECASE)
    statement = re.sub(r"\bREAL\b", "DOUBLE PRECISION", statement, flags=re.IGNORECASE)
    statement = re.sub(r"\bBLOB\b", "BYTEA", statement, flags=re.IGNORECASE)
    statement = re.sub(r"\)\s*WITHOUT\s+ROWID\s*$", ")", statement, flags=re.IGNORECASE)
    return REFERENCES.sub(r"\1 DEFERRABLE", statement)


def render(statement: str) -> list[str]:
    """The PostgreSQL statements for one SQLite migration statement."""
    text = statement.strip()
    if is_sqlite_only(text):
        return []
    fts = FTS_PATTERN.match(text)
    if fts:
        return _fts(fts.group(1), fts.group(2))
    only = ONLY_PATTERN.match(text)
    if only:
        if only.group(1) not in BY_NAME:
            raise DialectError(f"{only.group(1)} has no PostgreSQL rendering in BY_NAME")
        return list(BY_NAME[only.group(1)])
    trigger = TRIGGER_PATTERN.match(text)
    if trigger:
        name = trigger.group(1)
        if name not in TRIGGERS:
            raise DialectError(
                f"trigger {name} has no PostgreSQL rendering: add one to TRIGGERS in "
                "console/team/dialect.py"
            )
        return list(TRIGGERS[name])
    if re.match(r"CREATE\s+VIRTUAL", text, re.IGNORECASE):
        raise DialectError(f"no PostgreSQL rendering for {text.split('(')[0]}")
    if re.match(r"PRAGMA\b", text, re.IGNORECASE):
        raise DialectError(f"a PRAGMA has no PostgreSQL rendering: {text[:60]}")
    return [_types(text)]


def is_sqlite_only(statement: str) -> bool:
    """A statement of the cache only (see SQLITE_ONLY): nothing to do on the team database."""
    return statement.strip().startswith(SQLITE_ONLY)


def sqlite_only(number: int) -> bool:
    """Every statement of migration `number` is the cache's own (it renders to nothing here)."""
    return all(is_sqlite_only(statement) for statement in MIGRATIONS[number - 1])


def migration(number: int) -> list[str]:
    """Migration `number` (1-based, as in PRAGMA user_version) for PostgreSQL."""
    rendered: list[str] = []
    for index, statement in enumerate(MIGRATIONS[number - 1], 1):
        try:
            rendered += render(statement)
        except DialectError as error:
            raise DialectError(f"migration {number}, statement {index}: {error}") from None
    return rendered
