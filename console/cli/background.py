"""Start a `peerdesk` subcommand as a background process beside a cache file.

Used where a command's slow follow-up (embeddings and duplicate candidates) should not keep
the user waiting: `peerdesk import` (the duplicate refresh it queued) and `peerdesk dupes
--catch-up --background` (the demo's embeddings). The child runs at nice 10 in its own session
(it outlives the command, and the console a user opens next), writes to a log beside the cache,
and takes the cache's catch-up lock itself, so starting one twice is harmless.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path


def start(cache_path: Path, args: argparse.Namespace, command: list[str]) -> Path:
    """Run `peerdesk --db CACHE [--config] [--as] COMMAND...` in the background; returns its
    log's path."""
    log = cache_path.with_name(cache_path.name + ".catch-up.log")
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    argv = [sys.executable, "-m", "console", "--db", str(cache_path)]
    if getattr(args, "config", None) is not None:
        argv += ["--config", str(args.config)]
    if getattr(args, "as_user", None) is not None:
        argv += ["--as", args.as_user]
    try:
        subprocess.Popen(
            [*argv, *command],
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            start_new_session=True,
            preexec_fn=lambda: os.nice(10),
        )
    finally:
        os.close(fd)
    return log
