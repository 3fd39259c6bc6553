"""bench.semeval_fidelity: the vector forms it compares (no data needed: ../shared is not read)."""

from __future__ import annotations

# No store at all: arithmetic of the benchmark's vector forms.
import numpy as np


def test_maxabs_int8_keeps_cosines_closer_than_x127_and_float_is_exact() -> None:
    from bench import semeval_fidelity as fid

    rng = np.random.default_rng(7)
    floats = rng.normal(size=(40, 384)).astype(np.float32)
    floats /= np.linalg.norm(floats, axis=1, keepdims=True)
    peaks = np.abs(fid.maxabs_int8(floats)).max(axis=1)
    assert (peaks == 127).all()  # every vector uses the whole int8 range
    errors: dict[str, list[float]] = {"x127": [], "maxabs": [], "float": []}
    for store in errors:
        kept = fid.stored(store, floats)
        for i in range(1, 40):
            exact = float(floats[0] @ floats[i])
            errors[store].append(abs(fid.cosine(store, kept[0], kept[i]) - exact))
    assert max(errors["float"]) < 1e-6
    assert np.mean(errors["maxabs"]) < np.mean(errors["x127"]) / 3


def test_variant_names_round_trip() -> None:
    from bench import semeval_fidelity as fid

    name = fid.variant_name(*fid.PRODUCTION)
    assert name == "int8_128_x127"
    model, pieces, store = name.split("_")
    assert (model, int(pieces), store) == fid.PRODUCTION
