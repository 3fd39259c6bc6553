"""One ranking from two signals, and one calibrated probability per pair.

Pure: numbers in, numbers out. Used by the console (`console.dupes.candidates`) and by the
benchmarks (`bench/semeval.py`, `bench/calibrate.py`), so both measure what moderators get.

Ranking: within one thread's pool of candidates, the lexical score (`scorer.score`), MiniLM's
embedding cosine and e5's (`console.dupes.e5_vectors`) are each turned into z-scores over the
pool and added with EQUAL weights (fixed before any split was looked at; the weights were never
tuned: `bench.semeval_e5_pc` pre-registered the third signal). Without e5 the ranking is the
first two; with no embeddings, the lexical score alone.

Small pools: a z-score measures a candidate against the pool's mean and spread, and a pool of
one to three candidates has next to none (one candidate: z = 0 whatever it is, so a copy of a
thread in a small community scored 0.044 and was never shown; two: z = +-1 whatever the gap).
Each signal's z-score is therefore the precision-weighted average of its z-score in the pool
and in the population (`Prior`: the typical pool's mean and within-pool spread of recalled
candidates, worth `weight` candidates): the pool's weighs (n - 1) / (n - 1 + weight), the
degrees of freedom it has to say what its spread is. A pool of thirty is barely moved, a pool of
one is measured against the population. The priors come from the unlabelled pools of a
generated demo community, not from any labelled split (`bench.small_pools`, pre-registered;
docs/duplicates.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z_FLOOR = 1e-6  # a pool whose scores are all equal gives z = 0 for each


@dataclass(frozen=True)
class Prior:
    """What one signal looks like in a typical pool of recalled candidates: the mean of a
    pool's values and their spread within a pool (the root of the mean within-pool variance),
    worth `weight` candidates against a pool's own n - 1."""

    mean: float
    spread: float
    weight: float


def zscores(values: Sequence[float], prior: Prior | None = None) -> list[float]:
    """Each value's z-score within `values`; with `prior`, the precision-weighted average of that
    and its z-score in the population, (v - mean) / spread: the pool's says n - 1 candidates'
    worth about its spread, the population's `weight` candidates' worth, so a pool of one is
    measured against the population alone and a pool of thirty almost only against itself."""
    n = len(values)
    pool = [0.0] * n
    if n >= 2:
        mean = sum(values) / n
        spread = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
        if spread >= Z_FLOOR:
            pool = [(v - mean) / spread for v in values]
    if prior is None or prior.weight <= 0.0 or n == 0:
        return pool
    own = (n - 1) / (n - 1 + prior.weight)
    return [
        own * z + (1.0 - own) * (v - prior.mean) / prior.spread
        for z, v in zip(pool, values, strict=True)
    ]


# The population each signal's z-score is shrunk toward, and how many candidates it is worth:
# measured by `python -m bench.small_pools --prior` on the unlabelled pools of every thread of a
# 2,000-thread demo community (seed 7, not the seed `bench_dupes --truth-demo` measures);
# pre-registered there with the rule for shipping. Do not edit by hand.
LEXICAL_PRIOR = Prior(0.4246, 0.1252, 1.36)
MINILM_PRIOR = Prior(0.6477, 0.1079, 1.62)
E5_PRIOR = Prior(0.916, 0.0204, 1.59)


def fuse(
    lexical: Sequence[float],
    cosines: Sequence[float] | None,
    e5: Sequence[float] | None = None,
) -> list[float]:
    """The ranking key of each candidate in one pool (higher is better). `e5` counts only with
    `cosines` (the model that recalls is MiniLM)."""
    if cosines is None:
        return zscores(lexical, LEXICAL_PRIOR)
    keys = [
        a + b
        for a, b in zip(
            zscores(lexical, LEXICAL_PRIOR), zscores(cosines, MINILM_PRIOR), strict=True
        )
    ]
    if e5 is None:
        return keys
    return [k + c for k, c in zip(keys, zscores(e5, E5_PRIOR), strict=True)]


def features(
    lexical: float, cosine: float | None, fused: float, e5: float | None = None
) -> tuple[float, ...]:
    """What the probability is computed from: the absolute similarities and the pool-relative
    rank key. Without an embedding: the lexical score and its z-score (a model of its own);
    without e5: the lexical score, MiniLM's cosine and their key (another)."""
    if cosine is None:
        return (lexical, fused)
    if e5 is None:
        return (lexical, cosine, fused)
    return (lexical, cosine, e5, fused)


# Fitted by `python -m bench.calibrate --write` (README, "Duplicate detection": Calibration); do
# not edit by hand. Each: (intercept, coefficients in `features` order).
E5_MODEL = (-4.5551, (0.0000, 1.6505, 0.0000, 0.4798))
SEMANTIC_MODEL = (-4.6660, (0.0000, 1.9515, 0.6568))
LEXICAL_MODEL = (-3.4642, (0.4659, 1.0377))


def logistic(model: tuple[float, tuple[float, ...]], x: tuple[float, ...]) -> float:
    intercept, coef = model
    logit = intercept + sum(c * v for c, v in zip(coef, x, strict=True))
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    e = math.exp(logit)
    return e / (1.0 + e)


def probability(
    lexical: float, cosine: float | None, fused: float, e5: float | None = None
) -> float:
    """The calibrated probability that the pair is a duplicate, in (0, 1)."""
    x = features(lexical, cosine, fused, e5)
    model = {2: LEXICAL_MODEL, 3: SEMANTIC_MODEL}.get(len(x), E5_MODEL)
    return logistic(model, x)
