"""The libraries of a duplicate search loaded ahead of it (console.dupes.warm, called by the
console's warm-up worker): what is loaded, and that a search after it finds the same."""

from __future__ import annotations

# SQLite only: what one process imports; the candidates are read from a cache file.
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.db import Cache
from console.dupes import embed

SEARCH = """
import json, sys
from console.db import open_cache
from console.dupes import candidates, warm
loaded = warm.libraries() if sys.argv[2] == "warm" else []
before = sorted(m for m in ("onnxruntime", "usearch.index", "tokenizers") if m in sys.modules)
cache = open_cache(sys.argv[1])
found = {t: candidates.find_candidates(cache, t) for t in json.loads(sys.argv[3])}
print(json.dumps({"loaded": loaded, "before_search": before, "found": found}))
"""


def _search(path: Path, how: str, threads: list[int], **env: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", SEARCH, str(path), how, json.dumps(threads)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_warmed_process_finds_the_same_candidates(cache: Cache, ids: dict[str, int]) -> None:
    if embed.quick_reason() is not None:
        pytest.skip(f"needs the model: {embed.quick_reason()}")
    threads = [ids["d1"], ids["d2"], ids["o3"]]
    cold = _search(cache.path, "cold", threads)
    warm = _search(cache.path, "warm", threads)
    assert cold["before_search"] == []  # nothing of them is imported by opening the modules
    assert warm["loaded"] == ["onnxruntime", "usearch", "tokenizers"]
    assert warm["before_search"] == ["onnxruntime", "tokenizers", "usearch.index"]
    assert warm["found"] == cold["found"]  # ids, probabilities and explanations
    found = warm["found"]
    assert isinstance(found, dict)
    assert found[str(ids["d1"])][0][0] == ids["o1"]  # the planted original, found either way


def test_nothing_is_loaded_without_semantic_matching(cache: Cache, ids: dict[str, int]) -> None:
    off = _search(cache.path, "warm", [ids["d1"]], PEERDESK_SEMANTIC="off")
    assert off["loaded"] == [] and off["before_search"] == []
