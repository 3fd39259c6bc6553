"""Answer verification: explained signals, one score, a queue and the moderators' decisions.

- `signals`: plain facts about an answer in its thread -> signals, each with points and a reason.
- `facts`: reads those facts from the cache (the same dataclasses the benchmark builds).
- `actions`: verify / reject / needs-edit / pick another / confirm (four-eyes) as decision kinds.
- `queue`: answers waiting for a moderator, ordered by impact; calibration and re-checks.
"""
