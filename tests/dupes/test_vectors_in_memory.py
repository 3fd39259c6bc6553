"""The vectors a process keeps in memory for exact recall (the whole source on a team database,
the delta beside the graph on a cache file) are kept as they are stored, int8 (384 bytes) with
their creation times as 32 bytes: about a quarter of the float32 copy they were (1.5 KB and
128 bytes of text per thread), with the same neighbours and cosines."""

from __future__ import annotations

import numpy as np
import pytest

from console.db import Cache
from console.dupes import ann, embed
from tests.backends import pytest_generate_tests
from tests.dupes.conftest import seed

__all__ = ["pytest_generate_tests"]

pytestmark = pytest.mark.backends


def _stored(cache: Cache) -> tuple[list[int], list[str], np.ndarray]:
    rows = cache.query("SELECT thread_id, created_at, vec FROM thread_vectors ORDER BY seq")
    matrix = np.stack([embed.from_blob(r[2]) for r in rows]).astype(np.float64)
    return [int(r[0]) for r in rows], [str(r[1]) for r in rows], matrix


def test_the_kept_vectors_are_int8_and_find_the_same_neighbours(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann.forget()
    # several pages read and several blocks multiplied: every vector is still read once
    monkeypatch.setattr(ann, "PAGE", 7, raising=False)
    monkeypatch.setattr(ann, "BLOCK", 5, raising=False)
    seed(cache)
    ids, created, matrix = _stored(cache)
    if not ids:
        pytest.skip("no embedding model installed: no vectors to keep")
    source = int(cache.one("SELECT source_id FROM thread_vectors LIMIT 1")[0])
    before = sorted(created)[len(created) // 2]
    for row in range(len(ids)):
        vector = matrix[row].astype(np.int8)
        exact = matrix @ matrix[row] / (embed.SCALE * embed.SCALE)  # float64: the reference
        for limit_to in (None, before):
            found = ann.nearest(cache, vector, source, 5, before=limit_to)
            allowed = [i for i in range(len(ids)) if limit_to is None or created[i] <= limit_to]
            expected = sorted(allowed, key=lambda i: (-exact[i], ids[i]))[:5]
            assert [tid for tid, _ in found] == [ids[i] for i in expected]
            assert np.allclose([c for _, c in found], exact[expected], atol=1e-6)
    view = ann._view(cache, source)
    held = view.delta.nbytes + view.delta_created.nbytes + view.delta_ids.nbytes
    assert view.delta.dtype == np.int8 and len(view.delta_ids) == len(ids)
    assert held / len(ids) <= embed.DIMS + 32 + 8  # was 1,536 + 128 + 8 bytes a thread
