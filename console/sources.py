"""Adding and removing the platforms a cache syncs with (the SQL; the Desk checks and audits).

Removing a source deletes its cached threads, posts and members (by foreign key); it is refused
while any of its decisions still wait in the outbox, so nothing a moderator decided is dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from console.clock import now_iso
from console.errors import NotFound, PeerdeskError
from console.safe_text import clip, printable
from console.storage import Connection
from console.words import counted

WAITING_STATES = ("pending", "sending")


def check_plain(name: str, base_url: str | None) -> None:
    """PeerdeskError (one line) unless a new source's name and address are plain text: they
    are printed on every line and screen about the source, and an escape sequence in them (an
    imported file's header chooses both) would reach the terminal, a `\u200b` hide a letter."""
    if not name.strip():
        raise PeerdeskError("a source needs a name that is not blank")
    for what, text in (("name", name), ("address", base_url or "")):
        if printable(text, single_line=True) != text:
            raise PeerdeskError(
                f"the source {what} {clip(printable(text), 80)!r} holds a control or invisible "
                "character; a source's name and address are shown everywhere, so they must be "
                "plain text (peerdesk import --source NAME names an imported file's source)"
            )


@dataclass(frozen=True)
class Removed:
    name: str
    source_id: int
    threads: int
    posts: int
    outbox_items: int


def add(
    conn: Connection, *, kind: str, name: str, base_url: str | None, options: dict[str, Any]
) -> int:
    """Insert the source inside the caller's transaction; returns its id."""
    check_plain(name, base_url)
    if conn.execute("SELECT 1 FROM sources WHERE name = ?", (name,)).fetchone():
        raise PeerdeskError(f"a source named {name!r} exists already")
    cursor = conn.execute(
        "INSERT INTO sources (kind, name, base_url, options, created_at) VALUES (?, ?, ?, ?, ?) "
        "RETURNING id",
        (kind, name, base_url, json.dumps(options, sort_keys=True), now_iso()),
    )
    return int(cursor.fetchone()[0])


def remove(conn: Connection, name: str) -> Removed:
    """Delete the source and its cached data inside the caller's transaction."""
    row = conn.execute("SELECT id FROM sources WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound(f"there is no source named {name!r}")
    source_id = int(row[0])
    waiting = conn.execute(
        f"SELECT count(*) FROM outbox WHERE source_id = ? AND state IN "
        f"({','.join('?' * len(WAITING_STATES))})",
        (source_id, *WAITING_STATES),
    ).fetchone()[0]
    if waiting:
        raise PeerdeskError(
            f"{name!r} has {counted(waiting, 'decision')} not yet pushed; nothing was removed. "
            "Push them (`peerdesk push`) or give them up one by one in the Sync screen first."
        )
    threads = conn.execute("SELECT count(*) FROM threads WHERE source_id = ?", (source_id,))
    thread_count = int(threads.fetchone()[0])
    posts = conn.execute(
        "SELECT count(*) FROM posts WHERE thread_id IN "
        "(SELECT id FROM threads WHERE source_id = ?)",
        (source_id,),
    ).fetchone()[0]
    outbox = conn.execute("SELECT count(*) FROM outbox WHERE source_id = ?", (source_id,))
    outbox_count = int(outbox.fetchone()[0])
    conn.execute("UPDATE threads SET duplicate_of = NULL WHERE source_id = ?", (source_id,))
    conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))
    return Removed(name, source_id, thread_count, int(posts), outbox_count)
