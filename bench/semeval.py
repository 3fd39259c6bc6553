"""Accuracy of the duplicate scorer on SemEval-2016 Task 3 subtask B (question-question).

    .venv/bin/python -m bench.semeval [SPLIT_DIR] [--rankings OUT.jsonl] [--quiet]

SPLIT_DIR is any folder with queries.jsonl, corpus.jsonl and qrels.jsonl (default: the dev split
in ../shared/bench/semeval2016-qq). Each query's fixed candidates are ranked as the console ranks
a thread's pool: the production lexical scorer (`console.dupes.scorer`, document frequencies from
the split's corpus.jsonl, exactly as the BM25 baseline takes them), the all-MiniLM-L6-v2 cosine
(`console.dupes.embed`) and the multilingual-e5-small cosine (`console.dupes.e5`), fused by
`console.dupes.fusion.fuse` (per-query z-scores, equal weights, never tuned). Then the rankings
are scored by the benchmark's own evaluate.py, and the BM25 baseline (bm25_baseline.py) is run
and scored the same way. Both scripts run as subprocesses from the shared folder; nothing of
them is copied. Prints one JSON object: ours (fused), minilm (the fusion without e5: the ranker
before e5), lexical (today's scorer alone) and bm25, each in the official view (PerfectMatch +
Relevant) and the strict view (PerfectMatch only), the gains, and a paired randomisation test
over queries (average precision per query, 20,000 sign flips) of ours against each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._splits import SHARED_BENCH, load_jsonl, task_script
from console.dupes import e5, embed
from console.dupes.fusion import fuse
from console.dupes.scorer import CountStats, Doc, rank

SHARED_SPLIT = SHARED_BENCH / "semeval2016-qq"
METRICS = ("MAP", "MRR", "P@1", "P@5")


def tool(split: Path, name: str) -> Path:
    return task_script(split, name, SHARED_SPLIT, "semeval")


def _vectors(split: Path, encoder: Any) -> dict[str, Any] | None:
    """Unit embedding (int8, as the cache stores them) of every query and candidate by
    `encoder` (`embed.load_encoder()` or `e5.load_e5()`), or None without one."""
    if encoder is None:
        return None
    docs = load_jsonl(split / "queries.jsonl") + load_jsonl(split / "corpus.jsonl")
    texts = [embed.thread_text(d["title"], d.get("body") or "") for d in docs]
    vectors = embed.to_int8(encoder.encode(texts))
    return {d["id"]: vectors[i] for i, d in enumerate(docs)}


def rankings(split: Path) -> dict[str, list[dict[str, Any]]]:
    """Our rankings of every query's candidates, best first: fused, and lexical alone."""
    queries = {q["id"]: q for q in load_jsonl(split / "queries.jsonl")}
    corpus = {d["id"]: d for d in load_jsonl(split / "corpus.jsonl")}
    stats = CountStats.from_texts(f"{d['title']} {d['body']}" for d in corpus.values())
    vectors = _vectors(split, embed.load_encoder())
    second = _vectors(split, e5.load_e5()) if vectors is not None else None
    out: dict[str, list[dict[str, Any]]] = {"ours": [], "minilm": [], "lexical": []}
    for line in load_jsonl(split / "qrels.jsonl"):
        query = queries[line["query"]]
        candidates = {
            cid: Doc(corpus[cid]["title"], corpus[cid].get("body") or "")
            for cid in line["candidates"]
        }
        ranked = rank(Doc(query["title"], query.get("body") or ""), candidates, stats)
        out["lexical"].append({"query": line["query"], "ranked": [cid for cid, _ in ranked]})
        ids = list(candidates)
        lexical = {cid: scored.score for cid, scored in ranked}
        cosines = _cosines(vectors, line["query"], ids)
        by_words = [lexical[cid] for cid in ids]
        for name, keys in (
            ("ours", fuse(by_words, cosines, _cosines(second, line["query"], ids))),
            ("minilm", fuse(by_words, cosines)),
        ):
            order = sorted(range(len(ids)), key=lambda i: (-keys[i], i))
            out[name].append({"query": line["query"], "ranked": [ids[i] for i in order]})
    return out


def _cosines(vectors: dict[str, Any] | None, query: str, ids: list[str]) -> list[float] | None:
    if vectors is None:
        return None
    q = vectors[query]
    return [float(embed.cosine_int8(q, vectors[cid][None, :])[0]) for cid in ids]


def average_precisions(
    run: list[dict[str, Any]], qrels: list[dict[str, Any]], *, strict: bool
) -> list[float]:
    """Average precision of each query (the official definition), in qrels order."""
    ranked = {r["query"]: r["ranked"] for r in run}
    found = []
    for line in qrels:
        positives = set(line["perfect_match"] if strict else line["positives"])
        hits, total = 0, 0.0
        for i, cid in enumerate(ranked[line["query"]], 1):
            if cid in positives:
                hits += 1
                total += hits / i
        found.append(total / len(positives) if positives else 0.0)
    return found


def paired_test(a: list[float], b: list[float], rounds: int = 20_000) -> dict[str, Any]:
    """Two-sided paired randomisation test of mean(a - b) over queries (seeded: repeatable)."""
    import random

    diffs = [x - y for x, y in zip(a, b, strict=True)]
    observed = abs(sum(diffs))
    rng = random.Random(2016)
    extreme = sum(
        abs(sum(d if rng.random() < 0.5 else -d for d in diffs)) >= observed - 1e-12
        for _ in range(rounds)
    )
    return {
        "map_gain": round(100 * sum(diffs) / len(diffs), 2),
        "better": sum(d > 1e-12 for d in diffs),
        "worse": sum(d < -1e-12 for d in diffs),
        "p_value": round((extreme + 1) / (rounds + 1), 4),
    }


def evaluate(split: Path, run_file: Path, *, strict: bool) -> dict[str, Any]:
    command = [sys.executable, str(tool(split, "evaluate.py")), str(run_file)]
    command += ["--qrels", str(split / "qrels.jsonl")] + (["--strict"] if strict else [])
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def views(split: Path, run_file: Path) -> dict[str, Any]:
    official = evaluate(split, run_file, strict=False)
    strict = evaluate(split, run_file, strict=True)
    return {
        **{m: official[m] for m in METRICS},
        "strict_MAP": strict["MAP"],
        "strict_MRR": strict["MRR"],
        "strict_P@1": strict["P@1"],
        "queries": official["queries"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("split", nargs="?", type=Path, default=SHARED_SPLIT)
    parser.add_argument("--rankings", type=Path, help="also write our rankings here (JSONL)")
    args = parser.parse_args(argv)
    split = args.split.resolve()
    for name in ("queries.jsonl", "corpus.jsonl", "qrels.jsonl"):
        if not (split / name).is_file():
            parser.error(f"{split} has no {name}")
    started = time.perf_counter()
    runs = rankings(split)
    seconds = time.perf_counter() - started
    qrels = load_jsonl(split / "qrels.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name, run in runs.items():
            files[name] = (
                args.rankings if name == "ours" and args.rankings else Path(tmp) / f"{name}.jsonl"
            )
            files[name].write_text("".join(json.dumps(r) + "\n" for r in run), encoding="utf-8")
        baseline = subprocess.run(
            [sys.executable, str(tool(split, "bm25_baseline.py")), str(split), "--method", "bm25"],
            capture_output=True,
            text=True,
            check=True,
        )
        files["bm25"] = Path(tmp) / "bm25.jsonl"
        files["bm25"].write_text(baseline.stdout, encoding="utf-8")
        runs["bm25"] = load_jsonl(files["bm25"])
        results = {name: views(split, path) for name, path in files.items()}
    ap = {name: average_precisions(run, qrels, strict=False) for name, run in runs.items()}
    report = {
        "benchmark": "semeval2016-task3-subtaskB",
        "split": split.name if split != SHARED_SPLIT.resolve() else "dev",
        "semantic": embed.unavailable_reason() or f"{embed.MODEL_NAME} int8 ONNX",
        "second_model": e5.unavailable_reason() or e5.VECTORS,
        "ours": results["ours"],
        "minilm": results["minilm"],
        "lexical": results["lexical"],
        "bm25": results["bm25"],
        "gain": {
            k: round(results["ours"][k] - results["bm25"][k], 2) for k in (*METRICS, "strict_MAP")
        },
        "gain_over_minilm": {
            k: round(results["ours"][k] - results["minilm"][k], 2) for k in (*METRICS, "strict_MAP")
        },
        "gain_over_lexical": {
            k: round(results["ours"][k] - results["lexical"][k], 2)
            for k in (*METRICS, "strict_MAP")
        },
        "significance": {
            "ours_vs_bm25": paired_test(ap["ours"], ap["bm25"]),
            "ours_vs_minilm": paired_test(ap["ours"], ap["minilm"]),
            "ours_vs_lexical": paired_test(ap["ours"], ap["lexical"]),
        },
        "scoring_seconds": round(seconds, 3),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
