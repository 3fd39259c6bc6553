"""Which rerank signals generalise: SemEval-2016 3B with cross-validation by query.

    .venv/bin/python -m bench.semeval_cv [SPLIT_DIR] [--folds 5] [--repeats 20]

Each query's fixed candidates get the production signals (the lexical score of
`console.dupes.scorer`, the all-MiniLM-L6-v2 cosine of title + question start, as
`bench.semeval` computes them) and a few more that make sense a priori:

- cos_title: cosine of the titles' embeddings alone; cos_body: of the questions' alone;
- title: the scorer's idf-weighted cosine of the titles (a title field weight for the words);
- bm25 / chars: the scorer's two main lexical parts on their own;
- bm25_reverse: the scorer's BM25 the other way round (the candidate's words, the query as the
  document), so a long query is not favoured; bm25_corpus: textbook Okapi BM25 (k1 1.2, b 0.75)
  with each query word counted once and lengths normalised by the corpus's mean length.

A *ranker* is a fixed, small set of weights over per-query z-scores of these signals (the
production ranker is lexical + cosine, equal weights). The rankers are listed below BEFORE any
result was looked at; none has a fitted weight. Honest evaluation:

- cross-validation by query: the queries are split into FOLDS folds; for each fold the ranker
  with the best MAP on the other folds is chosen and scored on the held-out fold. The
  out-of-fold MAP (every query scored by a ranker chosen without it) is what the selection is
  worth; it is repeated over REPEATS random fold splits (mean, min, max), and the per-fold
  numbers of the first split are printed;
- each ranker's full-split MAP, paired randomisation test against production (as
  `bench.semeval`: per-query average precision, 20,000 sign flips), and how often the
  cross-validation chose it.

A signal is kept only if choosing it by cross-validation beats production out of fold and the
gain is significant; otherwise production stays (docs/duplicates.md, "Accuracy experiments").
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.semeval import SHARED_SPLIT, average_precisions, load_jsonl, paired_test
from console.dupes import embed, scorer
from console.dupes.fusion import zscores
from console.dupes.scorer import CountStats, Doc, rank

# name -> weights over z-scored signals; fixed before looking at any result
RANKERS: dict[str, dict[str, float]] = {
    "production": {"lex": 1.0, "cos": 1.0},
    "lexical_only": {"lex": 1.0},
    "cosine_only": {"cos": 1.0},
    "+cos_title": {"lex": 1.0, "cos": 1.0, "cos_title": 1.0},
    "+cos_body": {"lex": 1.0, "cos": 1.0, "cos_body": 1.0},
    "+cos_title+cos_body": {"lex": 1.0, "cos": 1.0, "cos_title": 1.0, "cos_body": 1.0},
    "lex+cos_title+cos_body": {"lex": 1.0, "cos_title": 1.0, "cos_body": 1.0},
    "+half_cos_title": {"lex": 1.0, "cos": 1.0, "cos_title": 0.5},
    "+title_words": {"lex": 1.0, "cos": 1.0, "title": 1.0},
    "+half_title_words": {"lex": 1.0, "cos": 1.0, "title": 0.5},
    "bm25+chars+cos": {"bm25": 1.0, "chars": 1.0, "cos": 1.0},
    "double_cos": {"lex": 1.0, "cos": 2.0},
    "double_lex": {"lex": 2.0, "cos": 1.0},
    # added 2026-11-27 (stop 21) before running them on today's per-text vectors: the semantic
    # side split into title-vs-title and question-vs-question at half weight each; BM25 that
    # knows the query's length (the candidate's words scored against the query as a document,
    # i.e. the reverse direction; and textbook BM25 normalised by the corpus's mean length)
    "lex+half_cos_title+half_cos_body": {"lex": 1.0, "cos_title": 0.5, "cos_body": 0.5},
    "+half_bm25_reverse": {"lex": 1.0, "cos": 1.0, "bm25_reverse": 0.5},
    "+half_bm25_corpus": {"lex": 1.0, "cos": 1.0, "bm25_corpus": 0.5},
    "bm25_corpus+chars+cos": {"bm25_corpus": 1.0, "chars": 1.0, "cos": 1.0},
}
SEED = 2016


def load_split(
    split: Path, bench: str
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], CountStats, embed.Encoder]:
    """A split's queries and corpus by id, its qrels, the corpus's word counts and the model
    (`bench` names the benchmark that stops without it)."""
    queries = {q["id"]: q for q in load_jsonl(split / "queries.jsonl")}
    corpus = {d["id"]: d for d in load_jsonl(split / "corpus.jsonl")}
    qrels = load_jsonl(split / "qrels.jsonl")
    stats = CountStats.from_texts(f"{d['title']} {d['body']}" for d in corpus.values())
    encoder = embed.load_encoder()
    if encoder is None:
        raise SystemExit(f"{bench}: {embed.unavailable_reason()}")
    return queries, corpus, qrels, stats, encoder


def signals(split: Path) -> tuple[list[dict[str, Any]], list[dict[str, dict[str, float]]]]:
    """Per query (qrels order): every candidate's signals."""
    queries, corpus, qrels, stats, encoder = load_split(split, "semeval_cv")
    docs = list(queries.values()) + list(corpus.values())
    index = {d["id"]: i for i, d in enumerate(docs)}
    views = {
        "cos": [embed.thread_text(d["title"], d.get("body") or "") for d in docs],
        "cos_title": [d["title"] for d in docs],
        "cos_body": [(d.get("body") or "")[:2000] for d in docs],
    }
    vectors = {name: embed.to_int8(encoder.encode(texts)) for name, texts in views.items()}
    idf = scorer.Idf(stats)
    analysed = {d["id"]: scorer.analyze(Doc(d["title"], d.get("body") or "")) for d in docs}
    mean_length = statistics.fmean(a.length for a in analysed.values()) or 1.0
    out: list[dict[str, dict[str, float]]] = []
    for line in qrels:
        query = queries[line["query"]]
        candidates = {
            cid: Doc(corpus[cid]["title"], corpus[cid].get("body") or "")
            for cid in line["candidates"]
        }
        ranked = dict(rank(Doc(query["title"], query.get("body") or ""), candidates, stats))
        per: dict[str, dict[str, float]] = {}
        for cid in line["candidates"]:
            scored = ranked[cid]
            row = {
                "lex": scored.score,
                "bm25": scored.signals["bm25"],
                "chars": scored.signals["chars"],
                "title": scored.signals["title"],
                "bm25_reverse": _bm25_reverse(analysed[line["query"]], analysed[cid], idf),
                "bm25_corpus": _bm25_corpus(
                    analysed[line["query"]], analysed[cid], idf, mean_length
                ),
            }
            for name, matrix in vectors.items():
                q = matrix[index[line["query"]]]
                row[name] = float(embed.cosine_int8(q, matrix[index[cid]][None, :])[0])
            per[cid] = row
        out.append(per)
    return qrels, out


def _bm25_reverse(query: scorer.Analyzed, cand: scorer.Analyzed, idf: scorer.Idf) -> float:
    """The scorer's BM25 with the roles swapped: the candidate's words in the query."""
    return scorer._bm25(cand, scorer._query_idf(cand, idf), query)


def _bm25_corpus(
    query: scorer.Analyzed, cand: scorer.Analyzed, idf: scorer.Idf, mean_length: float
) -> float:
    """Okapi BM25 of `cand` for the query's distinct stems, lengths against the corpus mean."""
    weights = scorer._query_idf(query, idf)
    norm = scorer.K1 * (1.0 - scorer.B + scorer.B * cand.length / mean_length)
    total = 0.0
    for term in query.terms:
        tf = cand.terms.get(term, 0)
        if tf:
            total += weights[term] * tf * (scorer.K1 + 1.0) / (tf + norm)
    return total


def _z(values: Sequence[float | None]) -> list[float]:
    """z-scores among the candidates that have the signal; 0 (the mean) for those that do not
    (a signal every candidate has: plain `zscores`)."""
    present = [i for i, v in enumerate(values) if v is not None]
    found = [0.0] * len(values)
    for i, z in zip(present, zscores([float(values[i]) for i in present]), strict=True):  # type: ignore[arg-type]
        found[i] = z
    return found


def run_of(
    qrels: list[dict[str, Any]],
    feats: Sequence[Mapping[str, Mapping[str, float | None]]],
    weights: dict[str, float],
) -> list[dict[str, Any]]:
    """Rankings of every query by z-scored signals with these weights (ties: given order)."""
    run = []
    for line, per in zip(qrels, feats, strict=True):
        ids = list(line["candidates"])
        key = [0.0] * len(ids)
        for name, weight in weights.items():
            for i, z in enumerate(_z([per[c][name] for c in ids])):
                key[i] += weight * z
        order = sorted(range(len(ids)), key=lambda i: (-key[i], i))
        run.append({"query": line["query"], "ranked": [ids[i] for i in order]})
    return run


def cross_validate(
    ap: dict[str, list[float]], folds: int, rng: random.Random, rankers: Iterable[str] = RANKERS
) -> tuple[list[float], list[dict[str, Any]]]:
    """Out-of-fold AP per query, and per fold: the ranker chosen on the other folds (among
    `rankers`, production first) and its held-out MAP beside production's."""
    names = list(rankers)
    n = len(ap["production"])
    order = list(range(n))
    rng.shuffle(order)
    fold_of = {q: i % folds for i, q in enumerate(order)}
    out_of_fold = [0.0] * n
    report = []
    for fold in range(folds):
        train = [q for q in range(n) if fold_of[q] != fold]
        test = [q for q in range(n) if fold_of[q] == fold]
        # best train MAP; ties go to the earlier ranker (production first)
        chosen = max(names, key=lambda r: statistics.fmean(ap[r][q] for q in train))
        for q in test:
            out_of_fold[q] = ap[chosen][q]
        report.append(
            {
                "fold": fold,
                "queries": len(test),
                "chosen": chosen,
                "train_map": round(100 * statistics.fmean(ap[chosen][q] for q in train), 2),
                "held_out_map": round(100 * statistics.fmean(ap[chosen][q] for q in test), 2),
                "production_held_out_map": round(
                    100 * statistics.fmean(ap["production"][q] for q in test), 2
                ),
            }
        )
    return out_of_fold, report


def repeated_cross_validation(
    ap: dict[str, list[float]], folds: int, repeats: int, rankers: Iterable[str]
) -> dict[str, Any]:
    """Choosing among `rankers` on the training folds, `repeats` times over: the out-of-fold MAP's
    mean and range against production's, and how often each ranker was chosen."""
    rng = random.Random(SEED)
    maps, chosen = [], Counter[str]()
    for _ in range(repeats):
        oof, report = cross_validate(ap, folds, rng, rankers)
        chosen.update(f["chosen"] for f in report)
        maps.append(100 * statistics.fmean(oof))
    return {
        "folds": folds,
        "repeats": repeats,
        "production_map": round(100 * statistics.fmean(ap["production"]), 2),
        "out_of_fold_map_mean": round(statistics.fmean(maps), 2),
        "out_of_fold_map_min": round(min(maps), 2),
        "out_of_fold_map_max": round(max(maps), 2),
        "chosen": dict(chosen),
    }


def cv_parser(doc: str | None) -> argparse.ArgumentParser:
    """The command line of a cross-validated SemEval try: the split, folds and repeats."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("split", nargs="?", type=Path, default=SHARED_SPLIT)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = cv_parser(__doc__).parse_args(argv)
    split = args.split.resolve()
    qrels, feats = signals(split)
    ap = {
        name: average_precisions(run_of(qrels, feats, weights), qrels, strict=False)
        for name, weights in RANKERS.items()
    }
    rng = random.Random(SEED)
    first_folds: list[dict[str, Any]] = []
    maps: list[float] = []
    chosen: Counter[str] = Counter()
    tests = []
    for repeat in range(args.repeats):
        oof, folds = cross_validate(ap, args.folds, rng)
        maps.append(100 * statistics.fmean(oof))
        chosen.update(f["chosen"] for f in folds)
        tests.append(paired_test(oof, ap["production"], rounds=5_000))
        if repeat == 0:
            first_folds = folds
            first_test = paired_test(oof, ap["production"])
    production = 100 * statistics.fmean(ap["production"])
    report = {
        "benchmark": "semeval2016-task3-subtaskB-cross-validated-rerank",
        "split": split.name if split != SHARED_SPLIT.resolve() else "dev",
        "queries": len(qrels),
        "rankers": {
            name: {
                "weights": RANKERS[name],
                "map": round(100 * statistics.fmean(ap[name]), 2),
                "vs_production": paired_test(ap[name], ap["production"]),
                "chosen_in_folds": chosen[name],
            }
            for name in RANKERS
        },
        "cross_validation": {
            "folds": args.folds,
            "repeats": args.repeats,
            "production_map": round(production, 2),
            "out_of_fold_map_mean": round(statistics.fmean(maps), 2),
            "out_of_fold_map_min": round(min(maps), 2),
            "out_of_fold_map_max": round(max(maps), 2),
            "p_value_median": float(np.median([t["p_value"] for t in tests])),
            "first_split_folds": first_folds,
            "first_split_vs_production": first_test,
        },
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
