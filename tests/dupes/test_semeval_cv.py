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
