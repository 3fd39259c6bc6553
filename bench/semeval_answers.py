"""Does a candidate's answers text help rank it? SemEval-2016 3B, pre-registered.

    .venv/bin/python -m bench.semeval_answers [SPLIT_DIR] [--answers QA_DIR] [--folds 5]

PRE-REGISTERED (written and committed on 2026-11-27 ~21:45 UTC, before this file was ever run;
nothing below was changed after seeing a result). Two rankers, each with its weight fixed in
advance, against production (the lexical score + the MiniLM cosine, per-pool z-scores, equal
weights: `bench.semeval`'s "ours"):

- `+half_answers_words`: production + 0.5 x the z-score of the scorer's own BM25
  (`scorer._bm25`, the new thread's stems against the candidate's ANSWERS text, normalised by
  the new thread's BM25 against itself, the same idf as the question field);
- `+half_answers_meaning`: production + 0.5 x the z-score of the MiniLM cosine between the new
  thread's vector and the vector of the candidate's answers text (`embed.thread_text("",
  answers)`: its start, as a thread's question is embedded).

Why they make sense: SemEval's labels say the candidate is a duplicate (PerfectMatch) or that
"its answers would help" (Relevant): the answers are the very thing judged. A short candidate
question often lacks the words the new asker used, while its answers repeat and explain them
(vocabulary mismatch, the classic reason for a second field). In a peerdesk cache a candidate's
replies are there (`posts` with position > 0), so the product could use this field. Half
weight: a second field should count less than the question that is compared.

The answers text is a candidate's comments in posting order, joined by line breaks (the
SemEval-2016 subtask A folder `../shared/bench/semeval2016-qa`, built from the same XML file as
the dev split, has the first 10 comments of 379 of the 670 dev candidates; their share of
positives is the same as the others', 44%: having comments says nothing about the label). A
candidate without answers gets z = 0 (the pool's mean) on that signal; the others are z-scored
among themselves (0 if fewer than two have answers). A held-out split without such a folder
gets production's ranking back.

Reported: MAP, MRR, P@1 of each ranker on the whole split, per-query wins and losses against
production, a paired randomisation test (20,000 sign flips, as `bench.semeval`) and a two-sided
sign test over the queries that changed; and 5-fold cross-validation by query (20 random
splits) choosing among production and the two on four folds, scored on the fifth.

Decision rule, fixed in advance: a ranker ships only if (1) its whole-split gain has p < 0.05 in
the randomisation test, and (2) choosing by cross-validation beats production out of fold (mean
over the 20 splits). Otherwise production stays and the result is reported as it is.
Prints one JSON object.

RESULT (first run, 2026-11-27, dev; added after the run, the code unchanged): both rankers lose
to production (77.73): `+half_answers_words` 77.19 (9 queries better, 15 worse, p = 0.43),
`+half_answers_meaning` 76.97 (7 better, 12 worse, p = 0.18); cross-validated selection 77.60
out of fold. Production stays (docs/duplicates.md, "Accuracy experiments").
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.semeval import SHARED_SPLIT, average_precisions, load_jsonl, paired_test
from bench.semeval_cv import cv_parser, load_split, repeated_cross_validation, run_of
from console.dupes import embed, scorer
from console.dupes.scorer import Doc, rank

ANSWERS = SHARED_SPLIT.parent / "semeval2016-qa"
RANKERS: dict[str, dict[str, float]] = {
    "production": {"lex": 1.0, "cos": 1.0},
    "+half_answers_words": {"lex": 1.0, "cos": 1.0, "answers_words": 0.5},
    "+half_answers_meaning": {"lex": 1.0, "cos": 1.0, "answers_meaning": 0.5},
}
PARTIAL = ("answers_words", "answers_meaning")  # signals a candidate may not have


def answers_of(folder: Path) -> dict[str, str]:
    """Each thread's comments in posting order, joined by line breaks (empty: no folder)."""
    path = folder / "comments.jsonl"
    if not path.is_file():
        return {}
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line in load_jsonl(path):
        found[line["thread"]].append((int(line["position"]), line["text"]))
    return {t: "\n".join(text for _, text in sorted(c)) for t, c in found.items()}


def signals(
    split: Path, answers: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, dict[str, float | None]]]]:
    queries, corpus, qrels, stats, encoder = load_split(split, "semeval_answers")
    docs = list(queries.values()) + list(corpus.values())
    vec = dict(
        zip(
            [d["id"] for d in docs],
            embed.to_int8(
                encoder.encode([embed.thread_text(d["title"], d.get("body") or "") for d in docs])
            ),
            strict=True,
        )
    )
    with_answers = [c for c in corpus if answers.get(c)]
    answer_vec = dict(
        zip(
            with_answers,
            embed.to_int8(encoder.encode([embed.thread_text("", answers[c]) for c in with_answers]))
            if with_answers
            else [],
            strict=True,
        )
    )
    idf = scorer.Idf(stats)
    out: list[dict[str, dict[str, float | None]]] = []
    for line in qrels:
        query = queries[line["query"]]
        new = Doc(query["title"], query.get("body") or "")
        candidates = {
            cid: Doc(corpus[cid]["title"], corpus[cid].get("body") or "")
            for cid in line["candidates"]
        }
        ranked = dict(rank(new, candidates, stats))
        q = scorer.analyze(new)
        q_idf = scorer._query_idf(q, idf)
        per: dict[str, dict[str, float | None]] = {}
        for cid in line["candidates"]:
            text = answers.get(cid)
            per[cid] = {
                "lex": ranked[cid].score,
                "cos": float(embed.cosine_int8(vec[line["query"]], vec[cid][None, :])[0]),
                "answers_words": (
                    scorer._bm25(q, q_idf, scorer.analyze(Doc("", text)), idf) if text else None
                ),
                "answers_meaning": (
                    float(embed.cosine_int8(vec[line["query"]], answer_vec[cid][None, :])[0])
                    if text
                    else None
                ),
            }
        out.append(per)
    return qrels, out


def _reciprocal_ranks(run: list[dict[str, Any]], qrels: list[dict[str, Any]]) -> list[float]:
    ranked = {r["query"]: r["ranked"] for r in run}
    found = []
    for line in qrels:
        positives = set(line["positives"])
        hit = next((i for i, c in enumerate(ranked[line["query"]], 1) if c in positives), None)
        found.append(1.0 / hit if hit else 0.0)
    return found


def sign_test(a: list[float], b: list[float]) -> dict[str, Any]:
    """Two-sided exact sign test over the queries where a and b differ."""
    wins = sum(x > y + 1e-12 for x, y in zip(a, b, strict=True))
    losses = sum(y > x + 1e-12 for x, y in zip(a, b, strict=True))
    n, k = wins + losses, min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n if n else 1.0
    return {"wins": wins, "losses": losses, "p_value": round(min(1.0, 2 * tail), 4)}


def ranker_scores(ap: list[float], rr: list[float], production: list[float]) -> dict[str, Any]:
    """A ranker's MAP, MRR and P@1, and how it compares with production query by query."""
    return {
        "MAP": round(100 * statistics.fmean(ap), 2),
        "MRR": round(100 * statistics.fmean(rr), 2),
        "P@1": round(100 * statistics.fmean(r == 1.0 for r in rr), 2),
        "vs_production": paired_test(ap, production),
        "sign_test": sign_test(ap, production),
    }


def main(argv: list[str] | None = None) -> int:
    parser = cv_parser(__doc__)
    parser.add_argument("--answers", type=Path, default=ANSWERS, help="a folder with comments")
    args = parser.parse_args(argv)
    split = args.split.resolve()
    answers = answers_of(args.answers)
    qrels, feats = signals(split, answers)
    runs = {name: run_of(qrels, feats, weights) for name, weights in RANKERS.items()}
    ap = {name: average_precisions(run, qrels, strict=False) for name, run in runs.items()}
    rr = {name: _reciprocal_ranks(run, qrels) for name, run in runs.items()}
    covered = sum(1 for per in feats for row in per.values() if row["answers_words"] is not None)
    report = {
        "benchmark": "semeval2016-task3-subtaskB-answers-field",
        "split": split.name if split != SHARED_SPLIT.resolve() else "dev",
        "queries": len(qrels),
        "candidates_with_answers": covered,
        "candidates": sum(len(per) for per in feats),
        "rankers": {
            name: {
                "weights": RANKERS[name],
                **ranker_scores(ap[name], rr[name], ap["production"]),
            }
            for name in RANKERS
        },
        "cross_validation": repeated_cross_validation(ap, args.folds, args.repeats, RANKERS),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
