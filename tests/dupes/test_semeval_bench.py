"""The SemEval benchmark runs on the dev split, and the production scorer beats BM25 there."""

from __future__ import annotations

# No store question: the SemEval benchmark's scorer against BM25 on the shared split.
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_semeval_dev_beats_bm25_in_map_and_strict_map(shared: Path, tmp_path: Path) -> None:
    split = shared / "bench" / "semeval2016-qq"
    rankings = tmp_path / "ours.jsonl"
    out = subprocess.run(
        [sys.executable, "-m", "bench.semeval", str(split), "--rankings", str(rankings)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["ours"]["queries"] == report["bm25"]["queries"] == 67
    assert report["bm25"]["MAP"] == 72.73  # the baseline as the benchmark's README states it
    assert report["ours"]["MAP"] > report["bm25"]["MAP"]
    assert report["ours"]["strict_MAP"] > report["bm25"]["strict_MAP"]
    lines = [json.loads(line) for line in rankings.read_text().splitlines()]
    assert len(lines) == 67 and all(len(line["ranked"]) == 10 for line in lines)
