"""Every benchmark imports and shows its --help, so none can rot unnoticed (they are run by
`make bench`, not by the tests: speed is measured there, never in a test)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
MODULES = sorted(p.stem for p in BENCH.glob("*.py") if not p.stem.startswith("_"))  # _x: a helper


def test_there_are_benchmarks() -> None:
    assert {"bench_console", "bench_terminal", "bench_dupes", "run_all"} <= set(MODULES)
    assert {"bench_team", "bench_team_ledger", "bench_team_migrate"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_imports_and_has_help(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert callable(getattr(module, "main", None))
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--help"],
        capture_output=True,
        text=True,
        cwd=BENCH.parent,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout
