"""bench.semeval_cv: a ranker is chosen without the fold it is scored on; rankers weigh
z-scores (no data needed: ../shared is not read)."""

from __future__ import annotations

# No store at all: the cross-validation of the benchmark's rankers.


def test_cross_validation_scores_each_fold_with_a_ranker_chosen_without_it() -> None:
    import random

    from bench import semeval_cv

    # 10 queries; "double_cos" wins every query but the last two, where it scores 0
    ap = {name: [0.5] * 10 for name in semeval_cv.RANKERS}
    ap["double_cos"] = [1.0] * 8 + [0.0, 0.0]
    out_of_fold, folds = semeval_cv.cross_validate(ap, 5, random.Random(1))
    assert len(folds) == 5 and sum(f["queries"] for f in folds) == 10
    assert {f["chosen"] for f in folds} == {"double_cos"}  # best on every set of other folds
    assert out_of_fold == ap["double_cos"]
    assert all(f["production_held_out_map"] == 50.0 for f in folds)
    # rankers tie on the training folds: production (listed first) is kept
    tied = {name: [0.5] * 10 for name in semeval_cv.RANKERS}
    assert {f["chosen"] for f in semeval_cv.cross_validate(tied, 5, random.Random(1))[1]} == {
        "production"
    }


def test_rankers_weigh_z_scores_of_the_signals() -> None:
    from bench import semeval_cv

    qrels = [{"query": "q", "candidates": ["a", "b", "c"]}]
    feats = [
        {
            "a": {"lex": 0.9, "cos": 0.1},
            "b": {"lex": 0.1, "cos": 0.95},
            "c": {"lex": 0.5, "cos": 0.5},
        }
    ]
    lexical = semeval_cv.run_of(qrels, feats, {"lex": 1.0})
    assert lexical[0]["ranked"] == ["a", "c", "b"]
    semantic = semeval_cv.run_of(qrels, feats, {"lex": 1.0, "cos": 2.0})
    assert semantic[0]["ranked"][0] == "b"


def test_the_query_length_aware_bm25s() -> None:
    from bench import semeval_cv
    from console.dupes import scorer

    stats = scorer.CountStats.from_texts(
        ["esim stuck activating", "roaming charges france", "esim error code", "bill too high"]
    )
    idf = scorer.Idf(stats)
    short = scorer.analyze(scorer.Doc("eSIM stuck", ""))
    long = scorer.analyze(scorer.Doc("eSIM stuck activating", "error code roaming france bill"))
    other = scorer.analyze(scorer.Doc("Bill too high", ""))
    # reverse: the candidate's words in the query; all of the short one's words are in the long
    assert semeval_cv._bm25_reverse(long, short, idf) > semeval_cv._bm25_reverse(short, long, idf)
    assert semeval_cv._bm25_reverse(short, other, idf) == 0.0
    # corpus-normalised: a longer candidate holding the same words scores lower
    mean = 4.0
    padded = scorer.analyze(scorer.Doc("eSIM stuck", "and many other words about nothing much"))
    shorter = semeval_cv._bm25_corpus(short, short, idf, mean)
    assert shorter > semeval_cv._bm25_corpus(short, padded, idf, mean) > 0.0


def test_the_threshold_keeps_precision_with_one_more_wrong_proposal() -> None:
    from bench.calibrate import chosen_threshold

    def row(t: float, made: int, right: int) -> dict[str, object]:
        return {"threshold": t, "proposals": made, "precision": right / made if made else None}

    table = [row(0.4, 35, 24), row(0.45, 28, 23), row(0.5, 22, 19), row(0.6, 12, 11)]
    table += [row(0.8, 2, 2), row(0.9, 0, 0)]
    # 0.45 passes (23/28 = 0.82) but not with one more wrong (23/29 = 0.79): 0.5 (19/23 = 0.83)
    assert chosen_threshold(table) == 0.5
    # a bad step above a good one stops the walk down
    assert chosen_threshold([row(0.5, 22, 19), row(0.6, 10, 7), row(0.7, 5, 5)]) == 0.7
    assert chosen_threshold([row(0.5, 10, 5)]) is None
