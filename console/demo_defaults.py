"""The demo's defaults, in a module of their own: `peerdesk demo` shows them in its help, and
every `peerdesk` process builds that parser; console.demo would bring its corpus and the ingest
path with it (~20-35 ms of CPU at each start).
"""

from __future__ import annotations

DEFAULT_SEED = 20261120
DEFAULT_THREADS = 2000
DEFAULT_CANDIDATE_LIMIT = 2000  # newest threads given to the duplicate finder (it takes ~5 ms each)
