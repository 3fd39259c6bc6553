"""`peerdesk --db postgresql://… demo`: the demo community in an empty team database.

The community is built exactly as into a cache file (console.demo_file.build_file, in a
temporary folder that is removed afterwards), then copied by migrate-to (console.team.copy:
resumable, verified by row counts and the audit chain, only into a team database that has never
had a live entry, only by a peerdesk_admin). The server then counts its own words (ts_stat) and
computes the duplicate candidates of the newest threads again with its own recall (ts_rank,
pg_trgm, the vectors it holds), so what the team database proposes is its own.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from console.config import Config
from console.db import open_cache
from console.demo import DemoSummary
from console.door import Door
from console.identity import establish
from console.team.copy import migrate_to


def build_into_team(
    url: str,
    *,
    threads: int,
    seed: int,
    candidate_limit: int,
    embeddings: bool,
    progress_to: TextIO | None,
    record: Callable[[Path, DemoSummary], None],
) -> DemoSummary:
    """Build the demo, copy it into the team database at `url`; its summary, with the
    candidate pairs the server stored and how long they took (None when `candidate_limit` is
    0). `record(path, summary)` writes the build's audit entry into the cache file before the
    copy (so it reaches the server's chain)."""
    from console.demo_file import build_file
    from console.dupes import candidates as cands
    from console.dupes.refresh import refresh_newest
    from console.storage.postgres import open_team

    with tempfile.TemporaryDirectory(prefix="peerdesk-demo-") as folder:
        path = Path(folder) / "demo.sqlite3"
        summary = build_file(
            path,
            threads=threads,
            seed=seed,
            candidate_limit=0,  # the server computes them below, with its own recall
            progress_to=progress_to,
            embeddings=embeddings,
        )
        record(path, summary)
        cache = open_cache(path)
        try:
            owner = establish(cache.path, Config(), demo=True)  # the file's owner: every role
            migrate_to(Door(cache, owner), url)
        finally:
            cache.close()
    team = open_team(url)
    began = time.perf_counter()
    try:
        cands.refresh_terms(team, force=True)
        pairs: int | None = None
        if candidate_limit:
            row = team.one("SELECT id FROM sources WHERE name = 'demo'")
            limit = threads if candidate_limit < 0 else candidate_limit
            pairs = refresh_newest(team, int(row[0]), limit)[0] if row is not None else 0
    finally:
        team.close()
    seconds = time.perf_counter() - began
    return dataclasses.replace(summary, candidate_pairs=pairs, candidate_seconds=seconds)
