"""Read and check a big JSONL file in a second process while this one writes the cache.

An import spends its time in two places that need not wait for each other: reading and
checking the lines (msgspec, the canonical-time check, the repeated-id check: Python) and
writing the rows (SQLite). For a big file, `from_a_child` forks a child that runs the reading
generator and sends each chunk back through a pipe as plain tuples (`pack`), while the parent
stores the previous chunk; the pipe holds little, so the child is at most a chunk or so ahead and
memory stays bounded. On two cores the import then takes about as long as the longer of the
two, not their sum (bench/bench_sync.py reports both processes' CPU).

A chunk is exactly what the same generator would give in-process (tests/sync/
test_jsonl_pipe.py compares the two imports row by row). If the parent stops (an error, a kill),
the child is ended with it: it only ever reads the file. A small file is read in-process
(a fork and a pipe cost more than they save).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import IO, Any, TypeVar

PROCESS_MIN_BYTES = 4_000_000  # smaller files are read in-process
T = TypeVar("T")


class ReaderFailed(RuntimeError):
    """The reading process ended without saying why (killed, out of memory)."""


def worth_a_process(handle: IO[bytes]) -> bool:
    """A big file on a machine with a second core, and a platform that can fork."""
    if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        size = os.fstat(handle.fileno()).st_size
    except (OSError, ValueError):
        return False
    return size >= PROCESS_MIN_BYTES


def _child(make: Callable[[], Iterator[Any]], pack: Callable[[Any], Any], out: Connection) -> None:
    try:
        for item in make():
            out.send(("item", pack(item)))
        out.send(("end", None))
    except BrokenPipeError:  # the parent is gone: nothing to say to anyone
        pass
    except BaseException as error:  # said to the parent, which raises it
        try:
            out.send(("error", error))
        except Exception:  # an error that does not pickle: its text then
            out.send(("error", ReaderFailed(f"{type(error).__name__}: {error}")))
    finally:
        out.close()


def from_a_child(
    make: Callable[[], Iterator[T]], pack: Callable[[T], Any], unpack: Callable[[Any], T]
) -> Iterator[T]:
    """The items of `make()`, made in a forked child process and sent back `pack`ed."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(make, pack, send), daemon=True)
    child.start()
    send.close()  # (the child's copy stays open: EOF here means the child is gone)
    try:
        while True:
            try:
                kind, payload = receive.recv()
            except EOFError:
                child.join()
                raise ReaderFailed(
                    f"the process reading the file ended unexpectedly (exit code {child.exitcode})"
                ) from None
            if kind == "item":
                yield unpack(payload)
            elif kind == "end":
                return
            else:
                raise payload
    finally:
        receive.close()
        if child.is_alive():
            child.terminate()
        child.join()
