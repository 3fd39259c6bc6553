"""Votes and member facts a platform exposes, stored for the rewards' fraud checks.

`store_voters` keeps the `votes` table equal to the platform's list of who likes each post:
new voters get a vote dated when peerdesk first saw it (Discourse does not say when a like was
given), voters missing from the list have their vote marked retracted (its reward is then
reversed by the ledger), a voter who comes back has the vote counted again.
`store_member_facts` records join dates (members.joined_at) and signals (member_signals).
Both run inside the caller's transaction (a sync page is stored in one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from console.storage import Connection


class Voter(Protocol):
    @property
    def remote_id(self) -> str: ...
    @property
    def username(self) -> str: ...


class Facts(Protocol):
    @property
    def remote_id(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def joined_at(self) -> str | None: ...
    @property
    def signals(self) -> tuple[tuple[str, str], ...]: ...


def _member_ids(
    conn: Connection, source_id: int, members: Iterable[tuple[str, str]]
) -> dict[str, int]:
    """Local ids of (remote id, username), creating members peerdesk has not met yet."""
    wanted = dict(members)
    conn.executemany(
        "INSERT INTO members (source_id, remote_id, username) VALUES (?, ?, ?) "
        "ON CONFLICT (source_id, remote_id) DO NOTHING",
        [(source_id, remote, name) for remote, name in sorted(wanted.items())],
    )
    return _ids(conn, "members", source_id, sorted(wanted))


def _ids(conn: Connection, table: str, source_id: int, remote_ids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(remote_ids), 500):
        chunk = list(remote_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for remote, local in conn.execute(
            f"SELECT remote_id, id FROM {table} WHERE source_id = ? AND remote_id IN ({marks})",
            (source_id, *chunk),
        ):
            found[str(remote)] = int(local)
    return found


def store_voters(
    conn: Connection,
    source_id: int,
    voters: Mapping[str, Sequence[Voter]],
    seen_at: str,
) -> dict[str, int]:
    """Make each listed post's standing votes exactly its voters; returns counts."""
    counts = {"added": 0, "retracted": 0, "restored": 0}
    posts = _ids(conn, "posts", source_id, sorted(voters))
    members = _member_ids(
        conn, source_id, ((v.remote_id, v.username) for vs in voters.values() for v in vs)
    )
    for post_remote, listed in sorted(voters.items()):
        post_id = posts.get(post_remote)
        if post_id is None:
            continue  # a post this page did not store (deleted meanwhile)
        now_voting = {members[v.remote_id] for v in listed if v.remote_id in members}
        known = {
            int(r[0]): r[1]
            for r in conn.execute(
                "SELECT voter_id, retracted_at FROM votes WHERE post_id = ?", (post_id,)
            )
        }
        for voter in sorted(now_voting - known.keys()):
            conn.execute(
                "INSERT INTO votes (source_id, post_id, voter_id, value, created_at) "
                "VALUES (?, ?, ?, 1, ?)",
                (source_id, post_id, voter, seen_at),
            )
            counts["added"] += 1
        for voter, retracted in sorted(known.items()):
            if voter in now_voting and retracted is not None:
                conn.execute(
                    "UPDATE votes SET retracted_at = NULL WHERE post_id = ? AND voter_id = ?",
                    (post_id, voter),
                )
                counts["restored"] += 1
            elif voter not in now_voting and retracted is None:
                conn.execute(
                    "UPDATE votes SET retracted_at = ? WHERE post_id = ? AND voter_id = ?",
                    (seen_at, post_id, voter),
                )
                counts["retracted"] += 1
    return counts


def store_member_facts(conn: Connection, source_id: int, facts: Sequence[Facts]) -> None:
    """Join dates (never overwritten by an unknown one) and signals (kept, never dropped)."""
    members = _member_ids(conn, source_id, ((f.remote_id, f.username) for f in facts))
    for fact in facts:
        member = members.get(fact.remote_id)
        if member is None:
            continue
        if fact.joined_at:
            conn.execute("UPDATE members SET joined_at = ? WHERE id = ?", (fact.joined_at, member))
        conn.executemany(
            "INSERT INTO member_signals (member_id, kind, value) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(member, kind, value) for kind, value in fact.signals],
        )
