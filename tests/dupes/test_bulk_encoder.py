"""The bulk encoder (`embed.load_encoder(bulk=True)`: two onnxruntime threads, for runs that
embed a whole cache) gives the same vector bytes as the one-thread encoder every other caller
shares, which stays on one thread."""

# No store: the encoders alone.
from __future__ import annotations

from collections.abc import Iterator

import pytest

from console.dupes import embed, vector_names

TEXTS = [
    "",
    "No mobile data while abroad in Spain",
    "eSIM activation stuck on iPhone 15\nError code E-4012 shows in settings since yesterday.",
    "Roaming charges in France too high\n" + "My plan includes EU roaming but I paid. " * 60,
]


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(embed.THREADS_ENV, raising=False)
    embed.reset()
    yield
    embed.reset()


def _options(encoder: embed.Encoder) -> tuple[int, str]:
    """The session's intra-op threads and whether they spin ("" where onnxruntime's default)."""
    options = encoder.session.get_session_options()
    try:
        spinning = options.get_session_config_entry("session.intra_op.allow_spinning")
    except RuntimeError:  # not set
        spinning = ""
    return options.intra_op_num_threads, spinning


def test_the_bulk_encoder_gives_the_same_bytes_on_two_threads(fresh: None) -> None:
    shared = embed.load_encoder()
    bulk = embed.load_encoder(bulk=True)
    if shared is None or bulk is None:
        pytest.fail(f"the model must load offline in tests: {embed.unavailable_reason()}")
    assert bulk is not shared
    assert _options(shared)[0] == 1  # the console's processes never take both cores
    assert _options(bulk) == (embed.BULK_THREADS, "0")  # sleeping, not spinning, between ops
    alone = embed.to_int8(shared.encode(TEXTS))
    assert embed.to_int8(bulk.encode(TEXTS)).tobytes() == alone.tobytes()
    limited = embed.to_int8(shared.encode(TEXTS, limit=vector_names.LEGACY_TOKENS))
    assert embed.to_int8(bulk.encode(TEXTS, limit=vector_names.LEGACY_TOKENS)).tobytes() == (
        limited.tobytes()
    )
    assert embed.load_encoder(bulk=True) is bulk  # made once


def test_the_environment_sets_both_encoders_threads(
    fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(embed.THREADS_ENV, "1")
    shared = embed.load_encoder()
    assert shared is not None
    assert embed.load_encoder(bulk=True) is shared  # one thread asked for: one session
    assert _options(shared)[0] == 1
