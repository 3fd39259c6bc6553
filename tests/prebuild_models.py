"""The duplicate finder's two int8 models, built ahead of the tests that load them.

On a fresh machine the first test that loads e5 builds it (20-35 s, ~3 GB at its peak) while
every other worker that needs it waits on the build's lock (`console.dupes.e5._building`); a
run on a machine with the models built took 51 s less (CI, 8:33 against 9:24 of pytest). Under
xdist the controller starts this module in a process of its own as the run begins
(tests/conftest.py `pytest_sessionstart`), so the build runs while the workers start and run
the tests that come first; a worker that needs e5 before it is done waits on the same lock
instead of building a second copy. MiniLM (a few seconds) comes first: its build has no lock,
and a worker that asks before it is written builds the same bytes under names of its own.

Run as `python -m tests.prebuild_models`: builds what is missing in the model cache
(PEERDESK_MODEL_CACHE, else the user cache dir), says what it did in one line, exits 0 (a model
that cannot be built is the tests' to report, as they would without this).
"""

from __future__ import annotations

import sys
import time


def missing_models() -> list[str]:
    """Which of the two models have no built file in the cache yet ("minilm", "e5")."""
    from console.dupes import e5, embed

    if embed.switched_off():
        return []
    missing = []
    folder = embed.model_dir()
    if folder is not None:
        target = embed.cache_dir() / embed.MODEL_FILES.replace("*", embed._fingerprint(folder))
        if not target.is_file():
            missing.append("minilm")
    packed = e5.packed_file()
    if packed is not None and e5.quick_reason() is None and not e5.model_file(packed).is_file():
        missing.append("e5")
    return missing


def build(names: list[str]) -> None:
    """Build the named models (their files only: no inference session is made)."""
    from console.dupes import e5, embed

    if "minilm" in names:
        folder = embed.model_dir()
        assert folder is not None
        target = embed.cache_dir() / embed.MODEL_FILES.replace("*", embed._fingerprint(folder))
        embed.build_int8(folder, target)
    if "e5" in names:
        packed = e5.packed_file()
        assert packed is not None
        e5._built(packed)  # under e5's build lock; nothing if another process built it meanwhile


def main() -> int:
    started = time.monotonic()
    names = missing_models()
    if not names:
        print("prebuild_models: both models already built", file=sys.stderr)
        return 0
    try:
        build(names)
    except Exception as error:  # the tests that load the model say why, as without this
        print(f"prebuild_models: {' and '.join(names)} not built: {error}", file=sys.stderr)
        return 0
    took = time.monotonic() - started
    print(f"prebuild_models: built {' and '.join(names)} in {took:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
