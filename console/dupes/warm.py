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

Not done here: mapping a source's saved graph (`console.dupes.ann`), the rest of a first search's
cost at scale (~0.5 s at a million threads), because the view leaves ~190 MB of the graph file
resident in the process, a console that never searches included.
"""

from __future__ import annotations

import contextlib

from console.dupes import ann, embed


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
