"""Count the Escalations panel's kept figures again from the escalations themselves.

Migration 37 keeps two small tables by triggers in the transaction of every escalation written:
raised and closed per UTC day (`escalation_days`) and escalations per rule and state
(`escalation_rule_states`). They can only drift if escalations were written with the triggers
away: a team database's `migrate-to` copy resumed after the cache changed (the copy takes the
cache's counts as they were), or a hand-made repair. Recounting replaces both tables by what
the escalations say, and reports how many rows were wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.migrations import ESCALATION_RECOUNT
from console.storage import Connection, dialect_of

# each kept table: how it is read, and how many of its leading columns are its key
_KEPT = {
    "escalation_days": ("SELECT day, raised, closed FROM escalation_days", 1),
    "escalation_rule_states": (
        "SELECT rule_id, state, escalations FROM escalation_rule_states",
        2,
    ),
}


@dataclass(frozen=True)
class Recounted:
    days_corrected: int  # rows of escalation_days added, removed or changed
    states_corrected: int  # the same for escalation_rule_states
    days: int  # rows there now
    states: int

    def as_detail(self) -> dict[str, object]:
        return {
            "days_corrected": self.days_corrected,
            "states_corrected": self.states_corrected,
        }


def _rows(conn: Connection, table: str) -> dict[tuple[str, ...], tuple[int, ...]]:
    """The kept rows of `table`, by key, with zero rows left out (a trigger leaves a day's row at
    zero when its last escalation goes; a recount writes none: both say the same)."""
    select, key_width = _KEPT[table]
    kept: dict[tuple[str, ...], tuple[int, ...]] = {}
    for row in conn.execute(select):
        values = tuple(row)
        key = tuple(str(v) for v in values[:key_width])
        counts = tuple(int(v) for v in values[key_width:])
        if any(counts):
            kept[key] = counts
    return kept


def _differing(
    before: dict[tuple[str, ...], tuple[int, ...]], after: dict[tuple[str, ...], tuple[int, ...]]
) -> int:
    return sum(1 for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def recount_in(conn: Connection) -> Recounted:
    """Replace the kept counts by a count of the escalations, inside the caller's write
    transaction. On the team database the escalations are locked against writers until the
    commit (SHARE mode: readers go on), so no escalation is raised between the count and it."""
    if not dialect_of(conn).is_sqlite:
        conn.execute("LOCK TABLE escalations IN SHARE MODE")
    before = {table: _rows(conn, table) for table in _KEPT}
    for statement in ESCALATION_RECOUNT:
        conn.execute(statement)
    after = {table: _rows(conn, table) for table in _KEPT}
    return Recounted(
        days_corrected=_differing(before["escalation_days"], after["escalation_days"]),
        states_corrected=_differing(
            before["escalation_rule_states"], after["escalation_rule_states"]
        ),
        days=len(after["escalation_days"]),
        states=len(after["escalation_rule_states"]),
    )
