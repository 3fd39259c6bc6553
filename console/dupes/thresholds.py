"""The duplicate probabilities that decide what is shown, in a module of their own.

The Queue's SQL needs STRONG_SCORE for its `≈` mark and its "likely duplicates" filter; importing
it from console.dupes.candidates would load the scorer, the embeddings and numpy before the
console's first frame.
"""

from __future__ import annotations

# A pair is *proposed* (Thread band, Queue ≈, Duplicates panel) from this probability up: the
# lowest threshold whose precision on the demo's planted duplicates stays at 0.8 or more even with
# one more proposal wrong, both out of fold (`bench.calibrate`) and through the real pipeline
# (`bench.bench_dupes --truth-demo 2000`). With e5's third signal (2026-11-29) 0.5 passes the
# first (18 of 21, 0.818 with one more wrong) but not the second (16 of 20: 0.762), 0.55 both
# (15 of 17 through the pipeline: 0.833). README, "Duplicate detection".
PROPOSE = 0.55
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
