"""What the SemEval experiments that add one more embedding signal share: the production signals
of every candidate plus the cosine of a second set of int8 vectors, every ranker's scores against
production, and cross-validated selection among the candidate rankers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.semeval import SHARED_SPLIT, average_precisions
from bench.semeval_answers import _reciprocal_ranks, ranker_scores
from bench.semeval_answers import signals as production_signals
from bench.semeval_cv import repeated_cross_validation, run_of
from console.dupes import embed


def report(
    split: Path,
    signal: str,
    vectors: dict[str, np.ndarray],
    rankers: dict[str, dict[str, float]],
    information: dict[str, dict[str, float]],
    folds: int,
    repeats: int,
) -> dict[str, Any]:
    """Every ranker of `rankers` (candidates) and `information` (not candidates) on `split`, with
    `signal` the cosine of each query's vector to each candidate's in `vectors` (int8, by id)."""
    qrels, feats = production_signals(split, {})
    for line, per in zip(qrels, feats, strict=True):
        q = vectors[line["query"]]
        for cid, row in per.items():
            row[signal] = float(embed.cosine_int8(q, vectors[cid][None, :])[0])
    every = {**rankers, **information}
    runs = {name: run_of(qrels, feats, weights) for name, weights in every.items()}
    ap = {name: average_precisions(run, qrels, strict=False) for name, run in runs.items()}
    rr = {name: _reciprocal_ranks(run, qrels) for name, run in runs.items()}
    return {
        "split": split.name if split != SHARED_SPLIT.resolve() else "dev",
        "queries": len(qrels),
        "rankers": {
            name: {
                "weights": weights,
                **ranker_scores(ap[name], rr[name], ap["production"]),
                "candidate": name in rankers,
            }
            for name, weights in every.items()
        },
        "cross_validation": repeated_cross_validation(ap, folds, repeats, rankers),
    }


def printed(benchmark: str, model: str, scores: dict[str, Any], **cost: object) -> None:
    """Print one experiment's JSON: what it is, the model, its cost figures, then `scores`."""
    head = {"benchmark": benchmark, "split": scores["split"], "queries": scores["queries"]}
    rest = {k: v for k, v in scores.items() if k not in head}
    print(json.dumps({**head, "model": model, **cost, **rest}, indent=1))
