"""bench.answers ranks the SemEval-2016 3A split with the production score and beats posting
order by 10 MAP; it accepts any split folder of that shape."""

from __future__ import annotations

# No store: bench.answers ranks a SemEval split read from its files.
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_shared

REPO = Path(__file__).resolve().parents[2]


def run(split: Path, *extra: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.answers", str(split), *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    return dict(json.loads(out.stdout))


def test_beats_posting_order_by_ten_map(tmp_path: Path) -> None:
    split = require_shared("bench", "semeval2016-qa")
    rankings = tmp_path / "ours.jsonl"
    report = run(split, "--rankings", str(rankings), "--folds", "0")
    assert report["posting_order"]["MAP"] == 58.06  # as the split's README states it
    assert report["ours"]["MAP"] >= report["posting_order"]["MAP"] + 10
    assert report["significance"]["p_value"] < 0.01
    lines = [json.loads(line) for line in rankings.read_text().splitlines()]
    assert len(lines) == report["threads"] == 379
    assert all(len(line["ranked"]) == 10 for line in lines)


def test_any_split_folder_works(tmp_path: Path) -> None:
    """A tiny split written here: the asker's own 'thanks' ranks below a real answer."""
    split = tmp_path / "tiny"
    split.mkdir()
    shared = require_shared("bench", "semeval2016-qa")
    for name in ("evaluate.py", "baseline.py"):
        (split / name).write_text((shared / name).read_text())
    (split / "threads.jsonl").write_text(
        json.dumps(
            {
                "id": "Q1",
                "title": "Where to renew a visa in Doha?",
                "body": "Where do I renew my visa?",
                "author": "U1",
                "date": "2015-01-01 10:00:00",
                "category": "Visas",
            }
        )
        + "\n"
    )
    comments = [
        ("Q1_C1", "U1", "thanks guys"),
        (
            "Q1_C2",
            "U2",
            "You can renew the visa at the immigration office in Doha; bring your "
            "passport and 2 photos, it takes 3 days.",
        ),
    ]
    (split / "comments.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "id": cid,
                    "thread": "Q1",
                    "position": n,
                    "author": author,
                    "date": f"2015-01-01 1{n}:00:00",
                    "text": text,
                }
            )
            + "\n"
            for n, (cid, author, text) in enumerate(comments, 1)
        )
    )
    (split / "qrels.jsonl").write_text(
        json.dumps(
            {
                "query": "Q1",
                "positives": ["Q1_C2"],
                "candidates": ["Q1_C1", "Q1_C2"],
                "labels": {"Q1_C1": "Bad", "Q1_C2": "Good"},
            }
        )
        + "\n"
    )
    rankings = tmp_path / "tiny.jsonl"
    report = run(split, "--rankings", str(rankings), "--folds", "0")
    assert report["ours"]["MAP"] == 100.0 and report["posting_order"]["MAP"] == 50.0
    assert json.loads(rankings.read_text())["ranked"] == ["Q1_C2", "Q1_C1"]
