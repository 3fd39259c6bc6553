"""Accuracy of the duplicate scorer on SemEval-2016 Task 3 subtask B (question-question).

    .venv/bin/python -m bench.semeval [SPLIT_DIR] [--rankings OUT.jsonl] [--quiet]

SPLIT_DIR is any folder with queries.jsonl, corpus.jsonl and qrels.jsonl (default: the dev split
in ../shared/bench/semeval2016-qq). Each query's fixed candidates are ranked by
`console.dupes.scorer.rank` (the production scorer; document frequencies from the split's
corpus.jsonl, exactly as the BM25 baseline takes them), then scored by the benchmark's own
evaluate.py, and the BM25 baseline (bm25_baseline.py) is run and scored the same way. Both
scripts run as subprocesses from the shared folder; nothing of them is copied. Prints one JSON
object: ours and bm25, each in the official view (PerfectMatch + Relevant) and the strict view
(PerfectMatch only), plus the gain.
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

from console.dupes.scorer import CountStats, Doc, rank

SHARED_SPLIT = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench" / "semeval2016-qq"
METRICS = ("MAP", "MRR", "P@1", "P@5")


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def tool(split: Path, name: str) -> Path:
    """The benchmark's script: the split's own copy if it has one, else the dev split's."""
    for folder in (split, SHARED_SPLIT):
        if (folder / name).is_file():
            return folder / name
    raise SystemExit(f"semeval: {name} not found in {split} or {SHARED_SPLIT.resolve()}")


def rankings(split: Path) -> list[dict[str, Any]]:
    """Our ranking of every query's candidates, best first."""
    queries = {q["id"]: q for q in load_jsonl(split / "queries.jsonl")}
    corpus = {d["id"]: d for d in load_jsonl(split / "corpus.jsonl")}
    stats = CountStats.from_texts(f"{d['title']} {d['body']}" for d in corpus.values())
    out = []
    for line in load_jsonl(split / "qrels.jsonl"):
        query = queries[line["query"]]
        candidates = {
            cid: Doc(corpus[cid]["title"], corpus[cid].get("body") or "")
            for cid in line["candidates"]
        }
        ranked = rank(Doc(query["title"], query.get("body") or ""), candidates, stats)
        out.append({"query": line["query"], "ranked": [cid for cid, _ in ranked]})
    return out


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
    ours = rankings(split)
    seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        ours_file = args.rankings or Path(tmp) / "ours.jsonl"
        ours_file.write_text("".join(json.dumps(r) + "\n" for r in ours), encoding="utf-8")
        bm25_file = Path(tmp) / "bm25.jsonl"
        baseline = subprocess.run(
            [sys.executable, str(tool(split, "bm25_baseline.py")), str(split), "--method", "bm25"],
            capture_output=True,
            text=True,
            check=True,
        )
        bm25_file.write_text(baseline.stdout, encoding="utf-8")
        result_ours, result_bm25 = views(split, ours_file), views(split, bm25_file)
    report = {
        "benchmark": "semeval2016-task3-subtaskB",
        "split": split.name if split != SHARED_SPLIT.resolve() else "dev",
        "ours": result_ours,
        "bm25": result_bm25,
        "gain": {k: round(result_ours[k] - result_bm25[k], 2) for k in (*METRICS, "strict_MAP")},
        "scoring_seconds": round(seconds, 3),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
