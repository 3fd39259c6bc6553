"""Learn from moderators: how today's proposal threshold does on the pairs they decided.

Every confirmed or merged pair is a duplicate, every rejected pair is not. Each decided pair is
scored again as it would be today (its thread's pool recalled and fused, the calibrated
probability); a pair whose original is not even recalled counts as not proposed. Precision is
the share of proposed pairs (probability at the threshold or above) that were confirmed; recall
the share of confirmed pairs that would be proposed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.db import Cache
from console.dupes import candidates as cands


@dataclass(frozen=True)
class Evaluation:
    threshold: float
    confirmed: int  # confirmed or merged pairs
    rejected: int
    true_positives: int  # confirmed and proposed today
    false_positives: int  # rejected but proposed today
    missed: list[tuple[int, int]] = field(default_factory=list)  # confirmed, not proposed
    semantic: bool = True

    @property
    def proposed(self) -> int:
        return self.true_positives + self.false_positives

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.proposed if self.proposed else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.confirmed if self.confirmed else None

    def as_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "confirmed": self.confirmed,
            "rejected": self.rejected,
            "proposed": self.proposed,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "precision": None if self.precision is None else round(self.precision, 3),
            "recall": None if self.recall is None else round(self.recall, 3),
            "missed": [list(p) for p in self.missed],
            "semantic": self.semantic,
        }


def probability_today(
    cache: Cache, thread_id: int, original_id: int, stats: cands.VocabStats | None = None
) -> float:
    """The probability today's model gives the pair (0.0 if the original is not recalled)."""
    for oid, chance, _ in cands.find_candidates(cache, thread_id, stats=stats):
        if oid == original_id:
            return chance
    return 0.0


def evaluate(cache: Cache, threshold: float = cands.PROPOSE) -> Evaluation:
    from console.dupes import embed

    rows = cache.query(
        "SELECT thread_id, original_id, decision FROM duplicate_links "
        "WHERE decision IN ('confirmed', 'merged', 'rejected') ORDER BY id"
    )
    cands.refresh_terms(cache)
    stats = cands.VocabStats(cache.conn)
    confirmed = rejected = tp = fp = 0
    missed: list[tuple[int, int]] = []
    for thread_id, original_id, decision in rows:
        proposed = probability_today(cache, thread_id, original_id, stats) >= threshold
        if decision == "rejected":
            rejected += 1
            fp += proposed
        else:
            confirmed += 1
            tp += proposed
            if not proposed:
                missed.append((int(thread_id), int(original_id)))
    return Evaluation(
        threshold, confirmed, rejected, tp, fp, missed, embed.load_encoder() is not None
    )
