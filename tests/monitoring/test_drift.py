"""Drift statistics by hand, and the detector's measured false-alarm / delay trade-off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edgecraft.monitoring.drift import (
    PSI_ALERT,
    DailyShift,
    FeatureReference,
    MeanShift,
    feature_psi,
    kl_divergence,
    psi,
    rolling_ic,
    signal_histogram,
)


def test_psi_and_kl_by_hand():
    e, a = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    assert psi(e, a) == pytest.approx(-0.25 * np.log(0.5) + 0.25 * np.log(1.5), rel=1e-3)
    assert psi(e, e) == 0.0
    p, q = np.array([1.0, 1.0]), np.array([1.0, 3.0])
    expected = 0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75)
    assert kl_divergence(p, q, eps=0.0) == pytest.approx(expected)


def test_psi_is_quiet_without_drift_and_alerts_on_a_shift():
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"a": rng.normal(size=5000), "b": rng.normal(size=5000)})
    current = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(0.5, 1, 2000)})
    values = feature_psi(reference, current)
    assert values["a"] < 0.02 and values["b"] > PSI_ALERT * 0.5
    assert FeatureReference.fit(reference["b"].to_numpy()).psi(rng.normal(1.0, 1, 2000)) > PSI_ALERT


def test_signal_distribution_kl_sees_a_change_in_confidence():
    rng = np.random.default_rng(1)
    before = signal_histogram(
        pd.Series(rng.choice([-1, 0, 1], 3000)), pd.Series(rng.uniform(0.5, 0.6, 3000))
    )
    same = signal_histogram(
        pd.Series(rng.choice([-1, 0, 1], 3000)), pd.Series(rng.uniform(0.5, 0.6, 3000))
    )
    after = signal_histogram(
        pd.Series(rng.choice([-1, 0, 1], 3000)), pd.Series(rng.uniform(0.6, 0.8, 3000))
    )
    assert kl_divergence(same, before) < 0.01 < kl_divergence(after, before)


def test_mean_shift_false_alarms_and_delays_as_measured():
    rng = np.random.default_rng(2)
    detector = MeanShift(0.0, 1.0)
    days = np.array([detector.update(v) for v in rng.normal(size=24 * 1500)]).reshape(-1, 24)
    assert days.any(axis=1).mean() < 0.05  # stationary: under 5 % of days raise an alarm

    def delay(shift: float) -> int:
        d = MeanShift(0.0, 1.0)
        path = rng.normal(size=300) + shift
        return next((i + 1 for i, v in enumerate(path) if d.update(v)), 10**6)

    one_sigma = np.array([delay(1.0) for _ in range(200)])
    half_sigma = np.array([delay(0.5) for _ in range(200)])
    assert (one_sigma <= 24).mean() > 0.95
    # a 0.5-sigma shift takes ~28 bars at the median at this false-alarm rate (see the note)
    assert np.median(half_sigma) <= 36 and (half_sigma <= 72).mean() > 0.9


def test_rolling_ic_tracks_a_fading_signal():
    rng = np.random.default_rng(3)
    n = 4000
    score = pd.Series(rng.normal(size=n))
    strength = np.r_[np.full(n // 2, 0.5), np.zeros(n - n // 2)]
    realized = pd.Series(strength * score + rng.normal(size=n))
    ic = rolling_ic(score, realized, 500)
    assert ic.iloc[n // 2 - 1] > 0.3 and abs(ic.iloc[-1]) < 0.1


def _replay(days: int, seed: int, features: int = 10, symbols: int = 17, phi: float = 0.5):
    """Stationary AR(1) features of unit variance on an hourly (ts, symbol) grid (17 symbols, as
    the default universe)."""
    rng = np.random.default_rng(seed)
    hours = days * 24
    ts = pd.date_range("2024-01-01", periods=hours, freq="h", tz="UTC")
    shocks = rng.normal(size=(hours, symbols * features)) * np.sqrt(1 - phi**2)
    values = np.empty_like(shocks)
    values[0] = rng.normal(size=symbols * features)
    for t in range(1, hours):
        values[t] = phi * values[t - 1] + shocks[t]
    index = pd.MultiIndex.from_product(
        [ts, [f"S{i}" for i in range(symbols)]], names=["ts", "symbol"]
    )
    data = values.reshape(hours * symbols, features)
    return pd.DataFrame(data, index=index, columns=[f"f{i}" for i in range(features)])


def test_daily_shift_false_alarms_under_5_percent_of_stationary_days():
    monitor = DailyShift.fit(_replay(365, 0))
    alarms = monitor.alarms(_replay(1000, 1))
    rate = float((alarms.str.len() > 0).mean())
    assert rate < 0.05, rate


def test_daily_shift_catches_half_sigma_in_one_feature_within_24_bars():
    monitor = DailyShift.fit(_replay(365, 2))
    caught = 0
    for trial in range(40):
        current = _replay(2, 100 + trial)
        day2 = current.index.get_level_values("ts") >= pd.Timestamp("2024-01-02", tz="UTC")
        current.loc[day2, "f3"] += 0.5  # 0.5 sigma, from a day boundary on
        alarms = monitor.alarms(current)
        caught += "f3" in alarms.iloc[1]  # the first 24 bars after the shift
    assert caught / 40 >= 0.9, caught
