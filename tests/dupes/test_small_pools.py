"""Duplicates in small pools: a community with one, two or three older threads still gets its
obvious duplicate proposed, and an unrelated thread is not. Per-pool z-scores alone cannot tell
(one candidate: z = 0 whatever it is, probability 0.044); each signal's pool statistics are
shrunk toward a population prior (`console.dupes.fusion.Prior`, `bench.small_pools`)."""

from __future__ import annotations

# SQLite only: what is tested is the fusion's arithmetic on the pools the cache's recall makes;
# the team database recalls other pools (its trigram titles) through the same fusion code.
import math

import pytest

from bench.small_pools import prior_of
from console.db import Cache
from console.dupes import candidates as cands
from console.dupes import e5, embed, fusion
from console.dupes.thresholds import PROPOSE
from tests.dupes.test_semantic import add_threads

ORIGINAL = (
    "o",
    "Voicemail not working after update",
    "Since the last software update voicemail does not pick up calls any more. "
    "Callers just hear ringing until it stops.",
    "open",
)
NEAR_COPY = (
    "d",
    "Voicemail not working after the update",
    "Since the last software update my voicemail does not pick up calls anymore. "
    "Callers only hear ringing until it stops.",
    "open",
)
UNRELATED = (
    "u",
    "Change the email address on my account",
    "I moved to a new email provider. Where do I change the address you send bills to?",
    "open",
)
OTHERS = [  # older threads on other subjects, to make pools of two and three
    ("f0", "Contract ends next month, best deal?", "What SIM only deal can I get then?", "open"),
    ("f1", "Lost phone, block SIM", "My phone was stolen yesterday, how do I block it?", "open"),
]


@pytest.fixture(autouse=True)
def models() -> None:
    if embed.load_encoder() is None:
        pytest.fail(f"the model must load offline in tests: {embed.unavailable_reason()}")
    if e5.load_e5() is None:
        pytest.fail(f"e5 must load offline in tests: {e5.unavailable_reason()}")


def _pool_of(
    cache: Cache, older: int, new: tuple[str, str, str, str]
) -> tuple[int, dict[int, float]]:
    """A community of `older` threads (the original first), then `new`: its candidates computed
    and stored by the real path; (new thread id, {original id: stored probability})."""
    ids = add_threads(cache, [ORIGINAL, *OTHERS[: older - 1]])
    ids.update(add_threads(cache, [new], start=10))
    cands.update_candidates(cache, list(ids.values()))
    pool = cands.scored_pool(cache, ids[new[0]])
    assert len(pool) == older and all(i.e5 is not None for i in pool)  # all three signals
    stored = {
        int(r[0]): float(r[1])
        for r in cache.query(
            "SELECT original_id, score FROM duplicate_links WHERE thread_id = ? AND method = ?",
            (ids[new[0]], cands.METHOD),
        )
    }
    return ids["o"], stored


@pytest.mark.parametrize("older", [1, 2, 3])
def test_a_near_copy_in_a_small_pool_is_proposed(cache: Cache, older: int) -> None:
    original, stored = _pool_of(cache, older, NEAR_COPY)
    assert stored.get(original, 0.0) >= PROPOSE, stored
    assert [o for o, p in stored.items() if p >= PROPOSE] == [original]  # and nothing else


@pytest.mark.parametrize("older", [1, 2, 3])
def test_an_unrelated_thread_in_a_small_pool_is_not_proposed(cache: Cache, older: int) -> None:
    _, stored = _pool_of(cache, older, UNRELATED)
    assert all(p < PROPOSE for p in stored.values()), stored


def test_weight_zero_is_the_pool_alone_and_a_pool_of_one_is_measured_against_the_prior() -> None:
    values = [0.2, 0.5, 0.9, 0.4]
    assert fusion.zscores(values, fusion.Prior(0.7, 0.3, 0.0)) == fusion.zscores(values)
    assert fusion.zscores([0.9]) == [0.0]
    prior = fusion.Prior(0.5, 0.1, 2.0)
    (z,) = fusion.zscores([0.9], prior)  # one value: its z-score in the population alone
    assert math.isclose(z, 4.0)
    assert fusion.zscores([0.5], prior) == [0.0]
    # two values: the pool's +-1 weighs 1 / (1 + 2), the population's 2 / 3
    high, low = fusion.zscores([0.9, 0.1], prior)
    assert math.isclose(high, 1 / 3 + 2 / 3 * 4.0) and math.isclose(low, -high)
    # a large pool hardly moves: its own 39 degrees of freedom outweigh the prior's two
    big = [0.3 + 0.01 * i for i in range(40)]
    moved = zip(fusion.zscores(big, prior), fusion.zscores(big), strict=True)
    assert max(abs(a - b) for a, b in moved) < 0.1


def test_the_shipped_priors_are_measured_not_neutral() -> None:
    for prior in (fusion.LEXICAL_PRIOR, fusion.MINILM_PRIOR, fusion.E5_PRIOR):
        assert 0.5 <= prior.weight <= 8.0 and prior.spread > 0.0
    assert 0.0 < fusion.MINILM_PRIOR.mean < 1.0 and 0.0 < fusion.E5_PRIOR.mean < 1.0


def test_a_prior_is_the_mean_of_pool_means_and_the_within_pool_spread() -> None:
    # pools around means 0.4 and 0.6, each with within-pool variance 0.01 (values mean +- 0.1)
    pools = [[m - 0.1, m + 0.1] * 5 for m in (0.4, 0.6, 0.4, 0.6)]
    prior = prior_of(pools)
    assert math.isclose(prior.mean, 0.5) and math.isclose(prior.spread, 0.1)
    # the means vary by 0.01 (variance), of which sampling explains 0.01 / 10: k = 0.01 / 0.009
    assert math.isclose(prior.weight, round(0.01 / 0.009, 2))
    # pools whose means do not vary at all: the prior outweighs them, up to the cap
    assert prior_of([[0.4, 0.6] * 5] * 4).weight == 8.0
    with pytest.raises(ValueError):
        prior_of([[0.5], [0.4, 0.6]])
