"""What the SemEval benchmarks share about a split folder: reading its JSONL files, and finding
the task's own scripts (the split's copy if it has one, else the shared development split's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SHARED_BENCH = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench"


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def task_script(split: Path, name: str, shared_split: Path, who: str) -> Path:
    """The benchmark's script `name`, or exit saying where it was looked for."""
    for folder in (split, shared_split):
        if (folder / name).is_file():
            return folder / name
    raise SystemExit(f"{who}: {name} not found in {split} or {shared_split.resolve()}")
