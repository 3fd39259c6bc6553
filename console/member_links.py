"""Which accounts on the sources are one person, and why.

The member view (console.members) shows a member with their accounts on every source. Two
accounts are one person when, strongest first:

1. a moderator said so: `member_link` (decisions through the Desk's door: one transaction with
   its audit entry and a local-only outbox item, undone with `u` / `peerdesk undo`). The opposite
   decision, `member_unlink`, says two accounts are NOT one person and outweighs everything below
   for that pair (two strangers both called "alex");
2. the platforms say so: the same Stack Exchange network account (`owner.account_id` in the API,
   the same on every Stack Exchange site; stored by the adapter as the member signal
   `se_account_id`), or the same e-mail address given by a Discourse forum's single sign-on
   (`single_sign_on_record.external_email` of the staff user API; stored hashed, as
   `sso_email_sha256`, by the adapter when it reads members' join dates);
3. the same username, any case (what peerdesk did before, still right most of the time).

Accounts are joined through each other (A = B by username, B = C by network account: A = C), at
most MOST of them, each with the reason that reached it. Plain Python (no Textual).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console import decisions
from console.clock import now_iso
from console.db import Cache
from console.errors import InvalidDecision, NotFound
from console.models import Role
from console.roles import register_action
from console.storage import Connection, dialect_of

MOST = 50  # accounts shown as one member at most (a common username must not pull in thousands)

# member signals (console.member_signals) that name one identity across sources: kind -> words,
# and whether the value is worth showing (an account number is; a hashed e-mail address is not)
IDENTITY_SIGNALS = {
    "se_account_id": ("same Stack Exchange account", True),
    "sso_email_sha256": ("same e-mail address at single sign-on", False),
}

LINK = register_action("member_link", Role.MODERATOR, Role.ADMIN)
UNLINK = register_action("member_unlink", Role.MODERATOR, Role.ADMIN)


@dataclass(frozen=True)
class Linked:
    """An account of the member, and why it is theirs ("this account" for the one asked about)."""

    member_id: int
    why: str


def linked_accounts(cache: Cache, member_id: int) -> list[Linked]:
    """The member's accounts on every source, the member first, each with why it is theirs."""
    if cache.one("SELECT 1 FROM members WHERE id = ?", (member_id,)) is None:
        raise NotFound(f"No member {member_id} {cache.dialect.where}")
    apart = _apart_from(cache, member_id)
    found: dict[int, str] = {member_id: "this account"}
    queue = [member_id]
    while queue and len(found) < MOST:
        current = queue.pop(0)
        apart_here = apart if current == member_id else apart | _apart_from(cache, current)
        for other, why in _neighbours(cache, current):
            if other in found or other in apart_here:
                continue
            via = "" if current == member_id else f" as {_name(cache, current)}"
            found[other] = why + via
            queue.append(other)
            if len(found) >= MOST:
                break
    return [Linked(account, why) for account, why in found.items()]


def _neighbours(cache: Cache, member_id: int) -> list[tuple[int, str]]:
    """Accounts directly tied to `member_id`: moderators' links, identity signals, username."""
    out: list[tuple[int, str]] = []
    for row in cache.query(
        "SELECT CASE WHEN member_id = ? THEN other_id ELSE member_id END, decided_by, decided_at "
        "FROM member_links WHERE (member_id = ? OR other_id = ?) AND linked = 1 "
        "ORDER BY decided_at, member_id, other_id",
        (member_id, member_id, member_id),
    ):
        out.append((int(row[0]), f"linked by {row[1]} {str(row[2])[:16].replace('T', ' ')}"))
    marks = ",".join("?" * len(IDENTITY_SIGNALS))
    for row in cache.query(
        "SELECT other.member_id, mine.kind, mine.value FROM member_signals mine "
        "JOIN member_signals other ON other.kind = mine.kind AND other.value = mine.value "
        "AND other.member_id != mine.member_id "
        f"WHERE mine.member_id = ? AND mine.kind IN ({marks}) ORDER BY other.member_id",
        (member_id, *IDENTITY_SIGNALS),
    ):
        words, show = IDENTITY_SIGNALS[str(row[1])]
        out.append((int(row[0]), f"{words} ({row[2]})" if show else words))
    for row in cache.query(
        "SELECT other.id FROM members me JOIN members other "
        "ON lower(other.username) = lower(me.username) AND other.id != me.id "
        "WHERE me.id = ? ORDER BY other.id",
        (member_id,),
    ):
        out.append((int(row[0]), "same username"))
    return out


def _apart_from(cache: Cache, member_id: int) -> set[int]:
    """Accounts a moderator said are not this member."""
    return {
        int(row[0])
        for row in cache.query(
            "SELECT CASE WHEN member_id = ? THEN other_id ELSE member_id END FROM member_links "
            "WHERE (member_id = ? OR other_id = ?) AND linked = 0",
            (member_id, member_id, member_id),
        )
    }


def _name(cache: Cache, member_id: int) -> str:
    row = cache.one(
        "SELECT s.name, m.username FROM members m JOIN sources s ON s.id = m.source_id "
        "WHERE m.id = ?",
        (member_id,),
    )
    return f"{row[0]}:{row[1]}" if row else f"member {member_id}"


def find_account(cache: Cache, name: str) -> int:
    """The member named `SOURCE:USERNAME` (the username in any case; `SOURCE:#ID` by the
    platform's own id)."""
    source, colon, user = name.partition(":")
    if not colon or not source or not user:
        raise InvalidDecision(f"{name!r}: name an account as SOURCE:USERNAME, e.g. forum:carol")
    if cache.one("SELECT 1 FROM sources WHERE name = ?", (source,)) is None:
        known = ", ".join(str(r[0]) for r in cache.query("SELECT name FROM sources ORDER BY name"))
        raise NotFound(f"No source {source!r} {cache.dialect.where} (sources: {known or 'none'})")
    if user.startswith("#"):
        sql, value = "m.remote_id = ?", user[1:]
    else:
        sql, value = "lower(m.username) = lower(?)", user
    rows = cache.query(
        "SELECT m.id, m.username, m.remote_id FROM members m JOIN sources s ON s.id = m.source_id "
        f"WHERE s.name = ? AND {sql} ORDER BY m.id",
        (source, value),
    )
    if not rows:
        raise NotFound(f"No account {user!r} on {source}")
    if len(rows) > 1:
        ids = ", ".join(f"{source}:#{r[2]} ({r[1]})" for r in rows)
        raise InvalidDecision(f"{name!r} names {len(rows)} accounts: pick one of {ids}")
    return int(rows[0][0])


# ---- the decisions: member_link / member_unlink (console.decisions) ----


def pair(first: int, second: int) -> tuple[int, int]:
    if first == second:
        raise InvalidDecision("An account is always linked to itself: name two accounts")
    return (first, second) if first < second else (second, first)


def _state(conn: Connection, low: int, high: int) -> dict[str, Any]:
    """The pair's decision, read with the lower account's row locked (on the team database;
    the cache's writers take turns anyway) until the transaction ends: two moderators
    deciding on one pair at once take turns, and the second reads what the first decided."""
    conn.execute(dialect_of(conn).lock("SELECT 1 FROM members WHERE id = ?"), (low,))
    row = conn.execute(
        "SELECT linked, decided_by, decided_at FROM member_links "
        "WHERE member_id = ? AND other_id = ?",
        (low, high),
    ).fetchone()
    if row is None:
        return {"other": high, "linked": None}
    return {"other": high, "linked": bool(row[0]), "by": row[1], "at": row[2]}


def _set(conn: Connection, low: int, high: int, state: dict[str, Any]) -> None:
    if state["linked"] is None:
        conn.execute("DELETE FROM member_links WHERE member_id = ? AND other_id = ?", (low, high))
        return
    conn.execute(
        "INSERT INTO member_links (member_id, other_id, linked, decided_by, decided_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_id, other_id) DO UPDATE SET "
        "linked = excluded.linked, decided_by = excluded.decided_by, "
        "decided_at = excluded.decided_at",
        (low, high, int(state["linked"]), state["by"], state["at"]),
    )


def _source_of(conn: Connection, member_id: int) -> int:
    row = conn.execute("SELECT source_id FROM members WHERE id = ?", (member_id,)).fetchone()
    if row is None:
        raise NotFound(f"No member {member_id} {dialect_of(conn).where}")
    return int(row[0])


def _apply(linked: bool) -> Any:
    action = LINK if linked else UNLINK

    def apply(conn: Connection, low: int, params: dict[str, Any]) -> decisions.Change:
        high = int(params["other"])
        if high <= low:
            raise InvalidDecision("A link names the account with the lower id first")
        _source_of(conn, high)
        before = _state(conn, low, high)
        if before["linked"] is linked:
            verb = "linked" if linked else "kept apart"
            raise InvalidDecision(
                f"{_conn_name(conn, low)} and {_conn_name(conn, high)} are already {verb} "
                f"(by {before['by']})"
            )
        after = {"other": high, "linked": linked, "by": params["actor"], "at": now_iso()}
        _set(conn, low, high, after)
        return decisions.Change(
            "member",
            low,
            0,  # no thread: nobody's claim stands in the way
            before,
            after,
            outbox_action=action,  # kept in peerdesk (console.platforms INTERNAL_ACTIONS)
            outbox_payload={"other": high},
            outbox_source_id=_source_of(conn, low),
        )

    return apply


def _revert(conn: Connection, recorded: dict[str, Any]) -> decisions.Change:
    low, before, after = int(recorded["target_id"]), recorded["before"], recorded["after"]
    high = int(after["other"])
    now = _state(conn, low, high)
    if now.get("linked") != after["linked"] or now.get("at") != after["at"]:
        raise InvalidDecision(
            f"Not undone: the link of {_conn_name(conn, low)} and {_conn_name(conn, high)} was "
            "decided again since"
        )
    _set(conn, low, high, before)
    return decisions.Change("member", low, 0, after, before)


def _conn_name(conn: Connection, member_id: int) -> str:
    row = conn.execute(
        "SELECT s.name, m.username FROM members m JOIN sources s ON s.id = m.source_id "
        "WHERE m.id = ?",
        (member_id,),
    ).fetchone()
    return f"{row[0]}:{row[1]}" if row else f"member {member_id}"


def _no_thread(conn: Connection, member_id: int) -> int:
    _source_of(conn, member_id)
    return 0


decisions.register(decisions.Kind(LINK, LINK, _apply(True), _revert, _no_thread))
decisions.register(decisions.Kind(UNLINK, UNLINK, _apply(False), _revert, _no_thread))
