"""Calibrate the duplicate probability: fit, cross-validate by query, report reliability.

    .venv/bin/python -m bench.calibrate [--demo-threads 2000] [--write]

Labelled pairs, each a (new thread, possible original) with the signals the console computes
(`console.dupes.candidates.scored_pool` / the SemEval ranking of `bench.semeval`):

- SemEval-2016 dev (../shared/bench/semeval2016-qq): every query's 10 candidates; a duplicate is
  `PerfectMatch` (what a moderator would close as a duplicate);
- the demo community's planted duplicates (a fresh demo of --demo-threads threads): the recalled
  pool of every planted duplicate; a duplicate is the planted original, every other pooled
  thread is not. (Only planted threads: the demo generator writes many other threads about the
  same problem, some with the very same title, and marks none of them, so the ground truth is
  complete only for the planted ones.);
- Stack Exchange closed-as-duplicate links in ../shared/fixtures/stackexchange: the fixtures hold
  none (their SOURCES.md says no public capture with `closed_details.original_questions` was
  found), so they add no pairs; the count is reported.

Three logistic models (words with both embeddings, with MiniLM's alone, and words alone:
`console.dupes.fusion`'s E5_MODEL, SEMANTIC_MODEL and LEXICAL_MODEL) are fitted by
Newton's method with a small L2 penalty; each data set weighs the same in total. Five folds split
by query (a query's pairs are never in both the fit and the check): the out-of-fold probabilities
give the reliability table, the Brier score and, on the demo, precision and recall of each
threshold. `--write` stores the models fitted on all the data in console/dupes/fusion.py.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from bench.semeval import SHARED_SPLIT, load_jsonl
from console.dupes import e5, embed, fusion
from console.dupes.scorer import CountStats, Doc, rank

FOLDS = 5
THRESHOLDS = tuple(round(0.2 + 0.05 * i, 2) for i in range(15))  # 0.20, 0.25, ... 0.90
TARGET_PRECISION = 0.8  # of the proposals, on the demo's planted duplicates (issue #14)
L2 = 1e-3
FUSION_FILE = Path(__file__).resolve().parents[1] / "console" / "dupes" / "fusion.py"
SE_FIXTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "stackexchange"


def semeval_rows(split: Path) -> list[dict[str, Any]]:
    queries = {q["id"]: q for q in load_jsonl(split / "queries.jsonl")}
    corpus = {d["id"]: d for d in load_jsonl(split / "corpus.jsonl")}
    stats = CountStats.from_texts(f"{d['title']} {d['body']}" for d in corpus.values())
    docs = list(queries.values()) + list(corpus.values())
    texts = [embed.thread_text(d["title"], d.get("body") or "") for d in docs]

    def vectors_by(encoder: Any) -> dict[str, Any]:
        if encoder is None:
            return {}
        matrix = embed.to_int8(encoder.encode(texts))
        return {d["id"]: matrix[i] for i, d in enumerate(docs)}

    vectors = vectors_by(embed.load_encoder())
    second = vectors_by(e5.load_e5()) if vectors else {}
    rows = []
    for line in load_jsonl(split / "qrels.jsonl"):
        query = queries[line["query"]]
        ids = list(line["candidates"])
        docs = {cid: Doc(corpus[cid]["title"], corpus[cid].get("body") or "") for cid in ids}
        lexical = {
            cid: s.score
            for cid, s in rank(Doc(query["title"], query.get("body") or ""), docs, stats)
        }
        lex = [lexical[cid] for cid in ids]
        cos = _cosines(vectors, line["query"], ids)
        e5_cos = _cosines(second, line["query"], ids)
        fused_sem = fusion.fuse(lex, cos) if cos is not None else None
        fused_e5 = fusion.fuse(lex, cos, e5_cos) if e5_cos is not None else None
        fused_lex = fusion.fuse(lex, None)
        dupes = set(line["perfect_match"])
        for i, cid in enumerate(ids):
            rows.append(
                {
                    "data": "semeval",
                    "group": f"semeval:{line['query']}",
                    "query": line["query"],
                    "candidate": cid,
                    "label": int(cid in dupes),
                    "lexical": lex[i],
                    "cosine": None if cos is None else cos[i],
                    "fused": None if fused_sem is None else fused_sem[i],
                    "e5": None if e5_cos is None else e5_cos[i],
                    "fused_e5": None if fused_e5 is None else fused_e5[i],
                    "fused_lexical": fused_lex[i],
                }
            )
    return rows


def _cosines(vectors: dict[str, Any], query: str, ids: list[str]) -> list[float] | None:
    if not vectors:
        return None
    return [float(embed.cosine_int8(vectors[query], vectors[c][None, :])[0]) for c in ids]


def demo_rows(threads: int, work: Path) -> list[dict[str, Any]]:
    from console.db import open_cache
    from console.demo import build_demo
    from console.dupes import candidates as cands
    from console.dupes import vectors

    path = work / f"calibrate-demo-{threads}.sqlite3"
    cache = open_cache(path, create=True)
    build_demo(cache, threads, candidate_limit=0)
    vectors.embed_missing(cache)
    cands.refresh_terms(cache, force=True)
    local = {r[0]: r[1] for r in cache.query("SELECT remote_id, id FROM threads")}
    planted = {
        (local[d], local[o])
        for d, o in json.loads(cache.meta("demo_planted_duplicates") or "[]")
        if d in local and o in local
    }
    stats = cands.VocabStats(cache.conn)
    rows = []
    for tid in sorted({d for d, _ in planted}):
        semantic = cands.scored_pool(cache, tid, stats=stats)
        lexical = cands.scored_pool(cache, tid, stats=stats, semantic=False)
        lex_fused = {i.original_id: i.fused for i in lexical}
        # the key without e5, over the same pool (the model for a process without e5)
        minilm = fusion.fuse([i.lexical for i in semantic], [i.cosine or 0.0 for i in semantic])
        for item, fused in zip(semantic, minilm, strict=True):
            rows.append(
                {
                    "data": "demo",
                    "group": f"demo:{tid}",
                    "label": int((tid, item.original_id) in planted),
                    "lexical": item.lexical,
                    "cosine": item.cosine,
                    "fused": fused,
                    "e5": item.e5,
                    "fused_e5": None if item.e5 is None else item.fused,
                    "fused_lexical": None,
                    "pair": (tid, item.original_id),
                }
            )
        for item in lexical:  # the lexical path recalls its own pool
            rows.append(
                {
                    "data": "demo",
                    "group": f"demo:{tid}",
                    "label": int((tid, item.original_id) in planted),
                    "lexical": item.lexical,
                    "cosine": None,
                    "fused": None,
                    "e5": None,
                    "fused_e5": None,
                    "fused_lexical": lex_fused[item.original_id],
                    "lexical_only": True,
                }
            )
    cache.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return [dict(r, planted=len(planted)) for r in rows]


def stackexchange_duplicate_links() -> int:
    """Closed-as-duplicate links (closed_details.original_questions) in the fixtures."""
    found = 0
    for path in sorted(SE_FIXTURES.glob("*.json")) if SE_FIXTURES.is_dir() else []:
        data = json.loads(path.read_text(encoding="utf-8"))
        for item in data.get("items", []):
            details = item.get("closed_details") or {}
            found += len(details.get("original_questions") or [])
    return found


def _newton(design: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    beta = np.zeros(design.shape[1])
    penalty = L2 * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -35, 35)))
        gradient = design.T @ (w * (p - y)) + penalty @ beta
        hessian = (design * (w * p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(beta)), gradient)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted logistic regression by Newton's method; returns [intercept, coef...].

    Monotone: a more similar pair is never less likely a duplicate, so a feature whose weight
    comes out negative (collinear features trading off on this data) is dropped and the rest
    refitted, until every weight is positive."""
    active = list(range(x.shape[1]))
    while True:
        design = np.hstack([np.ones((len(x), 1)), x[:, active]])
        beta = _newton(design, y, w)
        negative = [a for a, b in zip(active, beta[1:], strict=True) if b < 0]
        if not negative:
            break
        active.remove(negative[0])
    full = np.zeros(x.shape[1] + 1)
    full[0] = beta[0]
    for a, b in zip(active, beta[1:], strict=True):
        full[1 + a] = b
    return full


def predict(beta: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(beta[0] + x @ beta[1:], -35, 35)))


COLUMNS = {  # each model's features, in `fusion.features` order
    "e5": ("lexical", "cosine", "e5", "fused_e5"),
    "semantic": ("lexical", "cosine", "fused"),
    "lexical": ("lexical", "fused_lexical"),
}
KEY = {"e5": "fused_e5", "semantic": "fused"}  # the ranking key `bench.semeval` sorts by


def _matrix(rows: list[dict[str, Any]], kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([[r[c] for c in COLUMNS[kind]] for r in rows], dtype=float)
    y = np.array([r["label"] for r in rows], dtype=float)
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["data"]] = totals.get(r["data"], 0) + 1
    w = np.array([len(rows) / (len(totals) * totals[r["data"]]) for r in rows])
    return x, y, w


def _fold(group: str) -> int:
    return zlib.crc32(group.encode()) % FOLDS


def cross_validate(rows: list[dict[str, Any]], kind: str) -> np.ndarray:
    x, y, w = _matrix(rows, kind)
    folds = np.array([_fold(r["group"]) for r in rows])
    out = np.zeros(len(rows))
    for k in range(FOLDS):
        test = folds == k
        beta = fit(x[~test], y[~test], w[~test])
        out[test] = predict(beta, x[test])
    return out


def reliability(p: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
    table = []
    edges = [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001]
    for lo, hi in itertools.pairwise(edges):
        inside = (p >= lo) & (p < hi)
        n = int(inside.sum())
        table.append(
            {
                "bin": f"{lo:.2f}-{min(hi, 1.0):.2f}",
                "pairs": n,
                "predicted": round(float(p[inside].mean()), 3) if n else None,
                "observed": round(float(y[inside].mean()), 3) if n else None,
            }
        )
    return table


def threshold_table(rows: list[dict[str, Any]], p: np.ndarray) -> list[dict[str, Any]]:
    """Precision and recall of the demo's proposals at each threshold (out of fold)."""
    planted = rows[0]["planted"] if rows else 0
    out = []
    for t in THRESHOLDS:
        chosen = p >= t
        hits = sum(1 for r, c in zip(rows, chosen, strict=True) if c and r["label"])
        n = int(chosen.sum())
        out.append(
            {
                "threshold": t,
                "proposals": n,
                "precision": round(hits / n, 3) if n else None,
                "recall": round(hits / planted, 3) if planted else None,
            }
        )
    return out


def chosen_threshold(table: list[dict[str, Any]]) -> float | None:
    """The lowest threshold whose out-of-fold precision stays at TARGET_PRECISION or more even
    with one more of its proposals wrong, every higher threshold keeping TARGET_PRECISION (one
    with no proposal counts as keeping it). The margin is for choosing on the data that measures
    it: the lowest threshold that just passes is the one most likely to pass by luck."""
    chosen = None
    for row in reversed(table):
        made = row["proposals"]
        if not made:
            continue
        if row["precision"] < TARGET_PRECISION:
            break
        if round(row["precision"] * made) / (made + 1) >= TARGET_PRECISION:
            chosen = row["threshold"]
    return chosen


def semeval_ranking(
    split: Path, rows: list[dict[str, Any]], p: np.ndarray, key: str
) -> dict[str, Any]:
    """MAP of SemEval ranked as the console ranks a pool (by the probability, out of fold:
    each query by a model fitted without it) against the fused key (`bench.semeval`)."""
    from bench.semeval import average_precisions, paired_test

    qrels = load_jsonl(split / "qrels.jsonl")
    by_query: dict[str, list[tuple[float, float, int, str]]] = {}
    for i, (r, prob) in enumerate(zip(rows, p, strict=True)):
        if r["data"] == "semeval":
            by_query.setdefault(r["query"], []).append((float(prob), r[key], i, r["candidate"]))
    runs = {
        "probability": [
            {"query": q, "ranked": [c for *_, c in sorted(v, key=lambda t: (-t[0], t[2]))]}
            for q, v in by_query.items()
        ],
        "fused": [
            {"query": q, "ranked": [c for *_, c in sorted(v, key=lambda t: (-t[1], t[2]))]}
            for q, v in by_query.items()
        ],
    }
    ap = {name: average_precisions(run, qrels, strict=False) for name, run in runs.items()}
    return {
        "map_fused": round(100 * float(np.mean(ap["fused"])), 2),
        "map_probability_out_of_fold": round(100 * float(np.mean(ap["probability"])), 2),
        "probability_vs_fused": paired_test(ap["probability"], ap["fused"]),
    }


def summary(rows: list[dict[str, Any]], p: np.ndarray) -> dict[str, Any]:
    y = np.array([r["label"] for r in rows], dtype=float)
    return {
        "pairs": len(rows),
        "duplicates": int(y.sum()),
        "brier": round(float(np.mean((p - y) ** 2)), 4),
        "reliability": reliability(p, y),
    }


def write_models(finals: dict[str, np.ndarray]) -> None:
    text = FUSION_FILE.read_text(encoding="utf-8")

    def fmt(beta: np.ndarray) -> str:
        coef = ", ".join(f"{c:.4f}" for c in beta[1:]) + ("," if len(beta) == 2 else "")
        return f"({beta[0]:.4f}, ({coef}))"  # as ruff formats it

    for kind, beta in finals.items():
        name = f"{kind.upper()}_MODEL"
        text = re.sub(rf"^{name} = .*", f"{name} = {fmt(beta)}", text, flags=re.MULTILINE)
    FUSION_FILE.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=Path, default=SHARED_SPLIT)
    parser.add_argument("--demo-threads", type=int, default=2000)
    parser.add_argument("--write", action="store_true", help="store the fitted models")
    args = parser.parse_args(argv)
    if embed.load_encoder() is None:
        raise SystemExit(f"calibrate: {embed.unavailable_reason()}")
    if e5.load_e5() is None:
        raise SystemExit(f"calibrate: {e5.unavailable_reason()}")
    with tempfile.TemporaryDirectory() as tmp:
        demo = demo_rows(args.demo_threads, Path(tmp))
    semeval = semeval_rows(args.split.resolve())
    sem_rows = [r for r in semeval + demo if r["cosine"] is not None]
    e5_rows = [r for r in sem_rows if r["e5"] is not None]
    lex_rows = [r for r in semeval if r["fused_lexical"] is not None] + [
        r for r in demo if r.get("lexical_only")
    ]
    report: dict[str, Any] = {
        "benchmark": "dupes-calibration",
        "stackexchange_duplicate_links": stackexchange_duplicate_links(),
        "folds": FOLDS,
    }
    finals = {}
    for name, rows in (("e5", e5_rows), ("semantic", sem_rows), ("lexical", lex_rows)):
        p = cross_validate(rows, name)
        x, y, w = _matrix(rows, name)
        finals[name] = fit(x, y, w)
        demo_idx = [i for i, r in enumerate(rows) if r["data"] == "demo"]
        sem_idx = [i for i, r in enumerate(rows) if r["data"] == "semeval"]
        report[name] = {
            "model": [round(float(b), 4) for b in finals[name]],
            "all": summary(rows, p),
            "semeval": summary([rows[i] for i in sem_idx], p[sem_idx]),
            "demo": summary([rows[i] for i in demo_idx], p[demo_idx]),
            "demo_thresholds": threshold_table([rows[i] for i in demo_idx], p[demo_idx]),
        }
        report[name]["proposal_threshold"] = chosen_threshold(report[name]["demo_thresholds"])
        if name in KEY:
            report[name]["semeval_ranking"] = semeval_ranking(
                args.split.resolve(), rows, p, KEY[name]
            )
    if args.write:
        write_models(finals)
        report["written"] = str(FUSION_FILE)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
