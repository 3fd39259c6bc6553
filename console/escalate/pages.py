"""The Escalations panel's list a page at a time, and its counts apart from it.

The list is open escalations by the time left on their SLA clock (breached first), then, when
asked for, closed ones newest first. Each page is read from its place in an index (migration
25): after the escalation just above it, before the one just below it, or from whichever end
is nearer when only its row number is known, so the first page and the last cost the same
however many escalations the cache holds (59,072 at a million demo threads).

The counts over every escalation (how many are open, breached and closed, the rules' dismiss
rates, the 30-day trend) are `tally`, which the console runs in a worker on a connection of its
own while the first page is already shown. It does not read the escalations one by one: the
counts per rule and state and per day are kept by migration 37's triggers, and only the
breached count reads an index (the few open ones whose clock runs).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta

from console.clock import iso, now
from console.db import Cache
from console.escalate.engine import OPEN_STATES
from console.escalate.panel import (
    EscalationRow,
    RuleRate,
    counts_by_state,
    open_counts,
    rule_rates,
    to_escalation,
)
from console.storage import Row

CLOSED_STATES = ("resolved", "dismissed")
# how far after a count its breached count is known without a new one (`Tally.breached_at`): a
# later visit within it draws the clocks as they stand in its first frame, before any read
AHEAD = timedelta(hours=2)
# Literal state lists: SQLite uses a partial index only for a query whose WHERE has its terms
# as written (a bound parameter proves nothing); these equal the indexes' WHERE of migration 25.
OPEN = f"e.state IN ({', '.join(repr(s) for s in OPEN_STATES)})"
CLOSED = f"e.state IN ({', '.join(repr(s) for s in CLOSED_STATES)})"
CLOCK = "(CASE WHEN e.acknowledged_at IS NULL THEN e.acknowledge_due ELSE e.resolve_due END)"
OPEN_INDEX = "escalations_open_clock"
CLOSED_INDEX = "escalations_closed_newest"
_SELECT = "SELECT e.*, t.title FROM escalations e{indexed} JOIN threads t ON t.id = e.thread_id "


@dataclass(frozen=True)
class _Part:
    """One part of the list (the open escalations, or the closed ones) and how to walk it."""

    where: str
    index: str
    forward: str  # ORDER BY in the list's order
    backward: str  # the same, turned round
    after: str  # the rows after an anchor (named parameters :key and :id)
    before: str  # the rows before it


OPEN_PART = _Part(
    OPEN,
    OPEN_INDEX,
    f"{CLOCK}, e.id",
    f"{CLOCK} DESC, e.id DESC",
    f"{CLOCK} >= :key AND ({CLOCK} > :key OR e.id > :id)",
    f"{CLOCK} <= :key AND ({CLOCK} < :key OR e.id < :id)",
)
CLOSED_PART = _Part(CLOSED, CLOSED_INDEX, "e.id DESC", "e.id", "e.id < :id", "e.id > :id")


@dataclass(frozen=True)
class Tally:
    """What the panel says about all escalations, counted apart from the page shown."""

    open: int
    breached: int
    closed: int
    rates: dict[str, RuleRate]
    # the due times of the open escalations whose clock still ran and runs out within AHEAD of
    # the count, soonest first (until `known_until`): how many are breached a little later is
    # then known without reading again (`breached_at`)
    running: tuple[str, ...] = ()
    # open escalations at the end of each of the last 30 days (`trend`): kept counts, read
    # with the others so the panel draws them in the same frame
    trend: tuple[int, ...] = ()
    known_until: str = ""  # the end of `running`'s span (iso); "" : no time after the count

    def breached_at(self, at: datetime) -> int | None:
        """How many of the escalations counted open are breached at `at`, a time since the count
        (the count says what a new one would, as long as nothing was raised or decided); None
        after `known_until`: only a new count knows how many more clocks ran out by then."""
        when = iso(at)
        if when > self.known_until:
            return None
        return self.breached + bisect_left(self.running, when)


def _parts(include_closed: bool) -> list[_Part]:
    return [OPEN_PART, CLOSED_PART] if include_closed else [OPEN_PART]


def _read(
    cache: Cache,
    part: _Part,
    *,
    backward: bool = False,
    condition: str = "",
    values: dict[str, object] | None = None,
    limit: int,
    offset: int = 0,
) -> list[Row]:
    if limit <= 0:
        return []
    where = part.where + (f" AND {condition}" if condition else "")
    order = part.backward if backward else part.forward
    return cache.query(
        _SELECT.format(indexed=cache.dialect.indexed_by(part.index))
        + f"WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset",
        {**(values or {}), "limit": limit, "offset": offset},
    )


def _count(cache: Cache, part: _Part) -> int:
    row = cache.one(f"SELECT count(*) FROM escalations e WHERE {part.where}")
    return int(row[0]) if row else 0


def _walk(
    cache: Cache, parts: list[_Part], *, offset: int, limit: int, backward: bool
) -> list[Row]:
    """`limit` rows from row `offset` of the parts in turn (from the far end if `backward`, in
    that order). A part wholly skipped is counted to know how far it reached."""
    rows: list[Row] = []
    for part in reversed(parts) if backward else parts:
        if len(rows) >= limit:
            break
        got = _read(cache, part, backward=backward, limit=limit - len(rows), offset=offset)
        if got:
            rows += got
            offset = 0
        elif offset:
            offset = max(0, offset - _count(cache, part))
    return rows


def _from_anchor(
    cache: Cache, parts: list[_Part], anchor: int, *, forward: bool, limit: int
) -> list[Row] | None:
    """The `limit` rows after (or before) escalation `anchor` in the list's order, nearest
    first; None if the anchor is not in the list any more (decided, or gone)."""
    found = cache.one(
        f"SELECT e.state, {CLOCK} AS clock FROM escalations e WHERE e.id = ?", (anchor,)
    )
    if found is None:
        return None
    part = OPEN_PART if found["state"] in OPEN_STATES else CLOSED_PART
    if part not in parts:
        return None
    at = parts.index(part)
    values = {"key": found["clock"], "id": anchor}
    condition = part.after if forward else part.before
    rows = _read(cache, part, backward=not forward, condition=condition, values=values, limit=limit)
    rest = parts[at + 1 :] if forward else list(reversed(parts[:at]))
    for other in rest:
        if len(rows) >= limit:
            break
        rows += _read(cache, other, backward=not forward, limit=limit - len(rows))
    return rows


def page(
    cache: Cache,
    *,
    include_closed: bool = False,
    offset: int = 0,
    limit: int = 100,
    after: int | None = None,
    before: int | None = None,
    total: int | None = None,
    at: datetime | None = None,
) -> list[EscalationRow]:
    """Rows `offset .. offset + limit` of the list. Given `after` (the escalation just above
    the page) or `before` (the one just below it), the page is read from that escalation's
    place in the index; given the list's `total`, a page in its second half is read from the
    far end; otherwise OFFSET walks the rows before it."""
    at = at or now()
    parts = _parts(include_closed)
    rows: list[Row] | None = None
    if after is not None:
        rows = _from_anchor(cache, parts, after, forward=True, limit=limit)
    elif before is not None:
        found = _from_anchor(cache, parts, before, forward=False, limit=limit)
        rows = None if found is None else found[::-1]
    if rows is None:
        if total is not None and offset > total // 2:
            limit = max(0, min(limit, total - offset))
            skip = max(0, total - offset - limit)
            rows = _walk(cache, parts, offset=skip, limit=limit, backward=True)[::-1]
        else:
            rows = _walk(cache, parts, offset=offset, limit=limit, backward=False)
    return [to_escalation(r, at) for r in rows]


def tally(cache: Cache, at: datetime | None = None) -> Tally:
    """Every open escalation counted (and the breached ones), the closed ones, each rule's
    dismiss rate and the 30-day trend, for a worker. The counts by state and rule and by day
    are the ones migration 37's triggers keep (a few dozen and a few hundred rows); the
    breached ones are read from the clock's end of an index of migration 25 (the few whose
    clock still runs). The trend comes with the counts (~0.1 ms): the panel draws them in one
    frame instead of asking for the trend after the counts."""
    at = at or now()
    states = counts_by_state(cache)
    opened = sum(states.get(state, 0) for state in OPEN_STATES)
    # the open ones whose clock still runs are the recent ones, at the clock's end of an index:
    # counted there (8,030 of them at a million threads: 0.3 ms), and only those that run out
    # within AHEAD read one by one (~300 then; reading all 8,030 cost 3-4 ms of CPU a visit,
    # 9-26 ms of the settled frame on a busy machine)
    since, until = iso(at), iso(at + AHEAD)
    indexed = f"escalations e{cache.dialect.indexed_by(OPEN_INDEX)} WHERE {OPEN} AND {CLOCK} >= ?"
    row = cache.one(f"SELECT count(*) FROM {indexed}", (since,))
    still = int(row[0]) if row else 0
    running = tuple(
        str(r[0])
        for r in cache.query(
            f"SELECT {CLOCK} FROM {indexed} AND {CLOCK} <= ? ORDER BY {CLOCK}", (since, until)
        )
    )
    return Tally(
        open=opened,
        breached=max(0, opened - still),
        closed=sum(states.get(state, 0) for state in CLOSED_STATES),
        rates=rule_rates(cache),
        running=running,
        trend=tuple(trend(cache, at=at)),
        known_until=until,
    )


def trend(cache: Cache, days: int = 30, at: datetime | None = None) -> list[int]:
    """Open escalations at the end of each of the last `days` calendar days (UTC), oldest
    first, today's end being now (the panel's sparkline; `panel.open_counts`: migration 37's
    per-day counts, a few hundred rows)."""
    return open_counts(cache, days, at)
