"""The Queue's urgency score: how much a thread needs a human now.

    urgency = hours waiting + 24 x flags + 48 x reports - 48 if someone already replied

"hours waiting" counts from the question for an unanswered thread and from the last activity
for one that has replies. One flag weighs as much as a day of waiting, a report (a member's
complaint to moderators) as two. A thread that has a reply gets a two-day handicap, because the
community has at least tried.

Every term grows with time at the same rate, so the *order* of threads never changes as time
passes. The cache therefore stores `urgency_key = score - now_hours` once per change, and the
Queue is an index scan on it; the score shown is `urgency_key + now_hours`.
Threads that are solved, closed or duplicates leave the Queue unless they are flagged or reported.
"""

from __future__ import annotations

from datetime import datetime

from console.clock import epoch_hours, parse

FLAG_WEIGHT_HOURS = 24.0
REPORT_WEIGHT_HOURS = 48.0
REPLIED_HANDICAP_HOURS = 48.0
QUEUE_STATUSES = frozenset({"open", "answered"})


def in_queue(status: str, flag_count: int, report_count: int) -> bool:
    return status in QUEUE_STATUSES or flag_count > 0 or report_count > 0


def urgency_key(
    *,
    created_at: str,
    last_activity_at: str,
    reply_count: int,
    flag_count: int,
    report_count: int,
) -> float:
    """The time-invariant part of the score (see the module docstring)."""
    waiting_since = created_at if reply_count == 0 else last_activity_at
    key = -epoch_hours(parse(waiting_since))
    key += FLAG_WEIGHT_HOURS * flag_count + REPORT_WEIGHT_HOURS * report_count
    if reply_count > 0:
        key -= REPLIED_HANDICAP_HOURS
    return key


def score(key: float, at: datetime) -> float:
    """The urgency shown to users at time `at`."""
    return key + epoch_hours(at)
