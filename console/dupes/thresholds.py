"""The duplicate probabilities that decide what is shown, in a module of their own.

The Queue's SQL needs STRONG_SCORE for its `≈` mark and its "likely duplicates" filter; importing
it from console.dupes.candidates would load the scorer, the embeddings and numpy before the
console's first frame.
"""

from __future__ import annotations

# A pair is *proposed* (Thread band, Queue ≈, Duplicates panel) from this probability up: chosen
# for a measured precision of at least 0.8 on the demo's planted duplicates (README, bench).
PROPOSE = 0.5
STRONG_SCORE = PROPOSE  # the Queue's "likely duplicates" filter and `≈` use the same threshold


def may_propose(new: str, original: str) -> str:
    """SQL: a pending pair may be proposed (`new`, `original`: the two threads' aliases).

    Never a solved or closed thread as the new duplicate of an original that is not solved.
    Candidates keep such originals out when they are computed; this holds the rule where pairs
    are read too, for a thread solved or closed after that (an import, a moderator's close)."""
    return (
        f"NOT ({new}.status IN ('solved', 'closed') AND {original}.status != 'solved' "
        f"AND {original}.accepted_post_id IS NULL)"
    )
