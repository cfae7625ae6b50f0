"""Contracts every registered feature must meet, each on real inputs where it is defined: ETH/USDT
1h history (2018-2025) with its external channels, or 1-second bars of the recorded BTC/USDT book
and tick trades for the microstructure family."""

from __future__ import annotations

import numpy as np
import pytest

from edgecraft.features.external import _EventSeries
from edgecraft.features.registry import FEATURES

NAMES = sorted(FEATURES)
SECONDS = ("micro",)  # families whose real inputs are the 1-second recordings


@pytest.fixture
def real(channel_inputs, request):
    """(ts, x, layout, end) for the feature under test; `end` = a row where it is defined."""
    feature = FEATURES[request.node.callspec.params["name"]]()
    ts, x, layout = channel_inputs["seconds" if feature.family in SECONDS else "hourly"]
    full = feature.batch(x, layout)
    defined = np.flatnonzero(np.isfinite(full).all(axis=1))
    assert len(defined), f"{feature.name} is never defined on its real inputs"
    return ts, x, layout, int(defined[-1])


def _stream(feature, x, layout) -> np.ndarray:
    stream = feature.stream(layout)
    return np.array([stream.update(row).copy() for row in x])


@pytest.mark.parametrize("name", NAMES)
def test_feature_batch_equals_streaming_on_real_data(name, real):
    _, x, layout, end = real
    x = x[: end + 2000]
    feature = FEATURES[name]()
    batch = feature.batch(x, layout)
    assert batch.shape == (len(x), len(feature.outputs))
    assert np.isfinite(batch[-2000:]).any(), "feature is never defined on its recent data"
    np.testing.assert_allclose(_stream(feature, x, layout), batch, rtol=1e-9, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_feature_value_at_t_ignores_data_after_t(name, real):
    _, x, layout, _ = real
    feature = FEATURES[name]()
    full = feature.batch(x, layout)
    for cut in np.random.default_rng(7).integers(1, len(x), size=6):
        np.testing.assert_array_equal(feature.batch(x[:cut], layout), full[:cut])


@pytest.mark.parametrize("name", NAMES)
def test_feature_needs_only_its_warmup(name, real):
    ts, x, layout, end = real
    feature = FEATURES[name]()
    full = feature.batch(x, layout)
    if isinstance(feature, _EventSeries):
        # counted in publications: start at the row where the window's first publication arrived
        times = x[: end + 1, layout[feature.inputs[1]]]
        firsts = np.flatnonzero(np.r_[True, times[1:] != times[:-1]])
        start, later = firsts[-feature.window], firsts[-feature.window + 1]
    else:
        start = end - feature.warmup
        later = start + 1
    short = feature.batch(x[start : end + 1], layout)
    assert np.isfinite(full[end]).all(), f"undefined at {ts[end]}"
    np.testing.assert_allclose(short[-1], full[end], rtol=1e-3, atol=1e-9)
    if later <= end:  # any less history must leave the feature (partly) undefined
        shorter = feature.batch(x[later : end + 1], layout)[-1]
        assert np.isnan(shorter).any(), "a shorter history than the warm-up already gives a value"


@pytest.mark.parametrize("name", NAMES)
def test_feature_columns_are_named_family_name(name):
    feature = FEATURES[name]()
    columns = feature.columns("1h")
    assert len(columns) == len(set(columns)) == len(feature.outputs)
    assert all(c.startswith(f"{feature.family}_") for c in columns)
