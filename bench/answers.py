"""How well the answer-verification score ranks real answers: SemEval-2016 Task 3 subtask A.

    .venv/bin/python -m bench.answers [SPLIT_DIR] [--rankings OUT.jsonl] [--folds 5]

SPLIT_DIR is any folder with threads.jsonl, comments.jsonl and qrels.jsonl (default: the split in
../shared/bench/semeval2016-qa). Each thread's comments are ranked by
`console.verify.signals.assess_thread`, the production score, from the same facts the cache gives
it: the question, the asker, each comment's author, position, date and text, and each author's
number of comments in the split's *other* threads (their record in the community). No label of the
split is read to score. The split's own evaluate.py and baseline.py (posting order) are run as
subprocesses and nothing of them is copied.

Also printed:
- significance: a paired randomisation test (10,000 sign flips, seeded) of the per-thread AP
  difference between our ranking and posting order, with a 95% bootstrap interval of the gain;
- cross-validation by thread: the hand-set points of every signal are the model; a logistic
  regression fits one multiplier per signal on four fifths of the threads and ranks the fifth.
  Its MAP beside the hand-set points' MAP on the same folds shows whether the points are far from
  what the data would fit. The shipped points are the hand-set ones either way.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bench._splits import SHARED_BENCH, load_jsonl, task_script
from console.verify.signals import (
    BASE,
    Assessment,
    AuthorRecord,
    Reply,
    ThreadFacts,
    assess,
    assess_thread,
)

SHARED_SPLIT = SHARED_BENCH / "semeval2016-qa"
METRICS = ("MAP", "MRR", "P@1", "P@5", "R@10")


def tool(split: Path, name: str) -> Path:
    return task_script(split, name, SHARED_SPLIT, "answers")


def thread_facts(split: Path) -> dict[str, ThreadFacts]:
    """The split as the facts the production score reads, one ThreadFacts per thread."""
    threads = load_jsonl(split / "threads.jsonl")
    comments = load_jsonl(split / "comments.jsonl")
    per_thread: dict[str, list[dict[str, Any]]] = {}
    for comment in comments:
        per_thread.setdefault(comment["thread"], []).append(comment)
    everywhere = Counter(c["author"] for c in comments)
    out: dict[str, ThreadFacts] = {}
    for thread in threads:
        mine = sorted(per_thread.get(thread["id"], []), key=lambda c: c["position"])
        here = Counter(c["author"] for c in mine)
        authors = {a: AuthorRecord(answers=everywhere[a] - here[a]) for a in here}
        out[thread["id"]] = ThreadFacts(
            title=thread.get("title") or "",
            question=thread.get("body") or "",
            asker=thread.get("author"),
            created_at=thread.get("date"),
            replies=tuple(
                Reply(
                    key=c["id"],
                    author=c.get("author"),
                    position=int(c["position"]),
                    text=c.get("text") or "",
                    created_at=c.get("date"),
                )
                for c in mine
            ),
            authors=authors,
        )
    return out


def rankings(facts: dict[str, ThreadFacts], qrels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for line in qrels:
        thread = facts.get(line["query"])
        ranked = [a.key for a in assess_thread(thread)] if thread else list(line["candidates"])
        out.append({"query": line["query"], "ranked": ranked})
    return out


def load_evaluator(split: Path) -> ModuleType:
    path = tool(split, "evaluate.py")
    spec = importlib.util.spec_from_file_location("semeval_qa_evaluate", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"answers: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate_file(split: Path, run_file: Path) -> dict[str, Any]:
    command = [sys.executable, str(tool(split, "evaluate.py")), str(run_file)]
    command += ["--qrels", str(split / "qrels.jsonl")]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout))


def per_query_ap(
    evaluator: ModuleType, runs: list[dict[str, Any]], qrels: list[dict[str, Any]]
) -> list[float]:
    """AP of each thread, by the split's own evaluate.py (same protocol as its MAP)."""
    by_query = {r["query"]: r for r in runs}
    return [
        float(evaluator.evaluate([by_query[q["query"]]], [q])["MAP"])
        if q["query"] in by_query
        else 0.0
        for q in qrels
    ]


def significance(
    ours: Sequence[float], base: Sequence[float], rounds: int = 10_000
) -> dict[str, Any]:
    """Paired randomisation test and bootstrap interval of mean(ours - base)."""
    diffs = [a - b for a, b in zip(ours, base, strict=True)]
    n = len(diffs)
    observed = sum(diffs) / n
    rng = random.Random(0)
    at_least = 0
    for _ in range(rounds):
        flipped = sum(d if rng.random() < 0.5 else -d for d in diffs) / n
        if abs(flipped) >= abs(observed) - 1e-12:
            at_least += 1
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(2_000))
    return {
        "gain_MAP": round(observed, 2),
        "p_value": round((at_least + 1) / (rounds + 1), 5),
        "bootstrap_95": [
            round(means[int(0.025 * len(means))], 2),
            round(means[int(0.975 * len(means)) - 1], 2),
        ],
        "threads_better": sum(1 for d in diffs if d > 0),
        "threads_worse": sum(1 for d in diffs if d < 0),
        "test": "paired randomisation (sign flip), 10,000 rounds, two-sided",
    }


# ---- cross-validation by thread ----

Features = dict[str, float]


def features(assessment: Assessment) -> Features:
    """Points per signal name (the hand-set model is: the sum of them)."""
    out: Features = {}
    for signal in assessment.signals:
        out[signal.name] = out.get(signal.name, 0.0) + signal.points
    return out


def fit(rows: list[tuple[Features, int]], names: list[str], epochs: int = 300) -> dict[str, float]:
    """Logistic regression (plain gradient descent, L2 0.01) of Good on the signals' points."""
    scale = {n: max(1.0, max(abs(f.get(n, 0.0)) for f, _ in rows)) for n in names}
    weights = dict.fromkeys(names, 0.0)
    bias = 0.0
    rate = 0.5
    for _ in range(epochs):
        grad = dict.fromkeys(names, 0.0)
        grad_bias = 0.0
        for feats, label in rows:
            z = bias + sum(weights[n] * v / scale[n] for n, v in feats.items() if n in weights)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            error = p - label
            grad_bias += error
            for n, v in feats.items():
                if n in grad:
                    grad[n] += error * v / scale[n]
        for n in names:
            weights[n] -= rate * (grad[n] / len(rows) + 0.01 * weights[n])
        bias -= rate * grad_bias / len(rows)
    return {n: weights[n] / scale[n] for n in names}


def _hand_set(assessment: Assessment) -> float:
    return float(assessment.total - BASE)


def _fitted(weights: dict[str, float]) -> Callable[[Assessment], float]:
    def value(assessment: Assessment) -> float:
        return sum(weights.get(n, 0.0) * v for n, v in features(assessment).items())

    return value


def _ranked(
    items: list[Assessment], position: dict[str, int], value: Callable[[Assessment], float]
) -> list[str]:
    return [a.key for a in sorted(items, key=lambda a: (-value(a), position[a.key]))]


def cross_validate(
    facts: dict[str, ThreadFacts],
    qrels: list[dict[str, Any]],
    evaluator: ModuleType,
    folds: int,
) -> dict[str, Any]:
    rng = random.Random(0)
    order = [q["query"] for q in qrels if q["query"] in facts]
    rng.shuffle(order)
    fold_of = {q: i % folds for i, q in enumerate(order)}
    assessed = {q: [assess(facts[q], r) for r in facts[q].replies] for q in order}
    positives = {q["query"]: set(q["positives"]) for q in qrels}
    names = sorted({s.name for items in assessed.values() for a in items for s in a.signals})
    qrel_of = {q["query"]: q for q in qrels}
    fitted_runs: list[dict[str, Any]] = []
    hand_runs: list[dict[str, Any]] = []
    fold_maps: list[dict[str, float]] = []
    learned: list[dict[str, float]] = []
    for fold in range(folds):
        train = [
            (features(a), int(a.key in positives[q]))
            for q in order
            if fold_of[q] != fold
            for a in assessed[q]
        ]
        weights = fit(train, names)
        learned.append(weights)
        test = [q for q in order if fold_of[q] == fold]
        position = {q: {r.key: r.position for r in facts[q].replies} for q in test}

        fold_fitted = [
            {"query": q, "ranked": _ranked(assessed[q], position[q], _fitted(weights))}
            for q in test
        ]
        fold_hand = [
            {"query": q, "ranked": _ranked(assessed[q], position[q], _hand_set)} for q in test
        ]
        fitted_runs += fold_fitted
        hand_runs += fold_hand
        fold_qrels = [qrel_of[q] for q in test]
        fold_maps.append(
            {
                "fitted": round(float(evaluator.evaluate(fold_fitted, fold_qrels)["MAP"]), 2),
                "hand_set": round(float(evaluator.evaluate(fold_hand, fold_qrels)["MAP"]), 2),
            }
        )
    used = [qrel_of[q] for q in order]
    return {
        "folds": folds,
        "split_by": "thread",
        "fitted_MAP": round(float(evaluator.evaluate(fitted_runs, used)["MAP"]), 2),
        "hand_set_MAP": round(float(evaluator.evaluate(hand_runs, used)["MAP"]), 2),
        "per_fold": fold_maps,
        "fitted_logit_per_point": {n: round(sum(w[n] for w in learned) / folds, 4) for n in names},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("split", nargs="?", type=Path, default=SHARED_SPLIT)
    parser.add_argument("--rankings", type=Path, help="also write our rankings here (JSONL)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (0: skip)")
    args = parser.parse_args(argv)
    split = args.split.resolve()
    for name in ("threads.jsonl", "comments.jsonl", "qrels.jsonl"):
        if not (split / name).is_file():
            parser.error(f"{split} has no {name}")
    qrels = load_jsonl(split / "qrels.jsonl")
    started = time.perf_counter()
    facts = thread_facts(split)
    ours = rankings(facts, qrels)
    seconds = time.perf_counter() - started
    evaluator = load_evaluator(split)
    with tempfile.TemporaryDirectory() as tmp:
        ours_file = args.rankings or Path(tmp) / "ours.jsonl"
        ours_file.write_text("".join(json.dumps(r) + "\n" for r in ours), encoding="utf-8")
        chrono = subprocess.run(
            [sys.executable, str(tool(split, "baseline.py")), str(split), "--method", "chrono"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        chrono_file = Path(tmp) / "chrono.jsonl"
        chrono_file.write_text(chrono, encoding="utf-8")
        result_ours = evaluate_file(split, ours_file)
        result_chrono = evaluate_file(split, chrono_file)
    chrono_runs = [json.loads(line) for line in chrono.splitlines() if line.strip()]
    report: dict[str, Any] = {
        "benchmark": "semeval2016-task3-subtaskA",
        "split": split.name,
        "threads": result_ours["queries"],
        "ours": {m: result_ours[m] for m in METRICS},
        "posting_order": {m: result_chrono[m] for m in METRICS},
        "gain": {m: round(result_ours[m] - result_chrono[m], 2) for m in METRICS},
        "significance": significance(
            per_query_ap(evaluator, ours, qrels), per_query_ap(evaluator, chrono_runs, qrels)
        ),
        "scoring_seconds": round(seconds, 3),
    }
    if args.folds > 1:
        report["cross_validation"] = cross_validate(facts, qrels, evaluator, args.folds)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
