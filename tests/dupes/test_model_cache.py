"""The built int8 model is kept once per machine: one file per (weights, builders' versions),
whatever the venv or the files' modification times, and copies under older keys are removed."""

from __future__ import annotations

# No store at all: the built model's files on this machine.
import json
import os
import time
from pathlib import Path

import pytest

from console.dupes import embed


def _weights(folder: Path, tensors: dict[str, list[int]], data: bytes = b"\x01" * 64) -> Path:
    """A safetensors-shaped file: 8-byte header length, the JSON header, then the data."""
    folder.mkdir(parents=True)
    header = json.dumps(
        {
            name: {"dtype": "F32", "shape": shape, "data_offsets": [0, 4]}
            for name, shape in tensors.items()
        }
    ).encode()
    path = folder / "model.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + data)
    return path


def test_the_key_depends_on_the_weights_and_builders_not_on_where_or_when(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _weights(tmp_path / "venv-a", {"w": [2, 2]})
    b = _weights(tmp_path / "venv-b", {"w": [2, 2]})
    os.utime(a, (1_000_000, 1_000_000))  # another install: other times, same weights
    os.utime(b, (2_000_000, 2_000_000))
    assert embed._fingerprint(a.parent) == embed._fingerprint(b.parent)
    other = _weights(tmp_path / "other", {"w": [2, 3]})
    assert embed._fingerprint(other.parent) != embed._fingerprint(a.parent)
    same = embed._fingerprint(a.parent)
    monkeypatch.setattr(embed, "_builders", lambda: "onnx=1.0,onnxruntime=0.1")
    assert embed._fingerprint(a.parent) != same  # another quantizer writes another file


def test_byte_identical_copies_under_other_keys_are_removed(tmp_path: Path) -> None:
    mine = tmp_path / "minilm-l6-int8-aaaaaaaaaaaa.onnx"
    mine.write_bytes(b"model" * 1000)
    copies = [tmp_path / f"minilm-l6-int8-{k * 12}.onnx" for k in "bcd"]
    for copy in copies:
        copy.write_bytes(mine.read_bytes())
    different = tmp_path / "minilm-l6-int8-eeeeeeeeeeee.onnx"
    different.write_bytes(b"MODEL" * 1000)  # same size, other bytes: another build, kept
    unrelated = tmp_path / "notes.onnx"
    unrelated.write_bytes(mine.read_bytes())
    recent = tmp_path / "minilm-l6-int8-ffffffffffff.onnx"
    recent.write_bytes(mine.read_bytes())  # just rebuilt by an older checkout: may be in use
    day_ago = time.time() - 2 * 86_400
    for path in [*copies, different, unrelated]:
        os.utime(path, (day_ago, day_ago))
    assert sorted(embed.drop_copies(mine)) == sorted(copies)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [mine.name, different.name, unrelated.name, recent.name]
    )
    assert embed.drop_copies(mine) == []
