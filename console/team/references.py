"""The same row on two databases: a laptop's cache and the team database number their rows
independently, so a decision replayed from one on the other names its rows by what the
platforms call them.

A `Key` is a row's natural key, read on one database (`key_of`) and looked up on another
(`id_of`), both through the storage protocol (SQL with `?`, on either engine):

- a thread, a post or a member: (kind, source name, the platform's remote id);
- an escalation: the rule, its subject (the post or thread it was raised on, by its own key)
  and the subject's version (escalations are unique on rule, subject and version);
- a verification is its answer's post.
"""

from __future__ import annotations

from console.storage import Connection

Key = tuple[str, ...]

PLATFORM_ROWS = {"thread": "threads", "post": "posts", "member": "members"}
REFERENCES = {"original_id": "thread", "other": "member"}
"""The decision parameters that name a row (a duplicate's original, a member link's other
account), by the kind of row they name."""


def key_of(conn: Connection, kind: str, row_id: int) -> Key | None:
    """The natural key of row `row_id` of `kind`, or None if there is no such row (or no way to
    name it elsewhere)."""
    table = PLATFORM_ROWS.get(kind)
    if table is not None:
        row = conn.execute(
            f"SELECT s.name, x.remote_id FROM {table} x JOIN sources s ON s.id = x.source_id "
            "WHERE x.id = ?",
            (row_id,),
        ).fetchone()
        return (kind, str(row[0]), str(row[1])) if row is not None else None
    if kind == "escalation":
        row = conn.execute(
            "SELECT rule_id, subject, version FROM escalations WHERE id = ?", (row_id,)
        ).fetchone()
        if row is None:
            return None
        subject_kind, _, subject_id = str(row[1]).partition(":")
        if subject_kind not in ("post", "thread") or not subject_id.isdigit():
            return None
        subject = key_of(conn, subject_kind, int(subject_id))
        if subject is None:
            return None
        return ("escalation", str(row[0]), *subject, str(row[2]))
    return None


def id_of(conn: Connection, key: Key) -> int | None:
    """The id of the row with natural key `key` on `conn`'s database, or None."""
    kind = key[0]
    table = PLATFORM_ROWS.get(kind)
    if table is not None:
        row = conn.execute(
            f"SELECT x.id FROM {table} x JOIN sources s ON s.id = x.source_id "
            "WHERE s.name = ? AND x.remote_id = ?",
            (key[1], key[2]),
        ).fetchone()
        return int(row[0]) if row is not None else None
    if kind == "escalation":
        rule_id, subject, version = key[1], key[2:5], key[5]
        subject_id = id_of(conn, subject)
        if subject_id is None:
            return None
        row = conn.execute(
            "SELECT id FROM escalations WHERE rule_id = ? AND subject = ? AND version = ?",
            (rule_id, f"{subject[0]}:{subject_id}", version),
        ).fetchone()
        return int(row[0]) if row is not None else None
    return None


def describe(key: Key) -> str:
    """How a key is named in a conflict: "thread t7 of forum"."""
    if key[0] == "escalation":
        return f"the escalation {key[1]} on {describe(key[2:5])}"
    return f"{key[0]} {key[2]} of {key[1]}"
