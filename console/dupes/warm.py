"""Load the libraries a duplicate search needs before the first search needs them.

The first candidate search of a process imported onnxruntime and usearch (and tokenizers) on
the spot: 0.6-2.6 s of wall time on a busy machine (78-442 ms of CPU), paid by whatever asked
first (a sync page, the start's catch-up, `peerdesk dupes THREAD --any-source`). The console
calls `libraries` from its warm-up worker, after the Queue's first rows are drawn, so that time
is spent while the moderator reads the screen.

Only what the semantic path would import anyway: nothing when semantic matching is off or the
model is not installed (the lexical path needs none of them). onnxruntime before usearch, as
`console.dupes.ann._usearch` requires. Importing changes nothing a search computes: the same
modules are imported, only earlier (tests/dupes/test_warm.py compares the candidates).

After them the console reads the cache's saved graphs ahead (`read_graphs_ahead`): a first
search on a cold cache read the whole graph file and its times anyway (527 MB at a million
threads, 0.7-1.0 s); read ahead in order, in the background, they are in the OS's page cache
when the first search maps them. Only the files the cache's meta names (nothing below
`ann.GRAPH_MIN` vectors a source, nothing on a team database, nothing on the lexical path), once
a process. Not done here: mapping them (`console.dupes.ann`), because the view leaves ~190 MB of
the graph file resident in the process, a console that never searches included; the page cache
is the machine's, shared and given back under memory pressure.

The console is not the only process that searches: candidates are computed where threads
arrive (a sync page, import's catch-up, `peerdesk dupes --catch-up/--rebuild`), and none of
those ran the console's warm-up. Their first search read the graph ahead anyway (`ann` does
before it maps a file), but only then, after the model was loaded and the page embedded.
`before_first_search`, called by `update_candidates` on entry, starts the same read-ahead in a
daemon thread, once a process and cache, so the disk reads while the caller loads the model
and embeds (the meta query stays in the caller's thread: the connection is its).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from console.db import Cache
from console.dupes import ann, embed

read_ahead_once: dict[Path, int] = {}  # the graph files read ahead by this process: their sizes
caches_read_ahead: set[str] = set()  # the caches whose graphs `before_first_search` asked for
reading: list[threading.Thread] = []  # the threads it started (tests join them)
_once_lock = threading.Lock()


def libraries() -> list[str]:
    """Import what the semantic path of a search imports; returns the modules now loaded
    (empty when the lexical path is all there is)."""
    if embed.quick_reason() is not None:
        return []
    loaded = []
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401  (first: see ann._usearch)

        loaded.append("onnxruntime")
    with contextlib.suppress(ImportError):
        ann._usearch()
        loaded.append("usearch")
    with contextlib.suppress(ImportError):
        import tokenizers  # noqa: F401

        loaded.append("tokenizers")
    return loaded


def graph_files(cache: Cache) -> list[Path]:
    """The files a first search maps whole: each source's saved graph, its times and the
    delta's graph, as the meta names them and if they are there; [] for a team database (no
    graph beside it) or when searches take the lexical path alone. One small meta query."""
    if embed.quick_reason() is not None or not cache.dialect.is_sqlite:
        return []
    files: list[Path] = []
    for (key,) in cache.query("SELECT key FROM meta WHERE key LIKE 'ann:%' ORDER BY key"):
        _, _, rest = str(key).partition(":")
        source, _, kind = rest.partition(":")
        if not source.isdigit():
            continue
        if kind == "delta":
            tier = ann.DeltaSaved.read(cache, int(source))
            names = [] if tier is None else [tier.file]
        else:
            saved = ann.Saved.read(cache, int(source))
            names = [] if saved is None else [saved.file, saved.times_file]
        paths = [ann.folder(cache) / n for n in names]
        if paths and paths[0].is_file():  # its times are read only beside it
            files += [p for p in paths if p.is_file()]
    return files


def read_graphs_ahead(files: list[Path]) -> int:
    """Ask the OS to read `files` into its page cache, in order (`ann.read_ahead`), each file
    once a process; returns the bytes asked for now. Only system calls, no parsing: the
    interpreter's lock is free while the disk reads (the console runs it in a worker thread)."""
    asked = 0
    for path in files:
        with _once_lock:
            if path in read_ahead_once:
                continue
            read_ahead_once[path] = 0
        read_ahead_once[path] = size = ann.read_ahead(path)
        asked += size
    return asked


def before_first_search(cache: Cache) -> list[Path]:
    """Start reading the cache's saved graphs ahead, in a daemon thread, before this process's
    first search of it (the hook of `update_candidates`); later calls for the same cache cost
    a set lookup. Returns the files asked for now ([] on a team database, on the lexical path,
    or once done)."""
    key = str(cache.path)
    with _once_lock:
        if key in caches_read_ahead:
            return []
        caches_read_ahead.add(key)
    files = graph_files(cache)
    if files:
        worker = threading.Thread(
            target=read_graphs_ahead, args=(files,), name="dupes-read-ahead", daemon=True
        )
        reading.append(worker)
        worker.start()
    return files
