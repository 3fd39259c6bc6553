"""The libraries of a duplicate search loaded ahead of it (console.dupes.warm, called by the
console's warm-up worker): what is loaded, and that a search after it finds the same."""

from __future__ import annotations

# SQLite only: what one process imports; the candidates are read from a cache file.
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from console.db import Cache
from console.dupes import ann, candidates, embed, vectors, warm
from console.ingest import ensure_source, upsert_threads
from console.models import ThreadRecord

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


def _with_graph(cache: Cache, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """A source of 60 threads with a saved graph of their (stand-in) vectors; its files."""
    monkeypatch.setattr(ann, "GRAPH_MIN", 50)
    source = ensure_source(cache, "discourse", "graphs", "https://graphs.example")
    stamp = "2026-01-01T00:00:{:02d}Z"
    records = [
        ThreadRecord(f"g{i}", f"G {i}", None, "open", stamp.format(i), "") for i in range(60)
    ]
    upsert_threads(cache, source, records, [])
    rows = cache.query("SELECT id, created_at FROM threads WHERE source_id = ?", (source,))
    raw = np.random.default_rng(3).standard_normal((len(rows), embed.DIMS)).astype(np.float32)
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    vectors.store(
        cache, [(r[0], source, r[1], "en", i) for i, r in enumerate(rows)], embed.to_int8(unit)
    )
    assert ann.extend(cache, source, force=True)
    saved = ann.Saved.read(cache, source)
    assert saved is not None
    return [ann.folder(cache) / saved.file, ann.folder(cache) / saved.times_file]


def test_the_saved_graph_is_read_ahead_once(cache: Cache, monkeypatch: pytest.MonkeyPatch) -> None:
    if embed.quick_reason() is not None:
        pytest.skip(f"needs the model: {embed.quick_reason()}")
    assert warm.graph_files(cache) == []  # no graph yet: nothing to read
    files = _with_graph(cache, monkeypatch)
    monkeypatch.setattr(warm, "read_ahead_once", {})
    assert warm.graph_files(cache) == files
    sizes = [f.stat().st_size for f in files]
    assert warm.read_graphs_ahead(files) == sum(sizes) > 0
    assert warm.read_graphs_ahead(files) == 0  # once a process
    assert warm.read_ahead_once == dict(zip(files, sizes, strict=True))
    files[0].unlink()  # a meta naming a file that is gone (a copied cache): not listed
    assert warm.graph_files(cache) == []


def test_no_graph_is_read_ahead_on_the_lexical_path(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_graph(cache, monkeypatch)
    monkeypatch.setenv(embed.OFF_ENV, "off")
    assert warm.graph_files(cache) == []


def test_computing_candidates_reads_the_graphs_ahead_before_its_first_search(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync page or a catch-up runs no console warm-up: `update_candidates` starts the
    read-ahead itself, before it embeds and searches, once a process and cache; the same
    candidates with and without it."""
    if embed.quick_reason() is not None:
        pytest.skip(f"needs the model: {embed.quick_reason()}")
    files = _with_graph(cache, monkeypatch)
    thread = int(cache.one("SELECT id FROM threads WHERE remote_id = 'g7'")[0])
    events: list[object] = []
    real_files, real_find = warm.graph_files, candidates.find_candidates
    monkeypatch.setattr(warm, "graph_files", lambda c: events.append("files") or real_files(c))
    monkeypatch.setattr(
        candidates,
        "find_candidates",
        lambda *a, **k: events.append("search") or real_find(*a, **k),
    )
    monkeypatch.setattr(warm, "reading", [])

    def stored() -> list[tuple[object, ...]]:
        return [
            tuple(r)
            for r in cache.query(
                "SELECT original_id, score, method, explanation FROM duplicate_links "
                "WHERE thread_id = ? ORDER BY original_id",
                (thread,),
            )
        ]

    monkeypatch.setattr(warm, "caches_read_ahead", {str(cache.path)})  # as if done: none asked
    monkeypatch.setattr(warm, "read_ahead_once", {})
    candidates.update_candidates(cache, [thread])
    without = stored()
    assert events == ["search"] and warm.reading == [] and warm.read_ahead_once == {}

    events.clear()
    monkeypatch.setattr(warm, "caches_read_ahead", set())
    candidates.update_candidates(cache, [thread])
    candidates.update_candidates(cache, [thread])
    assert events == ["files", "search", "search"]  # asked before the first search, once
    assert len(warm.reading) == 1
    warm.reading[0].join(timeout=30)
    assert warm.read_ahead_once == {f: f.stat().st_size for f in files}
    assert stored() == without  # ids, scores, methods and explanations as without it


def test_the_lexical_path_reads_no_graph_ahead(
    cache: Cache, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warm, "caches_read_ahead", set())
    monkeypatch.setattr(warm, "reading", [])
    candidates.update_candidates(cache, [ids["d1"]], semantic=False)
    assert warm.caches_read_ahead == set() and warm.reading == []


def test_a_mapping_does_not_ask_again_for_a_file_read_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = tmp_path / "g.usearch"
    graph.write_bytes(b"x" * 4096)
    monkeypatch.setattr(ann, "asked_ahead", set())
    assert ann.read_ahead(graph, again=False) == 4096  # not asked yet: the mapping asks
    assert ann.read_ahead(graph, again=False) == 0  # asked already (warm's read-ahead)
    assert ann.read_ahead(graph) == 4096  # warm's own calls always ask
    assert ann.read_ahead(tmp_path / "gone") == 0
