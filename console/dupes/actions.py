"""Moderator decisions on duplicate pairs: confirm, reject, merge (and undo, through decisions).

Each is a `console.decisions` kind, so it runs as one transaction with its batch, audit entry
(holding the before-state undo needs) and outbox item, and `decisions.undo_last` takes it back
in another audited transaction. The target is the duplicate thread; `original_id` is a param.
Picking another candidate is confirming with that candidate's id (a pair the scorer did not
propose is recorded as a manual link).

- confirm: the thread becomes status 'duplicate' with `duplicate_of`; the link is 'confirmed';
  outbox `close_duplicate` {"thread_id", "original_id"} (Discourse: a reply linking the original
  plus close; Stack Exchange: kept local, `local_only` with the reason, by console.platforms).
- reject: the link is 'rejected' and never proposed again. Nothing to tell the platform.
- merge: as confirm, and the duplicate's useful answers (visible replies not voted down, and the
  accepted one) are shown under the original locally (`merged_answers`).

A pair whose thread or original vanished, was closed or changed on the platform after the
candidates were computed is refused with InvalidDecision that says so: never a wrong close.
"""

from __future__ import annotations

from typing import Any

from console import decisions
from console.clock import now_iso
from console.db import Cache
from console.errors import InvalidDecision, NotFound
from console.identity import Identity
from console.models import DecisionResult
from console.storage import Connection, Row, dialect_of
from console.urgency import in_queue

CONFIRM, REJECT, MERGE = "dupe_confirm", "dupe_reject", "dupe_merge"
MANUAL = "manual"


def _thread(conn: Connection, thread_id: int, what: str) -> Row:
    row: Row | None = conn.execute(
        "SELECT id, remote_id, status, duplicate_of, flag_count, report_count, "
        "remote_updated_at FROM threads WHERE id = ?",
        (thread_id,),
    ).fetchone()
    if row is None:
        raise NotFound(
            f"The {what} thread {thread_id} is no longer {dialect_of(conn).where} "
            "(deleted on the platform?); "
            "nothing was changed"
        )
    return row


def _original_id(params: dict[str, Any]) -> int:
    try:
        return int(params["original_id"])
    except (KeyError, TypeError, ValueError):
        raise InvalidDecision("A duplicate decision needs the original thread's id") from None


def _link(conn: Connection, thread_id: int, original_id: int) -> Row | None:
    row: Row | None = conn.execute(
        "SELECT id, decision, created_at, score FROM duplicate_links "
        "WHERE thread_id = ? AND original_id = ?",
        (thread_id, original_id),
    ).fetchone()
    return row


def _check_pair(conn: Connection, thread_id: int, original_id: int) -> tuple[Row, Row, Row | None]:
    if thread_id == original_id:
        raise InvalidDecision("A thread cannot be a duplicate of itself")
    thread = _thread(conn, thread_id, "duplicate")
    original = _thread(conn, original_id, "original")
    if thread["status"] in ("closed", "duplicate") or thread["duplicate_of"] is not None:
        raise InvalidDecision(
            f"Conflict: thread {thread_id} is already {thread['status']} "
            "(closed on the platform or by another moderator); nothing was changed"
        )
    if original["status"] == "duplicate" or original["duplicate_of"] is not None:
        raise InvalidDecision(
            f"Conflict: the original {original_id} is itself closed as a duplicate of "
            f"{original['duplicate_of']}; link the thread to that one instead"
        )
    link = _link(conn, thread_id, original_id)
    if link is not None and link["decision"] != "pending":
        raise InvalidDecision(
            f"The pair {thread_id} → {original_id} was already {link['decision']}; undo that first"
        )
    for row in (thread, original):
        changed = row["remote_updated_at"]
        if link is not None and changed and changed > link["created_at"]:
            raise InvalidDecision(
                f"Conflict: thread {row['id']} changed on the platform after this candidate was "
                f"computed; refresh it (peerdesk dupes {thread_id} --refresh) and decide again"
            )
    return thread, original, link


def _set_link(
    conn: Connection,
    thread_id: int,
    original_id: int,
    decision: str,
    actor: str,
    link: Row | None,
) -> None:
    if link is None:
        conn.execute(
            "INSERT INTO duplicate_links (thread_id, original_id, score, method, explanation, "
            "decision, decided_by, decided_at, created_at) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?)",
            (
                thread_id,
                original_id,
                MANUAL,
                "picked by a moderator",
                decision,
                actor,
                now_iso(),
                now_iso(),
            ),
        )
    else:
        conn.execute(
            "UPDATE duplicate_links SET decision = ?, decided_by = ?, decided_at = ? WHERE id = ?",
            (decision, actor, now_iso(), link["id"]),
        )


def _set_thread(conn: Connection, thread: Row, status: str, duplicate_of: int | None) -> None:
    conn.execute(
        "UPDATE threads SET status = ?, duplicate_of = ?, in_queue = ? WHERE id = ?",
        (
            status,
            duplicate_of,
            int(in_queue(status, thread["flag_count"], thread["report_count"])),
            thread["id"],
        ),
    )


def _payload(thread: Row, original: Row) -> dict[str, Any]:
    return {
        "thread_id": thread["id"],
        "original_id": original["id"],
        "thread_remote_id": thread["remote_id"],
        "original_remote_id": original["remote_id"],
        "expected_remote_updated_at": thread["remote_updated_at"],
    }


def _close_as_duplicate(
    conn: Connection, thread_id: int, params: dict[str, Any], decision: str
) -> decisions.Change:
    original_id = _original_id(params)
    thread, original, link = _check_pair(conn, thread_id, original_id)
    _set_link(conn, thread_id, original_id, decision, str(params.get("actor", "")), link)
    _set_thread(conn, thread, "duplicate", original_id)
    merged: list[int] = []
    if decision == "merged":
        merged = _merge_answers(conn, thread_id, original_id)
    before = {
        "status": thread["status"],
        "duplicate_of": thread["duplicate_of"],
        "original_id": original_id,
        "link": None if link is None else "pending",
    }
    after = {"status": "duplicate", "duplicate_of": original_id, "link": decision}
    if merged:
        after["merged_post_ids"] = merged
    payload = _payload(thread, original)
    if merged:
        payload["merged_post_ids"] = merged
    return decisions.Change(
        "thread", thread_id, thread_id, before, after, "close_duplicate", payload
    )


def _merge_answers(conn: Connection, thread_id: int, original_id: int) -> list[int]:
    rows = conn.execute(
        "SELECT p.id FROM posts p JOIN threads t ON t.id = p.thread_id WHERE p.thread_id = ? "
        "AND p.position > 0 AND p.hidden = 0 AND (p.score >= 0 OR p.id = t.accepted_post_id) "
        "AND p.id NOT IN (SELECT post_id FROM dupe_merged_posts) ORDER BY p.position",
        (thread_id,),
    ).fetchall()
    ids = [int(r[0]) for r in rows]
    conn.executemany(
        "INSERT INTO dupe_merged_posts (post_id, original_id, from_thread_id) VALUES (?, ?, ?)",
        [(pid, original_id, thread_id) for pid in ids],
    )
    return ids


def _apply_confirm(conn: Connection, thread_id: int, params: dict[str, Any]) -> decisions.Change:
    return _close_as_duplicate(conn, thread_id, params, "confirmed")


def _apply_merge(conn: Connection, thread_id: int, params: dict[str, Any]) -> decisions.Change:
    return _close_as_duplicate(conn, thread_id, params, "merged")


def _revert_close(conn: Connection, recorded: dict[str, Any]) -> decisions.Change:
    thread_id = int(recorded["target_id"])
    before, after = recorded["before"], recorded["after"]
    original_id = int(before["original_id"])
    thread = _thread(conn, thread_id, "duplicate")
    if thread["status"] != "duplicate" or thread["duplicate_of"] != original_id:
        raise InvalidDecision(
            f"Thread {thread_id} changed since (it is now {thread['status']}); undo would "
            "overwrite that"
        )
    _set_thread(conn, thread, before["status"], before["duplicate_of"])
    if before["link"] is None:
        conn.execute(
            "DELETE FROM duplicate_links WHERE thread_id = ? AND original_id = ?",
            (thread_id, original_id),
        )
    else:
        conn.execute(
            "UPDATE duplicate_links SET decision = 'pending', decided_by = NULL, "
            "decided_at = NULL WHERE thread_id = ? AND original_id = ?",
            (thread_id, original_id),
        )
    merged = after.get("merged_post_ids") or []
    conn.executemany(
        "DELETE FROM dupe_merged_posts WHERE post_id = ? AND original_id = ?",
        [(pid, original_id) for pid in merged],
    )
    return decisions.Change(
        "thread",
        thread_id,
        thread_id,
        {"status": "duplicate", "duplicate_of": original_id},
        {"status": before["status"], "duplicate_of": before["duplicate_of"]},
        "unclose_duplicate",
        {"thread_id": thread_id, "original_id": original_id},
    )


def _apply_reject(conn: Connection, thread_id: int, params: dict[str, Any]) -> decisions.Change:
    original_id = _original_id(params)
    _thread(conn, thread_id, "duplicate")
    _thread(conn, original_id, "original")
    link = _link(conn, thread_id, original_id)
    if link is not None and link["decision"] != "pending":
        raise InvalidDecision(
            f"The pair {thread_id} → {original_id} was already {link['decision']}; undo that first"
        )
    _set_link(conn, thread_id, original_id, "rejected", str(params.get("actor", "")), link)
    return decisions.Change(
        "thread",
        thread_id,
        thread_id,
        {"original_id": original_id, "link": None if link is None else "pending"},
        {"original_id": original_id, "link": "rejected"},
        # nothing to tell the platform: recorded as an internal, local-only outbox item
        "dupe_reject",
        {"thread_id": thread_id, "original_id": original_id},
    )


def _revert_reject(conn: Connection, recorded: dict[str, Any]) -> decisions.Change:
    thread_id = int(recorded["target_id"])
    original_id = int(recorded["before"]["original_id"])
    link = _link(conn, thread_id, original_id)
    if link is None or link["decision"] != "rejected":
        raise InvalidDecision(f"The pair {thread_id} → {original_id} changed since; nothing undone")
    if recorded["before"]["link"] is None:
        conn.execute("DELETE FROM duplicate_links WHERE id = ?", (link["id"],))
    else:
        conn.execute(
            "UPDATE duplicate_links SET decision = 'pending', decided_by = NULL, "
            "decided_at = NULL WHERE id = ?",
            (link["id"],),
        )
    return decisions.Change(
        "thread",
        thread_id,
        thread_id,
        {"original_id": original_id, "link": "rejected"},
        {"original_id": original_id, "link": recorded["before"]["link"]},
        "dupe_unreject",
        {"thread_id": thread_id, "original_id": original_id},
    )


def _the_original(params: dict[str, Any]) -> tuple[int]:
    """The original of a confirm or merge: locked with the thread (console.decisions), so it
    cannot be closed as a duplicate itself while the thread is closed onto it."""
    return (_original_id(params),)


for _action, _apply in ((CONFIRM, _apply_confirm), (MERGE, _apply_merge)):
    decisions.register(
        decisions.Kind(
            _action,
            _action,
            _apply,
            _revert_close,
            decisions.thread_itself,
            other_threads=_the_original,
        )
    )
decisions.register(
    decisions.Kind(REJECT, "dupe_reject", _apply_reject, _revert_reject, decisions.thread_itself)
)


def decide(
    cache: Cache,
    *,
    who: Identity,
    action: str,
    thread_id: int,
    original_id: int,
) -> DecisionResult:
    """Confirm, reject or merge one pair as one audited transaction (see decisions.decide)."""
    if action not in (CONFIRM, REJECT, MERGE):
        raise InvalidDecision(f"Unknown duplicate decision {action!r}")
    return decisions.decide(
        cache,
        who=who,
        action=action,
        target_ids=[thread_id],
        params={"original_id": original_id},
    )


def merged_answers(cache: Cache, original_id: int) -> list[int]:
    """Post ids merged under `original_id` from its duplicates, in thread and position order."""
    return [
        int(r[0])
        for r in cache.query(
            "SELECT m.post_id FROM dupe_merged_posts m JOIN posts p ON p.id = m.post_id "
            "WHERE m.original_id = ? ORDER BY m.from_thread_id, p.position",
            (original_id,),
        )
    ]
