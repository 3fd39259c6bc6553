"""After the console's warm-up, the cache's saved graph is read into the OS's page cache in the
background (console.dupes.warm.read_graphs_ahead), once; a cache without one reads nothing."""

from __future__ import annotations

# SQLite only: the graph file is saved beside a cache file (a team database has none).
import numpy as np
import pytest

from console.app import PeerdeskApp
from console.desk import Desk
from console.dupes import ann, embed, vectors, warm
from tests.ui.helpers import settle

pytestmark = pytest.mark.anyio


async def _warm_up(desk: Desk) -> None:
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(100):  # the warm-up starts 0.3 s after the first rows, this after it
            await pilot.pause(0.05)
            await app.workers.wait_for_complete()
            if any(w.group == "warm-graph" for w in app.workers) or warm.read_ahead_once:
                break
        await app.workers.wait_for_complete()


async def test_the_saved_graph_is_read_ahead_after_the_warm_up(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    if embed.quick_reason() is not None:
        pytest.skip(f"needs the model: {embed.quick_reason()}")
    cache = desk.cache
    rows = cache.query("SELECT id, source_id, created_at FROM threads ORDER BY id")
    raw = np.random.default_rng(5).standard_normal((len(rows), embed.DIMS)).astype(np.float32)
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    vectors.store(
        cache, [(r[0], r[1], r[2], "en", i) for i, r in enumerate(rows)], embed.to_int8(unit)
    )
    assert ann.extend(cache, rows[0][1], force=True)
    saved = ann.Saved.read(cache, rows[0][1])
    assert saved is not None
    monkeypatch.setattr(warm, "read_ahead_once", {})
    await _warm_up(desk)
    files = [ann.folder(cache) / saved.file, ann.folder(cache) / saved.times_file]
    assert warm.read_ahead_once == {f: f.stat().st_size for f in files}


async def test_nothing_is_read_ahead_without_a_graph(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warm, "read_ahead_once", {})
    asked: list[list[object]] = []
    real = warm.read_graphs_ahead
    monkeypatch.setattr(warm, "read_graphs_ahead", lambda files: asked.append(files) or real(files))
    await _warm_up(desk)
    assert asked == [[]] and warm.read_ahead_once == {}
