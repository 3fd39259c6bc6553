"""Every benchmark module imports, and the ones that run on small inputs run: none can rot."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import bench

BENCH = Path(bench.__file__).resolve().parent
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(BENCH)]))


def test_the_benchmark_folder_is_listed_in_full() -> None:
    assert {"semeval", "bench_dupes", "calibrate", "run_all"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_every_benchmark_module_imports_and_a_runnable_one_has_a_main(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    source = (BENCH / f"{name}.py").read_text(encoding="utf-8")
    if '__name__ == "__main__"' in source:  # `python -m bench.NAME`; helpers need not
        assert callable(getattr(module, "main", None)), f"bench.{name} has no main()"


@pytest.mark.slow
def test_bench_dupes_runs_end_to_end_on_a_tiny_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from bench import bench_dupes

    assert bench_dupes.main(["--sizes", "300", "--new", "4", "--work", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    row = report["sizes"]["300"]
    assert row["threads"] >= 300 and row["new_thread_ms"]["n"] == 4
    assert row["vector_bytes"] > 300 * 384


def test_bench_import_floor_runs_on_a_small_file(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bench import bench_import_floor

    only = ["--only", "posts_upsert", "--only", "posts_and_external_fts"]
    assert bench_import_floor.main(["--posts", "600", "--runs", "1", *only]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["posts"] == 600
    assert report["posts_upsert"]["fts_s"] == 0.0
    assert report["posts_and_external_fts"]["posts_per_s"] > 0
