"""The words a thread's FTS query is made of are bounded by the same numbers at any size of
cache: no word in more than WORD_POSTINGS threads, at most POSTINGS postings in all."""

# No store: the choice of words from their document frequencies alone.
from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from console.dupes import candidates as cands


class Frequencies:
    """What `_query_terms` reads of `VocabStats`: the snapshot's size and each word's df."""

    def __init__(self, n_docs: int, df: dict[str, int]) -> None:
        self.n_docs = n_docs
        self.frequencies = df

    def prefetch(self, terms: Iterable[str]) -> None:
        pass

    def df(self, term: str) -> int:
        return self.frequencies.get(term, 0)

    def live_df(self, terms: Sequence[str]) -> dict[str, int]:
        return {t: self.df(t) for t in terms}


DF = {
    "roaming": 900,  # common at a million threads: 0.09% of them
    "abroad": 600,
    "spain": 40,
    "barcelona": 3,
    "internet": 480,
    "holiday": 450,
    "unique": 1,  # only this thread has it
}


@pytest.mark.parametrize("threads", [2_000, 100_000, 1_000_000, 10_000_000])
def test_no_word_in_more_than_word_postings_threads_whatever_the_size(threads: int) -> None:
    stats = Frequencies(threads, DF)
    words = cands._query_terms(
        "Roaming abroad in Spain",
        "Internet dead on holiday in Barcelona unique",
        stats,  # type: ignore[arg-type]
    )
    # at a million threads the share rule let roaming (900) and abroad (600) in: read 2.7x more
    assert words == ["spain", "barcelona", "holiday", "internet"]
    assert all(stats.df(w) <= cands.WORD_POSTINGS for w in words)


def test_the_words_postings_add_up_to_at_most_the_budget() -> None:
    many = {f"word{i}": cands.WORD_POSTINGS - i for i in range(12)}
    stats = Frequencies(10_000_000, many)
    words = cands._query_terms("", " ".join(many), stats)  # type: ignore[arg-type]
    assert words  # the rarest first, while they fit
    assert words[0] == "word11"
    assert sum(many[w] for w in words) <= cands.POSTINGS
    assert len(words) == cands.POSTINGS // (cands.WORD_POSTINGS - 11)
